//! The OCI Distribution Spec v1.1 endpoints under `/v2/`, one file per resource.

pub mod base;
pub mod blobs;
pub mod catalog;
pub mod manifests;
pub mod referrers;
pub mod tags;
pub mod uploads;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::digest::Digest;
use crate::error::ApiResult;
use crate::names::RepoName;

pub const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
pub const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
pub const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
pub const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

/// Parses the repository path parameter.
pub fn repo(name: &str) -> ApiResult<RepoName> {
    Ok(RepoName::parse(name)?)
}

/// Parses a digest path or query parameter.
pub fn digest(text: &str) -> ApiResult<Digest> {
    Ok(text.parse::<Digest>()?)
}

/// Inserts a header whose value we built ourselves (always valid ASCII).
pub fn set(headers: &mut HeaderMap, name: HeaderName, value: impl AsRef<str>) {
    if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
        headers.insert(name, value);
    }
}

/// `n`/`last` pagination shared by tags and catalog.
#[derive(Debug, serde::Deserialize)]
pub struct Page {
    pub n: Option<u32>,
    pub last: Option<String>,
}

impl Page {
    /// Fetches one more than asked, to know whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.n.map_or(i64::MAX, |n| i64::from(n) + 1)
    }

    /// Trims the extra item and returns the `Link` to the next page, if any.
    pub fn finish(&self, items: &mut Vec<String>, path: &str) -> Option<String> {
        let n = usize::try_from(self.n?).ok()?;
        if items.len() <= n {
            return None;
        }
        items.truncate(n);
        let last = items.last()?;
        Some(format!("<{path}?n={n}&last={last}>; rel=\"next\""))
    }
}

//! HTTP caching of registry.json on disk: `max-age` freshness and `ETag` revalidation.
//!
//! One small JSON file per registry holds the document, its entity tag and when it goes
//! stale. A fresh entry is used without a request; a stale one is revalidated with
//! `If-None-Match`, and a `304` only moves its expiry. When the registry cannot be reached a
//! stale entry is still better than the defaults (stale-if-error), since a wrong guess of
//! the OCI host would send credentials and requests to the wrong place.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, HeaderMap, IF_NONE_MATCH};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::{DiscoveryError, REGISTRY_JSON_MAX_BYTES, read_capped};
use crate::cache::escape_registry;
use crate::registry::RegistryName;

/// The on-disk form of one cached registry.json answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CachedDocument {
    pub etag: Option<String>,
    /// Seconds since the Unix epoch after which the entry must be revalidated.
    pub expires: u64,
    /// The document; `None` records a 404 (the registry has none: use defaults).
    pub document: Option<Map<String, Json>>,
}

/// `<escaped registry>.json`.
pub(super) fn file_name(registry: &RegistryName) -> String {
    format!("{}.json", escape_registry(registry.as_str()))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// How long a response may be reused, or `None` when it must not be stored.
pub(super) fn freshness(headers: &HeaderMap) -> Option<u64> {
    let Some(value) = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        // No instructions: store it (for the ETag) but revalidate every time.
        return Some(0);
    };
    let mut max_age = 0;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" {
            return None;
        }
        if lower == "no-cache" {
            return Some(0);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse().unwrap_or(0);
        }
    }
    Some(max_age)
}

fn read(path: &Path) -> Option<CachedDocument> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

fn store(path: &Path, entry: &CachedDocument) {
    // The cache is an optimisation: failing to write it must not fail the command.
    if let Ok(text) = serde_json::to_string(entry) {
        let _ = crate::cache::write_file_atomic(path, text.as_bytes());
    }
}

/// Gets the document at `url`, using and refreshing the entry at `path`.
///
/// `Ok(None)`: the registry has no registry.json (404). `Err`: nothing usable, with why.
/// The exchange is bounded by `timeout` and the body by [`REGISTRY_JSON_MAX_BYTES`].
pub(super) async fn fetch(
    http: &reqwest::Client,
    url: &str,
    path: Option<&Path>,
    timeout: Duration,
) -> Result<Option<Map<String, Json>>, DiscoveryError> {
    let cached = path.and_then(read);
    if let Some(entry) = &cached
        && entry.expires > now()
    {
        return Ok(entry.document.clone());
    }
    let mut request = http
        .get(url)
        .header("accept", "application/json")
        .timeout(timeout);
    if let Some(etag) = cached.as_ref().and_then(|c| c.etag.as_deref()) {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => {
            return match cached {
                Some(entry) => Ok(entry.document),
                None => Err(DiscoveryError::transport(url, err, timeout)),
            };
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    let keep = |document: Option<Map<String, Json>>| {
        if let (Some(path), Some(max_age)) = (path, freshness(&headers)) {
            let etag = headers
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            store(
                path,
                &CachedDocument {
                    etag,
                    expires: now() + max_age,
                    document: document.clone(),
                },
            );
        }
        document
    };
    match status {
        StatusCode::NOT_MODIFIED if cached.is_some() => {
            let document = cached.and_then(|c| c.document);
            Ok(keep(document))
        }
        StatusCode::OK => {
            let body = read_capped(response, REGISTRY_JSON_MAX_BYTES)
                .await
                .map_err(|err| DiscoveryError::read(url, err, timeout))?;
            let unusable = |reason: String| DiscoveryError::Unusable {
                url: url.to_owned(),
                reason,
            };
            match serde_json::from_slice::<Json>(&body) {
                Ok(Json::Object(doc)) => Ok(keep(Some(doc))),
                Ok(_) => Err(unusable("the document is not a JSON object".into())),
                Err(err) => Err(unusable(format!("the document is not JSON: {err}"))),
            }
        }
        StatusCode::NOT_FOUND => Ok(keep(None)),
        other => match cached {
            Some(entry) => Ok(entry.document),
            None => Err(DiscoveryError::Status {
                url: url.to_owned(),
                status: other,
            }),
        },
    }
}

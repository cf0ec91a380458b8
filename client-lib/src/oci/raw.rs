//! Byte-exact reads, the one way every caller reads a registry: manifests as the registry
//! serves them (any media type, so digests stay the same), tag digests, and blob streams.
//!
//! The gateway's upstream proxy stores what it reads here and serves it again, so nothing
//! is parsed into a typed manifest and re-serialised; the CLI parses the same bytes
//! (`pull.rs`) and streams the same blob starts into its cache. `oci-client` checks every digest:
//! a manifest whose bytes do not hash to the digest asked for (or announced) is an error,
//! and a blob stream ends in an error instead of its last bytes when they do not match.

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};

use super::retry::with_attempts;
use super::{OciClient, is_not_found};
use crate::error::Result;

/// Every manifest type a proxy passes through.
const MANIFEST_TYPES: &[&str] = &[
    OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// A manifest exactly as the registry sent it.
#[derive(Clone, Debug)]
pub struct RawManifest {
    pub bytes: Bytes,
    /// The digest the bytes were checked against.
    pub digest: String,
}

/// A blob being downloaded. The stream fails (rather than ending) when the bytes do not
/// match the digest.
pub struct RawBlob {
    /// From the registry's `Content-Length`, when it sent one.
    pub length: Option<u64>,
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

impl OciClient {
    /// The manifest of `repository` at `reference` (a tag or a digest); `None` when the
    /// registry does not have it.
    pub async fn manifest_raw(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<RawManifest>> {
        let image = self.reference_to(repository, reference);
        let result = with_attempts(
            self.attempts,
            &*self.reporter,
            "fetching a manifest",
            || {
                self.inner
                    .pull_manifest_raw(&image, &self.auth, MANIFEST_TYPES)
            },
        )
        .await;
        match result {
            Ok((bytes, digest)) => Ok(Some(RawManifest { bytes, digest })),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.error(&format!("could not fetch the manifest {image}"), err)),
        }
    }

    /// The digest `tag` of `repository` points at (a `HEAD` request where the registry
    /// answers it); `None` when there is no such tag.
    pub async fn manifest_digest(&self, repository: &str, tag: &str) -> Result<Option<String>> {
        let image = self.reference_to(repository, tag);
        let result = with_attempts(self.attempts, &*self.reporter, "checking a tag", || {
            self.inner.fetch_manifest_digest(&image, &self.auth)
        })
        .await;
        match result {
            Ok(digest) => Ok(Some(digest)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.error(&format!("could not check the tag {image}"), err)),
        }
    }

    /// Starts downloading blob `digest` of `repository`; `None` when the registry does not
    /// have it. Only the start is retried: a stream that breaks off is the caller's to
    /// restart.
    pub async fn blob_raw(&self, repository: &str, digest: &str) -> Result<Option<RawBlob>> {
        let image = self.reference_to(repository, digest);
        let result = with_attempts(
            self.attempts,
            &*self.reporter,
            "starting a download",
            || self.inner.pull_blob_stream(&image, digest),
        )
        .await;
        match result {
            Ok(sized) => Ok(Some(RawBlob {
                length: sized.content_length,
                stream: sized.stream.boxed(),
            })),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.error(&format!("could not download {digest} of {image}"), err)),
        }
    }

    /// `<registry>/<repository>` at a tag or (`algorithm:hex`) a digest.
    fn reference_to(&self, repository: &str, reference: &str) -> oci_client::Reference {
        if reference.contains(':') {
            oci_client::Reference::with_digest(
                self.registry.clone(),
                repository.to_owned(),
                reference.to_owned(),
            )
        } else {
            self.reference(repository, reference)
        }
    }
}

//! Writing to an OCI registry: blobs streamed from files, small blobs, manifests.
//!
//! Uploads never hold a package in memory: the file is opened again for every attempt and
//! sent in chunks through `oci-client`'s streamed chunked upload (POST, PATCH…, PUT
//! `?digest=`), with the digest computed beforehand so the registry can verify it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use oci_client::Reference;
use reqwest::header::HeaderValue;
use serde_json::json;
use tokio_util::io::ReaderStream;

use super::retry::with_retries;
use super::{OCI_MANIFEST, OciClient, WASM_CONFIG, WASM_LAYER};
use crate::error::Result;

/// Size of the chunks read from the file, matching upstream's PATCH size.
const CHUNK: usize = 4 * 1024 * 1024;

impl OciClient {
    /// Uploads `path` as the blob `digest` (of `size` bytes), streamed from the file.
    pub async fn push_file(
        &self,
        reference: &Reference,
        path: &Path,
        digest: &str,
        size: u64,
        label: &str,
    ) -> Result<()> {
        self.authenticate_push(reference).await?;
        with_retries(&*self.reporter, "uploading", || async {
            let file = tokio::fs::File::open(path).await?;
            let progress = Arc::new(Mutex::new(self.reporter.start(label, Some(size))));
            let counted = progress.clone();
            let stream = ReaderStream::with_capacity(file, CHUNK).map(move |chunk| {
                if let Ok(bytes) = &chunk
                    && let Ok(mut progress) = counted.lock()
                {
                    progress.advance(bytes.len() as u64);
                }
                chunk.map_err(oci_client::errors::OciDistributionError::IoError)
            });
            self.inner
                .push_blob_stream(reference, stream, digest, Some(size))
                .await?;
            if let Ok(mut progress) = progress.lock() {
                progress.finish();
            }
            Ok(())
        })
        .await
        .map_err(|err| self.error(&format!("could not upload {}", path.display()), err))
    }

    /// Uploads a small blob (a config) held in memory.
    pub async fn push_bytes(
        &self,
        reference: &Reference,
        bytes: Vec<u8>,
        digest: &str,
    ) -> Result<()> {
        self.authenticate_push(reference).await?;
        let bytes = bytes::Bytes::from(bytes);
        with_retries(&*self.reporter, "uploading the config", || {
            self.inner.push_blob(reference, bytes.clone(), digest)
        })
        .await
        .map(|_| ())
        .map_err(|err| self.error("could not upload the config blob", err))
    }

    /// PUTs an OCI image manifest under the reference's tag; returns its URL.
    pub async fn push_manifest(&self, reference: &Reference, manifest: &[u8]) -> Result<String> {
        self.authenticate_push(reference).await?;
        let body = bytes::Bytes::copy_from_slice(manifest);
        with_retries(&*self.reporter, "pushing the manifest", || {
            self.inner.push_manifest_raw(
                reference,
                body.clone(),
                HeaderValue::from_static(OCI_MANIFEST),
            )
        })
        .await
        .map_err(|err| self.error(&format!("could not push the manifest for {reference}"), err))
    }

    /// Gets (and caches) a push token, so the first upload request already carries it;
    /// once per repository.
    async fn authenticate_push(&self, reference: &Reference) -> Result<()> {
        let repository = reference.repository().to_owned();
        let done = |set: &std::collections::HashSet<String>| set.contains(&repository);
        if self.pushed_to.lock().is_ok_and(|set| done(&set)) {
            return Ok(());
        }
        with_retries(&*self.reporter, "authenticating", || {
            self.inner
                .auth(reference, &self.auth, oci_client::RegistryOperation::Push)
        })
        .await
        .map_err(|err| self.error("could not authenticate for push", err))?;
        if let Ok(mut set) = self.pushed_to.lock() {
            set.insert(repository);
        }
        Ok(())
    }
}

/// The manifest of a Wasm package, as upstream wkg writes it (design.md §3).
///
/// `annotations` are the `org.opencontainers.image.*` values from wasm-metadata; the
/// version annotation is always set, and the layer is titled `<name>.wasm`.
pub fn wasm_manifest(
    config: (&str, usize),
    layer: (&str, u64),
    name: &str,
    version: &str,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut all: BTreeMap<String, String> = annotations.clone();
    all.insert(
        "org.opencontainers.image.version".to_owned(),
        version.to_owned(),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": WASM_CONFIG, "digest": config.0, "size": config.1 },
        "layers": [{
            "mediaType": WASM_LAYER,
            "digest": layer.0,
            "size": layer.1,
            "annotations": { "org.opencontainers.image.title": format!("{name}.wasm") },
        }],
        "annotations": all,
    });
    serde_json::to_vec(&manifest).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    #[test]
    fn manifest_shape() {
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "org.opencontainers.image.description".to_owned(),
            "d".to_owned(),
        );
        let bytes = wasm_manifest(
            ("sha256:c", 10),
            ("sha256:l", 20),
            "thing",
            "1.0.0",
            &annotations,
        );
        let manifest: Json = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(manifest["config"]["mediaType"], WASM_CONFIG);
        assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
        assert_eq!(manifest["layers"][0]["mediaType"], WASM_LAYER);
        assert_eq!(manifest["layers"][0]["size"], 20);
        assert_eq!(
            manifest["layers"][0]["annotations"]["org.opencontainers.image.title"],
            "thing.wasm"
        );
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.version"],
            "1.0.0"
        );
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.description"],
            "d"
        );
        assert!(manifest.get("artifactType").is_none());
        assert!(manifest.get("subject").is_none());
    }
}

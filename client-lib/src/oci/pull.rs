//! Reading from an OCI registry: tags, Wasm manifests, and layer downloads into the cache.

use std::path::PathBuf;

use futures::StreamExt as _;
use oci_client::Reference;
use oci_client::errors::{DigestError, OciDistributionError};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OciManifest};

use super::retry::with_attempts;
use super::{OCI_MANIFEST, OciClient, WASM_CONFIG, WASM_LAYER, is_not_found};
use crate::cache::{BlobWriter, Digest};
use crate::error::{Error, Result};

/// A Wasm package manifest, checked.
#[derive(Clone, Debug)]
pub struct WasmManifest {
    pub manifest: OciImageManifest,
    /// Digest of the manifest itself.
    pub digest: String,
    /// The one layer: the package content.
    pub layer: OciDescriptor,
}

impl OciClient {
    /// All tags of `repository`, or `None` when the registry does not know it.
    pub async fn list_tags(&self, repository: &str) -> Result<Option<Vec<String>>> {
        let reference = self.reference(repository, "latest");
        let result = with_attempts(self.attempts, &*self.reporter, "listing tags", || {
            self.inner.list_tags(&reference, &self.auth, None, None)
        })
        .await;
        match result {
            Ok(response) => Ok(Some(response.tags)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.error(&format!("could not list the tags of {repository}"), err)),
        }
    }

    /// The image manifest at `reference`; `None` when it does not exist. Fetched as the
    /// proxy fetches manifests ([`OciClient::manifest_raw`]), then parsed: an image index
    /// is refused rather than resolved, since a Wasm package is never multi-platform.
    pub async fn image_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<(OciImageManifest, String)>> {
        let at = reference.digest().or(reference.tag()).unwrap_or("latest");
        let Some(raw) = self.manifest_raw(reference.repository(), at).await? else {
            return Ok(None);
        };
        let not_image = |reason: String| Error::Registry {
            registry: self.registry.clone(),
            message: format!("the manifest of {reference} is not an image manifest: {reason}"),
            source: None,
        };
        match serde_json::from_slice::<OciManifest>(&raw.bytes) {
            Ok(OciManifest::Image(manifest)) => Ok(Some((manifest, raw.digest))),
            Ok(OciManifest::ImageIndex(_)) => Err(not_image(
                "it is an image index (a multi-platform image)".to_owned(),
            )),
            Err(err) => Err(not_image(err.to_string())),
        }
    }

    /// The manifest at `reference` as a Wasm package (§3 of the design: OCI image manifest,
    /// Wasm config, exactly one layer); `None` when it does not exist.
    pub async fn wasm_manifest(&self, reference: &Reference) -> Result<Option<WasmManifest>> {
        let Some((manifest, digest)) = self.image_manifest(reference).await? else {
            return Ok(None);
        };
        let not_wasm = |reason: String| Error::NotAWasmPackage {
            reference: reference.to_string(),
            reason,
        };
        if let Some(media_type) = &manifest.media_type
            && media_type != OCI_MANIFEST
        {
            return Err(not_wasm(format!("its manifest media type is {media_type}")));
        }
        if manifest.config.media_type != WASM_CONFIG {
            return Err(not_wasm(format!(
                "its config media type is {}, not {WASM_CONFIG}",
                manifest.config.media_type
            )));
        }
        let [layer] = manifest.layers.as_slice() else {
            return Err(not_wasm(format!(
                "it has {} layers; a Wasm package has exactly one",
                manifest.layers.len()
            )));
        };
        if layer.media_type != WASM_LAYER {
            return Err(not_wasm(format!(
                "its layer media type is {}, not {WASM_LAYER}",
                layer.media_type
            )));
        }
        let layer = layer.clone();
        Ok(Some(WasmManifest {
            manifest,
            digest,
            layer,
        }))
    }

    /// Streams a blob into `writer`, reporting progress, and commits it once its digest
    /// checks out. Retries restart the download into a fresh writer from `open`.
    pub async fn download<F, Fut>(
        &self,
        reference: &Reference,
        layer: &OciDescriptor,
        label: &str,
        open: F,
    ) -> Result<PathBuf>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<BlobWriter>>,
    {
        let expected = Digest::parse(&layer.digest).ok_or_else(|| Error::NotAWasmPackage {
            reference: reference.to_string(),
            reason: format!("its layer digest {} is not a sha256 digest", layer.digest),
        })?;
        let mut last_error = None;
        for _ in 0..3 {
            let mut writer = open().await?;
            match self.stream_into(reference, layer, label, &mut writer).await {
                Ok(()) => return writer.commit(&format!("{reference} ({expected})")).await,
                Err(Fetch::Permanent(err)) => return Err(err),
                Err(Fetch::Transient(err)) => {
                    self.reporter
                        .warn(&format!("download of {reference} failed ({err}); retrying"));
                    last_error = Some(err);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Registry {
            registry: self.registry.clone(),
            message: "download failed".into(),
            source: None,
        }))
    }

    async fn stream_into(
        &self,
        reference: &Reference,
        layer: &OciDescriptor,
        label: &str,
        writer: &mut BlobWriter,
    ) -> Result<(), Fetch> {
        let stream = self
            .blob_raw(reference.repository(), &layer.digest)
            .await
            .map_err(Fetch::Permanent)?
            .ok_or_else(|| {
                Fetch::Permanent(Error::Registry {
                    registry: self.registry.clone(),
                    message: format!(
                        "{reference} names blob {}, which it does not have",
                        layer.digest
                    ),
                    source: None,
                })
            })?;
        let total = stream.length.or(u64::try_from(layer.size).ok());
        let mut progress = self.reporter.start(label, total);
        let mut stream = stream.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| self.stream_error(reference, err))?;
            writer.write(&chunk).await.map_err(Fetch::Permanent)?;
            progress.advance(chunk.len() as u64);
        }
        progress.finish();
        Ok(())
    }

    /// A failed read mid-stream: a digest mismatch is final, a broken connection is not.
    fn stream_error(&self, reference: &Reference, err: std::io::Error) -> Fetch {
        if let Some(DigestError::VerificationError { expected, actual }) =
            err.get_ref().and_then(|e| e.downcast_ref::<DigestError>())
        {
            return Fetch::Permanent(Error::DigestMismatch {
                what: reference.to_string(),
                expected: expected.clone(),
                actual: actual.clone(),
            });
        }
        Fetch::Transient(self.error(
            &format!("the download of {reference} broke off"),
            OciDistributionError::IoError(err),
        ))
    }
}

/// Whether a failed download is worth restarting.
enum Fetch {
    Permanent(Error),
    Transient(Error),
}

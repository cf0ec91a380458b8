//! The OCI side of the package client: versions from tags, content through the cache,
//! and publishing as upstream does (layer, config, manifest).

use std::path::PathBuf;

use super::publish::check_neighbours;
use super::{Located, PublishRequest, Published, semver_tags, sha256};
use crate::cache::{Cache, Digest};
use crate::error::{Error, Result};
use crate::oci::{self, OciClient};
use crate::package::PackageRef;
use crate::wasm::{WasmInfo, now_rfc3339};

/// A package's repository on an OCI registry.
pub(super) struct OciTarget {
    pub(super) oci: OciClient,
    pub(super) repository: String,
}

impl OciTarget {
    /// Semver tags, ascending; `None` when the repository does not exist.
    pub(super) async fn versions(&self) -> Result<Option<Vec<semver::Version>>> {
        Ok(self
            .oci
            .list_tags(&self.repository)
            .await?
            .map(|tags| semver_tags(&tags)))
    }

    /// The content of `version` in the cache (downloading it if needed), its digest, and
    /// whether the cache already had it; `None` when the version does not exist.
    pub(super) async fn get(
        &self,
        package: &PackageRef,
        version: &semver::Version,
        cache: &Cache,
    ) -> Result<Option<(PathBuf, Digest, bool)>> {
        let reference = self.oci.reference(&self.repository, &version.to_string());
        let Some(manifest) = self.oci.wasm_manifest(&reference).await? else {
            return Ok(None);
        };
        let digest =
            Digest::parse(&manifest.layer.digest).ok_or_else(|| Error::NotAWasmPackage {
                reference: reference.to_string(),
                reason: format!("layer digest {} is not sha256", manifest.layer.digest),
            })?;
        let host = self.oci.registry().to_owned();
        if let Some(path) = cache.get(&host, &digest) {
            return Ok(Some((path, digest, true)));
        }
        let label = format!("{package}@{version}");
        let path = self
            .oci
            .download(&reference, &manifest.layer, &label, || {
                cache.writer(&host, &digest)
            })
            .await?;
        Ok(Some((path, digest, false)))
    }

    /// Uploads the file streamed, then the config and the manifest (design.md §3).
    pub(super) async fn publish(
        &self,
        request: &PublishRequest,
        info: &WasmInfo,
        (package, version): (&PackageRef, &semver::Version),
        (layer_digest, size): (&Digest, u64),
        (located, cache): (&Located, &Cache),
    ) -> Result<Published> {
        let reference = self.oci.reference(&self.repository, &version.to_string());
        let config = serde_json::to_vec(&info.oci_config(layer_digest.as_str(), &now_rfc3339()))
            .unwrap_or_default();
        let config_digest = sha256(&config);
        let manifest = oci::wasm_manifest(
            (config_digest.as_str(), config.len()),
            (layer_digest.as_str(), size),
            package.name().as_str(),
            &version.to_string(),
            &info.annotations,
        );
        let published = Published {
            package: package.clone(),
            version: version.clone(),
            registry: located.registry.clone(),
            reference: reference.to_string(),
            layer_digest: layer_digest.clone(),
            manifest_digest: Some(sha256(&manifest).to_string()),
            size,
        };
        if request.dry_run {
            return Ok(published);
        }
        if !request.skip_existing_check {
            let existing = self.versions().await?.unwrap_or_default();
            if existing.contains(version) {
                return Err(Error::VersionExists {
                    package: package.clone(),
                    version: version.clone(),
                    registry: located.registry.to_string(),
                });
            }
            check_neighbours(
                package,
                version,
                &request.path,
                &existing,
                |other| async move {
                    Ok(self
                        .get(package, &other, cache)
                        .await?
                        .map(|(path, _, _)| path))
                },
            )
            .await?;
        }
        let label = format!("{package}@{version}");
        self.oci
            .push_file(
                &reference,
                &request.path,
                layer_digest.as_str(),
                size,
                &label,
            )
            .await?;
        self.oci
            .push_bytes(&reference, config, config_digest.as_str())
            .await?;
        self.oci.push_manifest(&reference, &manifest).await?;
        Ok(published)
    }
}

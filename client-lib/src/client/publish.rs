//! Publishing through the package client: the package identity (from `--package` or the
//! file), the backend, and the semver checks against neighbouring versions.

use std::path::{Path, PathBuf};

use super::{Client, PublishRequest, Published, Target, inspect, unknown_identity};
use crate::error::{Error, Result};
use crate::package::PackageRef;

impl Client {
    /// Publishes a component or WIT package file (see [`PublishRequest`]).
    pub async fn publish(&self, request: &PublishRequest) -> Result<Published> {
        if self.offline {
            return Err(Error::Offline {
                what: "publishing needs the registry".into(),
            });
        }
        let path = &request.path;
        let (info, layer_digest, size) = inspect(path).await?;
        let package = match (&request.package, &info.package) {
            (Some(spec), _) => spec.package.clone(),
            (None, Some(package)) => package.clone(),
            (None, None) => return Err(unknown_identity(path, "no package name")),
        };
        let version = match (
            request.package.as_ref().and_then(|s| s.version.clone()),
            &info.version,
        ) {
            (Some(version), _) => version,
            (None, Some(version)) => version.clone(),
            (None, None) => return Err(unknown_identity(path, "no version")),
        };
        let located = self.locate(&package, request.registry.as_ref()).await?;
        let local = match &located.target {
            Target::Oci(target) => {
                return target
                    .publish(
                        request,
                        &info,
                        (&package, &version),
                        (&layer_digest, size),
                        (&located, &self.cache),
                    )
                    .await;
            }
            Target::Warg(_) => {
                return Err(Error::UnsupportedBackend {
                    registry: located.registry.to_string(),
                    backend: "warg (publishing)",
                });
            }
            Target::Local(local) => local,
        };
        let published = Published {
            package: package.clone(),
            version: version.clone(),
            registry: located.registry.clone(),
            reference: local.version_path(&package, &version).display().to_string(),
            layer_digest,
            manifest_digest: None,
            size,
        };
        if !request.dry_run {
            if !request.skip_existing_check {
                let existing = local.list_versions(&package)?.unwrap_or_default();
                let package_ref = &package;
                check_neighbours(&package, &version, path, &existing, |other| async move {
                    Ok(local.get(package_ref, &other)?.map(|(path, _)| path))
                })
                .await?;
            }
            local.publish(&package, &version, path, located.registry.as_str())?;
        }
        Ok(published)
    }
}

/// Checks a WIT package about to be published against the nearest lower and higher
/// versions of its series (see [`crate::semver_check`]); `content_of` finds their files.
pub(super) async fn check_neighbours<F, Fut>(
    package: &PackageRef,
    version: &semver::Version,
    path: &Path,
    existing: &[semver::Version],
    content_of: F,
) -> Result<()>
where
    F: Fn(semver::Version) -> Fut,
    Fut: std::future::Future<Output = Result<Option<PathBuf>>>,
{
    let (lower, higher) = crate::semver_check::neighbours(version, existing);
    if lower.is_none() && higher.is_none() {
        return Ok(());
    }
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| Error::Io {
            action: "could not read",
            path: path.to_path_buf(),
            source,
        })
    };
    let new = read(path)?;
    for (other, newer_is_ours) in [(lower, true), (higher, false)] {
        let Some(other) = other else { continue };
        let Some(other_path) = content_of(other.clone()).await? else {
            continue;
        };
        let other_bytes = read(&other_path)?;
        let result = if newer_is_ours {
            crate::semver_check::check_successor(&other_bytes, &new)
        } else {
            crate::semver_check::check_successor(&new, &other_bytes)
        };
        result.map_err(|reason| Error::SemverIncompatible {
            package: format!("{package}@{version}"),
            other: other.to_string(),
            reason,
        })?;
    }
    Ok(())
}

//! `--offline`: answering `get` from the cache index alone (see `cache/index.rs`).

use super::{Client, Fetched};
use crate::config::Backend;
use crate::error::{Error, Result};
use crate::package::{PackageRef, PackageSpec};
use crate::registry::RegistryName;

impl Client {
    /// The registry name for a package, and whether it is a local directory.
    pub(super) fn registry_name(
        &self,
        package: &PackageRef,
        registry: Option<&RegistryName>,
    ) -> Result<(RegistryName, bool)> {
        let name = match registry {
            Some(registry) => registry.clone(),
            None => self.registry_for(package)?,
        };
        let local = self
            .config
            .registry_config(&name)
            .is_some_and(|c| c.backend() == Backend::Local && c.local.is_some());
        Ok((name, local))
    }

    /// `get` from the cache alone (offline, for a registry that is not a directory).
    pub(super) fn get_offline(
        &self,
        spec: &PackageSpec,
        registry: &RegistryName,
    ) -> Result<Fetched> {
        let package = &spec.package;
        let version = match &spec.version {
            Some(version) => version.clone(),
            None => self
                .cache
                .recorded_versions(registry.as_str(), package)
                .pop()
                .ok_or_else(|| Error::Offline {
                    what: format!("no version of `{package}` from {registry} was fetched before"),
                })?,
        };
        let (_, digest, path) = self
            .cache
            .recorded_version(registry.as_str(), package, &version)
            .ok_or_else(|| Error::Offline {
                what: format!("`{package}@{version}` from {registry} is not in the cache"),
            })?;
        Ok(Fetched {
            package: package.clone(),
            version,
            registry: registry.clone(),
            digest,
            path,
            from_cache: true,
        })
    }
}

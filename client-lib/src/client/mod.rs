//! The package client: from `ns:name@version` to bytes on disk, and back to a registry.
//!
//! It strings the pieces together in the order upstream wkg does: config resolution picks
//! the registry, registry.json (or inline metadata) says which OCI host and prefix serve
//! it, credentials are looked up for that host, and the OCI backend does the transfer. The
//! content cache sits in front of downloads, keyed by the OCI host and the layer digest.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

mod catalog;
mod oci_target;
mod offline;
mod publish;
mod warg_target;

use crate::cache::{Cache, Digest};
use crate::config::{Backend, Config};
use crate::discovery::{Discovery, RegistryMetadata};
use crate::error::{Error, Result};
use crate::local::LocalRegistry;
use crate::oci::{self, CredentialSources, OciClient, OciSettings};
use crate::package::{PackageRef, PackageSpec};
use crate::progress::SharedReporter;
use crate::registry::RegistryName;
use crate::wasm::WasmInfo;

pub use catalog::{PackageInfo, SearchHit, VersionDetail};
use oci_target::OciTarget;
use warg_target::WargTarget;

/// A package version fetched into the cache.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub package: PackageRef,
    pub version: semver::Version,
    pub registry: RegistryName,
    /// Digest of the content (the layer), as `wkg.lock` records it.
    pub digest: Digest,
    /// The content in the cache.
    pub path: PathBuf,
    /// Whether the cache already had it (no download).
    pub from_cache: bool,
}

/// What `publish` is asked to do.
#[derive(Clone, Debug)]
pub struct PublishRequest {
    pub path: PathBuf,
    /// `--package`: overrides the name (and the version, when it has one) in the file.
    pub package: Option<PackageSpec>,
    pub registry: Option<RegistryName>,
    /// Resolve and describe, but upload nothing.
    pub dry_run: bool,
    /// Skip the check for an existing version (the registry must enforce immutability).
    pub skip_existing_check: bool,
}

/// What was (or, for a dry run, would be) published.
#[derive(Clone, Debug)]
pub struct Published {
    pub package: PackageRef,
    pub version: semver::Version,
    pub registry: RegistryName,
    /// `<oci host>/<repository>:<version>`, or the file for a local registry.
    pub reference: String,
    pub layer_digest: Digest,
    /// The OCI manifest's digest (`None` for a local registry).
    pub manifest_digest: Option<String>,
    pub size: u64,
}

/// Where a package lives once resolution and discovery are done.
struct Located {
    registry: RegistryName,
    target: Target,
}

/// The backend that serves a located package.
enum Target {
    Oci(OciTarget),
    Warg(WargTarget),
    Local(LocalRegistry),
}

/// Fetches and publishes packages according to a config.
pub struct Client {
    config: Config,
    cache: Cache,
    discovery: Discovery,
    reporter: SharedReporter,
    credentials: CredentialSources<'static>,
    /// Never touch the network: answer from the cache (and local registries) only.
    offline: bool,
    /// For the gateway's package API (search, info).
    http: reqwest::Client,
}

impl Client {
    pub fn new(config: Config, cache: Cache, reporter: SharedReporter) -> Self {
        crate::install_crypto_provider();
        // A registry that accepts no connection is given up on as soon as a registry.json
        // would be (see `discovery::DISCOVERY_TIMEOUT`).
        let http = reqwest::Client::builder()
            .connect_timeout(crate::discovery::DISCOVERY_TIMEOUT)
            .build()
            .unwrap_or_default();
        let discovery = Discovery::new(http.clone(), Some(cache.registries_dir()));
        Client {
            config,
            cache,
            discovery,
            reporter,
            credentials: CredentialSources::system(),
            offline: false,
            http,
        }
    }

    /// Switches to offline mode: versions and content come from what earlier fetches
    /// left in the cache; anything else is an [`Error::Offline`].
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The registry a package resolves to by config alone (no network).
    pub fn registry_for(&self, package: &PackageRef) -> Result<RegistryName> {
        Ok(self.config.resolve_registry(package)?.registry)
    }

    async fn locate(
        &self,
        package: &PackageRef,
        registry: Option<&RegistryName>,
    ) -> Result<Located> {
        let (registry, inline) = match registry {
            Some(registry) => (registry.clone(), None),
            None => {
                let resolved = self.config.resolve_registry(package)?;
                (resolved.registry, resolved.metadata)
            }
        };
        let registry_config = self.config.registry_config(&registry);
        match registry_config.map(|c| (c.backend(), c.local.as_ref())) {
            Some((Backend::Warg, _)) => {
                let warg = registry_config.and_then(|c| c.warg.as_ref());
                let url = match warg.and_then(|w| w.url.clone()) {
                    Some(url) => url,
                    None => self.warg_url_from_discovery(&registry).await?,
                };
                let token = warg
                    .and_then(|w| w.auth_token.as_ref())
                    .map(|t| t.expose().to_owned());
                return self.warg_located(registry, url, token).await;
            }
            Some((Backend::Local, Some(local))) => {
                return Ok(Located {
                    registry,
                    target: Target::Local(LocalRegistry::new(&local.root)),
                });
            }
            Some((Backend::Local, None)) => return Err(unsupported(&registry, "local")),
            _ => {}
        }
        let oci_config = registry_config.and_then(|c| c.oci.as_ref());
        let metadata = match inline {
            Some(doc) => RegistryMetadata::from_json(&doc).unwrap_or_else(|reason| {
                self.reporter.warn(&format!(
                    "ignoring the inline metadata for {registry}: {reason}"
                ));
                RegistryMetadata::default()
            }),
            None => {
                let protocol = oci_config.and_then(|c| c.protocol);
                self.discovery
                    .metadata(&registry, protocol, &*self.reporter)
                    .await
            }
        };
        if metadata.oci.is_none()
            && let Some(url) = metadata.warg_url
        {
            return self.warg_located(registry, url, None).await;
        }
        let location = metadata.oci_location(&registry);
        let settings = OciSettings::for_registry(&location.registry, oci_config, &*self.reporter)?;
        let credentials = oci::auth::resolve(&location.registry, oci_config, &self.credentials)?;
        let oci = OciClient::new(
            &location.registry,
            &settings,
            &credentials,
            self.reporter.clone(),
        );
        let repository = format!(
            "{}{}/{}",
            location.namespace_prefix,
            package.namespace(),
            package.name()
        );
        Ok(Located {
            registry,
            target: Target::Oci(OciTarget { oci, repository }),
        })
    }

    /// A Warg registry's URL from its registry.json, for `default = "warg"` without a `url`.
    async fn warg_url_from_discovery(&self, registry: &RegistryName) -> Result<String> {
        let metadata = self
            .discovery
            .metadata(registry, None, &*self.reporter)
            .await;
        metadata.warg_url.ok_or_else(|| Error::Registry {
            registry: registry.to_string(),
            message: format!(
                "its backend is warg but neither the config nor its registry.json gives a Warg \
                 URL; set `url` under [registry.\"{registry}\".warg]"
            ),
            source: None,
        })
    }

    /// A Warg target, with warg-client's storage in the cache (one directory per URL).
    async fn warg_located(
        &self,
        registry: RegistryName,
        url: String,
        auth_token: Option<String>,
    ) -> Result<Located> {
        let storage = self
            .cache
            .root()
            .join("warg")
            .join(crate::cache::escape_registry(&url));
        let client = crate::warg::WargClient::open(&url, &storage, auth_token).await?;
        Ok(Located {
            registry,
            target: Target::Warg(WargTarget { client, url }),
        })
    }

    /// All versions (semver tags), ascending, and the registry that has them.
    pub async fn list_versions(
        &self,
        package: &PackageRef,
        registry: Option<&RegistryName>,
    ) -> Result<(RegistryName, Vec<semver::Version>)> {
        let (name, local) = self.registry_name(package, registry)?;
        if self.offline && !local {
            let versions = self.cache.recorded_versions(name.as_str(), package);
            if versions.is_empty() {
                return Err(Error::Offline {
                    what: format!("no version of `{package}` from {name} was fetched before"),
                });
            }
            return Ok((name, versions));
        }
        let located = self.locate(package, registry).await?;
        let versions = versions_of(&located, package).await?;
        Ok((located.registry, versions))
    }

    /// Fetches `spec` (the latest version when it has none) into the cache.
    pub async fn get(
        &self,
        spec: &PackageSpec,
        registry: Option<&RegistryName>,
    ) -> Result<Fetched> {
        let package = &spec.package;
        let (name, local) = self.registry_name(package, registry)?;
        if self.offline && !local {
            return self.get_offline(spec, &name);
        }
        let located = self.locate(package, registry).await?;
        let version = match &spec.version {
            Some(version) => version.clone(),
            None => versions_of(&located, package).await?.pop().ok_or_else(|| {
                Error::PackageNotFound {
                    package: package.clone(),
                    registry: located.registry.to_string(),
                }
            })?,
        };
        let not_found = |available| Error::VersionNotFound {
            package: package.clone(),
            version: version.clone(),
            registry: located.registry.to_string(),
            available: Box::new(available),
        };
        let found = match &located.target {
            Target::Oci(target) => target.get(package, &version, &self.cache).await?,
            Target::Warg(target) => {
                target
                    .get(package, &version, &self.cache, &*self.reporter)
                    .await?
            }
            Target::Local(local) => local
                .get(package, &version)?
                .map(|(path, digest)| (path, digest, false)),
        };
        let Some((path, digest, from_cache)) = found else {
            // Say which versions do exist (or that the package does not).
            return Err(not_found(versions_of(&located, package).await?));
        };
        // What `--offline` serves later: the content's cache key, by version.
        let content_host = match &located.target {
            Target::Oci(target) => Some(target.oci.registry()),
            Target::Warg(target) => Some(target.url.as_str()),
            Target::Local(_) => None,
        };
        if let Some(host) = content_host {
            self.cache
                .record_version(located.registry.as_str(), package, &version, host, &digest);
        }
        Ok(Fetched {
            package: package.clone(),
            version,
            registry: located.registry.clone(),
            digest,
            path,
            from_cache,
        })
    }
}

/// Reads the file once to decode it and hash it; the bytes are dropped before any upload.
pub async fn inspect(path: &Path) -> Result<(WasmInfo, Digest, u64)> {
    let bytes = tokio::fs::read(path).await.map_err(|source| Error::Io {
        action: "could not read",
        path: path.to_path_buf(),
        source,
    })?;
    let info = WasmInfo::decode(path, &bytes)?;
    Ok((info, sha256(&bytes), bytes.len() as u64))
}

pub(crate) fn sha256(bytes: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    Digest::from_hasher(hasher)
}

fn unsupported(registry: &RegistryName, backend: &'static str) -> Error {
    Error::UnsupportedBackend {
        registry: registry.to_string(),
        backend,
    }
}

pub(super) fn unknown_identity(path: &Path, missing: &str) -> Error {
    Error::UnknownPackageIdentity {
        path: path.to_path_buf(),
        missing: missing.to_owned(),
    }
}

/// Versions, ascending; a package the registry does not know is "package not found".
async fn versions_of(located: &Located, package: &PackageRef) -> Result<Vec<semver::Version>> {
    let versions = match &located.target {
        Target::Oci(target) => target.versions().await?,
        Target::Warg(target) => target.versions(package).await?,
        Target::Local(local) => local.list_versions(package)?,
    };
    versions.ok_or_else(|| Error::PackageNotFound {
        package: package.clone(),
        registry: located.registry.to_string(),
    })
}

/// Tags that parse as semver, ascending; others (`latest`, digests) are ignored, as upstream.
pub fn semver_tags(tags: &[String]) -> Vec<semver::Version> {
    let mut versions: Vec<_> = tags
        .iter()
        .filter_map(|tag| semver::Version::parse(tag).ok())
        .collect();
    versions.sort();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_semver_tags_count_and_prereleases_sort_below() {
        let tags: Vec<String> = ["latest", "1.0.0", "0.9.0", "1.0.0-rc.1", "v2", "1.10.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let versions: Vec<String> = semver_tags(&tags).iter().map(ToString::to_string).collect();
        assert_eq!(versions, ["0.9.0", "1.0.0-rc.1", "1.0.0", "1.10.0"]);
    }
}

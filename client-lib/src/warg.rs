//! Warg registries through `warg-client`: release lists and content, both
//! verified by the client (package logs against the registry's checkpoints,
//! content against the digest the log records).
//!
//! Upstream wkg dropped its Warg backend in 0.16; this library keeps one for
//! the gateway's Warg upstreams. Each [`WargClient`] keeps warg-client's file
//! storage (package logs and content) in a directory of its own, which it
//! locks: give every client its own directory.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use warg_client::storage::PackageInfo;
use warg_client::{ClientError, FileSystemClient};
use warg_protocol::registry::PackageName;

use crate::error::{Error, Result};

/// One release of a package, as its verified log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WargRelease {
    pub version: semver::Version,
    /// `sha256:<hex>` of the content.
    pub digest: String,
    /// When the release was published (the log record's timestamp).
    pub published: SystemTime,
}

/// A client for one Warg registry.
pub struct WargClient {
    /// Boxed: warg-client's client is large, and callers keep this in enums.
    inner: Box<FileSystemClient>,
    url: String,
}

impl std::fmt::Debug for WargClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WargClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WargClient {
    /// Opens a client for the registry at `url`, storing logs and content
    /// under `storage` (created when missing), sending `auth_token` as a bearer
    /// token when given.
    pub async fn open(url: &str, storage: &Path, auth_token: Option<String>) -> Result<Self> {
        crate::install_crypto_provider();
        let config = warg_client::Config {
            home_url: Some(url.to_owned()),
            registries_dir: Some(storage.join("registries")),
            content_dir: Some(storage.join("content")),
            namespace_map_path: Some(storage.join("namespaces.json")),
            disable_interactive: true,
            disable_auto_package_init: true,
            ignore_federation_hints: true,
            ..warg_client::Config::default()
        };
        let token = auth_token.map(secrecy::Secret::new);
        let inner = FileSystemClient::new_with_config(Some(url), &config, token)
            .await
            .map_err(|err| Self::error_for(url, "could not open the Warg client", err))?;
        Ok(Self {
            inner: Box::new(inner),
            url: url.to_owned(),
        })
    }

    /// The releases of `namespace:name` that are not yanked, fetched fresh from the
    /// registry and verified; `None` when the registry does not know the package.
    pub async fn releases(&self, namespace: &str, name: &str) -> Result<Option<Vec<WargRelease>>> {
        let Some(info) = self.package(namespace, name).await? else {
            return Ok(None);
        };
        let mut releases: Vec<WargRelease> = info
            .state
            .releases()
            .filter_map(|release| {
                let digest = release.content()?.to_string();
                Some(WargRelease {
                    version: release.version.clone(),
                    digest,
                    published: release.timestamp,
                })
            })
            .collect();
        releases.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(Some(releases))
    }

    /// Downloads one version's content (verified against its digest) and returns where
    /// it is. The file belongs to this client's storage: the caller may delete it once
    /// done with it.
    pub async fn download(
        &self,
        namespace: &str,
        name: &str,
        version: &semver::Version,
    ) -> Result<PathBuf> {
        let package = Self::package_name(namespace, name)?;
        let download = self
            .inner
            .download_exact(&package, version)
            .await
            .map_err(|err| {
                Self::error_for(
                    &self.url,
                    &format!("could not download {package}@{version}"),
                    err,
                )
            })?;
        Ok(download.path)
    }

    /// Removes downloaded content from this client's storage.
    pub fn forget_content(&self, path: &Path) {
        let _ = std::fs::remove_file(path);
    }

    async fn package(&self, namespace: &str, name: &str) -> Result<Option<PackageInfo>> {
        let package = Self::package_name(namespace, name)?;
        match self.inner.fetch_package(&package).await {
            Ok(info) => Ok(Some(info)),
            Err(ClientError::PackageDoesNotExist { .. }) => Ok(None),
            Err(err) => Err(Self::error_for(
                &self.url,
                &format!("could not read the log of {package}"),
                err,
            )),
        }
    }

    fn package_name(namespace: &str, name: &str) -> Result<PackageName> {
        PackageName::new(format!("{namespace}:{name}")).map_err(|err| Error::Registry {
            registry: String::new(),
            message: format!("{namespace}:{name} is not a Warg package name: {err}"),
            source: None,
        })
    }

    fn error_for(url: &str, action: &str, err: ClientError) -> Error {
        let unreachable = matches!(&err, ClientError::Api(api) if api.to_string().contains("error sending request"));
        if unreachable {
            Error::Unreachable {
                registry: url.to_owned(),
                source: Box::new(err),
            }
        } else {
            Error::Registry {
                registry: url.to_owned(),
                message: action.to_owned(),
                source: Some(Box::new(err)),
            }
        }
    }
}

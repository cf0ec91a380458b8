//! One upstream registry: how to reach it, and every request the proxy sends it
//! (each bounded by the entry's `timeout`, counted, and followed by a rest
//! after a failure).

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wkg_client::discovery::protocol_for;
use wkg_client::oci::{Credentials, OciClient, OciSettings, RawBlob, RawManifest};
use wkg_client::warg::{WargClient, WargRelease};
use wkg_client::{BasicCredentials, OciProtocol};

use super::{REST_AFTER_FAILURE, UpstreamError};
use crate::config::{UpstreamConfig, UpstreamSource};
use crate::metrics::{UpstreamRequestLabels, global};

/// An `[[upstream]]` entry and its (lazily opened) client.
pub struct Upstream {
    pub config: UpstreamConfig,
    /// The local namespace prefix, replaced by the upstream's own.
    local_prefix: String,
    connection: tokio::sync::OnceCell<Connection>,
    /// Until when the upstream is left alone after a failure.
    resting_until: Mutex<Option<Instant>>,
    /// Warg releases are cached one at a time per upstream (the single
    /// flight of Warg content: a download is a whole version).
    pub warg_ingest: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The client for an upstream.
enum Connection {
    /// With the prefix the upstream's repositories carry.
    Oci {
        client: OciClient,
        namespace_prefix: String,
    },
    /// With the directory of warg-client's storage (logs and content), one
    /// per process and upstream, removed when the process ends.
    Warg {
        client: WargClient,
        _storage: tempfile::TempDir,
    },
}

/// The releases of the package at `path` (`ns/name`); `None` for other paths.
async fn warg_releases(
    client: &WargClient,
    path: &str,
) -> wkg_client::Result<Option<Vec<WargRelease>>> {
    match path.split_once('/') {
        Some((namespace, name)) if !name.contains('/') => client.releases(namespace, name).await,
        _ => Ok(None),
    }
}

/// Retries are few: a proxy with something cached should fall back quickly.
const ATTEMPTS: u32 = 2;

/// Logs the client library's retry warnings.
struct LogReporter;

impl wkg_client::Reporter for LogReporter {
    fn start(&self, _label: &str, _total: Option<u64>) -> Box<dyn wkg_client::Transfer> {
        wkg_client::NoReporter.start("", None)
    }

    fn warn(&self, message: &str) {
        tracing::warn!(message, "upstream request");
    }
}

impl Upstream {
    pub fn new(config: UpstreamConfig, local_prefix: String) -> Self {
        Self {
            config,
            local_prefix,
            connection: tokio::sync::OnceCell::new(),
            resting_until: Mutex::new(None),
            warg_ingest: tokio::sync::Mutex::new(()),
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Whether this is a Warg registry (whose releases are synthesized into
    /// OCI artifacts, see `proxy::warg`) rather than an OCI one.
    pub fn is_warg(&self) -> bool {
        matches!(self.config.source, UpstreamSource::Warg { .. })
    }

    /// The manifest at a tag or digest, exactly as the upstream serves it.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<RawManifest>, UpstreamError> {
        self.call("manifest", repository, |connection, path| async move {
            match connection {
                Connection::Oci { client, .. } => client.manifest_raw(&path, reference).await,
                Connection::Warg { .. } => Ok(None),
            }
        })
        .await
    }

    /// Where `tag` points at the upstream now.
    pub async fn tag_digest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<String>, UpstreamError> {
        self.call("tag", repository, |connection, path| async move {
            match connection {
                Connection::Oci { client, .. } => client.manifest_digest(&path, tag).await,
                Connection::Warg { .. } => Ok(None),
            }
        })
        .await
    }

    /// Every tag of the repository at the upstream (for Warg: its versions).
    pub async fn tags(&self, repository: &str) -> Result<Option<Vec<String>>, UpstreamError> {
        self.call("tags", repository, |connection, path| async move {
            match connection {
                Connection::Oci { client, .. } => client.list_tags(&path).await,
                Connection::Warg { client, .. } => Ok(warg_releases(client, &path)
                    .await?
                    .map(|all| all.iter().map(|r| r.version.to_string()).collect())),
            }
        })
        .await
    }

    /// Starts a blob download (the response headers have arrived).
    pub async fn blob(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<RawBlob>, UpstreamError> {
        self.call("blob", repository, |connection, path| async move {
            match connection {
                Connection::Oci { client, .. } => client.blob_raw(&path, digest).await,
                Connection::Warg { .. } => Ok(None),
            }
        })
        .await
    }

    /// The releases of a Warg package, from its verified log.
    pub async fn releases(
        &self,
        repository: &str,
    ) -> Result<Option<Vec<WargRelease>>, UpstreamError> {
        self.call("releases", repository, |connection, path| async move {
            match connection {
                Connection::Warg { client, .. } => warg_releases(client, &path).await,
                Connection::Oci { .. } => Ok(None),
            }
        })
        .await
    }

    /// Downloads one Warg release's content (verified against its digest);
    /// hand the path to [`Upstream::forget_download`] once it is stored.
    pub async fn download(
        &self,
        repository: &str,
        version: &semver::Version,
    ) -> Result<Option<PathBuf>, UpstreamError> {
        self.call("download", repository, |connection, path| async move {
            match (connection, path.split_once('/')) {
                (Connection::Warg { client, .. }, Some((namespace, name))) => {
                    client.download(namespace, name, version).await.map(Some)
                }
                _ => Ok(None),
            }
        })
        .await
    }

    /// Deletes a download from the Warg client's storage.
    pub fn forget_download(&self, path: &std::path::Path) {
        if let Some(Connection::Warg { client, .. }) = self.connection.get() {
            client.forget_content(path);
        }
    }

    /// Rests the upstream (see [`UpstreamError::rests_upstream`]), also for failures
    /// after a request started, like a download that stalled.
    pub fn failed(&self) {
        *self.resting_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + REST_AFTER_FAILURE);
    }

    /// Runs one request: refused while resting, bounded by the timeout,
    /// counted, and a failure starts a rest.
    async fn call<'a, T, F, Fut>(
        &'a self,
        operation: &'static str,
        repository: &str,
        request: F,
    ) -> Result<Option<T>, UpstreamError>
    where
        F: FnOnce(&'a Connection, String) -> Fut,
        Fut: Future<Output = wkg_client::Result<Option<T>>> + 'a,
    {
        let resting = *self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = resting {
            let now = Instant::now();
            if until > now {
                return Err(UpstreamError::Resting {
                    upstream: self.config.name.clone(),
                    retry_in: until - now,
                });
            }
        }
        let outcome = tokio::time::timeout(self.config.timeout, async {
            let connection = self.connection().await?;
            let path = repository
                .strip_prefix(&self.local_prefix)
                .unwrap_or(repository);
            let upstream_repo = match connection {
                Connection::Oci {
                    namespace_prefix, ..
                } => format!("{namespace_prefix}{path}"),
                Connection::Warg { .. } => path.to_string(),
            };
            request(connection, upstream_repo)
                .await
                .map_err(|error| self.classify(&error))
        })
        .await
        .unwrap_or_else(|_| {
            Err(UpstreamError::Timeout {
                upstream: self.config.name.clone(),
                timeout: self.config.timeout,
            })
        });
        let label = match &outcome {
            Ok(Some(_)) => "ok",
            Ok(None) => "not_found",
            Err(_) => "error",
        };
        global()
            .upstream_requests
            .get_or_create(&UpstreamRequestLabels {
                upstream: self.config.name.clone(),
                operation: operation.to_string(),
                outcome: label.to_string(),
            })
            .inc();
        if let Err(error) = &outcome {
            tracing::warn!(upstream = %self.config.name, operation, %error, "upstream request failed");
            if error.rests_upstream() {
                self.failed();
            }
        }
        outcome
    }

    fn classify(&self, error: &wkg_client::Error) -> UpstreamError {
        let upstream = self.config.name.clone();
        let detail = wkg_client::error::chain(error);
        match error {
            wkg_client::Error::Unreachable { .. } => {
                UpstreamError::Unreachable { upstream, detail }
            }
            wkg_client::Error::Unauthorized { .. } => UpstreamError::Refused { upstream, detail },
            _ => UpstreamError::Failed { upstream, detail },
        }
    }

    /// Opens the client on first use: for `registry = "..."` entries that
    /// means reading the registry's `registry.json` within the bounds of
    /// [`super::discover`] (retried on the next request if it fails).
    async fn connection(&self) -> Result<&Connection, UpstreamError> {
        self.connection
            .get_or_try_init(|| async {
                let (registry, namespace_prefix, http, credentials) = match &self.config.source {
                    UpstreamSource::Oci {
                        registry,
                        namespace_prefix,
                        http,
                        auth,
                    } => (
                        registry.clone(),
                        namespace_prefix.clone(),
                        *http,
                        auth.as_ref().map_or(Credentials::Anonymous, |auth| {
                            Credentials::Basic(BasicCredentials {
                                username: auth.username.clone(),
                                password: auth.password.clone(),
                            })
                        }),
                    ),
                    UpstreamSource::Registry {
                        host,
                        http,
                        discovery,
                    } => {
                        let (registry, prefix) =
                            super::discover::discover(&self.config.name, host, *http, discovery)
                                .await?;
                        (registry, prefix, *http, Credentials::Anonymous)
                    }
                    UpstreamSource::Warg { url } => return self.open_warg(url).await,
                };
                // The client library's rule: plain http when the entry says so or the
                // registry is on this machine, as for the CLI.
                let protocol =
                    protocol_for(&registry, http.then_some(OciProtocol::Http), &LogReporter);
                let settings = OciSettings {
                    insecure: protocol == OciProtocol::Http,
                    ..OciSettings::default()
                };
                let client =
                    OciClient::new(&registry, &settings, &credentials, Arc::new(LogReporter))
                        .with_attempts(ATTEMPTS);
                Ok(Connection::Oci {
                    client,
                    namespace_prefix,
                })
            })
            .await
    }

    async fn open_warg(&self, url: &url::Url) -> Result<Connection, UpstreamError> {
        let storage = tempfile::Builder::new()
            .prefix("wkg-gateway-warg-")
            .tempdir()
            .map_err(|e| {
                UpstreamError::Local(format!("cannot create the Warg client's storage: {e}"))
            })?;
        let client = WargClient::open(url.as_str(), storage.path(), None)
            .await
            .map_err(|error| self.classify(&error))?;
        Ok(Connection::Warg {
            client,
            _storage: storage,
        })
    }
}

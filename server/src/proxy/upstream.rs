//! One upstream registry: how to reach it, and every request the proxy sends it
//! (each bounded by the entry's `timeout`, counted, and followed by a rest
//! after a failure).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wkg_client::discovery::{RegistryMetadata, is_loopback, registry_json_url};
use wkg_client::oci::{Credentials, OciClient, OciSettings, RawBlob, RawManifest};
use wkg_client::{BasicCredentials, OciProtocol, RegistryName};

use super::{Error, REST_AFTER_FAILURE};
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
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The OCI client for an upstream, and the prefix its repositories carry.
struct Connection {
    client: OciClient,
    namespace_prefix: String,
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
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The manifest at a tag or digest, exactly as the upstream serves it.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<RawManifest>, Error> {
        self.call(
            "manifest",
            |connection, upstream_repo| async move {
                connection
                    .client
                    .manifest_raw(&upstream_repo, reference)
                    .await
            },
            repository,
        )
        .await
    }

    /// Where `tag` points at the upstream now.
    pub async fn tag_digest(&self, repository: &str, tag: &str) -> Result<Option<String>, Error> {
        self.call(
            "tag",
            |connection, upstream_repo| async move {
                connection.client.manifest_digest(&upstream_repo, tag).await
            },
            repository,
        )
        .await
    }

    /// Every tag of the repository at the upstream.
    pub async fn tags(&self, repository: &str) -> Result<Option<Vec<String>>, Error> {
        self.call("tags", |connection, upstream_repo| async move {
            connection.client.list_tags(&upstream_repo).await
        }, repository)
        .await
    }

    /// Starts a blob download (the response headers have arrived).
    pub async fn blob(&self, repository: &str, digest: &str) -> Result<Option<RawBlob>, Error> {
        self.call(
            "blob",
            |connection, upstream_repo| async move {
                connection.client.blob_raw(&upstream_repo, digest).await
            },
            repository,
        )
        .await
    }

    /// Rests the upstream (see [`Error::rests_upstream`]), also for failures
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
        request: F,
        repository: &str,
    ) -> Result<Option<T>, Error>
    where
        F: FnOnce(&'a Connection, String) -> Fut,
        Fut: Future<Output = wkg_client::Result<Option<T>>> + 'a,
    {
        let resting = *self.resting_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = resting {
            let now = Instant::now();
            if until > now {
                return Err(Error::Resting {
                    upstream: self.config.name.clone(),
                    retry_in: until - now,
                });
            }
        }
        let outcome = tokio::time::timeout(self.config.timeout, async {
            let connection = self.connection().await?;
            let upstream_repo = format!(
                "{}{}",
                connection.namespace_prefix,
                repository
                    .strip_prefix(&self.local_prefix)
                    .unwrap_or(repository)
            );
            request(connection, upstream_repo)
                .await
                .map_err(|error| self.classify(&error))
        })
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
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

    fn classify(&self, error: &wkg_client::Error) -> Error {
        let upstream = self.config.name.clone();
        let detail = error_chain(error);
        match error {
            wkg_client::Error::Unreachable { .. } => Error::Unreachable { upstream, detail },
            wkg_client::Error::Unauthorized { .. } => Error::Refused { upstream, detail },
            _ => Error::Failed { upstream, detail },
        }
    }

    /// Opens the client on first use: for `registry = "..."` entries that
    /// means reading the registry's `registry.json` (retried on the next
    /// request if it fails).
    async fn connection(&self) -> Result<&Connection, Error> {
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
                    UpstreamSource::Registry { host, http } => {
                        let location = self.discover(host, *http).await?;
                        (location.0, location.1, *http, Credentials::Anonymous)
                    }
                };
                let host = registry
                    .rsplit_once(':')
                    .map_or(registry.as_str(), |(h, _)| h);
                let settings = OciSettings {
                    insecure: http || is_loopback(host),
                    ..OciSettings::default()
                };
                let client =
                    OciClient::new(&registry, &settings, &credentials, Arc::new(LogReporter))
                        .with_attempts(ATTEMPTS);
                Ok(Connection {
                    client,
                    namespace_prefix,
                })
            })
            .await
    }

    /// `(OCI registry, namespace prefix)` from the registry's registry.json;
    /// a registry without one is its own OCI registry with no prefix.
    async fn discover(&self, host: &str, http: bool) -> Result<(String, String), Error> {
        let failed = |detail: String| Error::Failed {
            upstream: self.config.name.clone(),
            detail,
        };
        let registry: RegistryName = host
            .parse()
            .map_err(|e: wkg_client::Error| failed(e.to_string()))?;
        let url = registry_json_url(&registry, http.then_some(OciProtocol::Http));
        let response =
            reqwest::Client::new()
                .get(&url)
                .send()
                .await
                .map_err(|e| Error::Unreachable {
                    upstream: self.config.name.clone(),
                    detail: format!("{url}: {}", error_chain(&e)),
                })?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok((host.to_string(), String::new()));
        }
        if !response.status().is_success() {
            return Err(failed(format!("{url} answered {}", response.status())));
        }
        let document: serde_json::Map<String, serde_json::Value> = response
            .json()
            .await
            .map_err(|e| failed(format!("{url} is not a registry.json document: {e}")))?;
        let metadata = RegistryMetadata::from_json(&document)
            .map_err(|reason| failed(format!("{url}: {reason}")))?;
        if metadata.oci.is_none() && metadata.warg_url.is_some() {
            return Err(failed(format!(
                "{url} names only a Warg registry; this gateway proxies OCI registries"
            )));
        }
        let location = metadata.oci_location(&registry);
        Ok((location.registry, location.namespace_prefix))
    }
}

/// An error and its causes on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

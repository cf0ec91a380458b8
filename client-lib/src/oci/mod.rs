//! The OCI backend: Wasm packages as OCI artifacts, through `oci-client`.
//!
//! `oci-client` (the client upstream wkg uses) does the protocol work: the `/v2/` challenge,
//! the Docker token flow, chunked uploads. This module adds what a package tool needs on
//! top: the Wasm media types of design.md §3, retries, digest-verified downloads into the
//! cache, uploads streamed from the file, progress, and errors that say what to do.

pub mod auth;
mod pull;
mod push;
mod raw;
mod retry;

use oci_client::client::{
    Certificate, CertificateEncoding as OciEncoding, ClientConfig, ClientProtocol,
};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;

use crate::config::{CertificateEncoding, OciConfig, OciProtocol};
use crate::error::{Error, Result};
use crate::progress::{Reporter, SharedReporter};

pub use auth::{CredentialSources, Credentials};
pub use oci_client::Reference;
pub use push::wasm_manifest;
pub use raw::{RawBlob, RawManifest};

/// Manifest media type of every Wasm package.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Config media type that marks an OCI artifact as a Wasm package.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the one layer: the component or WIT package bytes.
pub const WASM_LAYER: &str = "application/wasm";

/// Transport settings for one registry, from `[registry."<name>".oci]` or CLI flags.
#[derive(Clone, Debug, Default)]
pub struct OciSettings {
    /// Plain http instead of https.
    pub insecure: bool,
    pub accept_invalid_certificates: bool,
    /// Extra roots as (is PEM, bytes).
    pub extra_root_certificates: Vec<(bool, Vec<u8>)>,
}

impl OciSettings {
    /// For the OCI host `registry` (`host[:port]`), from the config table of the registry
    /// that sent us there; absent means the system roots. Plain http or https is decided by
    /// [`crate::discovery::protocol_for`], the rule every command shares.
    pub fn for_registry(
        registry: &str,
        config: Option<&OciConfig>,
        reporter: &dyn Reporter,
    ) -> Result<Self> {
        let protocol =
            crate::discovery::protocol_for(registry, config.and_then(|c| c.protocol), reporter);
        let mut roots = Vec::new();
        for cert in config
            .iter()
            .flat_map(|c| c.extra_root_certificates.iter().flatten())
        {
            roots.push((cert.encoding == CertificateEncoding::Pem, cert.to_bytes()?));
        }
        Ok(OciSettings {
            insecure: protocol == OciProtocol::Http,
            accept_invalid_certificates: config
                .and_then(|c| c.accept_invalid_certificates)
                .unwrap_or(false),
            extra_root_certificates: roots,
        })
    }
}

/// A client for one OCI registry host, with its credentials.
pub struct OciClient {
    inner: oci_client::Client,
    auth: RegistryAuth,
    /// `host[:port]`, as references name it.
    registry: String,
    reporter: SharedReporter,
    /// Repositories already authenticated for push: `oci-client` keeps (and renews) the
    /// token, so one exchange per repository is enough.
    pushed_to: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Attempts per read request (manifests, tags, blob starts); see
    /// [`OciClient::with_attempts`].
    attempts: u32,
}

impl OciClient {
    pub fn new(
        registry: &str,
        settings: &OciSettings,
        credentials: &Credentials,
        reporter: SharedReporter,
    ) -> Self {
        crate::install_crypto_provider();
        let config = ClientConfig {
            protocol: if settings.insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: settings.accept_invalid_certificates,
            extra_root_certificates: settings
                .extra_root_certificates
                .iter()
                .map(|(pem, data)| Certificate {
                    encoding: if *pem {
                        OciEncoding::Pem
                    } else {
                        OciEncoding::Der
                    },
                    data: data.clone(),
                })
                .collect(),
            // A Wasm package is never a multi-platform image; an index is an error.
            platform_resolver: None,
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            ..ClientConfig::default()
        };
        OciClient {
            inner: oci_client::Client::new(config),
            auth: credentials.to_registry_auth(),
            registry: registry.to_owned(),
            reporter,
            pushed_to: std::sync::Mutex::default(),
            attempts: retry::ATTEMPTS,
        }
    }

    /// How many times read requests ([`OciClient::manifest_raw`] and friends) try a
    /// request that failed transiently; at least one.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The registry host this client talks to.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `<registry>/<repository>:<tag>`.
    pub fn reference(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(self.registry.clone(), repository.to_owned(), tag.to_owned())
    }

    /// Turns an `oci-client` error into ours, naming the registry and the next step.
    pub(crate) fn error(&self, action: &str, err: OciDistributionError) -> Error {
        let registry = self.registry.clone();
        match &err {
            OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
                Error::Unreachable {
                    registry,
                    source: Box::new(err),
                }
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => Error::Unauthorized {
                registry,
                source: Box::new(err),
            },
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)
                }) =>
            {
                Error::Unauthorized {
                    registry,
                    source: Box::new(err),
                }
            }
            _ => Error::Registry {
                registry,
                message: action.to_owned(),
                source: Some(Box::new(err)),
            },
        }
    }
}

/// Whether an error means "no such repository or manifest".
pub(crate) fn is_not_found(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => {
            !envelope.errors.is_empty()
                && envelope.errors.iter().all(|e| {
                    matches!(
                        e.code,
                        OciErrorCode::NameUnknown
                            | OciErrorCode::ManifestUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                })
        }
        OciDistributionError::ServerError { code: 404, .. } => true,
        _ => false,
    }
}

/// Parses a user-typed OCI reference (`host:port/repo:tag`).
pub fn parse_reference(input: &str) -> Result<Reference> {
    input
        .parse::<Reference>()
        .map_err(|err| Error::InvalidReference {
            input: input.to_owned(),
            reason: err.to_string(),
        })
}

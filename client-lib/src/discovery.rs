//! Registry discovery: `/.well-known/wasm-pkg/registry.json`.
//!
//! A wkg registry name (`wasi.dev`) is not necessarily where the packages are: its
//! registry.json says which OCI host and namespace prefix serve them. Two forms exist and
//! both are read: the current `{"preferredProtocol":"oci","oci":{"registry","namespacePrefix"}}`
//! and the legacy `{"ociRegistry","ociNamespacePrefix"}`. Upstream treats any other scalar
//! top-level field as a broken document and falls back to defaults; we do the same, so both
//! tools agree on where a package lives.
//!
//! Upstream fetches the document once per process. We also keep it on disk and honour the
//! server's `Cache-Control: max-age` and `ETag`, so most runs need no request and the rest a
//! cheap `304 Not Modified`.

mod bounds;
mod cache;
mod error;
mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Map, Value as Json};

use crate::config::OciProtocol;
use crate::progress::Reporter;
use crate::registry::RegistryName;

pub use bounds::{
    DISCOVERY_TIMEOUT, NAMESPACE_PREFIX_MAX, REGISTRY_JSON_MAX_BYTES, ReadError, bounded,
    read_capped, validate_location,
};
pub use cache::CachedDocument;
pub use error::DiscoveryError;
pub use transport::{base_url, host_of, is_loopback, protocol_for};

/// Where a registry keeps its OCI artifacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciLocation {
    /// OCI host (and port) to talk to, e.g. `ghcr.io`.
    pub registry: String,
    /// Prepended verbatim to `<ns>/<name>`; carries its own trailing `/`.
    pub namespace_prefix: String,
}

/// What a registry.json says (or the defaults when there is none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryMetadata {
    pub preferred_protocol: Option<String>,
    pub oci: Option<OciLocation>,
    pub warg_url: Option<String>,
}

impl RegistryMetadata {
    /// Reads a registry.json object, either form. `Err` says why it is not usable,
    /// including an OCI location that [`validate_location`] refuses.
    pub fn from_json(doc: &Map<String, Json>) -> Result<Self, String> {
        let mut metadata = RegistryMetadata::default();
        let mut legacy_registry = None;
        let mut legacy_prefix = None;
        for (key, value) in doc {
            match (key.as_str(), value) {
                ("preferredProtocol", Json::String(p)) => {
                    metadata.preferred_protocol = Some(p.clone())
                }
                ("ociRegistry", Json::String(r)) => legacy_registry = Some(r.clone()),
                ("ociNamespacePrefix", Json::String(p)) => legacy_prefix = Some(p.clone()),
                ("wargUrl", Json::String(u)) => metadata.warg_url = Some(u.clone()),
                ("oci", Json::Object(oci)) => {
                    let field = |name: &str| match oci.get(name) {
                        None | Some(Json::Null) => Ok(None),
                        Some(Json::String(s)) => Ok(Some(s.clone())),
                        Some(_) => Err(format!("`oci.{name}` must be a string")),
                    };
                    if let Some(registry) = field("registry")? {
                        metadata.oci = Some(OciLocation {
                            registry,
                            namespace_prefix: field("namespacePrefix")?.unwrap_or_default(),
                        });
                    }
                }
                ("warg", Json::Object(warg)) => {
                    metadata.warg_url = warg.get("url").and_then(Json::as_str).map(str::to_owned)
                }
                (_, Json::Object(_)) => {} // another protocol's settings
                (key, _) => {
                    return Err(format!(
                        "top-level field `{}` must be an object (a protocol's settings)",
                        bounded(key, 64)
                    ));
                }
            }
        }
        if metadata.oci.is_none()
            && let Some(registry) = legacy_registry
        {
            metadata.oci = Some(OciLocation {
                registry,
                namespace_prefix: legacy_prefix.unwrap_or_default(),
            });
        }
        if let Some(location) = &metadata.oci {
            validate_location(location)?;
        }
        Ok(metadata)
    }

    /// The OCI host and prefix for `registry`: from the document, else the name itself.
    pub fn oci_location(&self, registry: &RegistryName) -> OciLocation {
        self.oci.clone().unwrap_or_else(|| OciLocation {
            registry: registry.to_string(),
            namespace_prefix: String::new(),
        })
    }
}

/// The registry's own base URL (for registry.json and the package API), with the scheme
/// of [`protocol_for`].
pub fn registry_base_url(
    registry: &RegistryName,
    protocol: Option<OciProtocol>,
    reporter: &dyn Reporter,
) -> String {
    base_url(registry.as_str(), protocol, reporter)
}

/// The registry.json URL, see [`registry_base_url`].
pub fn registry_json_url(
    registry: &RegistryName,
    protocol: Option<OciProtocol>,
    reporter: &dyn Reporter,
) -> String {
    format!(
        "{}/.well-known/wasm-pkg/registry.json",
        registry_base_url(registry, protocol, reporter)
    )
}

/// Fetches registry.json documents, remembering them for the process and on disk.
pub struct Discovery {
    http: reqwest::Client,
    /// Bound on each registry.json exchange, connecting included.
    timeout: std::time::Duration,
    /// `<cache>/registries`; `None` keeps documents in memory only.
    cache_dir: Option<PathBuf>,
    memo: Mutex<HashMap<RegistryName, RegistryMetadata>>,
}

impl Discovery {
    pub fn new(http: reqwest::Client, cache_dir: Option<PathBuf>) -> Self {
        Discovery {
            http,
            timeout: DISCOVERY_TIMEOUT,
            cache_dir,
            memo: Mutex::default(),
        }
    }

    /// Replaces [`DISCOVERY_TIMEOUT`] (for tests, or a caller with its own budget).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The metadata for `registry`. Never fails: as upstream, a missing document means the
    /// defaults, and an unreadable one means the defaults plus a warning (through
    /// [`Reporter::warn_error`], so the caller can add its own advice).
    pub async fn metadata(
        &self,
        registry: &RegistryName,
        protocol: Option<OciProtocol>,
        reporter: &dyn Reporter,
    ) -> RegistryMetadata {
        match self.lookup(registry, protocol, reporter).await {
            Ok(metadata) => metadata,
            Err(error) => {
                reporter.warn_error(
                    &format!("assuming OCI at {registry} with no namespace prefix"),
                    &error,
                );
                RegistryMetadata::default()
            }
        }
    }

    /// The metadata for `registry`, or why its registry.json cannot be used: for a caller
    /// that must not guess (the gateway's proxy). A registry without a document (404) has
    /// the defaults. Answers are remembered for the process; failures are not, so the next
    /// call asks again.
    pub async fn lookup(
        &self,
        registry: &RegistryName,
        protocol: Option<OciProtocol>,
        reporter: &dyn Reporter,
    ) -> Result<RegistryMetadata, DiscoveryError> {
        if let Some(known) = self.memo_get(registry) {
            return Ok(known);
        }
        let url = registry_json_url(registry, protocol, reporter);
        let path = self
            .cache_dir
            .as_ref()
            .map(|dir| dir.join(cache::file_name(registry)));
        let document = cache::fetch(&self.http, &url, path.as_deref(), self.timeout).await?;
        let metadata = match document {
            None => RegistryMetadata::default(),
            Some(doc) => RegistryMetadata::from_json(&doc)
                .map_err(|reason| DiscoveryError::Unusable { url, reason })?,
        };
        self.memo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(registry.clone(), metadata.clone());
        Ok(metadata)
    }

    fn memo_get(&self, registry: &RegistryName) -> Option<RegistryMetadata> {
        self.memo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(registry)
            .cloned()
    }
}

#[cfg(test)]
mod tests;

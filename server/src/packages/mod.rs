//! Understanding Wasm packages: a manifest whose config media type is
//! `application/vnd.wasm.config.v0+json` is a Wasm package and must carry
//! exactly one `application/wasm` layer holding a real component or core
//! module. Everything else is plain OCI content, stored as pushed.
//!
//! Blobs are global and content-addressed, so reading one by digest alone
//! would read what any repository holds. Everything here (validation at
//! push, indexing, reindex) reads a blob only through its link into the
//! manifest's own repository ([`read_linked`]), and the package API serves
//! content the same way: a manifest cannot make a blob readable in its
//! repository unless the blob is linked there.
//!
//! [`Packages`] holds the handles this needs; failures are [`Error`]s,
//! which the HTTP layer maps to responses (`crate::error`).

pub mod gate;
pub mod inspect;
pub mod naming;
pub mod publish;
pub mod reindex;
pub mod validate;
pub mod versions;

mod error;

use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;

use crate::config::PackagesConfig;
use crate::db::{Db, VersionContent};
use crate::digest::Digest;
use crate::registry::manifests::{BlobFacts, ManifestFacts};
use crate::storage::Storage;

pub use error::Error;

pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER: &str = "application/wasm";

/// Config blobs are small JSON documents; anything bigger is not one.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// What validating and indexing packages needs; cheap to clone (every
/// field is a handle).
#[derive(Debug, Clone)]
pub struct Packages {
    pub db: Db,
    pub storage: Storage,
    /// `[packages]`: validation limits.
    limits: Arc<PackagesConfig>,
    /// `[registry] namespace_prefix`, left out of package names.
    prefix: Arc<str>,
    /// Slots for Wasm validations running and waiting at once.
    validations: Arc<gate::ValidationGate>,
}

impl Packages {
    pub fn new(db: Db, storage: Storage, limits: &PackagesConfig, prefix: &str) -> Self {
        Self {
            db,
            storage,
            limits: Arc::new(limits.clone()),
            prefix: prefix.into(),
            validations: Arc::new(gate::ValidationGate::new(
                limits.max_concurrent_validations,
                limits.validation_queue,
            )),
        }
    }

    /// The validation slots, running and waiting.
    pub fn validations(&self) -> &gate::ValidationGate {
        &self.validations
    }
}

/// A validated Wasm package manifest.
#[derive(Debug, Clone)]
pub struct WasmPackage {
    pub layer: BlobFacts,
    pub facts: inspect::WasmFacts,
}

impl WasmPackage {
    /// The row content that pins and indexes a version of this package.
    pub fn version_content(
        &self,
        packages: &Packages,
        repository: &str,
        manifest: &ManifestFacts,
    ) -> VersionContent {
        let name = naming::package_name(&packages.prefix, repository);
        let json = |items: &Vec<String>| serde_json::to_string(items).ok();
        let wit = self.facts.wit.as_ref();
        let metadata = &self.facts.metadata;
        VersionContent {
            layer_digest: self.layer.digest.clone(),
            namespace: name.as_ref().map(|(ns, _)| ns.clone()),
            name: name.map(|(_, name)| name),
            kind: self.facts.kind.to_string(),
            size: i64::try_from(self.layer.size).unwrap_or(i64::MAX),
            annotations: manifest.annotations.clone(),
            metadata: (metadata != &Default::default())
                .then(|| serde_json::to_string(metadata).ok())
                .flatten(),
            wit_package: wit.map(|w| w.package.clone()).filter(|p| !p.is_empty()),
            worlds: wit.and_then(|w| json(&w.worlds)),
            interfaces: wit.and_then(|w| json(&w.interfaces)),
            imports: wit.and_then(|w| json(&w.imports)),
            exports: wit.and_then(|w| json(&w.exports)),
            wit_text: wit.map(|w| w.text.clone()).filter(|t| !t.is_empty()),
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

/// Checks a manifest of `repository`, reading its config and layer only
/// through their links there. Returns `None` for plain OCI content; a
/// layer the gateway has no validation slot for is
/// [`Error::ValidationBusy`] (see [`gate`]).
pub async fn check_manifest(
    packages: &Packages,
    repository: &str,
    facts: &ManifestFacts,
) -> Result<Option<WasmPackage>, Error> {
    let Some(config) = facts
        .config
        .as_ref()
        .filter(|c| c.media_type == WASM_CONFIG)
    else {
        return Ok(None);
    };
    let [layer] = facts.layers.as_slice() else {
        return Err(invalid(format!(
            "a Wasm package manifest must have exactly one layer, this one has {}",
            facts.layers.len()
        )));
    };
    if layer.media_type != WASM_LAYER {
        return Err(invalid(format!(
            "the layer of a Wasm package must have media type {WASM_LAYER}, not {:?}",
            layer.media_type
        )));
    }
    // Refused before anything is looked up, so the answer is the same
    // whether or not some repository holds that digest.
    if layer.foreign {
        return Err(invalid(format!(
            "the Wasm layer {} is a foreign layer (it has \"urls\"); a Wasm package's layer \
             must be pushed to this repository as a blob, without urls",
            layer.digest
        )));
    }
    check_config(packages, repository, config).await?;
    let facts = validate::check_layer(packages, repository, layer).await?;
    Ok(Some(WasmPackage {
        layer: layer.clone(),
        facts,
    }))
}

/// The config must be a JSON object; none of its fields are required.
async fn check_config(
    packages: &Packages,
    repository: &str,
    config: &BlobFacts,
) -> Result<(), Error> {
    if config.size > MAX_CONFIG_BYTES {
        return Err(invalid(format!(
            "the Wasm config blob is {} bytes; it must be a JSON object of at most {MAX_CONFIG_BYTES} bytes",
            config.size
        )));
    }
    let bytes = read_linked(packages, repository, config, None, MAX_CONFIG_BYTES).await?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => Err(invalid("the Wasm config blob must be a JSON object")),
        Err(e) => Err(invalid(format!("the Wasm config blob is not JSON: {e}"))),
    }
}

/// The size of `blob` as linked in `repository`. A blob not linked there
/// is unknown, exactly like one stored nowhere; a descriptor whose size is
/// not the blob's is invalid (the index records the size and serves it as
/// `Content-Length`).
async fn linked_size(
    packages: &Packages,
    repository: &str,
    blob: &BlobFacts,
) -> Result<u64, Error> {
    let Some(size) = packages.db.blob_size_in(repository, &blob.digest).await? else {
        return Err(Error::ContentUnknown {
            repository: repository.to_string(),
            missing: vec![blob.digest.clone()],
        });
    };
    if size != blob.size {
        return Err(invalid(format!(
            "the descriptor of {} says {} bytes, but the blob has {size}",
            blob.digest, blob.size
        )));
    }
    Ok(size)
}

/// Reads (a range of) `blob` through its link into `repository`, refusing
/// more than `limit` bytes.
pub async fn read_linked(
    packages: &Packages,
    repository: &str,
    blob: &BlobFacts,
    range: Option<std::ops::Range<u64>>,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    let size = linked_size(packages, repository, blob).await?;
    let digest: Digest = blob.digest.parse()?;
    let mut stream = packages
        .storage
        .read_blob(&digest, size, range)
        .await?
        .stream;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(invalid(format!(
                "blob {digest} is larger than {limit} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

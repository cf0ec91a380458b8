//! Understanding Wasm packages: a manifest whose config media type is
//! `application/vnd.wasm.config.v0+json` is a Wasm package and must carry
//! exactly one `application/wasm` layer holding a real component or core
//! module. Everything else is plain OCI content, stored as pushed.

pub mod inspect;
pub mod naming;
pub mod reindex;
pub mod validate;

use futures::StreamExt;
use serde_json::Value;

use crate::app::App;
use crate::db::VersionContent;
use crate::digest::Digest;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::registry::manifests::{BlobFacts, ManifestFacts};
use crate::storage::StorageKey;

pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER: &str = "application/wasm";

/// Config blobs are small JSON documents; anything bigger is not one.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

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
        app: &App,
        repository: &str,
        manifest: &ManifestFacts,
    ) -> VersionContent {
        let name = naming::package_name(&app.config.registry.namespace_prefix, repository);
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

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::ManifestInvalid, message)
}

/// Checks a manifest whose blobs are all present. Returns `None` for plain
/// OCI content.
pub async fn check_manifest(app: &App, facts: &ManifestFacts) -> ApiResult<Option<WasmPackage>> {
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
    check_config(app, config).await?;
    let facts = validate::check_layer(app, layer).await?;
    Ok(Some(WasmPackage {
        layer: layer.clone(),
        facts,
    }))
}

/// The config must be a JSON object; none of its fields are required.
async fn check_config(app: &App, config: &BlobFacts) -> ApiResult<()> {
    if config.size > MAX_CONFIG_BYTES {
        return Err(invalid(format!(
            "the Wasm config blob is {} bytes; it must be a JSON object of at most {MAX_CONFIG_BYTES} bytes",
            config.size
        )));
    }
    let bytes = read_blob(app, &config.digest, MAX_CONFIG_BYTES).await?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => Err(invalid("the Wasm config blob must be a JSON object")),
        Err(e) => Err(invalid(format!("the Wasm config blob is not JSON: {e}"))),
    }
}

/// Reads a stored blob that is known to be at most `limit` bytes.
pub async fn read_blob(app: &App, digest: &str, limit: u64) -> ApiResult<Vec<u8>> {
    let digest: Digest = digest.parse()?;
    let mut stream = app
        .storage
        .read(StorageKey::Blob(&digest), None)
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

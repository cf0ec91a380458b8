//! Test content: Wasm binaries and manifests, generated rather than stored.

use serde_json::json;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER: &str = "application/wasm";

/// A small but real Wasm component.
pub fn component() -> Vec<u8> {
    wat::parse_str(
        r#"(component
             (core module $m (func (export "run") (result i32) i32.const 42))
             (core instance $i (instantiate $m))
             (func (export "run") (result s32) (canon lift (core func $i "run"))))"#,
    )
    .expect("valid component text")
}

/// Config media type of plain (non-Wasm) test artifacts.
pub const ARTIFACT_CONFIG: &str = "application/vnd.example.config.v1+json";
/// Layer media type of plain test artifacts.
pub const ARTIFACT_LAYER: &str = "application/vnd.example.data.v1";

/// The config blob upstream wkg writes for `wasm` (and insists on reading
/// back: it needs `created`).
pub fn wasm_config(wasm: &[u8], created: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "created": created,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [crate::sha256_digest(wasm)],
    }))
    .expect("config json")
}

/// An OCI image manifest in the shape upstream wkg publishes.
pub fn wasm_manifest(
    config_digest: &str,
    config_size: usize,
    layer_digest: &str,
    layer_size: usize,
    subject: Option<(&str, usize)>,
) -> Vec<u8> {
    image_manifest(
        WASM_CONFIG,
        WASM_LAYER,
        (config_digest, config_size),
        (layer_digest, layer_size),
        subject,
    )
}

/// A plain OCI artifact manifest (not a Wasm package): any layer bytes go.
pub fn artifact_manifest(
    config_digest: &str,
    config_size: usize,
    layer_digest: &str,
    layer_size: usize,
    subject: Option<(&str, usize)>,
) -> Vec<u8> {
    image_manifest(
        ARTIFACT_CONFIG,
        ARTIFACT_LAYER,
        (config_digest, config_size),
        (layer_digest, layer_size),
        subject,
    )
}

fn image_manifest(
    config_type: &str,
    layer_type: &str,
    (config_digest, config_size): (&str, usize),
    (layer_digest, layer_size): (&str, usize),
    subject: Option<(&str, usize)>,
) -> Vec<u8> {
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": config_type, "digest": config_digest, "size": config_size },
        "layers": [{
            "mediaType": layer_type,
            "digest": layer_digest,
            "size": layer_size,
            "annotations": { "org.opencontainers.image.title": "component.wasm" }
        }],
        "annotations": { "org.opencontainers.image.version": "1.0.0" }
    });
    if let Some((digest, size)) = subject {
        manifest["subject"] = json!({ "mediaType": OCI_MANIFEST, "digest": digest, "size": size });
    }
    serde_json::to_vec(&manifest).expect("manifest json")
}

/// Deterministic pseudo-random bytes (xorshift), so big test blobs need no files.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A binary WIT package (what `wkg publish` of a `.wit` directory pushes).
pub fn wit_package(wit: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_source("package.wit", wit).expect("valid WIT");
    wit_component::encode(&resolve, package, false).expect("encodable WIT package")
}

/// [`component`] with `wasm-metadata` fields embedded, as `wkg` or
/// `cargo component` would add them.
pub fn component_with_metadata(description: &str, licenses: &str) -> Vec<u8> {
    use wasm_metadata::{AddMetadata, AddMetadataField, Description, Licenses};
    let mut add = AddMetadata::default();
    add.description = AddMetadataField::Set(Description::new(description.to_string()));
    add.licenses = AddMetadataField::Set(Licenses::new(licenses).expect("SPDX expression"));
    add.to_wasm(&component()).expect("metadata added")
}

/// [`component`] grown to about `size` bytes by a custom section, so pushes
/// exercise multi-chunk uploads with a still-valid component.
pub fn large_component(size: usize) -> Vec<u8> {
    let mut wasm = component();
    let name = b"padding";
    let payload = pseudo_random(size.saturating_sub(wasm.len()), 77);
    let mut body = leb128(name.len());
    body.extend_from_slice(name);
    body.extend_from_slice(&payload);
    wasm.push(0); // custom section id
    wasm.extend(leb128(body.len()));
    wasm.extend(body);
    wasm
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

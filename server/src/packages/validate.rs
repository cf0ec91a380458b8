//! Bounded validation of untrusted Wasm binaries: a size limit decides
//! between full validation and a header check, and full validation runs on
//! a blocking thread with a time limit, so a hostile binary can neither
//! crash nor stall the request path.

use std::sync::Arc;

use wasmparser::{Validator, WasmFeatures};

use super::inspect::{WasmFacts, inspect};
use super::{invalid, read_linked};
use crate::app::App;
use crate::error::ApiResult;
use crate::registry::manifests::BlobFacts;

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0, 1, 0];

/// What a Wasm layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    Component,
    CoreModule,
}

/// Reads the 8-byte preamble: which kind of binary this claims to be.
pub fn kind_from_header(header: &[u8]) -> Result<WasmKind, String> {
    if header.len() < 8 || &header[..4] != MAGIC {
        return Err("it does not start with the Wasm magic bytes \\0asm".to_string());
    }
    match <[u8; 4]>::try_from(&header[4..8]) {
        Ok(CORE_VERSION) => Ok(WasmKind::CoreModule),
        Ok(COMPONENT_VERSION) => Ok(WasmKind::Component),
        _ => Err(format!(
            "unknown Wasm version/layer bytes {:02x?}",
            &header[4..8]
        )),
    }
}

/// Fully validates a binary with every proposal wasmparser knows enabled.
pub fn validate_bytes(bytes: &[u8]) -> Result<WasmKind, String> {
    let kind = kind_from_header(bytes)?;
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .map_err(|e| e.to_string())?;
    Ok(kind)
}

/// Checks a layer linked in `repository` and learns what it can about it:
/// full validation and inspection up to the configured size, the header
/// beyond it.
pub async fn check_layer(app: &App, repository: &str, layer: &BlobFacts) -> ApiResult<WasmFacts> {
    let reject = |why: String| {
        invalid(format!(
            "layer {} is not a valid Wasm component or module: {why}",
            layer.digest
        ))
    };
    let limits = &app.config.packages;
    if layer.size > limits.parse_size_limit {
        let header = read_linked(app, repository, layer, Some(0..8), 8).await?;
        let kind = kind_from_header(&header).map_err(reject)?;
        return Ok(WasmFacts::unindexed(kind));
    }
    let bytes = Arc::new(read_linked(app, repository, layer, None, limits.parse_size_limit).await?);
    let validation = tokio::task::spawn_blocking({
        let bytes = bytes.clone();
        move || validate_bytes(&bytes)
    });
    let kind = match tokio::time::timeout(limits.parse_timeout, validation).await {
        Ok(Ok(result)) => result.map_err(reject)?,
        Ok(Err(join)) => return Err(reject(format!("the validator failed ({join})"))),
        Err(_) => {
            return Err(reject(format!(
                "validation took longer than {:?}",
                limits.parse_timeout
            )));
        }
    };
    // Valid: from here on a problem only costs the index its WIT.
    let inspection = tokio::task::spawn_blocking(move || inspect(&bytes, kind));
    Ok(
        match tokio::time::timeout(limits.parse_timeout, inspection).await {
            Ok(Ok(facts)) => facts,
            Ok(Err(join)) => {
                tracing::warn!(layer = %layer.digest, error = %join, "inspecting a Wasm layer failed");
                WasmFacts::unindexed(kind)
            }
            Err(_) => {
                tracing::warn!(layer = %layer.digest, "inspecting a Wasm layer timed out");
                WasmFacts::unindexed(kind)
            }
        },
    )
}

impl WasmKind {
    /// The kind as the index names it when nothing more is known.
    pub fn name(self) -> &'static str {
        match self {
            WasmKind::Component => "component",
            WasmKind::CoreModule => "module",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            kind_from_header(b"\0asm\x01\0\0\0"),
            Ok(WasmKind::CoreModule)
        );
        assert_eq!(
            kind_from_header(b"\0asm\x0d\0\x01\0"),
            Ok(WasmKind::Component)
        );
        assert!(kind_from_header(b"\0asm").is_err());
        assert!(kind_from_header(b"MZ\0\0\0\0\0\0").is_err());
        assert!(kind_from_header(b"\0asm\x02\0\0\0").is_err());
    }

    #[test]
    fn validation() {
        assert_eq!(validate_bytes(b"\0asm\x01\0\0\0"), Ok(WasmKind::CoreModule));
        assert_eq!(
            validate_bytes(b"\0asm\x0d\0\x01\0"),
            Ok(WasmKind::Component)
        );
        // A truncated section after a valid header.
        assert!(validate_bytes(b"\0asm\x01\0\0\0\x01\x05\x01").is_err());
        assert!(validate_bytes(b"garbage!").is_err());
    }
}

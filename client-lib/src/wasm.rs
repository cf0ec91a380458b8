//! What a Wasm file says about itself: package name, version, OCI annotations, config.
//!
//! Publishing needs a package name and version. A binary WIT package carries both in its
//! WIT (`package ns:name@1.2.3`). A component carries neither in its WIT, but may carry a
//! name and version in its wasm-metadata custom sections; upstream wkg refuses to publish
//! components at all, we take those (or `--package`). The same metadata becomes the
//! `org.opencontainers.image.*` annotations, mapped as upstream maps them.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value as Json, json};
use wit_parser::decoding::{DecodedWasm, decode};

use crate::error::{Error, Result};
use crate::package::PackageRef;

/// What kind of binary it is; decides the config's `os`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmKind {
    Component,
    WitPackage,
    CoreModule,
}

/// Everything publishing needs to know about the file, decoded once.
#[derive(Clone, Debug)]
pub struct WasmInfo {
    pub kind: WasmKind,
    /// From the WIT package, or the component's metadata name when it is `ns:name`.
    pub package: Option<PackageRef>,
    pub version: Option<semver::Version>,
    /// `org.opencontainers.image.*` annotations (without `version`, added at publish).
    pub annotations: BTreeMap<String, String>,
    /// `author` of the OCI config.
    pub author: Option<String>,
    /// Interface names the component imports and exports, for the OCI config.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// The worlds and interfaces a WIT package defines.
    pub worlds: Vec<String>,
    pub interfaces: Vec<String>,
}

impl WasmInfo {
    /// Decodes `bytes` (the contents of `path`, named in errors).
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<WasmInfo> {
        let invalid = |source: Box<dyn std::error::Error + Send + Sync>| Error::InvalidWasm {
            path: path.to_path_buf(),
            source,
        };
        let payload = wasm_metadata::Payload::from_binary(bytes).map_err(|e| invalid(e.into()))?;
        let metadata = payload.metadata();
        let mut info = WasmInfo {
            kind: WasmKind::CoreModule,
            package: metadata.name.as_deref().and_then(|n| n.parse().ok()),
            version: metadata
                .version
                .as_ref()
                .and_then(|v| semver::Version::parse(&v.to_string()).ok()),
            annotations: BTreeMap::new(),
            author: metadata.authors.as_ref().map(ToString::to_string),
            imports: Vec::new(),
            exports: Vec::new(),
            worlds: Vec::new(),
            interfaces: Vec::new(),
        };
        let mut annotate = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                info.annotations
                    .insert(format!("org.opencontainers.image.{key}"), value);
            }
        };
        annotate(
            "description",
            metadata.description.as_ref().map(ToString::to_string),
        );
        annotate(
            "licenses",
            metadata.licenses.as_ref().map(ToString::to_string),
        );
        annotate("source", metadata.source.as_ref().map(ToString::to_string));
        annotate("url", metadata.homepage.as_ref().map(ToString::to_string));
        annotate(
            "authors",
            metadata.authors.as_ref().map(ToString::to_string),
        );

        if matches!(payload, wasm_metadata::Payload::Module(_)) {
            return Ok(info);
        }
        match decode(bytes).map_err(|e| invalid(e.into()))? {
            DecodedWasm::WitPackage(resolve, id) => {
                info.kind = WasmKind::WitPackage;
                let package = &resolve.packages[id];
                let name = &package.name;
                info.worlds = package.worlds.keys().cloned().collect();
                info.interfaces = package.interfaces.keys().cloned().collect();
                info.package = format!("{}:{}", name.namespace, name.name).parse().ok();
                info.version = name.version.clone().or(info.version);
            }
            DecodedWasm::Component(resolve, world) => {
                info.kind = WasmKind::Component;
                let world = &resolve.worlds[world];
                let names = |items: &mut dyn Iterator<Item = &wit_parser::WorldKey>| {
                    items.map(|key| resolve.name_world_key(key)).collect()
                };
                info.imports = names(&mut world.imports.keys());
                info.exports = names(&mut world.exports.keys());
            }
        }
        Ok(info)
    }

    /// The OCI config blob upstream wkg writes (`created` makes each publish unique).
    pub fn oci_config(&self, layer_digest: &str, created: &str) -> Json {
        json!({
            "created": created,
            "author": self.author,
            "architecture": "wasm",
            "os": if self.kind == WasmKind::CoreModule { "wasip1" } else { "wasip2" },
            "layerDigests": [layer_digest],
            "component": {
                "exports": self.exports,
                "imports": self.imports,
                "target": null,
            },
        })
    }
}

/// The WIT text of a binary WIT package, or `None` for anything else (a component).
pub fn wit_text(path: &Path, bytes: &[u8]) -> Result<Option<String>> {
    let invalid = |source: Box<dyn std::error::Error + Send + Sync>| Error::InvalidWasm {
        path: path.to_path_buf(),
        source,
    };
    match decode(bytes).map_err(|e| invalid(e.into()))? {
        DecodedWasm::WitPackage(resolve, id) => {
            let mut printer = wit_component::WitPrinter::default();
            printer
                .print(&resolve, id, &[])
                .map_err(|e| invalid(e.into()))?;
            Ok(Some(printer.output.to_string()))
        }
        DecodedWasm::Component(..) => Ok(None),
    }
}

/// Now as RFC 3339 UTC (`2026-11-28T18:00:00Z`), without a date-time dependency.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the Unix era.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component() -> Vec<u8> {
        wat::parse_str(
            r#"(component
                 (core module $m (func (export "run") (result i32) i32.const 42))
                 (core instance $i (instantiate $m))
                 (func (export "run") (result s32) (canon lift (core func $i "run"))))"#,
        )
        .unwrap()
    }

    #[test]
    fn component_metadata_becomes_annotations() {
        use wasm_metadata::{AddMetadata, AddMetadataField, Description, Licenses, Version};
        let mut add = AddMetadata::default();
        add.name = AddMetadataField::Set("acme:thing".into());
        add.version = AddMetadataField::Set(Version::new("1.2.3"));
        add.description = AddMetadataField::Set(Description::new("A thing"));
        add.licenses = AddMetadataField::Set(Licenses::new("Apache-2.0").unwrap());
        let wasm = add.to_wasm(&component()).unwrap();
        let info = WasmInfo::decode(Path::new("t.wasm"), &wasm).unwrap();
        assert_eq!(info.kind, WasmKind::Component);
        assert_eq!(info.package.unwrap().to_string(), "acme:thing");
        assert_eq!(info.version.unwrap().to_string(), "1.2.3");
        assert_eq!(
            info.annotations["org.opencontainers.image.description"],
            "A thing"
        );
        assert_eq!(
            info.annotations["org.opencontainers.image.licenses"],
            "Apache-2.0"
        );
        assert_eq!(info.exports, vec!["run".to_owned()]);
    }

    #[test]
    fn plain_component_has_no_identity_and_garbage_is_rejected() {
        let info = WasmInfo::decode(Path::new("t.wasm"), &component()).unwrap();
        assert_eq!((&info.package, &info.version), (&None, &None));
        let config = info.oci_config("sha256:x", "2026-01-01T00:00:00Z");
        assert_eq!(config["os"], "wasip2");
        assert_eq!(config["layerDigests"][0], "sha256:x");

        let err = WasmInfo::decode(Path::new("t.wasm"), b"not wasm").unwrap_err();
        assert!(matches!(err, Error::InvalidWasm { .. }), "{err}");
    }

    #[test]
    fn wit_packages_print_as_text() {
        let mut resolve = wit_parser::Resolve::default();
        let id = resolve
            .push_source(
                "p.wit",
                "package acme:types@0.1.0;\ninterface t { type x = u32; }\n",
            )
            .unwrap();
        let bytes = wit_component::encode(&resolve, id, false).unwrap();
        let info = WasmInfo::decode(Path::new("p.wasm"), &bytes).unwrap();
        assert_eq!(info.kind, WasmKind::WitPackage);
        assert_eq!(info.package.unwrap().to_string(), "acme:types");
        assert_eq!(info.version.unwrap().to_string(), "0.1.0");
        assert_eq!(info.interfaces, ["t"]);
        let text = wit_text(Path::new("p.wasm"), &bytes).unwrap().unwrap();
        assert!(text.contains("package acme:types@0.1.0;"), "{text}");
        assert_eq!(wit_text(Path::new("c.wasm"), &component()).unwrap(), None);
    }

    #[test]
    fn timestamps() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}

//! What the gateway learns from a Wasm binary: its kind, the metadata
//! embedded by `wasm-metadata`, and for components and WIT packages the WIT
//! (package, worlds, interfaces, imports, exports and the printed text).
//!
//! Runs on untrusted input: callers run it on a blocking thread with a time
//! limit, and any failure (even a panic) only means "no WIT", never a
//! rejected push, since validation already passed.

use serde::{Deserialize, Serialize};
use wit_component::{DecodedWasm, WitPrinter};
use wit_parser::{Resolve, WorldId};

use super::validate::WasmKind;

/// Metadata embedded in the binary's custom sections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authors: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licenses: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// The WIT of a component or WIT package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitFacts {
    /// `ns:name[@version]` of the WIT package (components: their own world's package).
    pub package: String,
    pub worlds: Vec<String>,
    pub interfaces: Vec<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub text: String,
}

/// Everything indexed about one Wasm binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmFacts {
    /// "component", "module" or "wit".
    pub kind: &'static str,
    pub metadata: EmbeddedMetadata,
    pub wit: Option<WitFacts>,
}

impl WasmFacts {
    /// What is known of a binary that was not (or could not be) inspected.
    pub fn unindexed(kind: WasmKind) -> Self {
        Self {
            kind: kind.name(),
            metadata: EmbeddedMetadata::default(),
            wit: None,
        }
    }
}

/// Inspects a binary that already passed validation.
pub fn inspect(bytes: &[u8], kind: WasmKind) -> WasmFacts {
    let metadata = embedded_metadata(bytes);
    let decoded = match kind {
        WasmKind::CoreModule => None,
        WasmKind::Component => wit_component::decode(bytes).ok(),
    };
    let (kind, wit) = match decoded {
        None if kind == WasmKind::CoreModule => ("module", None),
        None => ("component", None),
        Some(DecodedWasm::WitPackage(resolve, package)) => {
            ("wit", Some(wit_package(&resolve, package)))
        }
        Some(DecodedWasm::Component(resolve, world)) => {
            ("component", Some(component_world(&resolve, world)))
        }
    };
    WasmFacts {
        kind,
        metadata,
        wit,
    }
}

fn embedded_metadata(bytes: &[u8]) -> EmbeddedMetadata {
    let Ok(payload) = wasm_metadata::Payload::from_binary(bytes) else {
        return EmbeddedMetadata::default();
    };
    let m = payload.metadata();
    let text = |v: Option<&dyn std::fmt::Display>| v.map(ToString::to_string);
    EmbeddedMetadata {
        name: m.name.clone(),
        version: text(m.version.as_ref().map(|v| v as _)),
        description: text(m.description.as_ref().map(|v| v as _)),
        authors: text(m.authors.as_ref().map(|v| v as _)),
        licenses: text(m.licenses.as_ref().map(|v| v as _)),
        source: text(m.source.as_ref().map(|v| v as _)),
        homepage: text(m.homepage.as_ref().map(|v| v as _)),
        revision: text(m.revision.as_ref().map(|v| v as _)),
    }
}

fn print(resolve: &Resolve, package: wit_parser::PackageId) -> String {
    let mut printer = WitPrinter::default();
    match printer.print(resolve, package, &[]) {
        Ok(()) => printer.output.to_string(),
        Err(_) => String::new(),
    }
}

fn wit_package(resolve: &Resolve, id: wit_parser::PackageId) -> WitFacts {
    let package = &resolve.packages[id];
    WitFacts {
        package: package.name.to_string(),
        worlds: package.worlds.keys().cloned().collect(),
        interfaces: package.interfaces.keys().cloned().collect(),
        imports: Vec::new(),
        exports: Vec::new(),
        text: print(resolve, id),
    }
}

fn component_world(resolve: &Resolve, world_id: WorldId) -> WitFacts {
    let world = &resolve.worlds[world_id];
    let names = |keys: &mut dyn Iterator<Item = &wit_parser::WorldKey>| {
        keys.map(|key| resolve.name_world_key(key))
            .collect::<Vec<_>>()
    };
    let (package, text) = match world.package {
        Some(id) => (resolve.packages[id].name.to_string(), print(resolve, id)),
        None => (String::new(), String::new()),
    };
    let mut interfaces: Vec<String> = world
        .imports
        .keys()
        .chain(world.exports.keys())
        .filter_map(|key| match key {
            wit_parser::WorldKey::Interface(id) => resolve.id_of(*id),
            wit_parser::WorldKey::Name(_) => None,
        })
        .collect();
    interfaces.sort();
    interfaces.dedup();
    WitFacts {
        package,
        worlds: vec![world.name.clone()],
        interfaces,
        imports: names(&mut world.imports.keys()),
        exports: names(&mut world.exports.keys()),
        text,
    }
}

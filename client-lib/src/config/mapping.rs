//! Values of `[namespace_registries]` and `[package_registry_overrides]`.
//!
//! A mapping is either a registry name, or `{ registry = "...", metadata = {...} }` where
//! `metadata` is a registry.json document given inline (so wkg skips fetching it). The
//! metadata is kept as a JSON object because that is what it is; it is checked with the
//! rule upstream applies to registry.json: besides `preferredProtocol` and the legacy
//! `ociRegistry`/`ociNamespacePrefix`/`wargUrl` strings, every key is a protocol name whose
//! value is an object.

use serde_json::{Map, Number, Value as Json};
use toml::Value;

use super::toml_util::{KeyPath, expect_string, expect_table, inline_table};
use crate::error::Result;
use crate::registry::RegistryName;

/// Where a namespace or package is served from.
#[derive(Clone, Debug, PartialEq)]
pub enum RegistryMapping {
    /// `wasi = "wasi.dev"`
    Registry(RegistryName),
    /// `another = { registry = "another", metadata = { ... registry.json ... } }`
    Custom {
        registry: RegistryName,
        metadata: Map<String, Json>,
    },
}

/// Top-level registry.json keys whose values are strings rather than protocol objects.
const STRING_KEYS: [&str; 4] = [
    "preferredProtocol",
    "ociRegistry",
    "ociNamespacePrefix",
    "wargUrl",
];

impl RegistryMapping {
    /// The registry name: a config key and, without inline metadata, the host to ask.
    pub fn registry(&self) -> &RegistryName {
        match self {
            RegistryMapping::Registry(registry) | RegistryMapping::Custom { registry, .. } => {
                registry
            }
        }
    }

    /// Inline registry.json metadata, if given.
    pub fn metadata(&self) -> Option<&Map<String, Json>> {
        match self {
            RegistryMapping::Registry(_) => None,
            RegistryMapping::Custom { metadata, .. } => Some(metadata),
        }
    }

    pub(crate) fn from_value(value: Value, at: &KeyPath) -> Result<Self> {
        let mut table = match value {
            Value::String(name) => return Ok(RegistryMapping::Registry(registry_name(&name, at)?)),
            Value::Table(table) => table,
            other => {
                return Err(at.type_error(
                    "a registry name or a { registry = \"...\", metadata = {...} } table",
                    &other,
                ));
            }
        };
        let Some(registry) = table.remove("registry") else {
            return Err(at.error("`registry` is missing from the mapping"));
        };
        let registry_at = at.join("registry");
        let registry = registry_name(&expect_string(registry, &registry_at)?, &registry_at)?;
        let metadata = table.remove("metadata");
        if let Some(key) = table.keys().next() {
            return Err(at
                .join(key)
                .error("unknown key; a mapping has only `registry` and `metadata`"));
        }
        let Some(metadata) = metadata else {
            // `{ registry = "x" }` means the same as `"x"`; keep the simpler form.
            return Ok(RegistryMapping::Registry(registry));
        };
        let metadata_at = at.join("metadata");
        let metadata = expect_table(metadata, &metadata_at)?;
        let mut object = Map::new();
        for (key, value) in metadata {
            let key_at = metadata_at.join(&key);
            let json = to_json(value, &key_at)?;
            let ok = if STRING_KEYS.contains(&key.as_str()) {
                json.is_string()
            } else {
                json.is_object()
            };
            if !ok {
                let want = if STRING_KEYS.contains(&key.as_str()) {
                    "a string"
                } else {
                    "a table (protocol settings)"
                };
                return Err(key_at.error(format!("must be {want}, as in registry.json")));
            }
            object.insert(key, json);
        }
        Ok(RegistryMapping::Custom {
            registry,
            metadata: object,
        })
    }

    /// The value as written in the file: `"name"` or `{ registry = .., metadata = .. }`.
    pub(crate) fn to_inline(&self, at: &KeyPath) -> Result<String> {
        match self {
            RegistryMapping::Registry(registry) => {
                Ok(Value::String(registry.to_string()).to_string())
            }
            RegistryMapping::Custom { registry, metadata } => {
                let metadata = from_json(&Json::Object(metadata.clone()), &at.join("metadata"))?;
                Ok(inline_table(&[
                    ("registry", Value::String(registry.to_string())),
                    ("metadata", metadata),
                ]))
            }
        }
    }
}

fn registry_name(name: &str, at: &KeyPath) -> Result<RegistryName> {
    name.parse()
        .map_err(|err: crate::Error| at.error(err.to_string()))
}

fn to_json(value: Value, at: &KeyPath) -> Result<Json> {
    Ok(match value {
        Value::String(s) => Json::String(s),
        Value::Integer(n) => Json::Number(n.into()),
        Value::Float(f) => Json::Number(
            Number::from_f64(f)
                .ok_or_else(|| at.error("NaN and infinity cannot appear in registry.json"))?,
        ),
        Value::Boolean(b) => Json::Bool(b),
        Value::Datetime(_) => return Err(at.error("datetimes cannot appear in registry.json")),
        Value::Array(items) => Json::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &at.index(i)))
                .collect::<Result<_>>()?,
        ),
        Value::Table(table) => Json::Object(
            table
                .into_iter()
                .map(|(k, v)| {
                    let json = to_json(v, &at.join(&k))?;
                    Ok((k, json))
                })
                .collect::<Result<_>>()?,
        ),
    })
}

fn from_json(value: &Json, at: &KeyPath) -> Result<Value> {
    Ok(match value {
        Json::Null => return Err(at.error("null cannot be written to a TOML file")),
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) if !n.is_u64() => Value::Float(f),
            _ => return Err(at.error("the number does not fit in a TOML integer")),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| from_json(item, &at.index(i)))
                .collect::<Result<_>>()?,
        ),
        Json::Object(map) => Value::Table(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_json(v, &at.join(k))?)))
                .collect::<Result<_>>()?,
        ),
    })
}

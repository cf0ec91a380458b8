//! The `config.toml` shared with upstream wkg: model, reader and writer.
//!
//! The file is shared with upstream `wkg` and other tools, so the model follows it exactly.
//! Its top level is strict, because upstream rejects any other top-level key: a file we
//! accept (or write) must also work with upstream. Inside registry tables unknown keys are
//! kept, because other tools put their own settings there. Maps are ordered so the file we
//! write is stable from one save to the next.
//!
//! ```toml
//! default_registry = "acme.registry.com"
//! [namespace_registries]
//! wasi = "wasi.dev"
//! [registry."acme.registry.com".oci]
//! auth = { username = "open", password = "sesame" }
//! ```

mod auth;
mod backends;
mod extra;
mod file;
mod mapping;
mod toml_util;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::package::{Label, PackageRef};
use crate::registry::RegistryName;

pub use auth::{BasicCredentials, CertificateData, CertificateEncoding, OciAuth, RootCertificate};
pub use backends::{Backend, LocalConfig, OciConfig, OciProtocol, RegistryConfig, WargConfig};
pub use extra::Extra;
pub use file::{default_config_path, write_atomic};
pub use mapping::RegistryMapping;
use toml_util::{Doc, KeyPath, Render, expect_string, expect_table};

/// The top-level keys upstream wkg accepts; anything else makes it refuse the file.
pub const TOP_LEVEL_KEYS: [&str; 4] = [
    "default_registry",
    "namespace_registries",
    "package_registry_overrides",
    "registry",
];

/// A parsed `config.toml`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// Used for packages that no override or namespace mapping covers.
    pub default_registry: Option<RegistryName>,
    /// `[namespace_registries]`: namespace → registry.
    pub namespace_registries: BTreeMap<Label, RegistryMapping>,
    /// `[package_registry_overrides]`: `ns:name` → registry; wins over the namespace.
    pub package_registry_overrides: BTreeMap<PackageRef, RegistryMapping>,
    /// `[registry."<name>"]`: how to talk to each registry.
    pub registries: BTreeMap<RegistryName, RegistryConfig>,
}

impl Config {
    /// Parses the text of a config file.
    ///
    /// Errors carry no file path; [`Config::load`] adds it.
    pub fn from_toml(text: &str) -> Result<Self> {
        let table: Table = toml::from_str(text).map_err(|err| Error::ConfigSyntax {
            path: None,
            source: Box::new(err),
        })?;
        let root = KeyPath::default();
        let mut config = Config::default();
        for (key, value) in table {
            let at = root.join(&key);
            match key.as_str() {
                "default_registry" => {
                    let name = expect_string(value, &at)?;
                    config.default_registry = Some(parse_key(&name, &at)?);
                }
                "namespace_registries" => {
                    for (ns, mapping) in expect_table(value, &at)? {
                        let at = at.join(&ns);
                        let mapping = RegistryMapping::from_value(mapping, &at)?;
                        config
                            .namespace_registries
                            .insert(parse_key(&ns, &at)?, mapping);
                    }
                }
                "package_registry_overrides" => {
                    for (package, mapping) in expect_table(value, &at)? {
                        let at = at.join(&package);
                        let mapping = RegistryMapping::from_value(mapping, &at)?;
                        config
                            .package_registry_overrides
                            .insert(parse_key(&package, &at)?, mapping);
                    }
                }
                "registry" => {
                    for (name, registry) in expect_table(value, &at)? {
                        let at = at.join(&name);
                        let registry =
                            RegistryConfig::from_table(expect_table(registry, &at)?, &at)?;
                        config.registries.insert(parse_key(&name, &at)?, registry);
                    }
                }
                _ => {
                    return Err(at.error(format!(
                        "unknown top-level key; upstream wkg rejects the whole file because of it. \
                         Allowed at the top level: {}; per-registry settings belong under \
                         [registry.\"<name>\"]",
                        TOP_LEVEL_KEYS.join(", ")
                    )));
                }
            }
        }
        Ok(config)
    }

    /// The file text, secrets included: what [`Config::save`] writes.
    pub fn to_toml(&self) -> Result<String> {
        self.render(Render::Full)
    }

    /// The file text with passwords, tokens and signing keys replaced by `<redacted>`,
    /// for showing the config to a person. Not meant to be loaded back.
    pub fn to_toml_redacted(&self) -> Result<String> {
        self.render(Render::Redacted)
    }

    /// The settings for a registry, if the file has any.
    pub fn registry_config(&self, registry: &RegistryName) -> Option<&RegistryConfig> {
        self.registries.get(registry)
    }

    /// Settings for a registry, inserting empty ones so they can be filled in.
    pub fn registry_config_mut(&mut self, registry: &RegistryName) -> &mut RegistryConfig {
        self.registries.entry(registry.clone()).or_default()
    }

    fn render(&self, render: Render) -> Result<String> {
        let root = KeyPath::default();
        let mut doc = Doc::default();
        if let Some(registry) = &self.default_registry {
            doc.top_level("default_registry", &Value::String(registry.to_string()));
        }
        write_mappings(
            &mut doc,
            "namespace_registries",
            &self.namespace_registries,
            &root,
        )?;
        write_mappings(
            &mut doc,
            "package_registry_overrides",
            &self.package_registry_overrides,
            &root,
        )?;
        for (name, registry) in &self.registries {
            registry.write(&mut doc, name.as_str(), render)?;
        }
        Ok(doc.finish())
    }
}

fn write_mappings<K: ToString>(
    doc: &mut Doc,
    section: &str,
    mappings: &BTreeMap<K, RegistryMapping>,
    root: &KeyPath,
) -> Result<()> {
    if mappings.is_empty() {
        return Ok(());
    }
    doc.section(&[section]);
    for (key, mapping) in mappings {
        let key = key.to_string();
        let value = mapping.to_inline(&root.join(section).join(&key))?;
        doc.line_text(&key, &value);
    }
    Ok(())
}

/// Parses a name used as a key or value, reporting the problem at its config key.
fn parse_key<T: std::str::FromStr<Err = Error>>(text: &str, at: &KeyPath) -> Result<T> {
    text.parse().map_err(|err: Error| at.error(err.to_string()))
}

//! Which registry serves a package.
//!
//! The order is upstream wkg's, so both tools fetch a package from the same place:
//! 1. `[package_registry_overrides]` for the exact `ns:name`;
//! 2. `[namespace_registries]` for its namespace;
//! 3. `default_registry`;
//! 4. built-in fallbacks for well-known namespaces (`wasi` → `wasi.dev`,
//!    `ba` → `bytecodealliance.org`).
//!
//! Note that a default registry wins over the built-in fallbacks: with
//! `default_registry = "acme.com"`, `wasi:http` is looked up at `acme.com` unless
//! `wasi` is mapped explicitly. The fallbacks are never written to the file.

use serde_json::{Map, Value as Json};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::package::PackageRef;
use crate::registry::RegistryName;

/// Namespaces that resolve without any configuration, as in upstream wkg.
pub const BUILTIN_NAMESPACE_REGISTRIES: [(&str, &str); 2] =
    [("wasi", "wasi.dev"), ("ba", "bytecodealliance.org")];

/// Which rule picked the registry; useful for `--verbose` output and error hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolutionSource {
    PackageOverride,
    NamespaceMapping,
    DefaultRegistry,
    BuiltinFallback,
}

/// The registry chosen for a package.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedRegistry {
    /// The registry name: the `[registry."<name>"]` key and, without metadata, the host.
    pub registry: RegistryName,
    /// registry.json given inline in the mapping; when present, wkg does not fetch it.
    pub metadata: Option<Map<String, Json>>,
    pub source: ResolutionSource,
}

impl Config {
    /// Picks the registry for `package`, or says how to configure one.
    pub fn resolve_registry(&self, package: &PackageRef) -> Result<ResolvedRegistry> {
        let mapped = |mapping: &crate::config::RegistryMapping, source| ResolvedRegistry {
            registry: mapping.registry().clone(),
            metadata: mapping.metadata().cloned(),
            source,
        };
        if let Some(mapping) = self.package_registry_overrides.get(package) {
            return Ok(mapped(mapping, ResolutionSource::PackageOverride));
        }
        if let Some(mapping) = self.namespace_registries.get(package.namespace()) {
            return Ok(mapped(mapping, ResolutionSource::NamespaceMapping));
        }
        if let Some(registry) = &self.default_registry {
            return Ok(ResolvedRegistry {
                registry: registry.clone(),
                metadata: None,
                source: ResolutionSource::DefaultRegistry,
            });
        }
        if let Some(registry) = builtin_registry(package.namespace().as_str()) {
            return Ok(ResolvedRegistry {
                registry,
                metadata: None,
                source: ResolutionSource::BuiltinFallback,
            });
        }
        Err(Error::NoRegistry {
            package: package.clone(),
        })
    }
}

fn builtin_registry(namespace: &str) -> Option<RegistryName> {
    BUILTIN_NAMESPACE_REGISTRIES
        .iter()
        .find(|(ns, _)| *ns == namespace)
        .and_then(|(_, registry)| registry.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: &Config, package: &str) -> Result<(String, ResolutionSource)> {
        let resolved = config.resolve_registry(&package.parse().unwrap())?;
        Ok((resolved.registry.to_string(), resolved.source))
    }

    const FULL: &str = r#"
        default_registry = "default.example"
        [namespace_registries]
        acme = "acme.example"
        meta = { registry = "meta", metadata = { preferredProtocol = "oci", oci = { registry = "ghcr.io", namespacePrefix = "webassembly/" } } }
        [package_registry_overrides]
        "acme:special" = "special.example"
    "#;

    #[test]
    fn order_is_override_namespace_default() {
        use ResolutionSource::*;
        let config = Config::from_toml(FULL).unwrap();
        assert_eq!(
            resolve(&config, "acme:special").unwrap(),
            ("special.example".into(), PackageOverride)
        );
        assert_eq!(
            resolve(&config, "acme:other").unwrap(),
            ("acme.example".into(), NamespaceMapping)
        );
        assert_eq!(
            resolve(&config, "other:pkg").unwrap(),
            ("default.example".into(), DefaultRegistry)
        );
        // A default registry wins over the built-in fallbacks, as upstream.
        assert_eq!(
            resolve(&config, "wasi:http").unwrap(),
            ("default.example".into(), DefaultRegistry)
        );
    }

    #[test]
    fn inline_metadata_is_returned() {
        let config = Config::from_toml(FULL).unwrap();
        let resolved = config
            .resolve_registry(&"meta:thing".parse().unwrap())
            .unwrap();
        assert_eq!(resolved.registry.as_str(), "meta");
        let metadata = resolved.metadata.unwrap();
        assert_eq!(metadata["oci"]["namespacePrefix"], "webassembly/");
        let plain = config.resolve_registry(&"acme:x".parse().unwrap()).unwrap();
        assert_eq!(plain.metadata, None);
    }

    #[test]
    fn builtin_fallbacks_apply_without_default_and_are_not_saved() {
        use ResolutionSource::*;
        let config = Config::default();
        assert_eq!(
            resolve(&config, "wasi:http").unwrap(),
            ("wasi.dev".into(), BuiltinFallback)
        );
        assert_eq!(
            resolve(&config, "ba:sample").unwrap(),
            ("bytecodealliance.org".into(), BuiltinFallback)
        );
        assert_eq!(config.to_toml().unwrap(), "");
        // An explicit namespace mapping still wins over a fallback.
        let mapped =
            Config::from_toml("[namespace_registries]\nwasi = \"mirror.example\"").unwrap();
        assert_eq!(
            resolve(&mapped, "wasi:io").unwrap(),
            ("mirror.example".into(), NamespaceMapping)
        );
    }

    #[test]
    fn nothing_configured_names_the_package() {
        // What to do about it is the CLI's hint (`wkg-cli`'s hints tests).
        let err = resolve(&Config::default(), "acme:thing").unwrap_err();
        assert!(matches!(err, Error::NoRegistry { .. }));
        let msg = err.to_string();
        assert!(msg.contains("`acme:thing`"), "{msg}");
    }

    #[test]
    fn builtins_are_valid_names() {
        for (ns, registry) in BUILTIN_NAMESPACE_REGISTRIES {
            assert!(builtin_registry(ns).is_some(), "{registry}");
        }
    }
}

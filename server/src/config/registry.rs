//! The `[registry]` section: how package names map to repositories.

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// Prepended to `ns/name` to form OCI repository names; empty, or ending
    /// in `/` (e.g. `webassembly/`). Advertised in registry.json.
    pub namespace_prefix: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistry {
    namespace_prefix: Option<String>,
}

impl RawRegistry {
    pub(super) fn validate(self) -> Result<RegistryConfig, ConfigError> {
        Ok(RegistryConfig {
            namespace_prefix: parse_namespace_prefix(self.namespace_prefix.unwrap_or_default())?,
        })
    }
}

fn parse_namespace_prefix(prefix: String) -> Result<String, ConfigError> {
    if prefix.is_empty() {
        return Ok(prefix);
    }
    let valid = prefix
        .strip_suffix('/')
        .is_some_and(|path| crate::names::RepoName::parse(path).is_ok());
    if valid {
        Ok(prefix)
    } else {
        Err(ConfigError::key(
            "registry.namespace_prefix",
            format!(
                "{prefix:?} must be lowercase repository path components ending in '/', like \"webassembly/\""
            ),
        ))
    }
}

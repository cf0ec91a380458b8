//! The `[metrics]` section: where `/metrics` is served and who may read it.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

/// Validated `[metrics]` settings. By default `/metrics` is served on the
/// main listener without authentication, as it always was.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    /// Serve `/metrics` on this address instead, and no longer on the main
    /// listener (plain http; usually a loopback or internal address).
    pub listen: Option<SocketAddr>,
    /// A file holding the Bearer token scrapers must send (read once at
    /// start; surrounding whitespace ignored).
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    listen: Option<String>,
    token_file: Option<String>,
}

impl RawMetrics {
    pub(super) fn validate(self, main: SocketAddr) -> Result<MetricsConfig, ConfigError> {
        let listen = match self.listen.as_deref().map(str::trim) {
            None => None,
            Some(text) => {
                let addr: SocketAddr = text.parse().map_err(|e| {
                    ConfigError::key(
                        "metrics.listen",
                        format!("{text:?} is not an address like 127.0.0.1:9090: {e}"),
                    )
                })?;
                if addr.port() != 0 && addr == main {
                    return Err(ConfigError::key(
                        "metrics.listen",
                        format!("{addr} is the main `listen` address; choose another port"),
                    ));
                }
                Some(addr)
            }
        };
        let token_file = match self.token_file.as_deref().map(str::trim) {
            None => None,
            Some("") => {
                return Err(ConfigError::key(
                    "metrics.token_file",
                    "must be the path of a file holding the token",
                ));
            }
            Some(path) => Some(PathBuf::from(path)),
        };
        Ok(MetricsConfig { listen, token_file })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn metrics_settings() {
        let config = Config::from_toml_str("").unwrap();
        assert!(config.metrics.listen.is_none() && config.metrics.token_file.is_none());
        let config = Config::from_toml_str(
            "[metrics]\nlisten = \"127.0.0.1:9090\"\ntoken_file = \"/run/metrics-token\"",
        )
        .unwrap();
        assert_eq!(config.metrics.listen.unwrap().to_string(), "127.0.0.1:9090");
        assert_eq!(
            config.metrics.token_file.unwrap().to_str(),
            Some("/run/metrics-token")
        );
        for text in [
            "[metrics]\nlisten = \"nine\"",
            "listen = \"127.0.0.1:8080\"\n[metrics]\nlisten = \"127.0.0.1:8080\"",
            "[metrics]\ntoken_file = \"\"",
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains("`metrics."), "{text}: {err}");
        }
        assert!(Config::from_toml_str("[metrics]\nport = 1").is_err());
    }
}

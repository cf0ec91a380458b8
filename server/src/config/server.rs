//! The `[server]` section: shutdown, proxies, rate and time limits.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, Rate, StringOr, duration, list};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long in-flight requests may run after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (see `client_addr`).
    pub trusted_proxies: Vec<crate::client_addr::Network>,
    /// Optional per-client request rate (see `rate_limit`).
    pub rate_limit: Option<Rate>,
    /// Longest time a non-streaming request may take (`None`: no limit).
    /// Blob uploads are exempt: they have `uploads.body_idle_timeout`.
    pub request_timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    shutdown_grace: Option<String>,
    trusted_proxies: Option<StringOr<Vec<String>>>,
    rate_limit: Option<String>,
    request_timeout: Option<String>,
}

impl RawServer {
    pub(super) fn validate(self) -> Result<ServerConfig, ConfigError> {
        Ok(ServerConfig {
            shutdown_grace: duration("server.shutdown_grace", self.shutdown_grace, "30s")?,
            // A TOML list, or comma-separated text from the environment.
            trusted_proxies: list(self.trusted_proxies)
                .iter()
                .map(|net| {
                    net.parse()
                        .map_err(|e| ConfigError::key("server.trusted_proxies", e))
                })
                .collect::<Result<_, _>>()?,
            request_timeout: match self.request_timeout.as_deref().map(str::trim) {
                Some("off") => None,
                other => Some(duration(
                    "server.request_timeout",
                    other.map(str::to_string),
                    "60s",
                )?)
                .filter(|limit| !limit.is_zero()),
            },
            rate_limit: match self.rate_limit.as_deref().map(str::trim) {
                None | Some("off") => None,
                Some(text) => Some(
                    text.parse()
                        .map_err(|e| ConfigError::key("server.rate_limit", e))?,
                ),
            },
        })
    }
}

//! The `[uploads]` section: how long upload sessions live, and how much of
//! the gateway one client's uploads may hold (see `crate::registry::upload_limits`).

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, StringOr, byte_size, duration};

/// Validated `[uploads]` settings.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Upload sessions untouched for longer than this are purged; older
    /// ones no longer count against `max_sessions_per_client` even before
    /// the purge removes them.
    pub max_age: Duration,
    /// How often the purge runs.
    pub purge_interval: Duration,
    /// A request body that sends nothing for this long is abandoned, so a
    /// stalled client cannot hold a connection and a staging file forever.
    pub body_idle_timeout: Duration,
    /// Request bodies streamed into storage at once; more get 429.
    pub max_concurrent: usize,
    /// Open upload sessions one client may hold: per user when
    /// authenticated, per address (IPv6: per /64) when anonymous. Counted
    /// in the database, so the limit holds across replicas. Docker and wkg
    /// push several layers at once, so keep this well above 16.
    pub max_sessions_per_client: u64,
    /// Bytes per second an upload body must deliver, measured over each
    /// `body_rate_window` of time spent waiting for the client (time the
    /// gateway spends writing to storage does not count). A body that
    /// trickles slower is abandoned and frees its upload slot. Zero: off.
    pub body_min_rate: u64,
    /// The window `body_min_rate` is measured over.
    pub body_rate_window: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUploads {
    max_concurrent: Option<StringOr<usize>>,
    max_age: Option<String>,
    purge_interval: Option<String>,
    body_idle_timeout: Option<String>,
    max_sessions_per_client: Option<StringOr<u64>>,
    body_min_rate: Option<StringOr<u64>>,
    body_rate_window: Option<String>,
}

impl RawUploads {
    pub(super) fn validate(self) -> Result<UploadConfig, ConfigError> {
        let uploads = UploadConfig {
            max_age: duration("uploads.max_age", self.max_age, "24h")?,
            purge_interval: duration("uploads.purge_interval", self.purge_interval, "10m")?,
            body_idle_timeout: duration("uploads.body_idle_timeout", self.body_idle_timeout, "2m")?,
            max_concurrent: match self.max_concurrent {
                Some(v) => v.parse("uploads.max_concurrent")?,
                None => 256,
            },
            max_sessions_per_client: match self.max_sessions_per_client {
                Some(v) => v.parse("uploads.max_sessions_per_client")?,
                None => 64,
            },
            // Bytes per second: a number, or a size like "1KiB".
            body_min_rate: match self.body_min_rate {
                Some(StringOr::Value(bytes)) => bytes,
                Some(StringOr::Text(text)) => byte_size("uploads.body_min_rate", &text)?,
                None => 1024,
            },
            body_rate_window: duration("uploads.body_rate_window", self.body_rate_window, "30s")?,
        };
        for (key, value) in [
            ("uploads.max_concurrent", uploads.max_concurrent as u64),
            (
                "uploads.max_sessions_per_client",
                uploads.max_sessions_per_client,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key, "must be at least 1"));
            }
        }
        for (key, value) in [
            ("uploads.purge_interval", uploads.purge_interval),
            ("uploads.body_rate_window", uploads.body_rate_window),
        ] {
            if value.is_zero() {
                return Err(ConfigError::key(key, "must be a positive duration"));
            }
        }
        Ok(uploads)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    #[test]
    fn upload_settings() {
        let config = Config::from_toml_str("").unwrap();
        let uploads = &config.uploads;
        assert_eq!(uploads.max_concurrent, 256);
        assert_eq!(uploads.max_sessions_per_client, 64);
        assert_eq!(uploads.body_min_rate, 1024);
        assert_eq!(uploads.body_rate_window, Duration::from_secs(30));
        let config = Config::from_toml_str(
            "[uploads]\nmax_sessions_per_client = 2\nbody_min_rate = \"1MiB\"\n\
             body_rate_window = \"1s\"",
        )
        .unwrap();
        assert_eq!(config.uploads.max_sessions_per_client, 2);
        assert_eq!(config.uploads.body_min_rate, 1 << 20);
        assert_eq!(config.uploads.body_rate_window, Duration::from_secs(1));
        let off = Config::from_toml_str("[uploads]\nbody_min_rate = 0").unwrap();
        assert_eq!(off.uploads.body_min_rate, 0);
        for text in [
            "[uploads]\nmax_concurrent = 0",
            "[uploads]\nmax_sessions_per_client = 0",
            "[uploads]\nbody_min_rate = \"fast\"",
            "[uploads]\nbody_rate_window = \"0s\"",
            "[uploads]\npurge_interval = \"0s\"",
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains("`uploads."), "{text}: {err}");
        }
    }
}

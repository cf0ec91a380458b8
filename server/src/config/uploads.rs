//! The `[uploads]` section: how long upload sessions live, and how many
//! request bodies stream at once.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, StringOr, duration};

/// Validated `[uploads]` settings.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Upload sessions untouched for longer than this are purged.
    pub max_age: Duration,
    /// How often the purge runs.
    pub purge_interval: Duration,
    /// A request body that sends nothing for this long is abandoned, so a
    /// stalled client cannot hold a connection and a staging file forever.
    pub body_idle_timeout: Duration,
    /// Request bodies streamed into storage at once; more get 429.
    pub max_concurrent: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUploads {
    max_concurrent: Option<StringOr<usize>>,
    max_age: Option<String>,
    purge_interval: Option<String>,
    body_idle_timeout: Option<String>,
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
        };
        if uploads.max_concurrent == 0 {
            return Err(ConfigError::key(
                "uploads.max_concurrent",
                "must be at least 1",
            ));
        }
        for (key, value) in [("uploads.purge_interval", uploads.purge_interval)] {
            if value.is_zero() {
                return Err(ConfigError::key(key, "must be a positive duration"));
            }
        }
        Ok(uploads)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn upload_settings() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.uploads.max_concurrent, 256);
        for text in [
            "[uploads]\nmax_concurrent = 0",
            "[uploads]\npurge_interval = \"0s\"",
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains("`uploads."), "{text}: {err}");
        }
    }
}

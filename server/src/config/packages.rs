//! The `[packages]` section: how much work validating an untrusted Wasm
//! layer may cost (see `crate::packages::validate`).

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, StringOr, byte_size, duration};

/// Validated `[packages]` settings.
#[derive(Debug, Clone)]
pub struct PackagesConfig {
    /// Wasm layers up to this size are fully validated (and later indexed);
    /// larger ones only get their header checked. Checked against the
    /// descriptor's and the stored blob's size before a byte is read, so
    /// it also bounds the memory one validation holds.
    pub parse_size_limit: u64,
    /// Validation of one layer stops after this long: the validator checks
    /// the clock between sections and every few thousand instructions, so
    /// the thread doing the work returns soon after. Zero makes every full
    /// validation run out of time at its first check (meant for tests).
    pub parse_timeout: Duration,
    /// Validations running at once (each holds up to `parse_size_limit`
    /// bytes in memory). Default: twice the number of cores, at least 2.
    pub max_concurrent_validations: usize,
    /// Validations waiting for a slot; beyond that, pushes of Wasm
    /// packages get 503 `TOOMANYREQUESTS` with `Retry-After`. Waiting
    /// holds no layer bytes.
    pub validation_queue: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPackages {
    parse_size_limit: Option<StringOr<u64>>,
    parse_timeout: Option<String>,
    max_concurrent_validations: Option<StringOr<usize>>,
    validation_queue: Option<StringOr<usize>>,
}

/// Twice the cores this process may use, at least 2.
fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .saturating_mul(2)
        .max(2)
}

impl RawPackages {
    pub(super) fn validate(self) -> Result<PackagesConfig, ConfigError> {
        let max_concurrent_validations = match self.max_concurrent_validations {
            Some(v) => v.parse("packages.max_concurrent_validations")?,
            None => default_concurrency(),
        };
        if max_concurrent_validations == 0 {
            return Err(ConfigError::key(
                "packages.max_concurrent_validations",
                "must be at least 1",
            ));
        }
        Ok(PackagesConfig {
            parse_size_limit: match self.parse_size_limit {
                Some(StringOr::Value(bytes)) => bytes,
                Some(StringOr::Text(text)) => byte_size("packages.parse_size_limit", &text)?,
                None => 64 * 1024 * 1024,
            },
            parse_timeout: duration("packages.parse_timeout", self.parse_timeout, "10s")?,
            max_concurrent_validations,
            validation_queue: match self.validation_queue {
                Some(v) => v.parse("packages.validation_queue")?,
                None => 32,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    #[test]
    fn package_settings() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.packages.parse_size_limit, 64 * 1024 * 1024);
        assert_eq!(config.packages.parse_timeout, Duration::from_secs(10));
        assert!(config.packages.max_concurrent_validations >= 2);
        assert_eq!(config.packages.validation_queue, 32);
        let config = Config::from_toml_str(
            "[packages]\nparse_timeout = \"0s\"\nmax_concurrent_validations = 1\n\
             validation_queue = 0",
        )
        .unwrap();
        assert_eq!(config.packages.parse_timeout, Duration::ZERO);
        assert_eq!(config.packages.max_concurrent_validations, 1);
        assert_eq!(config.packages.validation_queue, 0);
        for text in [
            "[packages]\nmax_concurrent_validations = 0",
            "[packages]\nvalidation_queue = \"some\"",
            "[packages]\nparse_timeout = \"soon\"",
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains("`packages."), "{text}: {err}");
        }
    }
}

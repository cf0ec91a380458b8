//! The `[audit]` section: how much of a flood of refusals is written down.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, StringOr, duration};

/// Validated `[audit]` settings (see `crate::audit_limit`).
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Refused requests from one source recorded one by one per window;
    /// the rest are counted (a notice row, a count row when the window
    /// ends, and a metric).
    pub refusals_per_source: u32,
    /// The window those are counted in, from the source's first refusal.
    pub refusal_window: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    refusals_per_source: Option<StringOr<u32>>,
    refusal_window: Option<String>,
}

impl RawAudit {
    pub(super) fn validate(self) -> Result<AuditConfig, ConfigError> {
        let refusals_per_source = match self.refusals_per_source {
            Some(v) => v.parse("audit.refusals_per_source")?,
            None => 30,
        };
        if refusals_per_source == 0 {
            return Err(ConfigError::key(
                "audit.refusals_per_source",
                "must be at least 1",
            ));
        }
        let refusal_window = duration("audit.refusal_window", self.refusal_window, "1m")?;
        if refusal_window.is_zero() {
            return Err(ConfigError::key(
                "audit.refusal_window",
                "must be a positive duration like \"1m\"",
            ));
        }
        Ok(AuditConfig {
            refusals_per_source,
            refusal_window,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    #[test]
    fn audit_settings() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.audit.refusals_per_source, 30);
        assert_eq!(config.audit.refusal_window, Duration::from_secs(60));
        let config =
            Config::from_toml_str("[audit]\nrefusals_per_source = 5\nrefusal_window = \"1h\"")
                .unwrap();
        assert_eq!(config.audit.refusals_per_source, 5);
        assert_eq!(config.audit.refusal_window, Duration::from_secs(3600));
        for text in [
            "[audit]\nrefusals_per_source = 0",
            "[audit]\nrefusals_per_source = \"many\"",
            "[audit]\nrefusal_window = \"0s\"",
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains("`audit."), "{text}: {err}");
        }
    }
}

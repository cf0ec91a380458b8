//! The `[gc]` section: when garbage collection runs and what it spares.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, StringOr, duration};

#[derive(Debug, Clone)]
pub struct GcConfig {
    /// How often GC runs inside the server; `None` ("off") disables it.
    pub schedule: Option<Duration>,
    /// Also delete manifests no tag (and no live index or subject) needs.
    pub delete_untagged: bool,
    /// Anything younger than this is never collected: it may belong to a
    /// push in progress.
    pub grace: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGc {
    schedule: Option<String>,
    delete_untagged: Option<StringOr<bool>>,
    grace: Option<String>,
}

impl RawGc {
    pub(super) fn validate(self) -> Result<GcConfig, ConfigError> {
        let gc = GcConfig {
            schedule: match self.schedule.as_deref().map(str::trim) {
                Some("off") => None,
                other => Some(duration("gc.schedule", other.map(str::to_string), "24h")?),
            },
            delete_untagged: match self.delete_untagged {
                Some(v) => v.parse("gc.delete_untagged")?,
                None => false,
            },
            grace: duration("gc.grace", self.grace, "1h")?,
        };
        if gc.schedule.is_some_and(|every| every.is_zero()) {
            return Err(ConfigError::key(
                "gc.schedule",
                "must be a positive duration like \"24h\", or \"off\"",
            ));
        }
        Ok(gc)
    }
}

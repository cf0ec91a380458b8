//! The `[database]` section: which database holds the metadata, and what
//! `database.url` may name.

use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, StringOr, absolute};

/// Which SQL engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    url: Option<String>,
    max_connections: Option<StringOr<u32>>,
}

impl RawDatabase {
    pub(super) fn validate(self, data_dir: &Path) -> Result<DatabaseConfig, ConfigError> {
        let database = DatabaseConfig {
            url: parse_database_url(self.url, data_dir)?,
            max_connections: match self.max_connections {
                Some(v) => v.parse("database.max_connections")?,
                None => 8,
            },
        };
        if database.max_connections == 0 {
            return Err(ConfigError::key(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        Ok(database)
    }
}

fn parse_database_url(text: Option<String>, data_dir: &Path) -> Result<String, ConfigError> {
    let Some(text) = text else {
        return Ok(format!(
            "sqlite://{}",
            absolute(&data_dir.join("gateway.db")).display()
        ));
    };
    if Backend::of_url(&text).is_some() {
        Ok(text)
    } else {
        Err(ConfigError::key(
            "database.url",
            format!(
                "unsupported database {:?}; use sqlite://PATH or postgres://USER@HOST/DB",
                text.split(':').next().unwrap_or_default()
            ),
        ))
    }
}

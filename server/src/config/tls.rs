//! The `[tls]` section: serve https with these PEM files.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    cert_file: Option<String>,
    key_file: Option<String>,
}

impl RawTls {
    pub(super) fn validate(self) -> Result<TlsConfig, ConfigError> {
        match self {
            RawTls {
                cert_file: Some(cert),
                key_file: Some(key),
            } => Ok(TlsConfig {
                cert_file: PathBuf::from(cert),
                key_file: PathBuf::from(key),
            }),
            RawTls {
                cert_file: None, ..
            } => Err(ConfigError::key(
                "tls.cert_file",
                "is required when [tls] is present",
            )),
            RawTls { key_file: None, .. } => Err(ConfigError::key(
                "tls.key_file",
                "is required when [tls] is present",
            )),
        }
    }
}

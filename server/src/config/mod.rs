//! Typed gateway configuration, loaded once at start-up and validated there.
//!
//! Sources, later ones winning: built-in defaults, the TOML file given with
//! `--config`, then environment variables `WKG_GATEWAY_<KEY>` for top-level
//! keys and `WKG_GATEWAY_<SECTION>__<KEY>` for keys inside a section (e.g.
//! `WKG_GATEWAY_DATABASE__URL`). Every problem is reported with the key it
//! concerns, so a bad deployment fails at once and says what to fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// Prefix of every environment variable the gateway reads its config from.
pub const ENV_PREFIX: &str = "WKG_GATEWAY_";

/// A configuration problem, naming the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn key(key: &str, problem: impl std::fmt::Display) -> Self {
        Self(format!("`{key}`: {problem}"))
    }
}

mod audit;
mod auth;
mod database;
mod gc;
mod metrics;
mod packages;
mod rate;
mod registry;
mod server;
mod storage;
mod tls;
mod uploads;
mod upstream;

pub use audit::AuditConfig;
pub use auth::{AuthConfig, AuthMode};
pub use database::{Backend, DatabaseConfig};
pub use gc::GcConfig;
pub use metrics::MetricsConfig;
pub use packages::PackagesConfig;
pub use rate::Rate;
pub use registry::RegistryConfig;
pub use server::ServerConfig;
pub use storage::{S3Config, StorageConfig};
pub use tls::TlsConfig;
pub use uploads::UploadConfig;
pub use upstream::{DiscoveryConfig, UpstreamAuth, UpstreamConfig, UpstreamSource};

/// The validated configuration the gateway runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// What clients are told to use; `None` means "derive it from the bound
    /// address" (only allowed when `listen` is a concrete address).
    pub public_url: Option<Url>,
    pub data_dir: PathBuf,
    pub storage: StorageConfig,
    pub database: DatabaseConfig,
    pub uploads: UploadConfig,
    pub server: ServerConfig,
    pub registry: RegistryConfig,
    pub packages: PackagesConfig,
    pub gc: GcConfig,
    pub log_format: LogFormat,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub metrics: MetricsConfig,
    /// Serve https with this certificate and key (PEM files).
    pub tls: Option<TlsConfig>,
    /// Registries proxied as a pull-through cache, in order of precedence.
    pub upstreams: Vec<UpstreamConfig>,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    log_format: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    #[serde(default)]
    storage: storage::RawStorage,
    #[serde(default)]
    database: database::RawDatabase,
    #[serde(default)]
    uploads: uploads::RawUploads,
    #[serde(default)]
    server: server::RawServer,
    #[serde(default)]
    registry: registry::RawRegistry,
    #[serde(default)]
    packages: packages::RawPackages,
    #[serde(default)]
    gc: gc::RawGc,
    #[serde(default)]
    auth: auth::RawAuth,
    #[serde(default)]
    audit: audit::RawAudit,
    #[serde(default)]
    metrics: metrics::RawMetrics,
    tls: Option<tls::RawTls>,
    #[serde(default)]
    upstream: Vec<upstream::RawUpstream>,
}

/// Numbers may come from TOML (typed) or from the environment (text).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringOr<T> {
    Value(T),
    Text(String),
}

impl<T: std::str::FromStr> StringOr<T>
where
    T::Err: std::fmt::Display,
{
    fn parse(self, key: &str) -> Result<T, ConfigError> {
        match self {
            StringOr::Value(v) => Ok(v),
            StringOr::Text(s) => s
                .trim()
                .parse()
                .map_err(|e| ConfigError::key(key, format!("{s:?} is not valid here: {e}"))),
        }
    }
}

impl Config {
    /// Loads the config file (if any), applies environment overrides and
    /// validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                text.parse::<toml::Table>().map_err(|e| {
                    ConfigError(format!(
                        "config file {} is not valid TOML: {e}",
                        path.display()
                    ))
                })?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, std::env::vars())?;
        Self::from_table(table)
    }

    /// Defaults only: what `wkg-gateway serve` runs with and no file or env.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError(format!("not valid TOML: {e}")))?;
        Self::from_table(table)
    }

    fn from_table(table: toml::Table) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(e.message().trim().to_string()))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|e| {
            ConfigError::key(
                "listen",
                format!("{listen_text:?} is not an address like 127.0.0.1:8080: {e}"),
            )
        })?;
        let public_url = match raw.public_url {
            Some(text) => Some(parse_public_url(&text)?),
            None if listen.ip().is_unspecified() => {
                return Err(ConfigError::key(
                    "public_url",
                    format!(
                        "required when `listen` is a wildcard address ({listen}); set it to the \
                         URL clients use, e.g. https://registry.example.com"
                    ),
                ));
            }
            None => None,
        };
        let data_dir = PathBuf::from(raw.data_dir.unwrap_or_else(|| "./data".to_string()));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::key("data_dir", "must not be empty"));
        }
        let storage = raw.storage.validate(&data_dir)?;
        let database = raw.database.validate(&data_dir)?;
        let uploads = raw.uploads.validate()?;
        let server = raw.server.validate()?;
        let registry = raw.registry.validate()?;
        let packages = raw.packages.validate()?;
        let gc = raw.gc.validate()?;
        let auth = raw.auth.validate(listen, &data_dir)?;
        let tls = raw.tls.map(tls::RawTls::validate).transpose()?;
        let log_format = match raw.log_format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::key(
                    "log_format",
                    format!("{other:?} is not \"text\" or \"json\""),
                ));
            }
        };
        Ok(Self {
            listen,
            public_url,
            data_dir,
            storage,
            database,
            uploads,
            server,
            registry,
            packages,
            gc,
            log_format,
            auth,
            audit: raw.audit.validate()?,
            metrics: raw.metrics.validate(listen)?,
            tls,
            upstreams: upstream::parse(raw.upstream)?,
        })
    }
}

fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text)
        .map_err(|e| ConfigError::key("public_url", format!("{text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::key(
            "public_url",
            format!("{text:?} must be an http:// or https:// URL with a host"),
        ));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(ConfigError::key(
            "public_url",
            format!(
                "{text:?} must not have a path or query: OCI clients always use /v2/ at the root"
            ),
        ));
    }
    Ok(url)
}

fn duration(key: &str, text: Option<String>, default: &str) -> Result<Duration, ConfigError> {
    let text = text.unwrap_or_else(|| default.to_string());
    humantime::parse_duration(text.trim()).map_err(|e| {
        ConfigError::key(
            key,
            format!("{text:?} is not a duration like \"30s\" or \"24h\": {e}"),
        )
    })
}

/// `1048576`, `512KiB`, `64MiB`, `1GiB` (also KB/MB/GB as binary units).
fn byte_size(key: &str, text: &str) -> Result<u64, ConfigError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|_| multiplier > 0)
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| ConfigError::key(key, format!("{text:?} is not a size like \"64MiB\"")))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Copies `WKG_GATEWAY_*` variables into the config table. Values stay text;
/// typed fields parse them, so errors still name the key.
/// A TOML list, or comma-separated text from the environment.
fn list(value: Option<StringOr<Vec<String>>>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(StringOr::Value(list)) => list,
        Some(StringOr::Text(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect(),
    }
}

/// `WKG_GATEWAY_*` variables that are not config keys.
const NOT_SETTINGS: [&str; 1] = ["BOOTSTRAP_ADMIN_PASSWORD"];

fn apply_env(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // Read once at first start by the admin bootstrap, not a setting.
        if NOT_SETTINGS.contains(&rest) {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) || path.len() > 2 {
            return Err(ConfigError(format!(
                "environment variable {name}: expected {ENV_PREFIX}<KEY> or {ENV_PREFIX}<SECTION>__<KEY>"
            )));
        }
        let mut target = &mut *table;
        for section in &path[..path.len() - 1] {
            let entry = target
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            target = entry.as_table_mut().ok_or_else(|| {
                ConfigError(format!(
                    "environment variable {name}: `{section}` is not a section"
                ))
            })?;
        }
        target.insert(path[path.len() - 1].clone(), toml::Value::String(value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_and_local() {
        let config = Config::from_toml_str("").unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.public_url.is_none());
        assert!(config.storage.url.as_str().starts_with("file:///"));
        assert!(config.storage.url.as_str().ends_with("/data/blobs/"));
        assert!(config.database.url.starts_with("sqlite:///"));
        assert_eq!(config.server.shutdown_grace, Duration::from_secs(30));
        assert_eq!(config.packages.parse_size_limit, 64 * 1024 * 1024);
        assert_eq!(config.storage.memory_cache, 64 * 1024 * 1024);
        let sized = Config::from_toml_str("[storage]\nmemory_cache = \"8MiB\"").unwrap();
        assert_eq!(sized.storage.memory_cache, 8 * 1024 * 1024);
        let off = Config::from_toml_str("[storage]\nmemory_cache = 0").unwrap();
        assert_eq!(off.storage.memory_cache, 0);
        assert_eq!(byte_size("k", "512KiB").unwrap(), 512 * 1024);
        assert_eq!(byte_size("k", "7").unwrap(), 7);
    }

    #[test]
    fn wildcard_listen_needs_public_url() {
        let err = Config::from_toml_str("listen = \"0.0.0.0:80\"").unwrap_err();
        assert!(err.to_string().contains("`public_url`"), "{err}");
        let ok = Config::from_toml_str(
            "listen = \"0.0.0.0:80\"\npublic_url = \"https://r.example.com\"\n[auth]\nallow_anonymous_write = true",
        )
        .unwrap();
        assert_eq!(ok.public_url.unwrap().as_str(), "https://r.example.com/");
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("listen = \"nope\"", "`listen`"),
            ("[uploads]\nmax_age = \"soon\"", "`uploads.max_age`"),
            ("[storage]\nurl = \"ftp://x\"", "`storage.url`"),
            ("[storage]\nurl = \"s3:///nobucket\"", "`storage.url`"),
            ("[storage]\nendpoint = \"http://x\"", "`storage.endpoint`"),
            (
                "[storage]\nmemory_cache = \"lots\"",
                "`storage.memory_cache`",
            ),
            (
                "[storage]\nredirect_blob_downloads = true",
                "`storage.redirect_blob_downloads`",
            ),
            (
                "[storage]\nurl = \"s3://b\"\nallow_http = \"maybe\"",
                "`storage.allow_http`",
            ),
            (
                "[storage]\nurl = \"s3://b\"\nread_timeout = \"0s\"",
                "`storage.read_timeout`",
            ),
            ("[database]\nurl = \"mysql://x\"", "`database.url`"),
            ("public_url = \"http://h/x\"", "`public_url`"),
            (
                "[database]\nmax_connections = \"many\"",
                "`database.max_connections`",
            ),
            (
                "[registry]\nnamespace_prefix = \"NoSlash\"",
                "`registry.namespace_prefix`",
            ),
            (
                "[registry]\nnamespace_prefix = \"a//\"",
                "`registry.namespace_prefix`",
            ),
            (
                "[packages]\nparse_size_limit = \"lots\"",
                "`packages.parse_size_limit`",
            ),
            ("[gc]\nschedule = \"0s\"", "`gc.schedule`"),
            (
                "[gc]\ndelete_untagged = \"sometimes\"",
                "`gc.delete_untagged`",
            ),
            (
                "[uploads]\npurge_interval = \"0s\"",
                "`uploads.purge_interval`",
            ),
            ("log_format = \"xml\"", "`log_format`"),
            (
                "[server]\ntrusted_proxies = [\"10.0.0.0/99\"]",
                "`server.trusted_proxies`",
            ),
            ("[server]\nrate_limit = \"fast\"", "`server.rate_limit`"),
            (
                "[server]\nrequest_timeout = \"soon\"",
                "`server.request_timeout`",
            ),
            ("[tls]\nkey_file = \"k.pem\"", "`tls.cert_file`"),
            ("[tls]\ncert_file = \"c.pem\"", "`tls.key_file`"),
            ("[auth]\nmode = \"tokens\"", "`auth.mode`"),
            ("[auth]\ntoken_ttl = \"1s\"", "`auth.token_ttl`"),
            (
                "[auth]\nanonymous_pull = [\"Public/*\"]",
                "`auth.anonymous_pull`",
            ),
            ("[auth]\nservice = \"\"", "`auth.service`"),
            (
                "[auth]\nmode = \"none\"\nallow_anonymous_write = \"perhaps\"",
                "`auth.allow_anonymous_write`",
            ),
            (
                "listen = \"0.0.0.0:80\"\npublic_url = \"https://r.example.com\"",
                "`auth.allow_anonymous_write`",
            ),
        ] {
            let err = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = Config::from_toml_str("lissen = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lissen"), "{err}");
    }

    #[test]
    fn the_documented_example_is_valid() {
        let config =
            Config::from_toml_str(include_str!("../../../deploy/config.example.toml")).unwrap();
        assert_eq!(config.uploads.max_age, Duration::from_secs(24 * 3600));
    }

    #[test]
    fn the_scale_out_example_is_valid() {
        let config = Config::from_toml_str(include_str!(
            "../../../deploy/config.postgres-s3.example.toml"
        ))
        .unwrap();
        assert_eq!(config.storage.url.scheme(), "s3");
        assert!(config.database.url.starts_with("postgres://"));
    }

    #[test]
    fn environment_overrides_file() {
        let mut table: toml::Table = "listen = \"127.0.0.1:1\"".parse().unwrap();
        apply_env(
            &mut table,
            [
                ("WKG_GATEWAY_LISTEN".to_string(), "127.0.0.1:2".to_string()),
                (
                    "WKG_GATEWAY_DATABASE__MAX_CONNECTIONS".to_string(),
                    "3".to_string(),
                ),
                ("OTHER".to_string(), "x".to_string()),
            ]
            .into_iter(),
        )
        .unwrap();
        let config = Config::from_table(table).unwrap();
        assert_eq!(config.listen.port(), 2);
        assert_eq!(config.database.max_connections, 3);
    }
}

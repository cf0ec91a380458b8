//! The application state every handler shares.

use std::sync::Arc;

use url::Url;

use crate::config::Config;
use crate::db::Db;
use crate::registry::uploads::HashCache;
use crate::storage::Storage;

/// Everything a request needs: configuration, metadata, blobs.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    /// The URL clients reach this gateway at (configured, or derived from
    /// the bound address).
    pub public_url: Url,
    pub db: Db,
    pub storage: Storage,
    /// In-process fast path for upload hashing; never the source of truth.
    pub upload_hashes: HashCache,
    /// Permits for request bodies streamed into storage at once.
    pub upload_slots: Arc<tokio::sync::Semaphore>,
    /// Slots for Wasm validations running and waiting at once.
    pub validations: crate::packages::gate::ValidationGate,
    /// Per-client request rate, when configured.
    pub rate_limiter: Option<crate::middleware::rate_limit::RateLimiter>,
    /// Token keys, settings and login throttling.
    pub auth: crate::auth::Auth,
    /// The pull-through cache of `[[upstream]]` registries.
    pub proxy: crate::proxy::Proxy,
    /// How many refusals per source the audit log records.
    pub audit_refusals: crate::audit_limit::RefusalLimiter,
    /// The Bearer token `/metrics` requires (`[metrics] token_file`).
    pub metrics_token: Option<crate::api::metrics::MetricsToken>,
}

pub type AppState = Arc<App>;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open the database ({url}): {source}")]
    Database {
        url: String,
        source: crate::db::Error,
    },
    #[error("cannot open blob storage ({url}): {source}")]
    Storage {
        url: String,
        source: crate::storage::Error,
    },
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Keys(#[from] crate::auth::keys::KeyError),
    #[error("{0}")]
    MetricsToken(#[from] crate::api::metrics::TokenFileError),
    #[error("cannot create the first admin user: {0}")]
    Bootstrap(#[from] crate::auth::admin::AdminError),
    #[error("cannot listen on {addr}: {source}; is another process using the port?")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

impl App {
    /// Opens storage and the database (running migrations).
    pub async fn open(config: Config, public_url: Url) -> Result<AppState, StartupError> {
        crate::install_crypto_provider();
        let metrics_token = match &config.metrics.token_file {
            Some(path) => Some(crate::api::metrics::MetricsToken::load(path)?),
            None => None,
        };
        let storage = Storage::open(&config.storage).map_err(|source| StartupError::Storage {
            url: config.storage.url.to_string(),
            source,
        })?;
        let db = Db::connect(&config.database)
            .await
            .map_err(|source| StartupError::Database {
                url: redact_password(&config.database.url),
                source,
            })?;
        let auth =
            crate::auth::Auth::new(&config.auth, &public_url, &config.registry.namespace_prefix)?;
        // A signing key the gateway keeps under data_dir is private, whatever
        // umask it was created with (see fs_mode); one kept elsewhere is the
        // operator's to manage.
        let key = &config.auth.signing_key_file;
        if auth.mode == crate::config::AuthMode::Token
            && std::path::absolute(key).is_ok_and(|key| {
                std::path::absolute(&config.data_dir).is_ok_and(|dir| key.starts_with(dir))
            })
            && let Err(error) = crate::fs_mode::restrict_file(key)
        {
            tracing::warn!(%error, key = %key.display(), "cannot make the signing key private");
        }
        if auth.mode == crate::config::AuthMode::Token {
            crate::auth::admin::bootstrap_admin(&db).await?;
        }
        let upload_slots = Arc::new(tokio::sync::Semaphore::new(config.uploads.max_concurrent));
        let validations = crate::packages::gate::ValidationGate::new(
            config.packages.max_concurrent_validations,
            config.packages.validation_queue,
        );
        let rate_limiter = config
            .server
            .rate_limit
            .map(crate::middleware::rate_limit::RateLimiter::new);
        let proxy = crate::proxy::Proxy::new(&config);
        let audit_refusals = crate::audit_limit::RefusalLimiter::new(&config.audit);
        Ok(Arc::new(App {
            audit_refusals,
            metrics_token,
            proxy,
            config,
            public_url,
            db,
            storage,
            upload_hashes: HashCache::default(),
            upload_slots,
            validations,
            rate_limiter,
            auth,
        }))
    }
}

/// A database URL fit for messages and logs: any password replaced.
pub fn redact_password(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("REDACTED"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_password("postgres://wkg:s3cret@db:5432/wkg"),
            "postgres://wkg:REDACTED@db:5432/wkg"
        );
        assert_eq!(
            super::redact_password("sqlite:///data/gateway.db"),
            "sqlite:///data/gateway.db"
        );
    }
}

//! Wiring: opens the stores, builds the services and the HTTP state from
//! the configuration, and binds the server. Nothing else lives here.

use std::sync::Arc;

use url::Url;

use crate::config::Config;
use crate::db::Db;
use crate::server::{ListenError, Listeners, Server};
use crate::state::{App, AppState};
use crate::storage::Storage;

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
    Keys(#[from] crate::auth::keys::KeyError),
    #[error("{0}")]
    MetricsToken(#[from] crate::auth::metrics_token::TokenFileError),
    #[error("cannot create the first admin user: {0}")]
    Bootstrap(#[from] crate::auth::admin::AdminError),
    #[error("{0}")]
    Listen(#[from] ListenError),
}

/// Binds the listen addresses, then opens the app. With no `public_url`
/// configured, the bound address is advertised.
pub async fn bind(config: Config) -> Result<Server, StartupError> {
    let listeners = Listeners::bind(&config).await?;
    let public_url = listeners.public_url(&config)?;
    let app = open(config, public_url).await?;
    Ok(Server::new(listeners, app))
}

/// Opens storage and the database (running migrations) and builds the
/// state every handler shares.
pub async fn open(config: Config, public_url: Url) -> Result<AppState, StartupError> {
    crate::install_crypto_provider();
    let metrics_token = match &config.metrics.token_file {
        Some(path) => Some(crate::auth::metrics_token::MetricsToken::load(path)?),
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
    let registry = crate::registry::Registry::new(db.clone(), storage.clone(), &config.uploads);
    let packages = crate::packages::Packages::new(
        db.clone(),
        storage.clone(),
        &config.packages,
        &config.registry.namespace_prefix,
    );
    let rate_limiter = config
        .server
        .rate_limit
        .map(crate::client_rate::RateLimiter::new);
    let repositories = crate::proxy::Proxy::new(&config, registry.clone(), packages.clone());
    let audit_refusals = crate::audit_limit::RefusalLimiter::new(&config.audit);
    Ok(Arc::new(App {
        audit_refusals,
        metrics_token,
        repositories,
        config,
        public_url,
        db,
        storage,
        registry,
        packages,
        rate_limiter,
        auth,
    }))
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

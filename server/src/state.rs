//! The state every handler shares: the handles of the stores and services
//! a request may use. It is built by [`crate::app`], which only wires.

use std::sync::Arc;

use url::Url;

use crate::config::Config;
use crate::db::Db;
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
    /// Uploads and blobs.
    pub registry: crate::registry::Registry,
    /// Validating and indexing Wasm packages.
    pub packages: crate::packages::Packages,
    /// Per-client request rate, when configured.
    pub rate_limiter: Option<crate::client_rate::RateLimiter>,
    /// Token keys, settings and login throttling.
    pub auth: crate::auth::Auth,
    /// Every repository's manifests, tags and blobs, read locally or
    /// through the pull-through cache of its namespace's `[[upstream]]`,
    /// and which repositories take pushes.
    pub repositories: crate::proxy::Proxy,
    /// How many refusals per source the audit log records.
    pub audit_refusals: crate::audit_limit::RefusalLimiter,
    /// The Bearer token `/metrics` requires (`[metrics] token_file`).
    pub metrics_token: Option<crate::auth::metrics_token::MetricsToken>,
}

pub type AppState = Arc<App>;

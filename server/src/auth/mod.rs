//! Who is calling, and what they may do.
//!
//! In `[auth] mode = "none"` every caller may do everything. In `"token"`
//! mode every `/v2/` and `/api/` request is authenticated
//! ([`Auth::authenticate`]) from one of:
//! - nothing: anonymous, with the `anonymous_pull` patterns;
//! - HTTP Basic with a user's password, or with an access token as the
//!   password (clients that skip the token step);
//! - `Bearer` with an access token (`wkg_...`), or with a JWT from
//!   `/v2/token` (the Docker token flow).
//!
//! Users' rights are grants (pattern + actions, see [`pattern`]); an access
//! token carries its owner's grants, narrowed by its own scopes; a JWT
//! carries the repository actions it lists, cut down on every request by
//! what stands behind it now:
//! - the holder's current grants (a removed grant ends at once);
//! - the access token it was minted from, if any (`tid`): revoked or
//!   expired ends the JWT, and its scopes apply;
//! - otherwise the user's credential epoch (`epoch`), which a password
//!   change, removal or re-creation of the user replaces;
//! - and its `jti` must not have been ended by a web sign-out.
//!
//! So revoking anything reaches every credential minted from it, and no
//! credential minted from another holds more than its parent. JWTs are
//! never accepted by the token endpoint as credentials ([`minting`]).
//!
//! Which route needs what is decided in one place, [`policy`], and enforced
//! by one middleware, [`crate::middleware::auth::enforce`].
//!
//! The parts: who the caller is (`caller`), how credentials are checked
//! (`credentials`), how tokens are minted (`minting`); users, grants and
//! tokens are managed in [`admin`], passwords hashed in [`password`].

pub mod admin;
mod caller;
mod credentials;
pub mod jwt;
pub mod keys;
pub mod listing;
pub mod metrics_token;
mod minting;
pub mod password;
/// Grant patterns and actions: a leaf, since the config holds them too.
pub use crate::pattern;
pub mod policy;
pub mod publishers;
pub mod secret;
mod throttle;
mod verified;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use url::Url;

use crate::config::{AuthConfig, AuthMode};
use crate::db::{AccessTokenRow, Db, UserRow};
pub use caller::{Caller, Via};
use jwt::{Claims, TokenError};
use keys::{KeyError, KeyRing};
pub use minting::Scope;
use pattern::{Action, Actions, RepoPattern, Rule};

/// The gateway's authentication state (keys, settings, login throttle).
#[derive(Debug)]
pub struct Auth {
    pub mode: AuthMode,
    keys: KeyRing,
    /// `iss` of our tokens: the public URL without trailing slash.
    issuer: String,
    /// `aud` of our tokens and `service` of challenges.
    service: String,
    /// Where clients get tokens (`<public_url>/v2/token`).
    realm: String,
    token_ttl: Duration,
    refresh_token_ttl: Duration,
    anonymous: Vec<Rule>,
    namespace_prefix: String,
    throttle: throttle::LoginThrottle,
    verifications: password::VerifyGate,
    recently_verified: verified::RecentlyVerified,
}

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Credentials were presented and are wrong, expired or revoked.
    #[error("{0}")]
    Credentials(String),
    /// Too many failed logins for this user from this client lately.
    #[error("too many failed logins; retry in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    /// Too many failed logins from this client, whatever the user.
    #[error("too many failed logins from this address; retry in {} s", .0.as_secs().max(1))]
    AddressThrottled(Duration),
    /// Too many failed logins for this user, from any client.
    #[error("too many failed logins for this user; retry in {} s", .0.as_secs().max(1))]
    AccountThrottled(Duration),
    /// Every password verification slot is busy; try again shortly.
    #[error("too many password checks at once; retry in a second")]
    Busy,
    #[error(transparent)]
    Database(#[from] crate::db::Error),
}

impl Auth {
    pub fn new(
        config: &AuthConfig,
        public_url: &Url,
        namespace_prefix: &str,
    ) -> Result<Self, KeyError> {
        let keys = match config.mode {
            AuthMode::Token => {
                KeyRing::load(&config.signing_key_file, &config.previous_signing_key_files)?
            }
            // Tokens are not checked, so a throwaway key serves the token
            // endpoint without writing anything to disk.
            AuthMode::None => KeyRing::ephemeral()?,
        };
        let issuer = public_url.as_str().trim_end_matches('/').to_string();
        let service = config
            .service
            .clone()
            .unwrap_or_else(|| crate::names::registry_authority(public_url));
        Ok(Self {
            mode: config.mode,
            keys,
            realm: format!("{issuer}/v2/token"),
            issuer,
            service,
            token_ttl: config.token_ttl,
            refresh_token_ttl: config.refresh_token_ttl,
            anonymous: config
                .anonymous_pull
                .iter()
                .map(|pattern| Rule {
                    pattern: pattern.clone(),
                    actions: Actions::of(Action::Pull),
                })
                .collect(),
            namespace_prefix: namespace_prefix.to_string(),
            throttle: throttle::LoginThrottle::new(throttle::ThrottleSettings {
                backoff: config.login_backoff,
                per_address: config.failed_logins_per_address,
                per_user: config.failed_logins_per_user,
                window: config.failed_login_window,
            }),
            verifications: password::VerifyGate::new(
                config.password_verifications,
                config.password_queue,
            ),
            recently_verified: verified::RecentlyVerified::new(),
        })
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The package path grants match: the repository without the prefix.
    pub fn package_path<'a>(&self, repository: &'a str) -> &'a str {
        repository
            .strip_prefix(&self.namespace_prefix)
            .unwrap_or(repository)
    }

    /// `WWW-Authenticate` for a 401: where to get a token, for what. A
    /// scope is named only when it is one that a client could have asked
    /// for (no quotes or other characters that would end the parameter).
    pub fn challenge(&self, scope: Option<&str>, insufficient: bool) -> String {
        let mut value = format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            self.realm, self.service
        );
        if let Some(scope) = scope.filter(|scope| minting::is_safe_scope(scope)) {
            value.push_str(&format!(",scope=\"{scope}\""));
        }
        if insufficient {
            value.push_str(",error=\"insufficient_scope\"");
        }
        value
    }
}

/// The `sub` of tokens minted for anonymous callers (no user may have
/// this name).
const ANONYMOUS: &str = "anonymous";

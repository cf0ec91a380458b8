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

pub mod admin;
mod caller;
pub mod jwt;
pub mod keys;
pub mod listing;
mod minting;
pub mod password;
/// Grant patterns and actions: a leaf, since the config holds them too.
pub use crate::pattern;
pub mod policy;
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

    fn anonymous(&self) -> Caller {
        Caller::with_rules(None, Via::Nothing, self.anonymous.clone())
    }

    /// Identifies the caller from the `Authorization` header.
    pub async fn authenticate(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Arc<Caller>, AuthError> {
        self.authenticate_as(db, headers, client, true).await
    }

    /// Like [`Auth::authenticate`], for the token endpoint: a JWT is not a
    /// credential there, or any JWT would renew itself forever.
    pub async fn authenticate_to_mint(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Arc<Caller>, AuthError> {
        self.authenticate_as(db, headers, client, false).await
    }

    async fn authenticate_as(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
        accept_jwt: bool,
    ) -> Result<Arc<Caller>, AuthError> {
        if self.mode == AuthMode::None {
            return Ok(Arc::new(Caller::everything()));
        }
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Arc::new(self.anonymous()));
        };
        let value = value
            .to_str()
            .map_err(|_| AuthError::Credentials("the Authorization header is not text".into()))?;
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        let caller = if scheme.eq_ignore_ascii_case("basic") {
            let (user, password) = decode_basic(credential)?;
            self.login(db, &user, &password, client).await?
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if secret::looks_like_token(credential) {
                self.with_access_token(db, None, credential).await?
            } else if accept_jwt {
                let claims = self.verify_jwt(credential)?;
                self.caller_of_claims(db, &claims).await?
            } else {
                return Err(AuthError::Credentials(
                    "a token from /v2/token cannot be traded for another; send Basic \
                     credentials, an access token, or a refresh token (grant_type=refresh_token)"
                        .into(),
                ));
            }
        } else {
            return Err(AuthError::Credentials(format!(
                "unsupported Authorization scheme {:?}; use Basic or Bearer",
                crate::names::bounded(scheme, 32)
            )));
        };
        Ok(Arc::new(caller))
    }

    /// A user name with a password or an access token (Basic credentials,
    /// or the token endpoint's password grant).
    pub async fn login(
        &self,
        db: &Db,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        if secret::looks_like_token(password) {
            return self.with_access_token(db, Some(user), password).await;
        }
        let wrong = || {
            AuthError::Credentials(format!(
                "wrong user name or password for {:?}",
                crate::names::bounded(user, 64)
            ))
        };
        // No user can have an invalid name: refuse before any throttle,
        // database or hashing work (this also caps names at 64 characters).
        if admin::validate_user_name(user).is_err() {
            return Err(wrong());
        }
        let row = db.user(user).await?;
        let stored = row.as_ref().and_then(|row| row.password_hash.clone());
        if let (Some(row), Some(hash)) = (&row, &stored)
            && self.recently_verified.contains(user, password, hash)
        {
            return self.password_caller(db, row.clone()).await;
        }
        let attempt = self.throttle.reserve(user, client).map_err(|r| match r {
            throttle::Refusal::User(wait) => AuthError::Throttled(wait),
            throttle::Refusal::Account(wait) => AuthError::AccountThrottled(wait),
            throttle::Refusal::Address(wait) => AuthError::AddressThrottled(wait),
        })?;
        let checked = self
            .verifications
            .verify(password.to_string(), stored.clone())
            .await;
        let ok = match checked {
            Ok(ok) => ok,
            Err(password::Busy) => {
                self.throttle.release(attempt);
                return Err(AuthError::Busy);
            }
        };
        let (Some(row), Some(hash), true) = (row, stored, ok) else {
            return Err(wrong());
        };
        self.throttle.succeeded(attempt);
        self.recently_verified.remember(user, password, &hash);
        self.password_caller(db, row).await
    }

    /// The caller a verified password login stands for.
    async fn password_caller(&self, db: &Db, row: UserRow) -> Result<Caller, AuthError> {
        let mut caller = Caller::with_rules(
            Some(row.name.clone()),
            Via::Password,
            self.user_rules(db, &row.name).await?,
        );
        caller.epoch = Some(row.credential_epoch);
        Ok(caller)
    }

    /// An access token secret; `user`, when given (Basic), must own it.
    async fn with_access_token(
        &self,
        db: &Db,
        user: Option<&str>,
        secret: &str,
    ) -> Result<Caller, AuthError> {
        let refused = || AuthError::Credentials("the access token is not valid".into());
        let row = db
            .access_token_by_secret(&secret::sha256_hex(secret))
            .await?
            .ok_or_else(refused)?;
        let row = live_token(row)?;
        if user.is_some_and(|user| user != row.user_name) {
            return Err(refused());
        }
        let _ = db.touch_access_token(&row.id).await;
        self.token_caller(db, row, Via::AccessToken).await
    }

    /// The caller an access token stands for: its owner's grants now,
    /// narrowed by its scopes.
    async fn token_caller(
        &self,
        db: &Db,
        row: AccessTokenRow,
        via: impl FnOnce(String) -> Via,
    ) -> Result<Caller, AuthError> {
        let mut caller = Caller::with_rules(
            Some(row.user_name.clone()),
            via(row.id.clone()),
            self.user_rules(db, &row.user_name).await?,
        );
        caller.limits.extend(parse_scopes(&row.scopes));
        caller.token_id = Some(row.id);
        Ok(caller)
    }

    fn verify_jwt(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = jwt::verify(&self.keys, token, &self.issuer, &self.service)
            .map_err(|e: TokenError| AuthError::Credentials(e.to_string()))?;
        if claims.kind.is_some() {
            return Err(AuthError::Credentials(
                "a refresh token cannot be used as an access token".into(),
            ));
        }
        Ok(claims)
    }

    /// Who stands behind a verified JWT or refresh token now: its access
    /// token (`tid`) if it came from one, else its user's credential epoch;
    /// an anonymous JWT has neither. Everything the holder could do when
    /// it was minted and can no longer do is cut away here.
    async fn principal_of(&self, db: &Db, claims: &Claims) -> Result<Caller, AuthError> {
        let ended = || {
            AuthError::Credentials(
                "the credentials this token was minted from were revoked, changed or removed; \
                 sign in again"
                    .into(),
            )
        };
        if db.jwt_revoked(&claims.jti).await? {
            return Err(AuthError::Credentials(
                "this session was signed out; sign in again".into(),
            ));
        }
        if let Some(id) = &claims.tid {
            let row = db.access_token(id).await?.ok_or_else(ended)?;
            if row.user_name != claims.sub {
                return Err(ended());
            }
            let row = live_token(row)?;
            return self.token_caller(db, row, |_| Via::Jwt).await;
        }
        match &claims.epoch {
            None if claims.sub == ANONYMOUS => Ok(self.anonymous()),
            None => Err(ended()),
            Some(epoch) => {
                let row = db.user(&claims.sub).await?.ok_or_else(ended)?;
                if row.credential_epoch != *epoch {
                    return Err(ended());
                }
                let mut caller = Caller::with_rules(
                    Some(row.name),
                    Via::Jwt,
                    self.user_rules(db, &claims.sub).await?,
                );
                caller.epoch = Some(row.credential_epoch);
                Ok(caller)
            }
        }
    }

    /// The rights a JWT lists, within what stands behind it now. With
    /// `registry:catalog:*` the holder's pull rights apply too, so
    /// listings show what they may pull.
    async fn caller_of_claims(&self, db: &Db, claims: &Claims) -> Result<Caller, AuthError> {
        let principal = self.principal_of(db, claims).await?;
        let mut rules: Vec<Rule> = claims
            .access
            .iter()
            .filter(|entry| entry.kind == "repository")
            .filter_map(|entry| {
                let actions = Actions::parse(&entry.actions.join(",")).ok()?;
                Some(Rule {
                    pattern: RepoPattern::exact(self.package_path(&entry.name)),
                    actions,
                })
            })
            .collect();
        let catalog = claims
            .access
            .iter()
            .any(|e| e.kind == "registry" && e.name == "catalog");
        if catalog {
            rules.extend(principal.rules.iter().map(|rule| Rule {
                actions: rule.actions.intersect(Actions::of(Action::Pull)),
                ..rule.clone()
            }));
        }
        let mut caller = Caller {
            via: Via::Jwt,
            rules,
            ..principal.clone()
        };
        caller.limits.push(principal.rules);
        Ok(caller)
    }

    /// A user's grants, plus what anyone may pull.
    pub async fn user_rules(&self, db: &Db, user: &str) -> Result<Vec<Rule>, crate::db::Error> {
        let mut rules = self.anonymous.clone();
        for grant in db.grants(Some(user)).await? {
            match (
                RepoPattern::parse(&grant.pattern),
                Actions::parse(&grant.actions),
            ) {
                (Ok(pattern), Ok(actions)) => rules.push(Rule { pattern, actions }),
                _ => tracing::warn!(user, pattern = %grant.pattern, "ignoring a malformed grant"),
            }
        }
        Ok(rules)
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

/// A token row that is neither revoked nor expired.
fn live_token(row: AccessTokenRow) -> Result<AccessTokenRow, AuthError> {
    if row.revoked_at.is_some() {
        return Err(AuthError::Credentials(format!(
            "access token {} has been revoked; ask an admin for a new one",
            row.id
        )));
    }
    if row
        .expires_at
        .is_some_and(|at| at <= crate::db::now_millis())
    {
        return Err(AuthError::Credentials(format!(
            "access token {} has expired; create a new one",
            row.id
        )));
    }
    Ok(row)
}

/// An access token's `scopes` column: lines `pattern=actions`.
fn parse_scopes(text: &str) -> Option<Vec<Rule>> {
    let rules: Vec<Rule> = text
        .lines()
        .filter_map(|line| {
            let (pattern, actions) = line.split_once('=')?;
            Some(Rule {
                pattern: RepoPattern::parse(pattern).ok()?,
                actions: Actions::parse(actions).ok()?,
            })
        })
        .collect();
    (!text.trim().is_empty()).then_some(rules)
}

fn decode_basic(credential: &str) -> Result<(String, String), AuthError> {
    let malformed =
        || AuthError::Credentials("malformed Basic credentials; send base64(user:password)".into());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(credential)
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (user, password) = text.split_once(':').ok_or_else(malformed)?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_scopes_parse() {
        let limit = parse_scopes("acme/*=pull\n").unwrap();
        assert_eq!(limit.len(), 1);
        assert!(limit[0].pattern.matches("acme/x"));
        assert!(parse_scopes("").is_none());
    }

    #[test]
    fn client_text_in_messages_is_bounded() {
        use crate::names::bounded;
        assert_eq!(bounded("short", 64), "short");
        assert_eq!(bounded(&"x".repeat(1000), 4), "xxxx…");
    }
}

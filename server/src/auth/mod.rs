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
//! carries exactly the repository actions it lists. Grants, users and
//! tokens are read from the database on every request, so admin changes
//! apply at once; a JWT stays valid until it expires (`token_ttl`, 15
//! minutes by default: the bound on how long a removed grant lingers).
//!
//! Which route needs what is decided in one place, [`policy`], and enforced
//! by one middleware, [`middleware::enforce`].

pub mod admin;
pub mod jwt;
pub mod keys;
pub mod listing;
pub mod middleware;
pub mod password;
pub mod pattern;
pub mod policy;
pub mod secret;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use url::Url;

use crate::config::{AuthConfig, AuthMode};
use crate::db::Db;
use jwt::{AccessEntry, Claims, TokenError};
use keys::{KeyError, KeyRing};
use pattern::{Action, Actions, RepoPattern, Rule, allowed};

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
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// No credentials (or auth is off).
    Nothing,
    Password,
    /// An access token, by id.
    AccessToken(String),
    /// A JWT from `/v2/token`.
    Jwt,
}

/// An authenticated (or anonymous) caller and their rights.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User name; `None` for anonymous callers.
    pub user: Option<String>,
    pub via: Via,
    everything: bool,
    rules: Vec<Rule>,
    /// An access token's scopes: actions must be allowed here too.
    limit: Option<Vec<Rule>>,
}

impl Caller {
    /// Auth is off: anything goes.
    pub fn everything() -> Self {
        Self {
            user: None,
            via: Via::Nothing,
            everything: true,
            rules: Vec::new(),
            limit: None,
        }
    }

    /// May do nothing at all.
    pub fn nobody() -> Self {
        Self {
            everything: false,
            ..Self::everything()
        }
    }

    /// What this caller may do to the repository at package path `path`.
    pub fn allowed(&self, path: &str) -> Actions {
        if self.everything {
            return Actions::EVERYTHING;
        }
        let granted = allowed(&self.rules, path);
        match &self.limit {
            Some(limit) => granted.intersect(allowed(limit, path)),
            None => granted,
        }
    }

    pub fn may(&self, action: Action, path: &str) -> bool {
        self.allowed(path).allows(action)
    }

    /// Holds `admin` on `*`: may use the admin API.
    pub fn is_admin(&self) -> bool {
        self.may(Action::Admin, "*")
    }

    /// Name for logs and the audit trail.
    pub fn name(&self) -> &str {
        self.user.as_deref().unwrap_or("anonymous")
    }
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
    #[error(transparent)]
    Database(#[from] crate::db::Error),
}

/// A requested token scope, `repository:<name>:<actions>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses one scope; `None` when malformed (such scopes are ignored,
    /// as Docker registries do).
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Self {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions.split(',').map(str::to_string).collect(),
        })
    }
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
            .unwrap_or_else(|| crate::api::well_known::registry_authority(public_url));
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
            throttle: throttle::LoginThrottle::default(),
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
        Caller {
            user: None,
            via: Via::Nothing,
            everything: false,
            rules: self.anonymous.clone(),
            limit: None,
        }
    }

    /// Identifies the caller from the `Authorization` header.
    pub async fn authenticate(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
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
            } else {
                let claims = self.verify_jwt(credential)?;
                self.caller_of_claims(db, &claims).await?
            }
        } else {
            return Err(AuthError::Credentials(format!(
                "unsupported Authorization scheme {scheme:?}; use Basic or Bearer"
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
        if let Err(wait) = self.throttle.check(user, client) {
            return Err(AuthError::Throttled(wait));
        }
        let stored = db.user(user).await?.and_then(|row| row.password_hash);
        let ok = match stored {
            Some(hash) => password::verify(password.to_string(), hash).await,
            None => {
                password::verify_nothing(password.to_string()).await;
                false
            }
        };
        if !ok {
            self.throttle.failed(user, client);
            return Err(AuthError::Credentials(format!(
                "wrong user name or password for {user:?}"
            )));
        }
        self.throttle.succeeded(user, client);
        Ok(Caller {
            user: Some(user.to_string()),
            via: Via::Password,
            everything: false,
            rules: self.user_rules(db, user).await?,
            limit: None,
        })
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
        if user.is_some_and(|user| user != row.user_name) {
            return Err(refused());
        }
        let _ = db.touch_access_token(&row.id).await;
        Ok(Caller {
            user: Some(row.user_name.clone()),
            via: Via::AccessToken(row.id.clone()),
            everything: false,
            rules: self.user_rules(db, &row.user_name).await?,
            limit: parse_scopes(&row.scopes),
        })
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

    /// The rights a JWT lists. With `registry:catalog:*` the holder's
    /// current pull grants apply too, so listings show what they may pull.
    async fn caller_of_claims(&self, db: &Db, claims: &Claims) -> Result<Caller, AuthError> {
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
        let user = (claims.sub != "anonymous").then(|| claims.sub.clone());
        if catalog {
            let listing = match &user {
                Some(user) => self.user_rules(db, user).await?,
                None => self.anonymous.clone(),
            };
            rules.extend(listing.into_iter().map(|rule| Rule {
                actions: rule.actions.intersect(Actions::of(Action::Pull)),
                ..rule
            }));
        }
        Ok(Caller {
            user,
            via: Via::Jwt,
            everything: false,
            rules,
            limit: None,
        })
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

    /// The repository actions a token for `caller` may carry: what was
    /// asked, intersected with what the caller holds.
    pub fn grant_scopes(&self, caller: &Caller, scopes: &[Scope]) -> Vec<AccessEntry> {
        let mut entries: Vec<AccessEntry> = Vec::new();
        for scope in scopes {
            let actions: Vec<String> = match scope.kind.as_str() {
                "repository" => {
                    let asked = Actions::parse(&scope.actions.join(",")).unwrap_or_default();
                    let granted = asked.intersect(caller.allowed(self.package_path(&scope.name)));
                    granted.iter().map(|a| a.as_str().to_string()).collect()
                }
                "registry" if scope.name == "catalog" => vec!["*".to_string()],
                _ => Vec::new(),
            };
            if actions.is_empty() {
                continue;
            }
            match entries
                .iter_mut()
                .find(|e| e.kind == scope.kind && e.name == scope.name)
            {
                Some(existing) => {
                    for action in actions {
                        if !existing.actions.contains(&action) {
                            existing.actions.push(action);
                        }
                    }
                }
                None => entries.push(AccessEntry {
                    kind: scope.kind.clone(),
                    name: scope.name.clone(),
                    actions,
                }),
            }
        }
        entries
    }

    /// Signs an access token for `caller` with `access`.
    pub fn issue_access_token(
        &self,
        caller: &Caller,
        access: Vec<AccessEntry>,
    ) -> Result<(String, Claims), TokenError> {
        jwt::issue(
            &self.keys,
            jwt::TokenRequest {
                issuer: &self.issuer,
                audience: &self.service,
                subject: caller.name(),
                ttl: self.token_ttl,
                access,
                kind: None,
                token_id: None,
            },
        )
    }

    /// Signs a refresh token for a user (remembering the access token
    /// they logged in with, so its revocation ends the refreshes).
    pub fn issue_refresh_token(&self, caller: &Caller) -> Result<String, TokenError> {
        let token_id = match &caller.via {
            Via::AccessToken(id) => Some(id.clone()),
            _ => None,
        };
        jwt::issue(
            &self.keys,
            jwt::TokenRequest {
                issuer: &self.issuer,
                audience: &self.service,
                subject: caller.name(),
                ttl: self.refresh_token_ttl,
                access: Vec::new(),
                kind: Some(jwt::REFRESH_KIND),
                token_id,
            },
        )
        .map(|(token, _)| token)
    }

    /// The caller a refresh token stands for, checked against the current
    /// users and tokens.
    pub async fn refresh(&self, db: &Db, token: &str) -> Result<Caller, AuthError> {
        let claims = jwt::verify(&self.keys, token, &self.issuer, &self.service)
            .map_err(|e| AuthError::Credentials(format!("refresh token: {e}")))?;
        if claims.kind.as_deref() != Some(jwt::REFRESH_KIND) {
            return Err(AuthError::Credentials("not a refresh token".into()));
        }
        if db.user(&claims.sub).await?.is_none() {
            return Err(AuthError::Credentials(format!(
                "user {:?} no longer exists",
                claims.sub
            )));
        }
        let mut caller = Caller {
            user: Some(claims.sub.clone()),
            via: Via::Password,
            everything: false,
            rules: self.user_rules(db, &claims.sub).await?,
            limit: None,
        };
        if let Some(id) = &claims.tid {
            let row = db.access_token(id).await?;
            let valid = row.as_ref().is_some_and(|row| {
                row.revoked_at.is_none()
                    && row.expires_at.is_none_or(|at| at > crate::db::now_millis())
            });
            if !valid {
                return Err(AuthError::Credentials(format!(
                    "access token {id} behind this refresh token was revoked or expired"
                )));
            }
            caller.via = Via::AccessToken(id.clone());
            caller.limit = row.and_then(|row| parse_scopes(&row.scopes));
        }
        Ok(caller)
    }

    /// `WWW-Authenticate` for a 401: where to get a token, for what.
    pub fn challenge(&self, scope: Option<&str>, insufficient: bool) -> String {
        let mut value = format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            self.realm, self.service
        );
        if let Some(scope) = scope {
            value.push_str(&format!(",scope=\"{scope}\""));
        }
        if insufficient {
            value.push_str(",error=\"insufficient_scope\"");
        }
        value
    }
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
    fn scopes_parse() {
        let scope = Scope::parse("repository:acme/x:pull,push").unwrap();
        assert_eq!(scope.name, "acme/x");
        assert_eq!(scope.actions, ["pull", "push"]);
        assert_eq!(Scope::parse("registry:catalog:*").unwrap().kind, "registry");
        assert!(Scope::parse("nonsense").is_none());
    }

    #[test]
    fn token_scopes_narrow_grants() {
        let limit = parse_scopes("acme/*=pull\n").unwrap();
        let caller = Caller {
            user: Some("ci".into()),
            via: Via::AccessToken("t".into()),
            everything: false,
            rules: vec![Rule {
                pattern: RepoPattern::parse("*").unwrap(),
                actions: Actions::parse("admin").unwrap(),
            }],
            limit: Some(limit),
        };
        assert!(caller.may(Action::Pull, "acme/x"));
        assert!(!caller.may(Action::Push, "acme/x"));
        assert!(!caller.may(Action::Pull, "other/x"));
        assert!(!caller.is_admin());
        assert!(parse_scopes("").is_none());
    }
}

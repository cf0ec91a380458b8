//! The `[auth]` section: who may do what.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, StringOr, duration, list};
use crate::pattern::RepoPattern;

/// Whether requests are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Every request may pull, push and delete (local use).
    #[default]
    None,
    /// Every `/v2/` and `/api/` request is checked against users, tokens
    /// and grants.
    Token,
}

/// Validated `[auth]` settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// In mode `none`, permits a listen address other machines can reach.
    pub allow_anonymous_write: bool,
    /// Token audience; `None` means the authority of `public_url`.
    pub service: Option<String>,
    /// Lifetime of access tokens from `/v2/token`.
    pub token_ttl: Duration,
    /// Lifetime of refresh tokens (POST `/v2/token` with `access_type=offline`).
    pub refresh_token_ttl: Duration,
    /// The longest a personal access token (self-service, `/api/v1/tokens`)
    /// may live; administrators' tokens are not bound by it.
    pub max_personal_token_ttl: Duration,
    /// PEM private key (Ed25519 or ECDSA P-256) that signs tokens; created
    /// (Ed25519) on first start when absent.
    pub signing_key_file: PathBuf,
    /// Keys that signed tokens before a rotation: still accepted and
    /// published in the JWKS, never used to sign.
    pub previous_signing_key_files: Vec<PathBuf>,
    /// Repositories anyone may pull in token mode.
    pub anonymous_pull: Vec<RepoPattern>,
    /// How long the door closes for a user from an address after the free
    /// failed logins (doubling per further failure, up to a minute).
    pub login_backoff: Duration,
    /// Failed logins one address may have per `failed_login_window`.
    pub failed_logins_per_address: u32,
    /// Failed logins one user name may have per `failed_login_window`,
    /// over all addresses.
    pub failed_logins_per_user: u32,
    pub failed_login_window: Duration,
    /// Password verifications running at once, and waiting for a slot.
    pub password_verifications: usize,
    pub password_queue: usize,
}

impl AuthConfig {
    /// Defaults for a data directory (mode `none`).
    pub fn defaults(data_dir: &Path) -> Self {
        Self {
            mode: AuthMode::None,
            allow_anonymous_write: false,
            service: None,
            token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            max_personal_token_ttl: Duration::from_secs(365 * 24 * 3600),
            signing_key_file: data_dir.join("signing-key.pem"),
            previous_signing_key_files: Vec::new(),
            anonymous_pull: Vec::new(),
            login_backoff: Duration::from_millis(250),
            failed_logins_per_address: 30,
            failed_logins_per_user: 60,
            failed_login_window: Duration::from_secs(5 * 60),
            password_verifications: default_verifications(),
            password_queue: 16,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    mode: Option<String>,
    allow_anonymous_write: Option<StringOr<bool>>,
    service: Option<String>,
    token_ttl: Option<String>,
    refresh_token_ttl: Option<String>,
    max_personal_token_ttl: Option<String>,
    signing_key_file: Option<String>,
    previous_signing_key_files: Option<StringOr<Vec<String>>>,
    anonymous_pull: Option<StringOr<Vec<String>>>,
    login_backoff: Option<String>,
    failed_logins_per_address: Option<StringOr<u32>>,
    failed_logins_per_user: Option<StringOr<u32>>,
    failed_login_window: Option<String>,
    password_verifications: Option<StringOr<usize>>,
    password_queue: Option<StringOr<usize>>,
}

/// One Argon2 verification per core, at most 4: each takes about 19 MiB.
fn default_verifications() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

impl RawAuth {
    pub(super) fn validate(
        self,
        listen: SocketAddr,
        data_dir: &Path,
    ) -> Result<AuthConfig, ConfigError> {
        let defaults = AuthConfig::defaults(data_dir);
        let mode = match self.mode.as_deref().map(str::trim) {
            None | Some("none") => AuthMode::None,
            Some("token") => AuthMode::Token,
            Some(other) => {
                return Err(ConfigError::key(
                    "auth.mode",
                    format!("{other:?} is not \"none\" or \"token\""),
                ));
            }
        };
        let allow_anonymous_write = match self.allow_anonymous_write {
            Some(v) => v.parse("auth.allow_anonymous_write")?,
            None => false,
        };
        if mode == AuthMode::None && !listen.ip().is_loopback() && !allow_anonymous_write {
            return Err(ConfigError::key(
                "auth.allow_anonymous_write",
                format!(
                    "`listen` = {listen} is reachable from other machines and `auth.mode` is \"none\", so anyone \
                     there could push and delete; set `[auth] mode = \"token\"`, or \
                     `[auth] allow_anonymous_write = true` if that is intended"
                ),
            ));
        }
        let service = match self.service.map(|s| s.trim().to_string()) {
            Some(s) if s.is_empty() => {
                return Err(ConfigError::key("auth.service", "must not be empty"));
            }
            other => other,
        };
        let token_ttl = duration("auth.token_ttl", self.token_ttl, "15m")?;
        let refresh_token_ttl = duration("auth.refresh_token_ttl", self.refresh_token_ttl, "7d")?;
        let max_personal_token_ttl = duration(
            "auth.max_personal_token_ttl",
            self.max_personal_token_ttl,
            "365d",
        )?;
        for (key, value) in [
            ("auth.token_ttl", token_ttl),
            ("auth.refresh_token_ttl", refresh_token_ttl),
            ("auth.max_personal_token_ttl", max_personal_token_ttl),
        ] {
            if value < Duration::from_secs(10) {
                return Err(ConfigError::key(key, "must be at least 10s"));
            }
        }
        let anonymous_pull = list(self.anonymous_pull)
            .iter()
            .map(|p| RepoPattern::parse(p).map_err(|e| ConfigError::key("auth.anonymous_pull", e)))
            .collect::<Result<_, _>>()?;
        let login_backoff = duration("auth.login_backoff", self.login_backoff, "250ms")?;
        let failed_login_window =
            duration("auth.failed_login_window", self.failed_login_window, "5m")?;
        if failed_login_window.is_zero() {
            return Err(ConfigError::key(
                "auth.failed_login_window",
                "must be positive",
            ));
        }
        let failed_logins_per_address = match self.failed_logins_per_address {
            Some(v) => v.parse("auth.failed_logins_per_address")?,
            None => defaults.failed_logins_per_address,
        };
        let failed_logins_per_user = match self.failed_logins_per_user {
            Some(v) => v.parse("auth.failed_logins_per_user")?,
            None => defaults.failed_logins_per_user,
        };
        for (key, value) in [
            ("auth.failed_logins_per_address", failed_logins_per_address),
            ("auth.failed_logins_per_user", failed_logins_per_user),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key, "must be at least 1"));
            }
        }
        let password_verifications = match self.password_verifications {
            Some(v) => v.parse("auth.password_verifications")?,
            None => defaults.password_verifications,
        };
        if !(1..=64).contains(&password_verifications) {
            return Err(ConfigError::key(
                "auth.password_verifications",
                "must be between 1 and 64 (each takes about 19 MiB)",
            ));
        }
        let password_queue = match self.password_queue {
            Some(v) => v.parse("auth.password_queue")?,
            None => defaults.password_queue,
        };
        if password_queue < 8 {
            return Err(ConfigError::key(
                "auth.password_queue",
                "must be at least 8",
            ));
        }
        Ok(AuthConfig {
            login_backoff,
            failed_logins_per_address,
            failed_logins_per_user,
            failed_login_window,
            password_verifications,
            password_queue,
            mode,
            allow_anonymous_write,
            service,
            token_ttl,
            refresh_token_ttl,
            max_personal_token_ttl,
            signing_key_file: self
                .signing_key_file
                .map(PathBuf::from)
                .unwrap_or(defaults.signing_key_file),
            previous_signing_key_files: list(self.previous_signing_key_files)
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            anonymous_pull,
        })
    }
}

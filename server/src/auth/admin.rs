//! User, grant and token administration, shared by `wkg-gateway admin` and
//! the admin API so both validate and behave the same.

use std::time::Duration;

use serde::Serialize;

use super::pattern::{Actions, RepoPattern, Rule};
use super::{password, secret};
use crate::db::{AccessTokenRow, Db, NewAccessToken, NewAuditEntry};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Exists(String),
    #[error(transparent)]
    Database(#[from] crate::db::Error),
    #[error("{0}")]
    Internal(String),
}

type Result<T> = std::result::Result<T, AdminError>;

/// A user as the admin API and CLI show it.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub name: String,
    /// `user` (has a password) or `robot` (tokens only).
    pub kind: &'static str,
    pub created_at: i64,
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Serialize)]
pub struct GrantView {
    pub pattern: String,
    pub actions: Vec<String>,
}

/// An access token as listed (never its secret).
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: String,
    pub user: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub last_used_at: Option<i64>,
}

/// A freshly created token: the only time its secret is visible.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    pub secret: String,
}

/// User names: 1 to 64 of `a-z A-Z 0-9 . _ - @`, never `:` (the Basic
/// separator) or `anonymous`.
pub fn validate_user_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name != "anonymous"
        && name != "unauthenticated"
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if valid {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "{:?} is not a valid user name: use 1 to 64 letters, digits, '.', '_', '-' or '@'",
            crate::names::bounded(name, 80)
        )))
    }
}

/// Passwords: at least 8 characters; at most 1024 bytes, which bounds the
/// hashing work one request can ask for.
async fn hash_password(password: String) -> Result<String> {
    if password.chars().count() < 8 {
        return Err(AdminError::Invalid(
            "the password must have at least 8 characters".into(),
        ));
    }
    if password.len() > 1024 {
        return Err(AdminError::Invalid(
            "the password must have at most 1024 bytes".into(),
        ));
    }
    password::hash(password).await.map_err(AdminError::Internal)
}

/// Adds a user; without a password, a robot that only uses tokens.
pub async fn add_user(db: &Db, name: &str, password: Option<String>) -> Result<()> {
    validate_user_name(name)?;
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    if db.insert_user(name, hash.as_deref()).await? {
        Ok(())
    } else {
        Err(AdminError::Exists(format!("user {name:?} already exists")))
    }
}

/// Sets a user's password (a robot's too, which makes it a person). Every
/// JWT and refresh token minted from a password login of theirs ends at
/// once; their access tokens stay (revoke those with `admin token revoke`).
pub async fn set_password(db: &Db, name: &str, password: String) -> Result<()> {
    let hash = hash_password(password).await?;
    if db.set_password(name, &hash).await? {
        Ok(())
    } else {
        Err(unknown_user(name))
    }
}

pub async fn remove_user(db: &Db, name: &str) -> Result<()> {
    if db.delete_user(name).await? {
        Ok(())
    } else {
        Err(unknown_user(name))
    }
}

fn unknown_user(name: &str) -> AdminError {
    AdminError::NotFound(format!(
        "no user {:?}; list users with `admin user list`",
        crate::names::bounded(name, 80)
    ))
}

pub async fn list_users(db: &Db) -> Result<Vec<UserView>> {
    let grants = db.grants(None).await?;
    Ok(db
        .users()
        .await?
        .into_iter()
        .map(|user| UserView {
            kind: if user.password_hash.is_some() {
                "user"
            } else {
                "robot"
            },
            grants: grants
                .iter()
                .filter(|g| g.user_name == user.name)
                .map(|g| GrantView {
                    pattern: g.pattern.clone(),
                    actions: g.actions.split(',').map(str::to_string).collect(),
                })
                .collect(),
            created_at: user.created_at,
            name: user.name,
        })
        .collect())
}

/// Gives `user` `actions` on `pattern` (replacing that pattern's grant).
pub async fn grant(db: &Db, user: &str, pattern: &str, actions: &str) -> Result<Rule> {
    let pattern = RepoPattern::parse(pattern).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let actions = Actions::parse(actions).map_err(|e| AdminError::Invalid(e.to_string()))?;
    if db.user(user).await?.is_none() {
        return Err(unknown_user(user));
    }
    db.put_grant(user, pattern.as_str(), &actions.to_string())
        .await?;
    Ok(Rule { pattern, actions })
}

pub async fn revoke_grant(db: &Db, user: &str, pattern: &str) -> Result<()> {
    let pattern = RepoPattern::parse(pattern).map_err(|e| AdminError::Invalid(e.to_string()))?;
    if db.delete_grant(user, pattern.as_str()).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "user {:?} has no grant on {pattern}",
            crate::names::bounded(user, 80)
        )))
    }
}

/// A token lifetime like `30d` or `12h` (positive).
pub fn parse_ttl(text: &str) -> Result<Duration> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            AdminError::Invalid(format!(
                "ttl {:?} is not a positive duration like \"30d\" or \"12h\"",
                crate::names::bounded(text, 64)
            ))
        })
}

/// Parses `PATTERN=ACTIONS` token scopes.
pub fn parse_scopes(scopes: &[String]) -> Result<Vec<Rule>> {
    scopes
        .iter()
        .map(|scope| {
            let (pattern, actions) = scope.split_once('=').ok_or_else(|| {
                AdminError::Invalid(format!(
                    "{:?} is not a scope; write PATTERN=ACTIONS, e.g. acme/*=pull,push",
                    crate::names::bounded(scope, 300)
                ))
            })?;
            Ok(Rule {
                pattern: RepoPattern::parse(pattern)
                    .map_err(|e| AdminError::Invalid(e.to_string()))?,
                actions: Actions::parse(actions).map_err(|e| AdminError::Invalid(e.to_string()))?,
            })
        })
        .collect()
}

/// Creates an access token for `user`; `ttl` `None` never expires.
pub async fn create_token(
    db: &Db,
    user: &str,
    description: &str,
    ttl: Option<Duration>,
    scopes: &[Rule],
) -> Result<CreatedToken> {
    if db.user(user).await?.is_none() {
        return Err(unknown_user(user));
    }
    if description.chars().count() > 256 {
        return Err(AdminError::Invalid(
            "the description is longer than 256 characters".into(),
        ));
    }
    let (id, secret) = secret::generate().map_err(|e| AdminError::Internal(e.to_string()))?;
    let expires_at = ttl.map(|ttl| {
        crate::db::now_millis().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
    });
    let scope_text: String = scopes
        .iter()
        .map(|rule| format!("{}={}\n", rule.pattern, rule.actions))
        .collect();
    db.insert_access_token(NewAccessToken {
        id: &id,
        user_name: user,
        description,
        secret_sha256: &secret::sha256_hex(&secret),
        scopes: &scope_text,
        expires_at,
    })
    .await?;
    let row = db
        .access_token(&id)
        .await?
        .ok_or_else(|| AdminError::Internal("the new token vanished".into()))?;
    Ok(CreatedToken {
        token: token_view(row),
        secret,
    })
}

pub async fn list_tokens(db: &Db, user: Option<&str>) -> Result<Vec<TokenView>> {
    Ok(db
        .access_tokens(user)
        .await?
        .into_iter()
        .map(token_view)
        .collect())
}

pub async fn revoke_token(db: &Db, id: &str) -> Result<()> {
    if db.revoke_access_token(id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "no active token with id {:?}; list them with `admin token list`",
            crate::names::bounded(id, 64)
        )))
    }
}

fn token_view(row: AccessTokenRow) -> TokenView {
    TokenView {
        scopes: row.scopes.lines().map(str::to_string).collect(),
        revoked: row.revoked_at.is_some(),
        id: row.id,
        user: row.user_name,
        description: row.description,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
    }
}

/// The audit actor of the first admin's creation at first start (user names
/// cannot contain `:`, so it never reads as a caller).
pub const FIRST_START_ACTOR: &str = "system:first-start";

/// In token mode with no users at all, creates `admin` with `admin` on `*`,
/// and records that in the audit log (actor [`FIRST_START_ACTOR`]).
/// The password comes from `WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD`, or is
/// generated and logged once (the only time it can be seen).
pub async fn bootstrap_admin(db: &Db) -> Result<()> {
    if db.count_users().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match std::env::var("WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD") {
        Ok(password) if !password.is_empty() => (password, false),
        _ => {
            let (_, secret) =
                secret::generate().map_err(|e| AdminError::Internal(e.to_string()))?;
            (secret[secret::PREFIX.len()..][..24].to_string(), true)
        }
    };
    let hash = password::hash(password.clone())
        .await
        .map_err(AdminError::Internal)?;
    // Replicas starting together: only the one whose insert lands grants
    // and reports.
    if !db.insert_user("admin", Some(&hash)).await? {
        return Ok(());
    }
    db.put_grant("admin", "*", "admin").await?;
    let source = if generated {
        "generated and logged once"
    } else {
        "from WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD"
    };
    db.append_audit(NewAuditEntry {
        actor: FIRST_START_ACTOR,
        client: "local",
        action: "admin",
        target: "/api/v1/admin/users/admin",
        outcome: "allowed",
        status: 0,
        detail: &format!("first start: created user admin with admin on * (password {source})"),
    })
    .await?;
    if generated {
        tracing::warn!(
            "created the first user `admin` with password {password} \
             (shown only this once: store it now; change it by adding another admin and \
             removing this one, or set WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD on first start)"
        );
    } else {
        tracing::info!(
            "created the first user `admin` with the password from WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD"
        );
    }
    Ok(())
}

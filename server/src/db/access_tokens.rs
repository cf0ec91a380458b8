//! The `access_tokens` table: personal and robot tokens, stored hashed.

use sqlx::Row as _;

use super::{Db, Result, now_millis};

/// An access token row (never the secret itself).
#[derive(Debug, Clone)]
pub struct AccessTokenRow {
    pub id: String,
    pub user_name: String,
    pub description: String,
    /// Lines `pattern=actions` narrowing the owner's grants; empty: none.
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// A token to store.
pub struct NewAccessToken<'a> {
    pub id: &'a str,
    pub user_name: &'a str,
    pub description: &'a str,
    pub secret_sha256: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<i64>,
}

/// The selected columns, in [`from_row`]'s order (a macro, since sqlx wants
/// static query text).
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_name, description, scopes, created_at, expires_at, revoked_at, \
             last_used_at FROM access_tokens ",
            $rest
        )
    };
}

fn from_row(r: sqlx::any::AnyRow) -> AccessTokenRow {
    AccessTokenRow {
        id: r.get(0),
        user_name: r.get(1),
        description: r.get(2),
        scopes: r.get(3),
        created_at: r.get(4),
        expires_at: r.get(5),
        revoked_at: r.get(6),
        last_used_at: r.get(7),
    }
}

impl Db {
    pub async fn insert_access_token(&self, token: NewAccessToken<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (id, user_name, description, secret_sha256, scopes, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id)
        .bind(token.user_name)
        .bind(token.description)
        .bind(token.secret_sha256)
        .bind(token.scopes)
        .bind(now_millis())
        .bind(token.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The token whose secret hashes to `secret_sha256` (valid or not), and
    /// records its use.
    pub async fn access_token_by_secret(
        &self,
        secret_sha256: &str,
    ) -> Result<Option<AccessTokenRow>> {
        let row = sqlx::query(select_tokens!("WHERE secret_sha256 = $1"))
            .bind(secret_sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(from_row))
    }

    /// Notes that a token was used (best effort, at most once a minute).
    pub async fn touch_access_token(&self, id: &str) -> Result<()> {
        let now = now_millis();
        sqlx::query(
            "UPDATE access_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - 60_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn access_token(&self, id: &str) -> Result<Option<AccessTokenRow>> {
        let row = sqlx::query(select_tokens!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(from_row))
    }

    /// Tokens of one user, or of everyone (`None`), newest first.
    pub async fn access_tokens(&self, user: Option<&str>) -> Result<Vec<AccessTokenRow>> {
        let rows = match user {
            Some(user) => {
                sqlx::query(select_tokens!(
                    "WHERE user_name = $1 ORDER BY created_at DESC, id"
                ))
                .bind(user)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(select_tokens!("ORDER BY created_at DESC, id"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Revokes a token; false if unknown or already revoked.
    pub async fn revoke_access_token(&self, id: &str) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }
}

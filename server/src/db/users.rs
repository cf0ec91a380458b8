//! The `users` and `grants` tables.

use sqlx::Row as _;

use super::{Db, Result, now_millis};

/// A user row.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub name: String,
    /// Argon2 PHC string; `None` for robots (token-only accounts).
    pub password_hash: Option<String>,
    pub created_at: i64,
    /// Carried by every token minted for the user; a new one ends them all
    /// (migration `0008_credentials.sql`).
    pub credential_epoch: String,
}

/// A fresh, unguessable credential epoch.
pub fn new_credential_epoch() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The selected columns, in [`user_from_row`]'s order (a macro, since
/// sqlx wants static query text).
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT name, password_hash, created_at, credential_epoch FROM users ",
            $rest
        )
    };
}

fn user_from_row(r: sqlx::any::AnyRow) -> UserRow {
    UserRow {
        name: r.get(0),
        password_hash: r.get(1),
        created_at: r.get(2),
        credential_epoch: r.get(3),
    }
}

/// A grant row: `actions` on repositories matching `pattern`.
#[derive(Debug, Clone)]
pub struct GrantRow {
    pub user_name: String,
    pub pattern: String,
    pub actions: String,
}

impl Db {
    /// Adds a user (with a fresh credential epoch); false if the name is
    /// taken.
    pub async fn insert_user(&self, name: &str, password_hash: Option<&str>) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO users (name, password_hash, created_at, credential_epoch) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(password_hash)
        .bind(now_millis())
        .bind(new_credential_epoch())
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(select_users!("WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(user_from_row))
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        let rows = sqlx::query(select_users!("ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(user_from_row).collect())
    }

    /// Sets a user's password hash and a new credential epoch, which ends
    /// every JWT and refresh token minted before; false if unknown.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $1, credential_epoch = $2 WHERE name = $3",
        )
        .bind(password_hash)
        .bind(new_credential_epoch())
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// Gives a user a new credential epoch, keeping the password: every
    /// JWT and refresh token minted from a password login before ends
    /// ("sign out everywhere"); false if unknown.
    pub async fn bump_credential_epoch(&self, name: &str) -> Result<bool> {
        let updated = sqlx::query("UPDATE users SET credential_epoch = $1 WHERE name = $2")
            .bind(new_credential_epoch())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(updated.rows_affected() > 0)
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .get(0))
    }

    /// Removes a user with their grants and tokens; false if unknown.
    pub async fn delete_user(&self, name: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        for query in [
            "DELETE FROM grants WHERE user_name = $1",
            "DELETE FROM access_tokens WHERE user_name = $1",
        ] {
            sqlx::query(query).bind(name).execute(&mut *tx).await?;
        }
        let deleted = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Sets (or replaces) the actions of a user's grant on `pattern`.
    pub async fn put_grant(&self, user: &str, pattern: &str, actions: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO grants (user_name, pattern, actions, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_name, pattern) DO UPDATE SET actions = excluded.actions",
        )
        .bind(user)
        .bind(pattern)
        .bind(actions)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a grant; false if there was none.
    pub async fn delete_grant(&self, user: &str, pattern: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM grants WHERE user_name = $1 AND pattern = $2")
            .bind(user)
            .bind(pattern)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Grants of one user, or of everyone (`None`).
    pub async fn grants(&self, user: Option<&str>) -> Result<Vec<GrantRow>> {
        let query = match user {
            Some(user) => sqlx::query(
                "SELECT user_name, pattern, actions FROM grants WHERE user_name = $1 \
                 ORDER BY user_name, pattern",
            )
            .bind(user),
            None => sqlx::query(
                "SELECT user_name, pattern, actions FROM grants ORDER BY user_name, pattern",
            ),
        };
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| GrantRow {
                user_name: r.get(0),
                pattern: r.get(1),
                actions: r.get(2),
            })
            .collect())
    }
}

//! The `trusted_publishers` table: OIDC issuers and claim rules bound to a
//! repository pattern and actions.

use sqlx::Row as _;

use super::{Db, Result, now_millis};

/// A trusted publisher as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherRow {
    pub id: String,
    pub issuer: String,
    /// `github`, `gitlab` or `generic`.
    pub provider: String,
    /// `None`: the gateway's `service`.
    pub audience: Option<String>,
    /// A JSON object of claim name to expected value.
    pub claims: String,
    pub pattern: String,
    /// Comma-separated, as grants store them.
    pub actions: String,
    pub created_at: i64,
}

/// A publisher to store (`created_at` is now).
pub struct NewPublisher<'a> {
    pub id: &'a str,
    pub issuer: &'a str,
    pub provider: &'a str,
    pub audience: Option<&'a str>,
    pub claims: &'a str,
    pub pattern: &'a str,
    pub actions: &'a str,
}

/// The selected columns, in [`from_row`]'s order (a macro, since sqlx wants
/// static query text).
macro_rules! select_publishers {
    ($rest:literal) => {
        concat!(
            "SELECT id, issuer, provider, audience, claims, pattern, actions, created_at \
             FROM trusted_publishers ",
            $rest
        )
    };
}

fn from_row(r: sqlx::any::AnyRow) -> PublisherRow {
    PublisherRow {
        id: r.get(0),
        issuer: r.get(1),
        provider: r.get(2),
        audience: r.get(3),
        claims: r.get(4),
        pattern: r.get(5),
        actions: r.get(6),
        created_at: r.get(7),
    }
}

impl Db {
    /// Stores a publisher with its robot user and the robot's one grant, in
    /// one transaction: a publisher never exists without the robot its
    /// tokens belong to. False if the robot's name is taken.
    pub async fn insert_publisher(&self, new: NewPublisher<'_>, robot: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, password_hash, created_at, credential_epoch) \
             VALUES ($1, NULL, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(robot)
        .bind(now_millis())
        .bind(super::users::new_credential_epoch())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO grants (user_name, pattern, actions, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(robot)
        .bind(new.pattern)
        .bind(new.actions)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO trusted_publishers (id, issuer, provider, audience, claims, pattern, \
             actions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new.id)
        .bind(new.issuer)
        .bind(new.provider)
        .bind(new.audience)
        .bind(new.claims)
        .bind(new.pattern)
        .bind(new.actions)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn publisher(&self, id: &str) -> Result<Option<PublisherRow>> {
        let row = sqlx::query(select_publishers!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(from_row))
    }

    /// Every publisher, oldest first.
    pub async fn publishers(&self) -> Result<Vec<PublisherRow>> {
        let rows = sqlx::query(select_publishers!("ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// Whether any publisher names `issuer`: only then may its tokens be
    /// verified (and its keys fetched).
    pub async fn issuer_is_configured(&self, issuer: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) FROM trusted_publishers WHERE issuer = $1")
            .bind(issuer)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<i64, _>(0) > 0)
    }

    /// Removes a publisher with its robot, the robot's grants and every
    /// token exchanged for it, in one transaction; false if unknown.
    pub async fn delete_publisher(&self, id: &str, robot: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM trusted_publishers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        for query in [
            "DELETE FROM grants WHERE user_name = $1",
            "DELETE FROM access_tokens WHERE user_name = $1",
            "DELETE FROM users WHERE name = $1",
        ] {
            sqlx::query(query).bind(robot).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

//! The `repositories` table: every repository that ever received content.

use sqlx::AnyConnection;

use super::{Db, Result, now_millis};

impl Db {
    /// Repository names after `last`, in lexical order, at most `limit`.
    pub async fn list_repositories(&self, last: Option<&str>, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2")
                .bind(last.unwrap_or(""))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    pub async fn repository_exists(&self, name: &str) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM repositories WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

/// Records a repository inside an open transaction (idempotent).
pub(super) async fn ensure_repository(conn: &mut AnyConnection, name: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(now_millis())
    .execute(conn)
    .await?;
    Ok(())
}

//! The `tags` table: mutable names pointing at manifest digests.

use super::packages::tombstone_tag;
use super::{Db, Result};

impl Db {
    /// Tags of `repository` after `last`, in lexical (byte) order, at most `limit`.
    pub async fn list_tags(
        &self,
        repository: &str,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM tags WHERE repository = $1 AND name > $2 ORDER BY name LIMIT $3",
        )
        .bind(repository)
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// Removes a tag (the manifest stays); a package version it served
    /// becomes a tombstone. Returns false when the tag did not exist.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM tags WHERE repository = $1 AND name = $2")
            .bind(repository)
            .bind(tag)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() > 0 {
            tombstone_tag(&mut tx, repository, tag).await?;
            sqlx::query("DELETE FROM upstream_tags WHERE repository = $1 AND name = $2")
                .bind(repository)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }
}

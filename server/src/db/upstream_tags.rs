//! The `upstream_tags` table: which tags the pull-through proxy cached from an
//! upstream, and when it last asked the upstream about them.

use std::collections::HashMap;

use super::{Db, Result, now_millis};

/// When a cached tag was last checked, and against which upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTag {
    pub upstream: String,
    /// Unix milliseconds.
    pub checked_at: i64,
}

impl Db {
    /// The check record of a tag, `None` for tags pushed here (or never cached).
    pub async fn upstream_tag(&self, repository: &str, tag: &str) -> Result<Option<UpstreamTag>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT upstream, checked_at FROM upstream_tags WHERE repository = $1 AND name = $2",
        )
        .bind(repository)
        .bind(tag)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(upstream, checked_at)| UpstreamTag {
            upstream,
            checked_at,
        }))
    }

    /// Records that `upstream` was asked about `tag` just now.
    pub async fn record_upstream_tag(
        &self,
        repository: &str,
        tag: &str,
        upstream: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO upstream_tags (repository, name, upstream, checked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (repository, name) DO UPDATE SET \
             upstream = excluded.upstream, checked_at = excluded.checked_at",
        )
        .bind(repository)
        .bind(tag)
        .bind(upstream)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Tag → upstream, for every tag of `repository` cached from an upstream.
    pub async fn upstream_tags_of(&self, repository: &str) -> Result<HashMap<String, String>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, upstream FROM upstream_tags WHERE repository = $1")
                .bind(repository)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }
}

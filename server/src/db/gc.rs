//! Queries for garbage collection (see `maintenance::gc`).

use super::{Db, Result, now_millis};

/// What GC needs to know about one repository.
#[derive(Debug, Default)]
pub struct RepositoryGraph {
    /// `(digest, subject, created_at)` of every manifest.
    pub manifests: Vec<(String, Option<String>, i64)>,
    /// Digests that tags point at.
    pub tagged: Vec<String>,
    /// `(manifest, child, kind)` references.
    pub references: Vec<(String, String, String)>,
    /// `(digest, linked_at)` of every blob link.
    pub blob_links: Vec<(String, i64)>,
}

impl Db {
    pub async fn repository_graph(&self, repository: &str) -> Result<RepositoryGraph> {
        let manifests = sqlx::query_as(
            "SELECT digest, subject, created_at FROM manifests WHERE repository = $1",
        )
        .bind(repository)
        .fetch_all(&self.pool)
        .await?;
        let tagged: Vec<(String,)> =
            sqlx::query_as("SELECT digest FROM tags WHERE repository = $1")
                .bind(repository)
                .fetch_all(&self.pool)
                .await?;
        let references = sqlx::query_as(
            "SELECT manifest_digest, child_digest, child_kind FROM manifest_references WHERE repository = $1",
        )
        .bind(repository)
        .fetch_all(&self.pool)
        .await?;
        let blob_links =
            sqlx::query_as("SELECT digest, created_at FROM repository_blobs WHERE repository = $1")
                .bind(repository)
                .fetch_all(&self.pool)
                .await?;
        Ok(RepositoryGraph {
            manifests,
            tagged: tagged.into_iter().map(|(d,)| d).collect(),
            references,
            blob_links,
        })
    }

    /// Unlinks a blob from a repository only if the link is still older
    /// than `cutoff` (a fresh push in between keeps it).
    pub async fn unlink_stale_blob(
        &self,
        repository: &str,
        digest: &str,
        cutoff: i64,
    ) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2 AND created_at < $3")
                .bind(repository)
                .bind(digest)
                .bind(cutoff)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Blobs no repository links: `(digest, size, marked_at)`.
    pub async fn unlinked_blobs(&self) -> Result<Vec<(String, i64, Option<i64>)>> {
        Ok(sqlx::query_as(
            "SELECT digest, size, gc_marked_at FROM blobs b WHERE NOT EXISTS \
             (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn mark_blob(&self, digest: &str) -> Result<()> {
        sqlx::query(
            "UPDATE blobs SET gc_marked_at = $1 WHERE digest = $2 AND gc_marked_at IS NULL",
        )
        .bind(now_millis())
        .bind(digest)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a blob that is still unlinked and was marked before
    /// `cutoff`; true means its object may now be deleted.
    pub async fn forget_marked_blob(&self, digest: &str, cutoff: i64) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM blobs WHERE digest = $1 AND gc_marked_at IS NOT NULL AND gc_marked_at <= $2 \
             AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = $1)",
        )
        .bind(digest)
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

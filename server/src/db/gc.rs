//! Queries for garbage collection (see `maintenance::gc` for the protocol).
//!
//! Each removal is one short transaction that re-checks, under the same
//! lock as every writer that creates or relies on what it removes, that
//! nothing needs it any more. SQLite serializes writers, so a conditional
//! statement is enough there; on PostgreSQL (read committed) the row is
//! first locked `FOR UPDATE`, so the conditions are read after any writer
//! holding it has committed, and a writer that comes later finds the row
//! gone.

use super::{Backend, CLAIM_EXPIRY, Db, Result, now_millis};

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

/// A blob no repository links: `(digest, size, marked_at)`.
pub type UnlinkedBlob = (String, i64, Option<i64>);

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

    /// Deletes an untagged manifest older than `cutoff` that no manifest
    /// of the repository lists and whose subject (if any) is gone. Returns
    /// false, deleting nothing, when any of that changed since GC looked.
    pub async fn delete_unused_manifest(
        &self,
        repository: &str,
        digest: &str,
        cutoff: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        self.lock_row(
            &mut tx,
            "SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2 FOR UPDATE",
            &[repository, digest],
        )
        .await?;
        let deleted = sqlx::query(
            "DELETE FROM manifests WHERE repository = $1 AND digest = $2 AND created_at < $3 \
             AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = $1 AND t.digest = $2) \
             AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.repository = $1 \
                 AND r.child_digest = $2 AND r.child_kind = 'manifest') \
             AND (subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s \
                 WHERE s.repository = $1 AND s.digest = manifests.subject))",
        )
        .bind(repository)
        .bind(digest)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM manifest_references WHERE repository = $1 AND manifest_digest = $2",
        )
        .bind(repository)
        .bind(digest)
        .execute(&mut *tx)
        .await?;
        super::packages::tombstone_manifest(&mut tx, repository, digest).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Unlinks a blob from a repository only if the link is still older
    /// than `cutoff` (a push or a manifest commit in between refreshes it)
    /// and no manifest of the repository refers to it.
    pub async fn unlink_unreferenced_blob(
        &self,
        repository: &str,
        digest: &str,
        cutoff: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        self.lock_row(
            &mut tx,
            "SELECT 1 FROM repository_blobs WHERE repository = $1 AND digest = $2 FOR UPDATE",
            &[repository, digest],
        )
        .await?;
        let done = sqlx::query(
            "DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2 AND created_at < $3 \
             AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.repository = $1 \
                 AND r.child_digest = $2 AND r.child_kind = 'blob')",
        )
        .bind(repository)
        .bind(digest)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Blobs no repository links, not being deleted already.
    pub async fn unlinked_blobs(&self) -> Result<Vec<UnlinkedBlob>> {
        Ok(sqlx::query_as(
            "SELECT digest, size, gc_marked_at FROM blobs b WHERE gc_deleting_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks a blob that is still unlinked and unclaimed.
    pub async fn mark_blob(&self, digest: &str) -> Result<()> {
        let now = now_millis();
        sqlx::query(
            "UPDATE blobs SET gc_marked_at = $1 WHERE digest = $2 AND gc_marked_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = $2) \
             AND NOT EXISTS (SELECT 1 FROM blob_claims c WHERE c.digest = $2 AND c.created_at > $3)",
        )
        .bind(now)
        .bind(digest)
        .bind(claims_since(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The first step of deleting a blob: marks it deleting if it is still
    /// unlinked, unclaimed and was marked before `cutoff`. True means its
    /// object may now be deleted, then [`Db::finish_blob_deletion`] called.
    pub async fn begin_blob_deletion(&self, digest: &str, cutoff: i64) -> Result<bool> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        self.lock_row(
            &mut tx,
            "SELECT 1 FROM blobs WHERE digest = $1 FOR UPDATE",
            &[digest],
        )
        .await?;
        let done = sqlx::query(
            "UPDATE blobs SET gc_deleting_at = $1 WHERE digest = $2 AND gc_deleting_at IS NULL \
             AND gc_marked_at IS NOT NULL AND gc_marked_at <= $3 \
             AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = $2) \
             AND NOT EXISTS (SELECT 1 FROM blob_claims c WHERE c.digest = $2 AND c.created_at > $4)",
        )
        .bind(now)
        .bind(digest)
        .bind(cutoff)
        .bind(claims_since(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The last step: forgets a blob whose object is deleted, so writers
    /// waiting for it may store it again.
    pub async fn finish_blob_deletion(&self, digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM blobs WHERE digest = $1 AND gc_deleting_at IS NOT NULL")
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Blobs a collector began deleting and did not finish: `(digest, size)`.
    pub async fn blobs_being_deleted(&self) -> Result<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT digest, size FROM blobs WHERE gc_deleting_at IS NOT NULL")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Removes claims older than [`CLAIM_EXPIRY`] (their writers died).
    pub async fn forget_expired_claims(&self) -> Result<u64> {
        let done = sqlx::query("DELETE FROM blob_claims WHERE created_at <= $1")
            .bind(claims_since(now_millis()))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// On PostgreSQL, takes the row lock `query` (a `SELECT ... FOR
    /// UPDATE`) names; SQLite needs none, as it runs one writer at a time.
    async fn lock_row(
        &self,
        conn: &mut sqlx::AnyConnection,
        query: &'static str,
        binds: &[&str],
    ) -> Result<()> {
        if self.backend == Backend::Postgres {
            let mut query = sqlx::query(query);
            for bind in binds {
                query = query.bind(*bind);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Claims taken after this time still count.
fn claims_since(now: i64) -> i64 {
    now.saturating_sub(i64::try_from(CLAIM_EXPIRY.as_millis()).unwrap_or(i64::MAX))
}

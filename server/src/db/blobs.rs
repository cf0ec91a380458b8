//! The `blobs` and `repository_blobs` tables: stored objects and which
//! repository may serve them.

use super::read_cache::BlobKey;
use super::repositories::ensure_repository;
use super::{Db, Result, now_millis};

impl Db {
    /// Records a stored blob and links it into `repository`, in one step.
    pub async fn link_new_blob(&self, repository: &str, digest: &str, size: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        ensure_repository(&mut tx, repository).await?;
        sqlx::query(
            "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(digest)
        .bind(size)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        link(&mut tx, repository, digest).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links a blob of `from` into `repository` (cross-repository mount).
    /// Returns false, linking nothing, when `from` does not hold the blob:
    /// whether another repository stores it does not matter. The caller
    /// checks that the client may pull `from`.
    pub async fn mount_blob(&self, repository: &str, from: &str, digest: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        ensure_repository(&mut tx, repository).await?;
        let linked: Option<(i64,)> = sqlx::query_as(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
             WHERE rb.repository = $1 AND rb.digest = $2",
        )
        .bind(from)
        .bind(digest)
        .fetch_optional(&mut *tx)
        .await?;
        if linked.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        link(&mut tx, repository, digest).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Size of a blob that `repository` may serve, or `None`.
    pub async fn blob_size_in(&self, repository: &str, digest: &str) -> Result<Option<u64>> {
        let query = async {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
                 WHERE rb.repository = $1 AND rb.digest = $2",
            )
            .bind(repository)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(|(size,)| u64::try_from(size).unwrap_or_default()))
        };
        match &self.read_caches {
            Some(caches) => {
                let key = BlobKey {
                    repository: repository.to_string(),
                    digest: digest.to_string(),
                };
                caches.blob_sizes.get_or_query(key, query).await
            }
            None => query.await,
        }
    }

    /// Whether the blob object is recorded as stored (in any repository).
    pub async fn blob_stored(&self, digest: &str) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT size FROM blobs WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Removes a blob from a repository. Returns false when it was not there.
    /// The object itself stays until garbage collection finds it unused.
    pub async fn unlink_blob(&self, repository: &str, digest: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2")
                .bind(repository)
                .bind(digest)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Which of `digests` `repository` may not serve.
    pub async fn missing_blobs(&self, repository: &str, digests: &[String]) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for digest in digests {
            if self.blob_size_in(repository, digest).await?.is_none() {
                missing.push(digest.clone());
            }
        }
        Ok(missing)
    }
}

/// Links a blob into a repository. The link's time is refreshed (garbage
/// collection spares links younger than its grace period, so a blob pushed
/// again for an upcoming manifest stays) and any GC mark is cleared.
async fn link(conn: &mut sqlx::AnyConnection, repository: &str, digest: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO repository_blobs (repository, digest, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (repository, digest) DO UPDATE SET created_at = excluded.created_at",
    )
    .bind(repository)
    .bind(digest)
    .bind(now_millis())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE blobs SET gc_marked_at = NULL WHERE digest = $1 AND gc_marked_at IS NOT NULL",
    )
    .bind(digest)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

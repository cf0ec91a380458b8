//! The `blobs` and `repository_blobs` tables: stored objects and which
//! repository may serve them.

use super::read_cache::BlobKey;
use super::repositories::ensure_repository;
use super::{Db, Result, now_millis};

/// How long a writer may hold a [`BlobClaim`]: past this, a claim counts as
/// left behind by a writer that died, and GC ignores and removes it. Far
/// longer than putting an object in place takes (a rename, a multipart
/// completion, a proxied download).
pub const CLAIM_EXPIRY: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long a writer waits for GC to finish deleting a blob's object before
/// answering 503 (`Error::BlobBeingDeleted`) instead.
const DELETION_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A writer's claim on a blob (see `maintenance::gc`): taken before the
/// object is put in place, ended by [`Db::link_new_blob`] or
/// [`Db::release_claim`].
#[derive(Debug)]
#[must_use = "a claim is ended by link_new_blob or release_claim"]
pub struct BlobClaim {
    id: String,
    digest: String,
}

impl Db {
    /// Claims `digest` for a writer about to put its object in place,
    /// waiting while GC is deleting the object (a claim taken then could
    /// have the new object deleted under it).
    pub async fn claim_blob(&self, digest: &str) -> Result<BlobClaim> {
        let deadline = tokio::time::Instant::now() + DELETION_WAIT;
        loop {
            if let Some(claim) = self.try_claim_blob(digest).await? {
                return Ok(claim);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(super::Error::BlobBeingDeleted(digest.to_string()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn try_claim_blob(&self, digest: &str) -> Result<Option<BlobClaim>> {
        let mut tx = self.pool.begin().await?;
        // Clearing the mark writes the row: on PostgreSQL that lock orders
        // this claim against GC's deletion step, which locks the row too.
        sqlx::query("UPDATE blobs SET gc_marked_at = NULL WHERE digest = $1")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        if being_deleted(&mut tx, digest).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO blob_claims (id, digest, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(digest)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(BlobClaim {
            id,
            digest: digest.to_string(),
        }))
    }

    /// Ends a claim without linking (the write failed or was refused).
    pub async fn release_claim(&self, claim: BlobClaim) -> Result<()> {
        sqlx::query("DELETE FROM blob_claims WHERE id = $1")
            .bind(&claim.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a blob whose object the claimant has put in place and links
    /// it into `repository`, ending the claim, in one transaction.
    pub async fn link_new_blob(&self, repository: &str, claim: BlobClaim, size: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        ensure_repository(&mut tx, repository).await?;
        sqlx::query(
            "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&claim.digest)
        .bind(size)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        link(&mut tx, repository, &claim.digest).await?;
        sqlx::query("DELETE FROM blob_claims WHERE id = $1")
            .bind(&claim.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links a blob of `from` into `repository` (cross-repository mount).
    /// Returns false, linking nothing, when `from` does not hold the blob
    /// (whether another repository stores it does not matter) or GC is
    /// deleting it; the client then uploads it. The caller checks that the
    /// client may pull `from`.
    pub async fn mount_blob(&self, repository: &str, from: &str, digest: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        ensure_repository(&mut tx, repository).await?;
        // Locks the blob's row against GC's deletion step (see claim_blob).
        sqlx::query("UPDATE blobs SET gc_marked_at = NULL WHERE digest = $1")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        let linked: Option<(i64,)> = sqlx::query_as(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
             WHERE rb.repository = $1 AND rb.digest = $2 AND b.gc_deleting_at IS NULL",
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

/// Whether GC has begun deleting the blob's object.
async fn being_deleted(conn: &mut sqlx::AnyConnection, digest: &str) -> Result<bool> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT gc_deleting_at FROM blobs WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(matches!(row, Some((Some(_),))))
}

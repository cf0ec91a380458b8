//! The `uploads` and `upload_chunks` tables: resumable upload sessions.
//!
//! A chunk row is written in the same transaction that advances the
//! session's `committed` offset, and only after the chunk's bytes are durably
//! in storage, so the row set always describes bytes that exist.

use uuid::Uuid;

use super::{Db, Error, Result, now_millis};

#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: Uuid,
    pub repository: String,
    pub committed: u64,
}

#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub start: u64,
    pub length: u64,
    pub chunk_id: Uuid,
}

/// Why a chunk could not be recorded.
#[derive(Debug)]
pub enum ChunkConflict {
    /// The session no longer exists.
    Gone,
    /// Another request advanced the session first; here is where it stands.
    Moved(u64),
}

impl Db {
    /// Opens session `id` of `repository` for `owner`, unless the owner
    /// already holds `limit` sessions touched at or after
    /// `live_since_millis`: older ones have expired (the purge removes
    /// them) and count against nobody. Returns how many the owner holds
    /// when refused. Finished and cancelled sessions are deleted, so they
    /// stop counting at once.
    ///
    /// Counting and inserting are one transaction that first writes a row
    /// named after the owner into `leases` and deletes it again before
    /// committing. On PostgreSQL that row's lock makes one owner's
    /// concurrent openings take turns (on every replica), and under READ
    /// COMMITTED each count sees the sessions the previous turn committed;
    /// SQLite serializes writers anyway. No row outlives the transaction.
    pub async fn create_upload(
        &self,
        id: Uuid,
        repository: &str,
        owner: &str,
        limit: u64,
        live_since_millis: i64,
    ) -> Result<Result<(), u64>> {
        let now = now_millis();
        let turn = format!("upload-owner:{owner}");
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
        )
        .bind(&turn)
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let (open,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM uploads WHERE owner = $1 AND updated_at >= $2")
                .bind(owner)
                .bind(live_since_millis)
                .fetch_one(&mut *tx)
                .await?;
        let open = to_u64(open);
        if open < limit {
            sqlx::query(
                "INSERT INTO uploads (id, repository, committed, created_at, updated_at, owner) \
                 VALUES ($1, $2, 0, $3, $3, $4)",
            )
            .bind(id.to_string())
            .bind(repository)
            .bind(now)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM leases WHERE name = $1")
            .bind(&turn)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if open < limit { Ok(()) } else { Err(open) })
    }

    pub async fn get_upload(&self, id: Uuid) -> Result<Option<UploadRow>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT repository, committed FROM uploads WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(repository, committed)| UploadRow {
            id,
            repository,
            committed: to_u64(committed),
        }))
    }

    /// The session's chunks in blob order.
    pub async fn upload_chunks(&self, id: Uuid) -> Result<Vec<ChunkRow>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT start_offset, length, chunk_id FROM upload_chunks WHERE upload_id = $1 \
             ORDER BY start_offset",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(start, length, chunk)| {
                Some(ChunkRow {
                    start: to_u64(start),
                    length: to_u64(length),
                    chunk_id: chunk.parse().ok()?,
                })
            })
            .collect())
    }

    /// Records a durably staged chunk that starts at `start`, advancing the
    /// session only if nobody else did meanwhile.
    pub async fn commit_chunk(
        &self,
        id: Uuid,
        start: u64,
        length: u64,
        chunk_id: Uuid,
    ) -> Result<Result<u64, ChunkConflict>> {
        let end = start + length;
        let mut tx = self.pool.begin().await?;
        let advanced = sqlx::query(
            "UPDATE uploads SET committed = $1, updated_at = $2 WHERE id = $3 AND committed = $4",
        )
        .bind(to_i64(end))
        .bind(now_millis())
        .bind(id.to_string())
        .bind(to_i64(start))
        .execute(&mut *tx)
        .await?;
        if advanced.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Err(match self.get_upload(id).await? {
                Some(row) => ChunkConflict::Moved(row.committed),
                None => ChunkConflict::Gone,
            }));
        }
        if length > 0 {
            sqlx::query(
                "INSERT INTO upload_chunks (upload_id, start_offset, length, chunk_id) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(to_i64(start))
            .bind(to_i64(length))
            .bind(chunk_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(end))
    }

    /// Removes a session's rows; returns false when there was none.
    pub async fn delete_upload(&self, id: Uuid) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Sessions last touched before `cutoff_millis`.
    pub async fn stale_uploads(&self, cutoff_millis: i64, limit: i64) -> Result<Vec<Uuid>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM uploads WHERE updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(cutoff_millis)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id,)| id.parse().ok())
            .collect())
    }

    /// Marks a session as in use so the purge leaves it alone.
    pub async fn touch_upload(&self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE uploads SET updated_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(Error::from)?;
        Ok(())
    }
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

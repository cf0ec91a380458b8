//! Blob uploads: monolithic streams, and resumable chunked sessions.
//!
//! A session's chunks are staged as objects (`uploads/<id>/<chunk>`) and
//! recorded in the database before the gateway answers 202, so the session
//! survives a restart or a SIGKILL. A SHA-256 state cannot move to another
//! process, so hashing has a fast path and a slow one: while chunks arrive in
//! order at one process, [`HashCache`] keeps the running hash; otherwise the
//! staged bytes are re-read and hashed when the upload completes. Either way
//! the digest is verified before the blob becomes visible.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Body;
use futures::StreamExt;
use uuid::Uuid;

use super::{Error, Registry};
use crate::db::{BlobClaim, ChunkConflict, ChunkRow, UploadRow};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::names::RepoName;
use crate::registry::upload_limits::UploadInProgress;
use crate::storage::{StorageKey, pump};

/// Running SHA-256 of sessions whose bytes all passed through this process.
#[derive(Debug, Default)]
pub struct HashCache(Mutex<HashMap<Uuid, (u64, Hasher)>>);

impl HashCache {
    /// Takes the running hash if it covers exactly `offset` bytes.
    fn take(&self, id: Uuid, offset: u64) -> Option<Hasher> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.remove(&id) {
            Some((covered, hasher)) if covered == offset => Some(hasher),
            _ => None,
        }
    }

    fn put(&self, id: Uuid, offset: u64, hasher: Hasher) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (offset, hasher));
    }

    pub fn forget(&self, id: Uuid) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

/// Looks up a session of `repo`; sessions of other repositories are unknown here.
pub async fn find_session(
    registry: &Registry,
    repo: &RepoName,
    id: &str,
) -> Result<UploadRow, Error> {
    let Ok(id) = id.parse::<Uuid>() else {
        return Err(Error::NotAnUploadId(id.to_string()));
    };
    match registry.db.get_upload(id).await? {
        Some(row) if row.repository == repo.as_str() => Ok(row),
        _ => Err(Error::UploadUnknown(id)),
    }
}

pub fn upload_location(repo: &RepoName, id: Uuid) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

/// `Range: 0-<last byte>` as registries report upload progress.
pub fn range_header(committed: u64) -> String {
    format!("0-{}", committed.saturating_sub(1))
}

/// Stages one chunk of a session, starting at byte `start`. `expected_len`
/// comes from `Content-Range` when the client sent one. Returns the new
/// committed size.
pub async fn append_chunk(
    registry: &Registry,
    repo: &RepoName,
    session: &UploadRow,
    start: u64,
    expected_len: Option<u64>,
    body: Body,
) -> Result<u64, Error> {
    let id = session.id;
    if start != session.committed {
        return Err(Error::ChunkOutOfOrder {
            repo: repo.clone(),
            id,
            committed: session.committed,
            start,
        });
    }
    registry.db.touch_upload(id).await?;
    let running = registry.hashes.take(id, start);
    let resumable_hash = running.is_some() || start == 0;
    let hasher = running.unwrap_or_else(|| Hasher::new(Algorithm::Sha256));
    let chunk_id = Uuid::new_v4();
    let chunk = StorageKey::UploadChunk {
        upload: id,
        chunk: chunk_id,
    };
    // The slot first: a refused body leaves no staged write behind.
    let in_progress = UploadInProgress::start(registry)?;
    let writer = registry.storage.writer(chunk).await?;
    let (writer, pumped) = pump(
        in_progress.metered(registry, body),
        writer,
        vec![hasher],
        registry.limits.body_idle_timeout,
    )
    .await?;
    if let Some(expected) = expected_len
        && expected != pumped.size
    {
        writer.abort().await;
        return Err(Error::SizeMismatch {
            announced: expected,
            received: pumped.size,
        });
    }
    if pumped.size == 0 {
        writer.abort().await;
        return Ok(session.committed);
    }
    writer.commit().await?;
    match registry
        .db
        .commit_chunk(id, start, pumped.size, chunk_id)
        .await?
    {
        Ok(end) => {
            if resumable_hash && let Some(hasher) = pumped.hashers.into_iter().next() {
                registry.hashes.put(id, end, hasher);
            }
            Ok(end)
        }
        Err(conflict) => {
            registry.storage.delete(chunk).await?;
            match conflict {
                ChunkConflict::Moved(committed) => Err(Error::ChunkOutOfOrder {
                    repo: repo.clone(),
                    id,
                    committed,
                    start,
                }),
                ChunkConflict::Gone => Err(Error::UploadUnknown(id)),
            }
        }
    }
}

/// Completes a session: verifies the staged bytes against `digest`, makes
/// the blob visible in `repo`, and removes the session.
pub async fn finish_session(
    registry: &Registry,
    repo: &RepoName,
    session: &UploadRow,
    digest: &Digest,
) -> Result<(), Error> {
    let id = session.id;
    let chunks = registry.db.upload_chunks(id).await?;
    check_contiguous(&chunks, session.committed)?;
    // Claimed before the object is put in place (or found already there),
    // so GC cannot delete it before the link commits.
    let claim = registry.db.claim_blob(&digest.to_string()).await?;
    let computed = match place_staged(registry, session, &chunks, digest).await {
        Ok(computed) => computed,
        Err(error) => {
            release(registry, claim).await;
            return Err(error);
        }
    };
    if &computed != digest {
        release(registry, claim).await;
        discard_session(registry, id).await?;
        return Err(Error::DigestMismatch {
            expected: digest.clone(),
            computed,
        });
    }
    let size = i64::try_from(session.committed).unwrap_or(i64::MAX);
    registry
        .db
        .link_new_blob(repo.as_str(), claim, size)
        .await?;
    discard_session(registry, id).await?;
    Ok(())
}

/// Ends a claim whose write failed; a claim left behind only delays GC of
/// that blob until it expires, so failing here is a warning.
async fn release(registry: &Registry, claim: BlobClaim) {
    if let Err(error) = registry.db.release_claim(claim).await {
        tracing::warn!(%error, "cannot release a blob claim; it expires on its own");
    }
}

/// Puts a session's staged bytes in place as the blob `digest` if they
/// hash to it, and returns the digest they have.
async fn place_staged(
    registry: &Registry,
    session: &UploadRow,
    chunks: &[ChunkRow],
    digest: &Digest,
) -> Result<Digest, Error> {
    let id = session.id;
    let target = StorageKey::Blob(digest);
    let already_stored = registry.db.blob_stored(&digest.to_string()).await?
        && registry.storage.exists(target).await?;
    let cached = registry
        .hashes
        .take(id, session.committed)
        .filter(|h| h.algorithm() == digest.algorithm());

    let computed = if chunks.len() == 1 && !already_stored {
        // One chunk: verify, then move it into place without copying.
        let chunk = StorageKey::UploadChunk {
            upload: id,
            chunk: chunks[0].chunk_id,
        };
        let computed = match cached {
            Some(hasher) => hasher.finish(),
            None => hash_chunks(registry, id, chunks, digest.algorithm()).await?,
        };
        if &computed == digest {
            registry.storage.rename(chunk, target).await?;
        }
        computed
    } else if already_stored || chunks.is_empty() {
        let computed = match cached {
            Some(hasher) => hasher.finish(),
            None => hash_chunks(registry, id, chunks, digest.algorithm()).await?,
        };
        if &computed == digest && !already_stored {
            // The empty blob.
            registry.storage.writer(target).await?.commit().await?;
        }
        computed
    } else if let Some(hasher) = cached {
        // Several chunks, hashed as they arrived: check the digest first,
        // then join them without hashing the bytes again.
        let computed = hasher.finish();
        if &computed == digest {
            registry
                .storage
                .concatenate(
                    &chunk_keys(id, chunks),
                    StorageKey::UploadAssembly(id),
                    target,
                )
                .await?;
        }
        computed
    } else {
        // Several chunks staged by another process or before a restart:
        // concatenate into the final object while hashing, committing only
        // if the digest matches.
        let mut writer = registry.storage.writer(target).await?;
        let mut hasher = Hasher::new(digest.algorithm());
        let parts = chunk_keys(id, chunks);
        let written = registry
            .storage
            .write_parts(&mut writer, &parts, |bytes| hasher.update(bytes))
            .await;
        if let Err(error) = written {
            writer.abort().await;
            return Err(error.into());
        }
        let computed = hasher.finish();
        if &computed == digest {
            writer.commit().await?;
        } else {
            writer.abort().await;
        }
        computed
    };

    Ok(computed)
}

/// Stores a whole blob sent in one request body, verifying its digest
/// before it becomes visible.
pub async fn store_monolithic(
    registry: &Registry,
    repo: &RepoName,
    digest: &Digest,
    body: Body,
) -> Result<(), Error> {
    let in_progress = UploadInProgress::start(registry)?;
    let stored = store_verified(
        registry,
        repo,
        digest,
        in_progress.metered(registry, body),
        registry.limits.body_idle_timeout,
    )
    .await?;
    match stored {
        Ok(_) => Ok(()),
        Err(computed) => Err(Error::DigestMismatch {
            expected: digest.clone(),
            computed,
        }),
    }
}

/// Streams bytes into the blob store under `digest` and, once they hash to
/// it, makes the blob visible and links it into `repo`. Returns the size, or
/// (with nothing stored) the digest the bytes really have. A stream silent
/// for `idle_timeout` is abandoned.
pub async fn store_verified<S, E>(
    registry: &Registry,
    repo: &RepoName,
    digest: &Digest,
    stream: S,
    idle_timeout: std::time::Duration,
) -> Result<Result<u64, Digest>, Error>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let writer = registry.storage.writer(StorageKey::Blob(digest)).await?;
    let (writer, pumped) = pump(
        stream,
        writer,
        vec![Hasher::new(digest.algorithm())],
        idle_timeout,
    )
    .await?;
    let computed = pumped
        .hashers
        .into_iter()
        .next()
        .map_or_else(|| Digest::of(digest.algorithm(), b""), Hasher::finish);
    if &computed != digest {
        writer.abort().await;
        return Ok(Err(computed));
    }
    // Claimed before the object appears, so GC cannot delete it before
    // the link commits.
    let claim = match registry.db.claim_blob(&digest.to_string()).await {
        Ok(claim) => claim,
        Err(error) => {
            writer.abort().await;
            return Err(error.into());
        }
    };
    if let Err(error) = writer.commit().await {
        release(registry, claim).await;
        return Err(error.into());
    }
    let size = i64::try_from(pumped.size).unwrap_or(i64::MAX);
    registry
        .db
        .link_new_blob(repo.as_str(), claim, size)
        .await?;
    Ok(Ok(pumped.size))
}

/// Removes a session's rows and staged bytes.
pub async fn discard_session(registry: &Registry, id: Uuid) -> Result<bool, Error> {
    registry.hashes.forget(id);
    let existed = registry.db.delete_upload(id).await?;
    registry
        .storage
        .delete_prefix(StorageKey::Upload(id))
        .await?;
    Ok(existed)
}

fn check_contiguous(chunks: &[ChunkRow], committed: u64) -> Result<(), Error> {
    let mut offset = 0;
    for chunk in chunks {
        if chunk.start != offset {
            return Err(Error::Inconsistent(format!(
                "upload chunks leave a gap at byte {offset}"
            )));
        }
        offset += chunk.length;
    }
    if offset != committed {
        return Err(Error::Inconsistent(format!(
            "upload chunks cover {offset} of {committed} bytes"
        )));
    }
    Ok(())
}

/// The storage keys of a session's staged chunks, in order.
fn chunk_keys(upload: Uuid, chunks: &[ChunkRow]) -> Vec<StorageKey<'static>> {
    chunks
        .iter()
        .map(|chunk| StorageKey::UploadChunk {
            upload,
            chunk: chunk.chunk_id,
        })
        .collect()
}

/// Re-reads staged chunks to hash them (the slow path after a restart).
async fn hash_chunks(
    registry: &Registry,
    id: Uuid,
    chunks: &[ChunkRow],
    algorithm: Algorithm,
) -> Result<Digest, Error> {
    let mut hasher = Hasher::new(algorithm);
    for key in chunk_keys(id, chunks) {
        let mut stream = registry.storage.read(key, None).await?.stream;
        while let Some(bytes) = stream.next().await {
            hasher.update(&bytes?);
        }
    }
    Ok(hasher.finish())
}

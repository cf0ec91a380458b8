//! Single flight for blob downloads from an upstream.
//!
//! However many requests want the same uncached blob at once, one download
//! runs. It is a task of its own (a client that disconnects does not stop
//! it), and it tees the bytes into two places: the blob store, through a
//! staged write that only becomes visible on commit, and an anonymous spool
//! file every waiting request reads from as it grows. So the first client
//! starts receiving at once, later ones catch up from the spool, and memory
//! stays bounded by the chunk size whatever the blob's size.
//!
//! Until the digest is verified, readers are never given the blob's last
//! byte. A download that turns out corrupt, or breaks off, ends each reader's
//! stream with an error, which aborts its connection without a clean end;
//! the staged write is discarded, so nothing is cached.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::watch;

use super::{Upstream, UpstreamError};
use crate::digest::{Digest, Hasher};
use crate::metrics::{UpstreamLabels, global};
use crate::registry::Registry;
use crate::storage::StorageKey;

/// Largest piece a reader takes from the spool at once.
const READ_CHUNK: u64 = 256 * 1024;
/// Size of the pieces a download is written in (to the spool and the store).
const FLUSH_BYTES: usize = 256 * 1024;

/// The downloads running in this process, by digest.
#[derive(Debug, Default, Clone)]
pub struct Flights {
    running: Arc<Mutex<HashMap<String, Arc<Flight>>>>,
}

#[derive(Debug)]
pub struct Flight {
    spool: Arc<File>,
    progress: watch::Sender<Progress>,
}

#[derive(Debug, Clone, Default)]
struct Progress {
    /// Bytes in the spool so far.
    written: u64,
    /// Set when the upstream's answer arrived: its `Content-Length`, if any.
    started: Option<Option<u64>>,
    end: Option<End>,
}

#[derive(Debug, Clone)]
enum End {
    /// Verified and committed to the blob store.
    Stored,
    /// Already linked in the repository; nothing was downloaded.
    Local,
    /// The upstream does not have the blob.
    Missing,
    Failed(UpstreamError),
}

/// What a request for an uncached blob gets.
pub enum BlobFetch {
    /// Bytes as they arrive; the stream fails rather than ends if the
    /// download does.
    Streaming {
        length: Option<u64>,
        body: BoxStream<'static, std::io::Result<Bytes>>,
    },
    /// The blob is in the local store now: serve it from there.
    Local,
    /// Neither here nor at the upstream.
    Missing,
}

impl Flights {
    /// Joins the download of `digest` into `repository`, starting it if none
    /// runs, and waits for the upstream's answer.
    pub async fn fetch(
        &self,
        registry: &Registry,
        upstream: &Arc<Upstream>,
        repository: &str,
        digest: &Digest,
    ) -> Result<BlobFetch, UpstreamError> {
        let flight = self.join(registry, upstream, repository, digest)?;
        let mut progress = flight.progress.subscribe();
        loop {
            let now = progress.borrow_and_update().clone();
            match now.end {
                Some(End::Stored | End::Local) => return Ok(BlobFetch::Local),
                Some(End::Missing) => return Ok(BlobFetch::Missing),
                Some(End::Failed(error)) if now.started.is_none() => return Err(error),
                _ => {}
            }
            if let Some(length) = now.started {
                return Ok(BlobFetch::Streaming {
                    length,
                    body: read_along(flight, progress),
                });
            }
            if progress.changed().await.is_err() {
                return Err(UpstreamError::Local(
                    "the download task ended unexpectedly".into(),
                ));
            }
        }
    }

    /// Joins or starts the download and waits until it is over: true when
    /// the blob is now in the local store.
    pub async fn fetch_to_store(
        &self,
        registry: &Registry,
        upstream: &Arc<Upstream>,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, UpstreamError> {
        let flight = self.join(registry, upstream, repository, digest)?;
        let mut progress = flight.progress.subscribe();
        loop {
            let end = progress.borrow_and_update().end.clone();
            match end {
                Some(End::Stored | End::Local) => return Ok(true),
                Some(End::Missing) => return Ok(false),
                Some(End::Failed(error)) => return Err(error),
                None => {}
            }
            if progress.changed().await.is_err() {
                return Err(UpstreamError::Local(
                    "the download task ended unexpectedly".into(),
                ));
            }
        }
    }

    fn join(
        &self,
        registry: &Registry,
        upstream: &Arc<Upstream>,
        repository: &str,
        digest: &Digest,
    ) -> Result<Arc<Flight>, UpstreamError> {
        let key = format!("{repository}@{digest}");
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(flight) = running.get(&key) {
            return Ok(Arc::clone(flight));
        }
        let spool = tempfile::tempfile()
            .map_err(|e| UpstreamError::Local(format!("cannot create a spool file: {e}")))?;
        let flight = Arc::new(Flight {
            spool: Arc::new(spool),
            progress: watch::Sender::new(Progress::default()),
        });
        running.insert(key.clone(), Arc::clone(&flight));
        drop(running);
        let task = Download {
            registry: registry.clone(),
            upstream: Arc::clone(upstream),
            repository: repository.to_string(),
            digest: digest.clone(),
            flight: Arc::clone(&flight),
        };
        let flights = Arc::clone(&self.running);
        tokio::spawn(async move {
            let end = task.run().await.unwrap_or_else(End::Failed);
            task.flight.progress.send_modify(|p| p.end = Some(end));
            let mut running = flights.lock().unwrap_or_else(|p| p.into_inner());
            if running
                .get(&key)
                .is_some_and(|f| Arc::ptr_eq(f, &task.flight))
            {
                running.remove(&key);
            }
        });
        Ok(flight)
    }
}

/// One download, run as its own task.
struct Download {
    registry: Registry,
    upstream: Arc<Upstream>,
    repository: String,
    digest: Digest,
    flight: Arc<Flight>,
}

impl Download {
    async fn run(&self) -> Result<End, UpstreamError> {
        let digest_text = self.digest.to_string();
        let db = &self.registry.db;
        let local = |e: crate::db::Error| UpstreamError::Local(e.to_string());
        if db
            .blob_size_in(&self.repository, &digest_text)
            .await
            .map_err(local)?
            .is_some()
        {
            return Ok(End::Local);
        }
        let Some(raw) = self.upstream.blob(&self.repository, &digest_text).await? else {
            return Ok(End::Missing);
        };
        // Stored already for another repository: the upstream's 200 proves
        // nothing (a lying or compromised upstream would be handed that
        // repository's bytes), so its bytes are downloaded like any others
        // and also hashed here; only a match links the blob (and writes the
        // same bytes again, rather than count on the stored object).
        let elsewhere = db.blob_stored(&digest_text).await.map_err(local)?;
        self.flight
            .progress
            .send_modify(|p| p.started = Some(raw.length));
        // Claimed for the whole copy, so GC cannot delete the object it
        // writes before the link commits (see `maintenance::gc`).
        let claim = db.claim_blob(&digest_text).await.map_err(local)?;
        let size = match self.copy(raw, elsewhere).await {
            Ok(size) => size,
            Err(error) => {
                if let Err(release) = db.release_claim(claim).await {
                    tracing::warn!(error = %release, "cannot release a blob claim; it expires on its own");
                }
                return Err(error);
            }
        };
        db.link_new_blob(
            &self.repository,
            claim,
            i64::try_from(size).unwrap_or(i64::MAX),
        )
        .await
        .map_err(local)?;
        Ok(End::Stored)
    }

    /// Streams the upstream's bytes into the spool and a staged write,
    /// committing the write only if the stream ended cleanly (its digest
    /// verified) with the announced size. With `hash_here`, the bytes are
    /// also hashed here and must match the digest.
    async fn copy(
        &self,
        raw: wkg_client::oci::RawBlob,
        hash_here: bool,
    ) -> Result<u64, UpstreamError> {
        let upstream = self.upstream.name().to_string();
        let storage = |e: crate::storage::Error| UpstreamError::Local(e.to_string());
        let mut writer = self
            .registry
            .storage
            .writer(StorageKey::Blob(&self.digest))
            .await
            .map_err(storage)?;
        let mut hasher = hash_here.then(|| Hasher::new(self.digest.algorithm()));
        let fetched = global()
            .upstream_fetched_bytes
            .get_or_create(&UpstreamLabels {
                upstream: upstream.clone(),
            })
            .clone();
        // The digest is checked by the client library: a `RawBlob` stream
        // whose bytes do not hash to the digest fails instead of ending (the
        // corrupt-upstream test covers it). Hashing again here would double
        // the CPU cost of every cold pull. A blob stored already for another
        // repository is hashed here too: the link would hand out that
        // repository's bytes, so it rests on no library's check alone.
        // Bytes received, and bytes flushed to the spool and the store:
        // network chunks are small, so they are gathered into pieces of
        // FLUSH_BYTES first (one blocking spool write and one store write each).
        let mut received = 0u64;
        let mut written = 0u64;
        let mut pending = bytes::BytesMut::new();
        let mut stream = raw.stream;
        let outcome = loop {
            let next = match tokio::time::timeout(self.upstream.config.timeout, stream.next()).await
            {
                Ok(next) => next,
                Err(_) => {
                    break Err(UpstreamError::Timeout {
                        upstream: upstream.clone(),
                        timeout: self.upstream.config.timeout,
                    });
                }
            };
            let done = match next {
                None => true,
                Some(Ok(chunk)) => {
                    received += chunk.len() as u64;
                    if raw.length.is_some_and(|announced| received > announced) {
                        break Err(self.corrupt("more bytes than it announced"));
                    }
                    pending.extend_from_slice(&chunk);
                    false
                }
                Some(Err(error)) => break Err(self.stream_error(&error)),
            };
            if pending.len() >= FLUSH_BYTES || (done && !pending.is_empty()) {
                let piece = pending.split().freeze();
                let len = piece.len() as u64;
                if let Err(error) = spool_write(&self.flight.spool, written, piece.clone()).await {
                    break Err(error);
                }
                if let Some(hasher) = &mut hasher {
                    hasher.update(&piece);
                }
                if let Err(error) = writer.write(piece).await {
                    break Err(storage(error));
                }
                written += len;
                fetched.inc_by(len);
                self.flight.progress.send_modify(|p| p.written = written);
            }
            if done {
                break Ok(());
            }
        };
        let verified = outcome.and_then(|()| {
            if raw.length.is_some_and(|announced| written != announced) {
                Err(self.broken(format!("{written} of {:?} bytes arrived", raw.length)))
            } else if hasher.is_some_and(|hasher| hasher.finish() != self.digest) {
                Err(self.corrupt("blob content"))
            } else {
                Ok(())
            }
        });
        match verified {
            Ok(()) => {
                writer.commit().await.map_err(storage)?;
                Ok(written)
            }
            Err(error) => {
                writer.abort().await;
                if error.rests_upstream() {
                    self.upstream.failed();
                }
                tracing::warn!(upstream, digest = %self.digest, %error, "proxied download refused");
                Err(error)
            }
        }
    }

    fn corrupt(&self, what: &str) -> UpstreamError {
        UpstreamError::Corrupt {
            upstream: self.upstream.name().to_string(),
            what: format!("{what} for {}", self.digest),
        }
    }

    fn broken(&self, detail: String) -> UpstreamError {
        UpstreamError::BrokenOff {
            upstream: self.upstream.name().to_string(),
            detail,
        }
    }

    /// A stream error: `oci-client` reports a digest mismatch this way too.
    fn stream_error(&self, error: &std::io::Error) -> UpstreamError {
        let text = error.to_string();
        if text.to_ascii_lowercase().contains("digest") {
            self.corrupt("blob content")
        } else {
            self.broken(text)
        }
    }
}

async fn spool_write(spool: &Arc<File>, offset: u64, bytes: Bytes) -> Result<(), UpstreamError> {
    let spool = Arc::clone(spool);
    tokio::task::spawn_blocking(move || spool.write_all_at(&bytes, offset))
        .await
        .map_err(|e| UpstreamError::Local(e.to_string()))?
        .map_err(|e| UpstreamError::Local(format!("writing the spool file failed: {e}")))
}

async fn spool_read(spool: &Arc<File>, offset: u64, len: u64) -> std::io::Result<Bytes> {
    let spool = Arc::clone(spool);
    tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        spool.read_exact_at(&mut buffer, offset)?;
        Ok(Bytes::from(buffer))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The bytes of a download as they reach the spool, all but the last one
/// until the download is verified.
fn read_along(
    flight: Arc<Flight>,
    progress: watch::Receiver<Progress>,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    struct Reader {
        flight: Arc<Flight>,
        progress: watch::Receiver<Progress>,
        position: u64,
        done: bool,
    }
    let reader = Reader {
        flight,
        progress,
        position: 0,
        done: false,
    };
    futures::stream::unfold(reader, |mut reader| async move {
        loop {
            if reader.done {
                return None;
            }
            let now = reader.progress.borrow_and_update().clone();
            let verified = matches!(now.end, Some(End::Stored));
            let readable = if verified {
                now.written
            } else {
                now.written.saturating_sub(1)
            };
            if reader.position < readable {
                let len = (readable - reader.position).min(READ_CHUNK);
                let item = spool_read(&reader.flight.spool, reader.position, len).await;
                reader.position += len;
                reader.done = item.is_err();
                return Some((item, reader));
            }
            match now.end {
                Some(End::Stored) => return None,
                Some(End::Failed(error)) => {
                    reader.done = true;
                    return Some((Err(std::io::Error::other(error.to_string())), reader));
                }
                Some(End::Local | End::Missing) => {
                    reader.done = true;
                    return Some((
                        Err(std::io::Error::other("the download ended without content")),
                        reader,
                    ));
                }
                None => {
                    if reader.progress.changed().await.is_err() {
                        reader.done = true;
                        return Some((
                            Err(std::io::Error::other(
                                "the download task ended unexpectedly",
                            )),
                            reader,
                        ));
                    }
                }
            }
        }
    })
    .boxed()
}

//! In-process caches of the hottest lookups for the embedded SQLite
//! database: manifests by tag or digest, and which blobs a repository holds.
//!
//! Every manifest or blob GET starts with one of these lookups, and each
//! one through sqlx costs two thread hand-offs to the connection's worker
//! thread (see BENCHMARKS.md). A [`ReadCache`] answers repeated lookups from
//! memory, without ever serving anything a client could tell from a fresh
//! read:
//!
//! - **Validity.** Every lookup first reads the header of SQLite's WAL index
//!   (the `-shm` file next to the database; format in
//!   <https://www.sqlite.org/walformat.html>). SQLite changes that header in
//!   every commit, by any connection of any process, before the commit
//!   returns, and readers find the newest commit through it. When it
//!   differs from the header the cache was filled under, the cache is
//!   emptied. So a push or delete on this gateway, on a replica sharing the
//!   database file, or by `wkg-gateway gc` is seen by the very next lookup,
//!   and a writer that dies mid-commit cannot leave a stale entry behind.
//!   Any commit empties the cache, which costs only hit rate while pushes
//!   are going on.
//! - **A new WAL index.** When the last connection to the database closes
//!   (a quiet gateway whose pool let its connections go, then `gc` exiting),
//!   SQLite deletes the `-shm` file, and the next connection creates a new
//!   one. The open file would then never change again, so every check also
//!   asks whether it is still linked (`fstat`); if not, it opens the new
//!   file and counts a new generation, which empties the caches.
//! - **Races.** A lookup that misses reads the header before its query and
//!   stores the answer only if the cache still belongs to that header.
//! - **Cost.** The check is one `pread` of 48 bytes from a page the kernel
//!   holds in memory: far below a query, so it runs inline on the async
//!   worker.
//! - **Bounds.** Entries up to [`MAX_ENTRY_BYTES`]; when the total passes
//!   [`MAX_TOTAL_BYTES`], the cache starts over empty (the hot set of a
//!   registry is small, and a refill is just the queries that would have
//!   run anyway).
//!
//! PostgreSQL has no such shared signal (replicas run on other hosts), so
//! with PostgreSQL every lookup is a query.

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hash;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;

use super::ManifestRecord;

/// The WAL-index header SQLite keeps at the start of the `-shm` file (two
/// copies of 48 bytes; the first is what readers check).
const HEADER_BYTES: usize = 48;

/// Answers larger than this (big manifests) are always read from the
/// database.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// The most bytes one cache keeps at once.
pub const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

/// A snapshot of the database's commit state: which `-shm` file was read
/// (a generation counted by [`WalIndex`]) and its header.
pub type Version = (u64, [u8; HEADER_BYTES]);

/// SQLite's WAL index (`<database>-shm`), reopened when SQLite replaces it.
#[derive(Debug)]
pub struct WalIndex {
    path: std::path::PathBuf,
    /// The open file and its generation (1 for the first one).
    file: Mutex<(Option<File>, u64)>,
}

impl WalIndex {
    fn open(database: &Path) -> std::io::Result<Self> {
        let mut path = database.as_os_str().to_owned();
        path.push("-shm");
        let path = std::path::PathBuf::from(path);
        let file = File::open(&path)?;
        Ok(Self {
            path,
            file: Mutex::new((Some(file), 1)),
        })
    }

    /// The commit state now, or `None` if it cannot be read (then nothing
    /// is served from the cache).
    fn version(&self) -> Option<Version> {
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, generation) = &mut *slot;
        let replaced = match file {
            Some(open) => open.metadata().map_or(true, |meta| meta.nlink() == 0),
            None => true,
        };
        if replaced {
            // Deleted by SQLite: the next connection makes a new one (until
            // then there is nothing to check against, so nothing is cached).
            *file = File::open(&self.path).ok();
            *generation += 1;
        }
        let open = file.as_ref()?;
        let mut header = [0u8; HEADER_BYTES];
        match open.read_exact_at(&mut header, 0) {
            Ok(()) => Some((*generation, header)),
            Err(error) => {
                tracing::debug!(%error, "reading SQLite's WAL index failed");
                None
            }
        }
    }
}

/// What a manifest lookup names: a tag or a digest in a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ManifestKey {
    Digest { repository: String, digest: String },
    Tag { repository: String, tag: String },
}

/// A blob in a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey {
    pub repository: String,
    pub digest: String,
}

/// What a cached answer costs in memory, roughly.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for ManifestRecord {
    fn weight(&self) -> usize {
        self.content.len() + self.media_type.len() + self.digest.len()
    }
}

impl Weigh for u64 {
    fn weight(&self) -> usize {
        std::mem::size_of::<u64>()
    }
}

/// The caches of one database: they share its WAL index.
#[derive(Debug)]
pub struct ReadCaches {
    pub manifests: ReadCache<ManifestKey, ManifestRecord>,
    /// A blob's size, for each repository that holds it.
    pub blob_sizes: ReadCache<BlobKey, u64>,
}

impl ReadCaches {
    /// The caches for the SQLite database at `database`, which must already
    /// be open in WAL mode (so its `-shm` file exists). `None` when the WAL
    /// index cannot be read: the lookups then all go to the database.
    pub fn open(database: &Path) -> Option<Self> {
        let wal_index = match WalIndex::open(database) {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(
                    database = %database.display(),
                    %error,
                    "cannot read SQLite's WAL index; lookups will not be cached"
                );
                return None;
            }
        };
        let wal_index = std::sync::Arc::new(wal_index);
        let caches = Self {
            manifests: ReadCache::new(std::sync::Arc::clone(&wal_index), "manifest"),
            blob_sizes: ReadCache::new(wal_index, "blob"),
        };
        caches.manifests.version()?;
        Some(caches)
    }
}

/// Answers of one kind of lookup, valid while the database is unchanged.
#[derive(Debug)]
pub struct ReadCache<K, V> {
    wal_index: std::sync::Arc<WalIndex>,
    state: Mutex<State<K, V>>,
    /// `wkg_gateway_lookup_cache_total{lookup, result="hit"}` and `"miss"`.
    hits: Counter,
    misses: Counter,
}

#[derive(Debug)]
struct State<K, V> {
    version: Version,
    entries: HashMap<K, V>,
    bytes: usize,
}

impl<K: Eq + Hash, V: Clone + Weigh> ReadCache<K, V> {
    fn new(wal_index: std::sync::Arc<WalIndex>, lookup: &str) -> Self {
        Self {
            wal_index,
            state: Mutex::new(State {
                version: (0, [0; HEADER_BYTES]),
                entries: HashMap::new(),
                bytes: 0,
            }),
            hits: crate::metrics::global().lookup_cache(lookup, "hit"),
            misses: crate::metrics::global().lookup_cache(lookup, "miss"),
        }
    }

    /// The database's commit state now, or `None` if it cannot be read
    /// (then nothing is served from the cache).
    pub fn version(&self) -> Option<Version> {
        self.wal_index.version()
    }

    /// The cached answer for `key`, if the database has not changed since
    /// it was stored.
    pub fn get(&self, version: &Version, key: &K) -> Option<V> {
        let mut state = self.lock();
        if &state.version != version {
            state.entries.clear();
            state.bytes = 0;
            state.version = *version;
        }
        let found = state.entries.get(key).cloned();
        drop(state);
        match found {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        };
        found
    }

    /// Stores what a query answered, if the cache still belongs to the
    /// commit state read before that query.
    pub fn put(&self, version: &Version, key: K, value: &V) {
        let size = value.weight();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let mut state = self.lock();
        if &state.version != version {
            return;
        }
        if state.bytes + size > MAX_TOTAL_BYTES {
            state.entries.clear();
            state.bytes = 0;
        }
        if let Some(old) = state.entries.insert(key, value.clone()) {
            state.bytes -= old.weight();
        }
        state.bytes += size;
    }

    /// The cached answer for `key` if the database is unchanged, else the
    /// answer of `query`, kept for next time.
    pub async fn get_or_query<E>(
        &self,
        key: K,
        query: impl Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<V>, E> {
        let Some(version) = self.version() else {
            return query.await;
        };
        if let Some(hit) = self.get(&version, &key) {
            return Ok(Some(hit));
        }
        let found = query.await?;
        if let Some(value) = &found {
            self.put(&version, key, value);
        }
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        // A panic while holding the lock leaves plain data behind: usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content: &[u8]) -> ManifestRecord {
        ManifestRecord {
            digest: "sha256:00".into(),
            media_type: "application/json".into(),
            content: content.to_vec(),
        }
    }

    fn cache_on(dir: &Path) -> (ReadCaches, std::path::PathBuf) {
        let shm = dir.join("db.sqlite-shm");
        std::fs::write(&shm, [1u8; 64]).unwrap();
        (ReadCaches::open(&dir.join("db.sqlite")).unwrap(), shm)
    }

    fn tag(name: &str) -> ManifestKey {
        ManifestKey::Tag {
            repository: "team/app".into(),
            tag: name.into(),
        }
    }

    #[test]
    fn a_changed_wal_index_empties_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (caches, shm) = cache_on(dir.path());
        let cache = &caches.manifests;
        let before = cache.version().unwrap();
        assert!(cache.get(&before, &tag("v1")).is_none());
        cache.put(&before, tag("v1"), &record(b"one"));
        assert_eq!(cache.get(&before, &tag("v1")).unwrap().content, b"one");

        // Another process commits: the header changes.
        std::fs::write(&shm, [2u8; 64]).unwrap();
        let after = cache.version().unwrap();
        assert_ne!(before, after);
        assert!(cache.get(&after, &tag("v1")).is_none());
        // An answer read under the old state is not stored any more.
        cache.put(&before, tag("v1"), &record(b"stale"));
        assert!(cache.get(&after, &tag("v1")).is_none());
    }

    #[test]
    fn a_replaced_wal_index_empties_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (caches, shm) = cache_on(dir.path());
        let cache = &caches.manifests;
        let before = cache.version().unwrap();
        cache.get(&before, &tag("v1"));
        cache.put(&before, tag("v1"), &record(b"one"));
        // SQLite deletes the file with the last connection; a new
        // connection creates another, here with the very same bytes.
        std::fs::remove_file(&shm).unwrap();
        assert!(cache.version().is_none(), "no WAL index, no cache");
        std::fs::write(&shm, [1u8; 64]).unwrap();
        let after = cache.version().unwrap();
        assert_ne!(before, after);
        assert!(cache.get(&after, &tag("v1")).is_none());
        // And the new file is the one watched from now on.
        cache.put(&after, tag("v1"), &record(b"two"));
        assert_eq!(cache.version().unwrap(), after);
        std::fs::write(&shm, [3u8; 64]).unwrap();
        assert_ne!(cache.version().unwrap(), after);
    }

    #[test]
    fn sizes_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (caches, _) = cache_on(dir.path());
        let cache = &caches.manifests;
        let version = cache.version().unwrap();
        cache.get(&version, &tag("x"));
        cache.put(
            &version,
            tag("huge"),
            &record(&vec![0; MAX_ENTRY_BYTES + 1]),
        );
        assert!(cache.get(&version, &tag("huge")).is_none());
        let big = vec![0; MAX_ENTRY_BYTES - 100];
        for i in 0..(MAX_TOTAL_BYTES / big.len() + 5) {
            cache.put(&version, tag(&i.to_string()), &record(&big));
            assert!(cache.lock().bytes <= MAX_TOTAL_BYTES);
        }
    }

    #[test]
    fn without_a_wal_index_there_is_no_cache() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ReadCaches::open(&dir.path().join("absent.sqlite")).is_none());
    }
}

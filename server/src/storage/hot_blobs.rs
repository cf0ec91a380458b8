//! Small blobs that are read again and again, kept in memory.
//!
//! A registry serves the same few small blobs far more often than anything
//! else: configs, WIT packages, and the components a fleet of CI jobs pulls.
//! Reading them from the store each time costs a copy through user space
//! (local disk) or a round trip (S3); serving them from memory costs
//! neither. Blobs are content-addressed, so a cached copy can never be out
//! of date, and the handlers check that a repository holds a blob before
//! they read it, so the cache never widens what is visible.
//!
//! Bounded by `[storage] memory_cache` (bytes; 0 turns it off), evicting the
//! least recently used first. Only blobs up to [`MAX_ENTRY_BYTES`] are kept,
//! so one read never holds more than that in memory while it fills.

use std::sync::Mutex;

use bytes::Bytes;
use hashlink::LinkedHashMap;
use prometheus_client::metrics::counter::Counter;

use crate::digest::Digest;

/// The largest blob kept in memory.
pub const MAX_ENTRY_BYTES: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct HotBlobs {
    budget: u64,
    state: Mutex<State>,
    /// `wkg_gateway_blob_cache_total{result="hit"}` and `"miss"`.
    hits: Counter,
    misses: Counter,
}

#[derive(Debug, Default)]
struct State {
    /// Least recently used first.
    entries: LinkedHashMap<Digest, Bytes>,
    bytes: u64,
}

impl HotBlobs {
    /// A cache of at most `budget` bytes; `None` for 0.
    pub fn new(budget: u64) -> Option<Self> {
        (budget > 0).then(|| Self {
            budget,
            state: Mutex::default(),
            hits: crate::metrics::global().blob_cache("hit"),
            misses: crate::metrics::global().blob_cache("miss"),
        })
    }

    /// Whether a blob of `size` bytes is one this cache keeps.
    pub fn admits(&self, size: u64) -> bool {
        size <= MAX_ENTRY_BYTES.min(self.budget)
    }

    pub fn get(&self, digest: &Digest) -> Option<Bytes> {
        let found = self.lock().entries.to_back(digest).cloned();
        match found {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        };
        found
    }

    pub fn put(&self, digest: Digest, bytes: Bytes) {
        let size = bytes.len() as u64;
        if !self.admits(size) {
            return;
        }
        let mut state = self.lock();
        if let Some(old) = state.entries.insert(digest, bytes) {
            state.bytes -= old.len() as u64;
        }
        state.bytes += size;
        while state.bytes > self.budget {
            let Some((_, evicted)) = state.entries.pop_front() else {
                break;
            };
            state.bytes -= evicted.len() as u64;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain data: usable even after a panic elsewhere.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;

    fn blob(n: u8, size: usize) -> (Digest, Bytes) {
        let bytes = Bytes::from(vec![n; size]);
        (Digest::of(Algorithm::Sha256, &bytes), bytes)
    }

    #[test]
    fn keeps_the_most_recently_used_within_the_budget() {
        let cache = HotBlobs::new(3000).unwrap();
        let blobs: Vec<_> = (0..4).map(|n| blob(n, 1000)).collect();
        for (digest, bytes) in &blobs[..3] {
            cache.put(digest.clone(), bytes.clone());
        }
        // Touch the oldest, then add a fourth: the second goes.
        assert!(cache.get(&blobs[0].0).is_some());
        cache.put(blobs[3].0.clone(), blobs[3].1.clone());
        assert!(cache.get(&blobs[1].0).is_none());
        for i in [0, 2, 3] {
            assert_eq!(cache.get(&blobs[i].0).unwrap(), blobs[i].1);
        }
        assert_eq!(cache.lock().bytes, 3000);
    }

    #[test]
    fn large_blobs_and_a_zero_budget_are_not_cached() {
        assert!(HotBlobs::new(0).is_none());
        let cache = HotBlobs::new(64 * MAX_ENTRY_BYTES).unwrap();
        assert!(!cache.admits(MAX_ENTRY_BYTES + 1));
        let (digest, bytes) = blob(7, usize::try_from(MAX_ENTRY_BYTES).unwrap() + 1);
        cache.put(digest.clone(), bytes);
        assert!(cache.get(&digest).is_none());
        assert_eq!(cache.lock().bytes, 0);
    }
}

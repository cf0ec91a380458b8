//! Registry logic between HTTP and storage: how uploads become blobs and how
//! manifests are checked before they are stored.
//!
//! [`Registry`] holds the handles these operations use (the stores, the
//! upload limits, the per-process upload state), so a caller passes it
//! rather than the whole HTTP state. Failures are [`Error`]s, which the
//! HTTP layer maps to responses (`crate::error`).

pub mod content;
mod error;
pub mod manifests;
pub mod upload_limits;
pub mod uploads;

use std::sync::Arc;

use crate::config::UploadConfig;
use crate::db::Db;
use crate::storage::Storage;

pub use error::Error;

/// The local store of uploads and blobs; cheap to clone (every field is a
/// handle).
#[derive(Debug, Clone)]
pub struct Registry {
    pub db: Db,
    pub storage: Storage,
    /// `[uploads]`: session and body limits.
    limits: Arc<UploadConfig>,
    /// In-process fast path for upload hashing; never the source of truth.
    hashes: Arc<uploads::HashCache>,
    /// Permits for request bodies streamed into storage at once.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Registry {
    pub fn new(db: Db, storage: Storage, limits: &UploadConfig) -> Self {
        Self {
            db,
            storage,
            limits: Arc::new(limits.clone()),
            hashes: Arc::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent)),
        }
    }

    pub fn limits(&self) -> &UploadConfig {
        &self.limits
    }

    /// Upload bodies that may start streaming now.
    pub fn free_upload_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Drops the running hash of a session that is gone.
    pub fn forget_hash(&self, upload: uuid::Uuid) {
        self.hashes.forget(upload);
    }
}

//! Why a registry operation failed. The messages reach clients: each says
//! what happened and what to do next. `crate::error` gives each its status,
//! code and headers.

use std::time::Duration;

use uuid::Uuid;

use crate::digest::Digest;
use crate::names::RepoName;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} is not an upload id this registry issued")]
    NotAnUploadId(String),
    #[error(
        "upload {0} does not exist (it was finished, cancelled or expired); start a new upload"
    )]
    UploadUnknown(Uuid),
    /// A chunk that does not start where the session stands.
    #[error(
        "chunk starts at byte {start} but the upload has {committed} bytes; resume from byte \
         {committed} (GET the upload URL to check)"
    )]
    ChunkOutOfOrder {
        repo: RepoName,
        id: Uuid,
        committed: u64,
        start: u64,
    },
    #[error("Content-Range announced {announced} bytes but the body had {received}")]
    SizeMismatch { announced: u64, received: u64 },
    #[error(
        "the uploaded content has digest {computed}, not {expected}; nothing was stored, upload \
         again"
    )]
    DigestMismatch { expected: Digest, computed: Digest },
    #[error(
        "you have {open} upload sessions open, the most one client may hold \
         (uploads.max_sessions_per_client); finish (PUT) or cancel (DELETE) open uploads, or \
         let them expire after {}, then retry",
        humantime::format_duration(*max_age)
    )]
    TooManySessions { open: u64, max_age: Duration },
    #[error("the registry is receiving as many uploads as it is configured for; retry shortly")]
    UploadsBusy,
    #[error("manifest {reference} is not in repository {repo}")]
    ManifestUnknown { repo: RepoName, reference: String },
    #[error("blob {digest} is not in repository {repo}")]
    BlobUnknown { repo: RepoName, digest: Digest },
    #[error("repository {0} does not exist")]
    RepositoryUnknown(RepoName),
    /// The manifest is not one the registry accepts (`MANIFEST_INVALID`).
    #[error("{0}")]
    ManifestInvalid(String),
    /// What the database holds about a session does not add up: ours to fix.
    #[error("{0}")]
    Inconsistent(String),
    #[error(transparent)]
    Database(#[from] crate::db::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
}

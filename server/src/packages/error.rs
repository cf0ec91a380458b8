//! Why a package could not be validated or indexed. The messages reach
//! clients; `crate::error` gives each its status, code and headers.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not a Wasm package the registry accepts (`MANIFEST_INVALID`).
    #[error("{0}")]
    Invalid(String),
    /// The manifest names blobs or manifests its repository does not hold.
    /// The answer is the same whether or not another repository holds them.
    #[error(
        "the manifest refers to content not in repository {repository}: {}; push it first",
        missing.join(", ")
    )]
    ContentUnknown {
        repository: String,
        missing: Vec<String>,
    },
    /// The tag is a package version published with other Wasm content.
    #[error(
        "version {} of {repository} {} with Wasm content {} (manifest {}); published versions \
         are immutable, so it can only ever hold that content: publish a new version instead",
        conflict.version,
        if conflict.deleted { "was published and then deleted" } else { "is already published" },
        conflict.layer_digest,
        conflict.manifest_digest
    )]
    VersionTaken {
        repository: String,
        conflict: crate::db::VersionConflict,
    },
    /// Every validation slot is taken and the queue is full, during a push:
    /// nothing was stored for the manifest.
    #[error(
        "the registry is validating as many Wasm packages as it is configured for \
         (packages.max_concurrent_validations, packages.validation_queue); the manifest was not \
         stored (its blobs were): retry it shortly"
    )]
    ValidationBusy,
    /// The same while indexing what is already stored (the package API on
    /// a miss, a proxied pull): nothing is lost, the next request indexes it.
    #[error(
        "the registry is validating as many Wasm packages as it is configured for \
         (packages.max_concurrent_validations, packages.validation_queue), so this package \
         is not indexed yet: retry shortly"
    )]
    IndexingBusy,
    #[error(transparent)]
    Digest(#[from] crate::digest::DigestError),
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    #[error(transparent)]
    Database(#[from] crate::db::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
}

impl Error {
    /// Whether the refusal is only for now (no validation slot), not a
    /// verdict on the content.
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::ValidationBusy | Error::IndexingBusy)
    }
}

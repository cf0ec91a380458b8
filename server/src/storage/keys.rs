//! The storage key layout: every object the gateway writes is named here.
//!
//! ```text
//! blobs/<algorithm>/<first 2 hex>/<hex>      one content-addressed copy per digest,
//!                                            shared by every repository (which
//!                                            repository may read it is a database row)
//! uploads/<upload id>/<chunk id>             one durably accepted chunk of an upload
//!                                            session; the database row of the chunk
//!                                            says where in the blob it goes
//! uploads/<upload id>/assembly               the chunks being joined into the blob on
//!                                            local disk, renamed into blobs/ when done
//! ```
//!
//! Manifests are small and live in the database, next to the rows that make
//! them visible, so publishing one is a single transaction.

use object_store::path::Path;
use uuid::Uuid;

use crate::digest::Digest;

/// A key in the object store. Build keys only through this type.
#[derive(Debug, Clone, Copy)]
pub enum StorageKey<'a> {
    /// The content of a blob.
    Blob(&'a Digest),
    /// Everything staged for one upload session (a prefix).
    Upload(Uuid),
    /// One staged chunk of an upload session.
    UploadChunk { upload: Uuid, chunk: Uuid },
    /// Where the chunks of an upload session are joined (local disk).
    UploadAssembly(Uuid),
}

impl StorageKey<'_> {
    pub fn path(&self) -> Path {
        match self {
            StorageKey::Blob(digest) => Path::from(format!(
                "blobs/{}/{}/{}",
                digest.algorithm().name(),
                &digest.hex()[..2],
                digest.hex()
            )),
            StorageKey::Upload(upload) => Path::from(format!("uploads/{upload}")),
            StorageKey::UploadChunk { upload, chunk } => {
                Path::from(format!("uploads/{upload}/{chunk}"))
            }
            StorageKey::UploadAssembly(upload) => Path::from(format!("uploads/{upload}/assembly")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;

    #[test]
    fn layout() {
        let digest = Digest::of(Algorithm::Sha256, b"");
        assert_eq!(
            StorageKey::Blob(&digest).path().as_ref(),
            "blobs/sha256/e3/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let upload = Uuid::nil();
        assert_eq!(
            StorageKey::UploadChunk {
                upload,
                chunk: upload
            }
            .path()
            .as_ref(),
            format!("uploads/{upload}/{upload}")
        );
        assert_eq!(
            StorageKey::UploadAssembly(upload).path().as_ref(),
            format!("uploads/{upload}/assembly")
        );
    }
}

//! Blob storage on `object_store`: local disk by default.
//!
//! [`keys::StorageKey`] owns the layout; this module owns the I/O.

mod hot_blobs;
pub mod keys;
mod local;
pub mod writer;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::signer::Signer;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use url::Url;

use crate::config::{S3Config, StorageConfig};

pub use keys::StorageKey;
pub use writer::{ObjectWriter, Pumped, pump};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("storage backend failed: {0}")]
    Backend(object_store::Error),
    #[error("the request body sent nothing for {0:?}; the upload was abandoned")]
    BodyStalled(std::time::Duration),
    #[error("reading the request body failed: {0}")]
    Body(String),
}

impl From<object_store::Error> for Error {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { path, .. } => Error::NotFound(path),
            other => Error::Backend(other),
        }
    }
}

/// A readable object: its total size and a stream of the requested bytes.
pub struct ObjectRead {
    pub stream: BoxStream<'static, Result<Bytes, Error>>,
}

/// Handle to the blob store, cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Presigns URLs for stores that have them (S3), with the key prefix
    /// the store applies.
    signer: Option<(Arc<dyn Signer>, String)>,
    /// For local disk: the root directory, so reads can go straight to the
    /// file in large chunks (object_store's local reads use 8 KiB ones).
    local_root: Option<std::path::PathBuf>,
    /// Small blobs served from memory (`[storage] memory_cache`).
    hot_blobs: Option<Arc<hot_blobs::HotBlobs>>,
}

/// How long a presigned download URL stays valid.
const PRESIGNED_URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Storage {
    /// Opens the store named by `config.url`: `file:///abs/dir` (created
    /// when needed) or `s3://bucket[/prefix]`.
    pub fn open(config: &StorageConfig) -> Result<Self, Error> {
        let url = &config.url;
        let mut signer = None;
        let mut local_root = None;
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => {
                let dir = url.to_file_path().map_err(|()| {
                    Error::Backend(object_store::Error::Generic {
                        store: "local",
                        source: format!("{url} is not a local path").into(),
                    })
                })?;
                // Private, like everything under data_dir (see fs_mode).
                crate::fs_mode::create_dir_all(&dir).map_err(|e| {
                    Error::Backend(object_store::Error::Generic {
                        store: "local",
                        source: format!("cannot create {}: {e}", dir.display()).into(),
                    })
                })?;
                // An existing root another user owns keeps its mode.
                if let Err(error) = crate::fs_mode::restrict_dir(&dir) {
                    tracing::warn!(%error, dir = %dir.display(), "cannot make the blob store private");
                }
                local_root = Some(dir.clone());
                Arc::new(LocalFileSystem::new_with_prefix(&dir)?.with_automatic_cleanup(true))
            }
            "s3" => {
                let (s3, prefix) = s3_store(url, &config.s3)?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    s3.clone()
                } else {
                    Arc::new(PrefixStore::new(Arc::clone(&s3), prefix.as_str()))
                };
                signer = Some((s3 as Arc<dyn Signer>, prefix));
                store
            }
            other => {
                return Err(Error::Backend(object_store::Error::NotImplemented {
                    operation: format!("storage scheme {other}"),
                    implementer: "wkg-gateway".to_string(),
                }));
            }
        };
        Ok(Self {
            store,
            signer,
            local_root,
            hot_blobs: hot_blobs::HotBlobs::new(config.memory_cache).map(Arc::new),
        })
    }

    /// A time-limited URL that reads `key` straight from the store, when
    /// the store can presign (S3).
    pub async fn presigned_get(&self, key: StorageKey<'_>) -> Result<Option<Url>, Error> {
        let Some((signer, prefix)) = &self.signer else {
            return Ok(None);
        };
        let path = key.path();
        let full = if prefix.is_empty() {
            path
        } else {
            object_store::path::Path::from(format!("{prefix}/{path}"))
        };
        Ok(Some(
            signer
                .signed_url(
                    object_store::signer::Method::GET,
                    &full,
                    PRESIGNED_URL_LIFETIME,
                )
                .await?,
        ))
    }

    pub async fn exists(&self, key: StorageKey<'_>) -> Result<bool, Error> {
        match self.store.head(&key.path()).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams an object, or the byte range of it.
    pub async fn read(
        &self,
        key: StorageKey<'_>,
        range: Option<Range<u64>>,
    ) -> Result<ObjectRead, Error> {
        if let Some(root) = &self.local_root {
            return local::read(root.join(key.path().as_ref()), range).await;
        }
        let options = GetOptions::new().with_range(range.map(GetRange::Bounded));
        let result = self.store.get_opts(&key.path(), options).await?;
        Ok(ObjectRead {
            stream: result.into_stream().map(|r| r.map_err(Error::from)).boxed(),
        })
    }

    /// Streams (a range of) the blob `digest` of `size` bytes, from memory
    /// when it is small and was read before (see [`hot_blobs`]).
    pub async fn read_blob(
        &self,
        digest: &crate::digest::Digest,
        size: u64,
        range: Option<Range<u64>>,
    ) -> Result<ObjectRead, Error> {
        let key = StorageKey::Blob(digest);
        let Some(hot) = self.hot_blobs.as_ref().filter(|hot| hot.admits(size)) else {
            return self.read(key, range).await;
        };
        let whole = match hot.get(digest) {
            Some(bytes) => bytes,
            None => {
                let mut stream = self.read(key, None).await?.stream;
                let mut whole = bytes::BytesMut::with_capacity(usize::try_from(size).unwrap_or(0));
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    if (whole.len() + chunk.len()) as u64 > size {
                        return Err(size_mismatch(digest, size));
                    }
                    whole.extend_from_slice(&chunk);
                }
                if whole.len() as u64 != size {
                    return Err(size_mismatch(digest, size));
                }
                let whole = whole.freeze();
                hot.put(digest.clone(), whole.clone());
                whole
            }
        };
        let bytes = match range {
            Some(range) => whole.slice(
                usize::try_from(range.start)
                    .unwrap_or(usize::MAX)
                    .min(whole.len())
                    ..usize::try_from(range.end)
                        .unwrap_or(usize::MAX)
                        .min(whole.len()),
            ),
            None => whole,
        };
        Ok(ObjectRead {
            stream: futures::stream::once(async move { Ok(bytes) }).boxed(),
        })
    }

    /// Starts writing an object; see [`ObjectWriter`].
    pub async fn writer(&self, key: StorageKey<'_>) -> Result<ObjectWriter, Error> {
        let writer = ObjectWriter::new(self.store.put_multipart(&key.path()).await?);
        Ok(match &self.local_root {
            Some(root) => writer.private_under(root.clone(), key.path().as_ref().into()),
            None => writer,
        })
    }

    /// Writes the concatenation of `parts` as `target`, which appears only
    /// once complete. On local disk the kernel copies the files
    /// (`copy_file_range`) into `staging`, which is then renamed into place;
    /// elsewhere the parts stream through a multipart write.
    pub async fn concatenate(
        &self,
        parts: &[StorageKey<'_>],
        staging: StorageKey<'_>,
        target: StorageKey<'_>,
    ) -> Result<(), Error> {
        if let Some(root) = &self.local_root {
            let path = |key: &StorageKey<'_>| root.join(key.path().as_ref());
            return local::concatenate(
                parts.iter().map(path).collect(),
                path(&staging),
                path(&target),
            )
            .await;
        }
        let mut writer = self.writer(target).await?;
        if let Err(error) = self.write_parts(&mut writer, parts, |_| {}).await {
            writer.abort().await;
            return Err(error);
        }
        writer.commit().await
    }

    /// Streams the objects `parts`, in order, into `writer`, showing each
    /// piece to `observe` (a hasher, say). On error the caller aborts the
    /// writer.
    pub async fn write_parts(
        &self,
        writer: &mut ObjectWriter,
        parts: &[StorageKey<'_>],
        mut observe: impl FnMut(&Bytes),
    ) -> Result<(), Error> {
        for part in parts {
            let mut stream = self.read(*part, None).await?.stream;
            while let Some(bytes) = stream.next().await {
                let bytes = bytes?;
                observe(&bytes);
                writer.write(bytes).await?;
            }
        }
        Ok(())
    }

    /// Moves an object (atomic on local disk).
    pub async fn rename(&self, from: StorageKey<'_>, to: StorageKey<'_>) -> Result<(), Error> {
        self.store.rename(&from.path(), &to.path()).await?;
        if let Some(root) = &self.local_root {
            // object_store creates missing directories with the umask's mode.
            let relative = std::path::PathBuf::from(to.path().as_ref());
            local::restrict(root, &relative)?;
        }
        Ok(())
    }

    pub async fn delete(&self, key: StorageKey<'_>) -> Result<(), Error> {
        match self.store.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Keys of every object under a prefix key (for maintenance and checks).
    pub async fn list(&self, prefix: StorageKey<'_>) -> Result<Vec<String>, Error> {
        let prefix = prefix.path();
        let mut listing = self.store.list(Some(&prefix));
        let mut keys = Vec::new();
        while let Some(meta) = listing.next().await {
            keys.push(meta?.location.to_string());
        }
        Ok(keys)
    }

    /// Deletes every object under a prefix key.
    pub async fn delete_prefix(&self, prefix: StorageKey<'_>) -> Result<(), Error> {
        let prefix = prefix.path();
        let locations = self
            .store
            .list(Some(&prefix))
            .map(|meta| meta.map(|m| m.location))
            .boxed();
        let mut deleted = self.store.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// A stored blob whose length is not the size the database recorded.
fn size_mismatch(digest: &crate::digest::Digest, size: u64) -> Error {
    Error::Backend(object_store::Error::Generic {
        store: "blobs",
        source: format!("the stored blob {digest} is not the {size} bytes on record").into(),
    })
}

/// How the S3 client waits for a bucket that is down or stalled, so that
/// a request touching storage ends in a prompt 503 (`Retry-After`, see
/// `error.rs`) instead of hanging for minutes on object_store's defaults
/// (ten retries within three minutes, and a 30 s limit on a whole request,
/// which would also cut off a slow client's download of a large blob).
///
/// - A connection is attempted for at most [`S3_CONNECT_TIMEOUT`].
/// - A response that sends nothing for `storage.read_timeout` (30 s unless
///   configured) is stalled.
/// - No single request outlives [`S3_REQUEST_TIMEOUT`]: generous, since a
///   blob GET streams to the client at the client's pace.
/// - Failed requests that may be retried (refused connections, 5xx,
///   timeouts of safe requests) are retried [`S3_MAX_RETRIES`] times,
///   backing off from 100 ms to at most 1 s, and never after
///   [`S3_RETRY_WINDOW`]: a bucket that is gone stays gone for longer than
///   a request should wait, and the client retries on the 503 anyway.
///
/// Only the read timeout is configured (a slow S3-compatible service may
/// need more); the rest are fixed, and `AWS_*` variables cannot widen them.
const S3_CONNECT_TIMEOUT: &str = "5s";
const S3_REQUEST_TIMEOUT: &str = "10m";
const S3_MAX_RETRIES: usize = 3;
const S3_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

fn s3_retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: S3_MAX_RETRIES,
        retry_timeout: S3_RETRY_WINDOW,
    }
}

/// An S3 (or S3-compatible) bucket, optionally under a key prefix. Settings
/// not in the config come from the AWS environment (`AWS_*` variables);
/// timeouts and retries are [`S3_CONNECT_TIMEOUT`] and its companions.
fn s3_store(url: &Url, config: &S3Config) -> Result<(Arc<AmazonS3>, String), Error> {
    use object_store::ClientConfigKey;
    use object_store::aws::AmazonS3ConfigKey::Client;
    crate::install_crypto_provider();
    let bucket = url.host_str().unwrap_or_default();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_allow_http(config.allow_http)
        .with_config(Client(ClientConfigKey::ConnectTimeout), S3_CONNECT_TIMEOUT)
        .with_config(
            Client(ClientConfigKey::ReadTimeout),
            humantime::format_duration(config.read_timeout).to_string(),
        )
        .with_config(Client(ClientConfigKey::Timeout), S3_REQUEST_TIMEOUT)
        .with_retry(s3_retry());
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &config.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &config.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    Ok((
        Arc::new(builder.build()?),
        url.path().trim_matches('/').to_string(),
    ))
}

//! Streaming writes: bytes flow from the request body to the object store in
//! bounded parts, hashed on the way, and become visible only on commit.

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::WriteMultipart;

use super::Error;
use crate::digest::Hasher;

/// Parts buffered before upload; memory per write is about this times
/// [`MAX_PARTS_IN_FLIGHT`].
const PART_SIZE: usize = 8 * 1024 * 1024;
const MAX_PARTS_IN_FLIGHT: usize = 2;

/// An object being written. Nothing is visible until [`ObjectWriter::commit`].
#[derive(Debug)]
pub struct ObjectWriter {
    upload: WriteMultipart,
    written: u64,
    /// On local disk: the store's root and the object's path under it,
    /// made private once written (see `crate::fs_mode`).
    local: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl ObjectWriter {
    pub(super) fn new(upload: Box<dyn object_store::MultipartUpload>) -> Self {
        Self {
            upload: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
            written: 0,
            local: None,
        }
    }

    /// Makes the object `root/relative` private when committed.
    pub(super) fn private_under(
        mut self,
        root: std::path::PathBuf,
        relative: std::path::PathBuf,
    ) -> Self {
        self.local = Some((root, relative));
        self
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, bytes: Bytes) -> Result<(), Error> {
        self.upload.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
        self.written += bytes.len() as u64;
        self.upload.put(bytes);
        Ok(())
    }

    /// Makes the object visible under its key.
    pub async fn commit(self) -> Result<(), Error> {
        self.upload.finish().await?;
        if let Some((root, relative)) = &self.local {
            super::local::restrict(root, relative)?;
        }
        Ok(())
    }

    /// Discards everything written; failures are only logged, as there is
    /// nothing more the caller could do.
    pub async fn abort(self) {
        if let Err(error) = self.upload.abort().await {
            tracing::warn!(%error, "could not abort a staged write");
        }
    }
}

/// What [`pump`] saw go by.
#[derive(Debug)]
pub struct Pumped {
    pub size: u64,
    pub hashers: Vec<Hasher>,
}

/// Copies a byte stream into `writer`, feeding every hasher, giving up when
/// the stream is silent for `idle_timeout` or exceeds `max_size`. On error
/// the writer is aborted, so nothing half-written remains visible.
pub async fn pump<S, E>(
    mut stream: S,
    mut writer: ObjectWriter,
    mut hashers: Vec<Hasher>,
    idle_timeout: Duration,
) -> Result<(ObjectWriter, Pumped), Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    loop {
        let next = match tokio::time::timeout(idle_timeout, stream.next()).await {
            Ok(next) => next,
            Err(_) => {
                writer.abort().await;
                return Err(Error::BodyStalled(idle_timeout));
            }
        };
        match next {
            None => break,
            Some(Ok(bytes)) => {
                for hasher in &mut hashers {
                    hasher.update(&bytes);
                }
                if let Err(error) = writer.write(bytes).await {
                    writer.abort().await;
                    return Err(error);
                }
            }
            Some(Err(error)) => {
                writer.abort().await;
                return Err(Error::Body(error.to_string()));
            }
        }
    }
    let size = writer.written();
    Ok((writer, Pumped { size, hashers }))
}

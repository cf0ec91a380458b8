//! Local-disk fast paths: reading blobs, which the registry serves most,
//! and joining the chunks of an upload.
//!
//! object_store reads local files 8 KiB at a time, and `tokio::fs::File`
//! reads into its own buffer on the blocking pool and then copies into the
//! caller's: two copies in user space and a thread hand-off per read. Here
//! each read is one blocking-pool task that reads straight from the file
//! into the buffer that is then sent, and the first task also opens the
//! file: one copy in user space instead of two.
//! (`sendfile` would save that copy too, but hyper writes bodies from user
//! memory.)

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;

use super::{Error, ObjectRead};

/// The size of each read. Small enough that 64 concurrent downloads hold
/// little (about 64 × 2 × 256 KiB), large enough that the blocking-pool
/// hand-off per read stays cheap next to the copy. (Small, hot blobs are
/// served from memory anyway: see `hot_blobs`.)
const READ_SIZE: u64 = 256 * 1024;

/// An open file and how much of the requested bytes are still to be read.
struct Cursor {
    path: PathBuf,
    file: File,
    remaining: u64,
}

/// Streams (a range of) a local file.
pub(super) async fn read(path: PathBuf, range: Option<Range<u64>>) -> Result<ObjectRead, Error> {
    let first = blocking(move || {
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(path.display().to_string()));
            }
            Err(e) => return Err(local_error(&path, e)),
        };
        let remaining = match range {
            Some(range) => {
                file.seek(SeekFrom::Start(range.start))
                    .map_err(|e| local_error(&path, e))?;
                range.end.saturating_sub(range.start)
            }
            None => u64::MAX,
        };
        let mut cursor = Cursor {
            path,
            file,
            remaining,
        };
        let chunk = cursor.next_chunk(READ_SIZE)?;
        Ok((cursor, chunk))
    })
    .await?;

    // State: a chunk read but not yet sent, and the file while more is due.
    let (cursor, chunk) = first;
    let stream =
        futures::stream::unfold((Some(chunk), Some(cursor)), |(unsent, cursor)| async move {
            if let Some(chunk) = unsent {
                if chunk.is_empty() {
                    return None;
                }
                let cursor = cursor.filter(|c| c.remaining > 0);
                return Some((Ok(chunk), (None, cursor)));
            }
            let mut cursor = cursor?;
            let read = blocking(move || {
                let chunk = cursor.next_chunk(READ_SIZE)?;
                Ok((cursor, chunk))
            })
            .await;
            match read {
                Ok((_, chunk)) if chunk.is_empty() => None,
                Ok((cursor, chunk)) => {
                    Some((Ok(chunk), (None, (cursor.remaining > 0).then_some(cursor))))
                }
                Err(error) => Some((Err(error), (None, None))),
            }
        });
    Ok(ObjectRead {
        stream: stream.boxed(),
    })
}

impl Cursor {
    /// Reads up to `limit` bytes (fewer only at the end of the file) into a
    /// buffer of exactly that size, without zeroing it first.
    fn next_chunk(&mut self, limit: u64) -> Result<Bytes, Error> {
        let want = limit.min(self.remaining);
        let mut buffer = Vec::with_capacity(usize::try_from(want).unwrap_or(usize::MAX));
        let read = (&mut self.file)
            .take(want)
            .read_to_end(&mut buffer)
            .map_err(|e| local_error(&self.path, e))?;
        self.remaining -= read as u64;
        if (read as u64) < want {
            // End of file: nothing more will come.
            self.remaining = 0;
        }
        Ok(Bytes::from(buffer))
    }
}

/// Writes the concatenation of the files `parts` to `staging`, then renames
/// it to `target` (creating its directory). `std::io::copy` between files
/// is `copy_file_range` on Linux: the bytes never enter user space.
pub(super) async fn concatenate(
    parts: Vec<PathBuf>,
    staging: PathBuf,
    target: PathBuf,
) -> Result<(), Error> {
    blocking(move || {
        let joined = (|| {
            let mut out =
                crate::fs_mode::create_file(&staging).map_err(|e| local_error(&staging, e))?;
            for part in &parts {
                let mut input = File::open(part).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Error::NotFound(part.display().to_string()),
                    _ => local_error(part, e),
                })?;
                std::io::copy(&mut input, &mut out).map_err(|e| local_error(part, e))?;
            }
            if let Some(parent) = target.parent() {
                crate::fs_mode::create_dir_all(parent).map_err(|e| local_error(parent, e))?;
            }
            std::fs::rename(&staging, &target).map_err(|e| local_error(&target, e))
        })();
        if joined.is_err() {
            let _ = std::fs::remove_file(&staging);
        }
        joined
    })
    .await
}

/// Makes the object `root/relative` and the directories above it private
/// (see [`crate::fs_mode`]): object_store creates both with the umask's
/// mode.
pub(super) fn restrict(root: &Path, relative: &Path) -> Result<(), Error> {
    crate::fs_mode::restrict_under(root, relative).map_err(|e| local_error(&root.join(relative), e))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::Backend(object_store::Error::Generic {
            store: "local",
            source: format!("the read task failed: {e}").into(),
        })
    })?
}

fn local_error(path: &Path, error: std::io::Error) -> Error {
    Error::Backend(object_store::Error::Generic {
        store: "local",
        source: format!("{}: {error}", path.display()).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(path: PathBuf, range: Option<Range<u64>>) -> Vec<u8> {
        let read = read(path, range).await.unwrap();
        let chunks: Vec<Bytes> = read.stream.map(|c| c.unwrap()).collect().await;
        chunks.concat()
    }

    #[tokio::test]
    async fn reads_whole_files_and_ranges_of_every_size() {
        let dir = tempfile::tempdir().unwrap();
        for size in [
            0usize,
            1,
            4096,
            1024 * 1024,
            1024 * 1024 + 1,
            3 * 1024 * 1024 + 7,
        ] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("blob-{size}"));
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(collect(path.clone(), None).await, bytes, "size {size}");
            if size > 10 {
                let range = 3..(size as u64 - 2);
                assert_eq!(
                    collect(path.clone(), Some(range.clone())).await,
                    bytes[range.start as usize..range.end as usize],
                    "range of size {size}"
                );
            }
        }
    }

    #[tokio::test]
    async fn concatenation_joins_parts_in_order_and_cleans_up_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let parts: Vec<PathBuf> = (0..3u8)
            .map(|i| {
                let path = dir.path().join(format!("part-{i}"));
                std::fs::write(&path, vec![i; 100_000 + usize::from(i)]).unwrap();
                path
            })
            .collect();
        let staging = dir.path().join("staging");
        let target = dir.path().join("blobs/ab/target");
        concatenate(parts.clone(), staging.clone(), target.clone())
            .await
            .unwrap();
        let expected: Vec<u8> = (0..3u8)
            .flat_map(|i| vec![i; 100_000 + usize::from(i)])
            .collect();
        assert_eq!(std::fs::read(&target).unwrap(), expected);
        assert!(!staging.exists());

        let missing = vec![parts[0].clone(), dir.path().join("absent")];
        let other = dir.path().join("blobs/cd/other");
        let result = concatenate(missing, staging.clone(), other.clone()).await;
        assert!(matches!(result, Err(Error::NotFound(_))));
        assert!(!staging.exists() && !other.exists());
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let result = read(dir.path().join("absent"), None).await;
        assert!(matches!(result, Err(Error::NotFound(_))));
    }
}

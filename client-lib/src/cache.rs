//! The local content cache: downloaded package bytes, addressed by registry and digest.
//!
//! Layout under the cache root (default `$XDG_CACHE_HOME/wasm-pkg`, as upstream):
//!
//! ```text
//! blobs/<registry>/sha256/<hex>     package content (the Wasm layer), immutable
//! registries/<registry>.json        cached registry.json (see discovery)
//! index/<registry>/<ns>/<name>/<v>  which blob a version is, for --offline (see index.rs)
//! ```
//!
//! Keys include the registry because two registries may disagree about what a digest
//! holds only if one is broken, but a user asking registry A must never be served bytes
//! that only registry B vouched for. Entries appear atomically (temp file in the same
//! directory, then rename) and only after their digest was verified, so a crash or a
//! concurrent `wkg` can never leave a truncated or wrong file under a final name.

mod index;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use crate::error::{Error, Result};

/// A validated `sha256:<64 lowercase hex>` digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<hex>`; other algorithms are not used by Wasm packages.
    pub fn parse(text: &str) -> Option<Digest> {
        let hex = text.strip_prefix("sha256:")?;
        let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Digest(text.to_owned()))
    }

    /// The digest of finished hashing state.
    pub fn from_hasher(hasher: Sha256) -> Digest {
        Digest(format!("sha256:{}", hex::encode(hasher.finalize())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registry name as one safe path component: `127.0.0.1:5000` → `127.0.0.1%3A5000`.
///
/// Percent-encoding keeps distinct names distinct (a plain `:` → `_` would merge
/// `a:1` with `a_1`) and works on file systems that forbid `:`.
pub fn escape_registry(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "%2E");
    }
    out
}

/// The default cache root: `$XDG_CACHE_HOME/wasm-pkg`, else `$HOME/.cache/wasm-pkg`
/// (`$HOME/Library/Caches/wasm-pkg` on macOS, `%LOCALAPPDATA%\wasm-pkg` on Windows).
pub fn default_cache_dir() -> Result<PathBuf> {
    cache_dir(|key| std::env::var_os(key))
        .map(|dir| dir.join("wasm-pkg"))
        .ok_or(Error::NoCacheDir)
}

fn cache_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let absolute = |key: &str| env(key).map(PathBuf::from).filter(|p| p.is_absolute());
    if cfg!(windows) {
        absolute("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        absolute("HOME").map(|home| home.join("Library").join("Caches"))
    } else {
        absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))
    }
}

/// Writes a small file atomically: temp file beside it, then rename.
pub fn write_file_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    temp.write_all(contents)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The [`Error::Io`] action when [`copy_atomic`] finds `to` already there.
pub const REFUSED_OVERWRITE: &str = "refusing to overwrite";

/// Copies `from` to `to` atomically (temp file beside `to`, then rename).
///
/// Without `overwrite`, an existing `to` is an error, checked at the rename so a file
/// that appears meanwhile is not clobbered either.
pub fn copy_atomic(from: &Path, to: &Path, overwrite: bool) -> Result<()> {
    let dir = match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |action, path: &Path, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("could not create", &dir, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(&dir)
        .map_err(|e| io("could not write to", &dir, e))?;
    let mut source = std::fs::File::open(from).map_err(|e| io("could not read", from, e))?;
    std::io::copy(&mut source, temp.as_file_mut()).map_err(|e| io("could not write", to, e))?;
    if overwrite {
        temp.persist(to)
            .map_err(|e| io("could not write", to, e.error))?;
    } else {
        temp.persist_noclobber(to).map_err(|e| {
            let exists = e.error.kind() == std::io::ErrorKind::AlreadyExists;
            io(
                if exists {
                    REFUSED_OVERWRITE
                } else {
                    "could not write"
                },
                to,
                e.error,
            )
        })?;
    }
    Ok(())
}

/// The content cache rooted at one directory.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where registry.json documents are kept.
    pub fn registries_dir(&self) -> PathBuf {
        self.root.join("registries")
    }

    /// The final path of a blob, whether or not it exists.
    pub fn blob_path(&self, registry: &str, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(escape_registry(registry))
            .join("sha256")
            .join(digest.hex())
    }

    /// The cached blob, if present.
    pub fn get(&self, registry: &str, digest: &Digest) -> Option<PathBuf> {
        let path = self.blob_path(registry, digest);
        path.is_file().then_some(path)
    }

    /// Starts writing a blob; it becomes visible only through [`BlobWriter::commit`].
    pub async fn writer(&self, registry: &str, digest: &Digest) -> Result<BlobWriter> {
        BlobWriter::create(self.blob_path(registry, digest), digest).await
    }

    /// Removes a blob (e.g. one found corrupted); a missing blob is not an error.
    pub fn remove(&self, registry: &str, digest: &Digest) {
        let _ = std::fs::remove_file(self.blob_path(registry, digest));
    }
}

/// A blob being written into the cache, hashed as it goes.
pub struct BlobWriter {
    /// Deletes the partial file if the writer is dropped before `commit`.
    temp: tempfile::NamedTempFile,
    file: tokio::fs::File,
    hasher: Sha256,
    expected: Digest,
    path: PathBuf,
}

impl BlobWriter {
    /// A writer whose verified result lands at `path` (any path, not only in the cache).
    pub async fn create(path: PathBuf, digest: &Digest) -> Result<BlobWriter> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let io = |source| Error::Io {
            action: "could not write to the directory",
            path: dir.clone(),
            source,
        };
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let temp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(&dir)
            .map_err(io)?;
        let file = tokio::fs::File::from_std(temp.reopen().map_err(io)?);
        Ok(BlobWriter {
            temp,
            file,
            hasher: Sha256::new(),
            expected: digest.clone(),
            path,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(|source| Error::Io {
                action: "could not write to the cache file",
                path: self.temp.path().to_path_buf(),
                source,
            })
    }

    /// Verifies the digest and moves the file to its final name.
    pub async fn commit(mut self, what: &str) -> Result<PathBuf> {
        let io = |path: &Path, source| Error::Io {
            action: "could not finish the cache file",
            path: path.to_path_buf(),
            source,
        };
        self.file
            .flush()
            .await
            .map_err(|e| io(self.temp.path(), e))?;
        self.file
            .sync_all()
            .await
            .map_err(|e| io(self.temp.path(), e))?;
        let actual = Digest::from_hasher(self.hasher);
        if actual != self.expected {
            return Err(Error::DigestMismatch {
                what: what.to_owned(),
                expected: self.expected.to_string(),
                actual: actual.to_string(),
            });
        }
        self.temp
            .persist(&self.path)
            .map_err(|e| io(&self.path, e.error))?;
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(bytes: &[u8]) -> Digest {
        let mut hasher = Sha256::new();
        hasher.update(bytes);
        Digest::from_hasher(hasher)
    }

    #[test]
    fn digests_and_escaping() {
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(64))).is_some());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_none());
        assert!(Digest::parse("sha512:abc").is_none());
        assert_eq!(escape_registry("127.0.0.1:5000"), "127.0.0.1%3A5000");
        assert_eq!(escape_registry("[::1]:80"), "%5B%3A%3A1%5D%3A80");
        assert_ne!(escape_registry("a:1"), escape_registry("a_1"));
        assert_eq!(escape_registry(".."), "%2E.");
    }

    #[test]
    fn default_dir_follows_xdg() {
        if cfg!(windows) || cfg!(target_os = "macos") {
            return;
        }
        let env = |pairs: &'static [(&str, &str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            cache_dir(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(
            cache_dir(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache"))
        );
        assert_eq!(cache_dir(env(&[])), None);
    }

    #[tokio::test]
    async fn commit_verifies_and_is_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let digest = digest_of(b"hello");
        assert_eq!(cache.get("r:1", &digest), None);

        let mut writer = cache.writer("r:1", &digest).await.unwrap();
        writer.write(b"hel").await.unwrap();
        // Nothing is visible under the final name before the commit.
        assert_eq!(cache.get("r:1", &digest), None);
        writer.write(b"lo").await.unwrap();
        let path = writer.commit("test blob").await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(cache.get("r:1", &digest), Some(path));
        // Keyed by registry: another registry does not see it.
        assert_eq!(cache.get("r:2", &digest), None);

        let mut bad = cache.writer("r:2", &digest).await.unwrap();
        bad.write(b"HELLO").await.unwrap();
        let err = bad.commit("test blob").await.unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        assert_eq!(cache.get("r:2", &digest), None);
        let leftovers = std::fs::read_dir(cache.blob_path("r:2", &digest).parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "the partial file is removed");
    }
}

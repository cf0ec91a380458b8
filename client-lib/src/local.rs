//! The local-directory backend: `[registry."<name>".local] root = "<dir>"`.
//!
//! Packages are plain files at `<root>/<namespace>/<name>/<version>.wasm`, the layout the
//! issue and upstream's local backend use, so a directory can be shared between tools and
//! inspected by hand. It exists for development and tests: no network, no metadata beyond
//! the file name. Files whose stem is not a semver version are ignored, as non-semver tags
//! are over OCI. Publishing never replaces a file (versions are immutable here too).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::cache::{Digest, copy_atomic};
use crate::error::{Error, Result};
use crate::package::PackageRef;

/// A package directory tree on the local file system.
#[derive(Clone, Debug)]
pub struct LocalRegistry {
    root: PathBuf,
}

impl LocalRegistry {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalRegistry { root: root.into() }
    }

    fn package_dir(&self, package: &PackageRef) -> PathBuf {
        self.root
            .join(package.namespace().as_str())
            .join(package.name().as_str())
    }

    /// Where a version lives, whether or not it exists.
    pub fn version_path(&self, package: &PackageRef, version: &semver::Version) -> PathBuf {
        self.package_dir(package).join(format!("{version}.wasm"))
    }

    /// Versions present, ascending; `None` when the package has no directory.
    pub fn list_versions(&self, package: &PackageRef) -> Result<Option<Vec<semver::Version>>> {
        let dir = self.package_dir(package);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    action: "could not list",
                    path: dir,
                    source,
                });
            }
        };
        let mut versions: Vec<semver::Version> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let stem = name.to_str()?.strip_suffix(".wasm")?;
                semver::Version::parse(stem).ok()
            })
            .collect();
        versions.sort();
        Ok(Some(versions))
    }

    /// The file of a version and its digest; `None` when it does not exist.
    pub fn get(
        &self,
        package: &PackageRef,
        version: &semver::Version,
    ) -> Result<Option<(PathBuf, Digest)>> {
        let path = self.version_path(package, version);
        match digest_file(&path) {
            Ok(digest) => Ok(Some((path, digest))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                action: "could not read",
                path,
                source,
            }),
        }
    }

    /// Copies `file` in as `version`; an existing version is left alone and reported.
    pub fn publish(
        &self,
        package: &PackageRef,
        version: &semver::Version,
        file: &Path,
        registry: &str,
    ) -> Result<PathBuf> {
        let target = self.version_path(package, version);
        if target.exists() {
            return Err(Error::VersionExists {
                package: package.clone(),
                version: version.clone(),
                registry: registry.to_owned(),
            });
        }
        // `copy_atomic` without overwrite also refuses a file that appears meanwhile.
        copy_atomic(file, &target, false)?;
        Ok(target)
    }
}

/// sha256 of a file, streamed.
pub(crate) fn digest_file(path: &Path) -> std::io::Result<Digest> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(Digest::from_hasher(hasher))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_listing_and_immutability() {
        let dir = tempfile::tempdir().unwrap();
        let registry = LocalRegistry::new(dir.path().join("root"));
        let package: PackageRef = "acme:thing".parse().unwrap();
        assert_eq!(registry.list_versions(&package).unwrap(), None);

        let source = dir.path().join("in.wasm");
        std::fs::write(&source, b"\0asm-one").unwrap();
        let v1 = semver::Version::new(1, 0, 0);
        let path = registry.publish(&package, &v1, &source, "local").unwrap();
        assert_eq!(path, dir.path().join("root/acme/thing/1.0.0.wasm"));
        std::fs::write(path.with_file_name("notes.txt"), b"ignored").unwrap();
        std::fs::write(path.with_file_name("latest.wasm"), b"ignored").unwrap();
        assert_eq!(
            registry.list_versions(&package).unwrap(),
            Some(vec![v1.clone()])
        );

        let (found, digest) = registry.get(&package, &v1).unwrap().unwrap();
        assert_eq!(found, path);
        let mut hasher = Sha256::new();
        hasher.update(b"\0asm-one");
        assert_eq!(digest, Digest::from_hasher(hasher));
        assert!(
            registry
                .get(&package, &semver::Version::new(2, 0, 0))
                .unwrap()
                .is_none()
        );

        std::fs::write(&source, b"\0asm-two").unwrap();
        let err = registry
            .publish(&package, &v1, &source, "local")
            .unwrap_err();
        assert!(matches!(err, Error::VersionExists { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"\0asm-one");
    }
}

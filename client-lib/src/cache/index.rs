//! Which content a registry served for a package version, remembered for `--offline`.
//!
//! Blobs are addressed by digest, so without the network nothing says which blob is
//! `acme:thing@1.0.0`. After every successful online fetch the answer is recorded here:
//!
//! ```text
//! index/<registry>/<namespace>/<name>/<version>    "<oci host> <digest>\n"
//! ```
//!
//! keyed by the wkg registry name the package resolved to (what `--offline` knows without
//! discovery), pointing at the OCI host and digest the blob is cached under. Entries are
//! written atomically and only ever describe content that was digest-verified.

use std::path::PathBuf;

use super::{Cache, Digest, escape_registry, write_file_atomic};
use crate::package::PackageRef;

impl Cache {
    fn index_dir(&self, registry: &str, package: &PackageRef) -> PathBuf {
        self.root()
            .join("index")
            .join(escape_registry(registry))
            .join(package.namespace().as_str())
            .join(package.name().as_str())
    }

    /// Records that `registry` served `digest` (cached under `host`) for the version.
    /// Best effort: a failure only costs offline availability.
    pub fn record_version(
        &self,
        registry: &str,
        package: &PackageRef,
        version: &semver::Version,
        host: &str,
        digest: &Digest,
    ) {
        let path = self.index_dir(registry, package).join(version.to_string());
        let _ = write_file_atomic(&path, format!("{host} {digest}\n").as_bytes());
    }

    /// The OCI host and digest recorded for a version, if its blob is still cached.
    pub fn recorded_version(
        &self,
        registry: &str,
        package: &PackageRef,
        version: &semver::Version,
    ) -> Option<(String, Digest, PathBuf)> {
        let path = self.index_dir(registry, package).join(version.to_string());
        let text = std::fs::read_to_string(path).ok()?;
        let (host, digest) = text.trim_end().split_once(' ')?;
        let digest = Digest::parse(digest)?;
        let blob = self.get(host, &digest)?;
        Some((host.to_owned(), digest, blob))
    }

    /// Versions recorded for a package, ascending.
    pub fn recorded_versions(&self, registry: &str, package: &PackageRef) -> Vec<semver::Version> {
        let mut versions: Vec<semver::Version> =
            std::fs::read_dir(self.index_dir(registry, package))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| semver::Version::parse(entry.file_name().to_str()?).ok())
                .collect();
        versions.sort();
        versions
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;

    #[tokio::test]
    async fn records_point_at_cached_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let package: PackageRef = "acme:thing".parse().unwrap();
        let v1 = semver::Version::new(1, 0, 0);
        let mut hasher = Sha256::new();
        hasher.update(b"content");
        let digest = Digest::from_hasher(hasher);

        cache.record_version("reg", &package, &v1, "oci.host:1", &digest);
        // Recorded, but the blob is not cached: not available offline.
        assert_eq!(cache.recorded_version("reg", &package, &v1), None);
        assert_eq!(cache.recorded_versions("reg", &package), vec![v1.clone()]);

        let mut writer = cache.writer("oci.host:1", &digest).await.unwrap();
        writer.write(b"content").await.unwrap();
        let blob = writer.commit("test").await.unwrap();
        let (host, found, path) = cache.recorded_version("reg", &package, &v1).unwrap();
        assert_eq!(
            (host.as_str(), &found, &path),
            ("oci.host:1", &digest, &blob)
        );
        // Keyed by registry name.
        assert!(cache.recorded_versions("other", &package).is_empty());
    }
}

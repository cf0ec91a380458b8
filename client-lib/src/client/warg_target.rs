//! The Warg side of the package client: versions from the verified package log, content
//! downloaded by `warg-client` (checked against the log's digest) and copied into the
//! content cache, keyed by the Warg registry's URL.

use std::path::PathBuf;

use tokio::io::AsyncReadExt as _;

use crate::cache::{Cache, Digest};
use crate::error::{Error, Result};
use crate::package::PackageRef;
use crate::progress::Reporter;
use crate::warg::WargClient;

/// A package on a Warg registry.
pub(super) struct WargTarget {
    pub(super) client: WargClient,
    /// The registry's URL, which also keys its content in the cache.
    pub(super) url: String,
}

impl WargTarget {
    /// Released (not yanked) versions, ascending; `None` when the package does not exist.
    pub(super) async fn versions(
        &self,
        package: &PackageRef,
    ) -> Result<Option<Vec<semver::Version>>> {
        Ok(self
            .client
            .releases(package.namespace().as_str(), package.name().as_str())
            .await?
            .map(|releases| releases.into_iter().map(|r| r.version).collect()))
    }

    /// The content of `version` in the cache (downloading it if needed), its digest, and
    /// whether the cache already had it; `None` when the version does not exist.
    pub(super) async fn get(
        &self,
        package: &PackageRef,
        version: &semver::Version,
        cache: &Cache,
        reporter: &dyn Reporter,
    ) -> Result<Option<(PathBuf, Digest, bool)>> {
        let (namespace, name) = (package.namespace().as_str(), package.name().as_str());
        let Some(releases) = self.client.releases(namespace, name).await? else {
            return Ok(None);
        };
        let Some(release) = releases.into_iter().find(|r| &r.version == version) else {
            return Ok(None);
        };
        let digest = Digest::parse(&release.digest).ok_or_else(|| Error::Registry {
            registry: self.url.clone(),
            message: format!(
                "{package}@{version} has content digest {}; only sha256 is supported",
                release.digest
            ),
            source: None,
        })?;
        if let Some(path) = cache.get(&self.url, &digest) {
            return Ok(Some((path, digest, true)));
        }
        let mut progress = reporter.start(&format!("{package}@{version}"), None);
        let downloaded = self.client.download(namespace, name, version).await?;
        let copied = self
            .copy_into_cache(&downloaded, &digest, cache, &mut *progress)
            .await;
        self.client.forget_content(&downloaded);
        progress.finish();
        Ok(Some((copied?, digest, false)))
    }

    /// Streams warg-client's download into the content cache, which checks the digest.
    async fn copy_into_cache(
        &self,
        from: &std::path::Path,
        digest: &Digest,
        cache: &Cache,
        progress: &mut dyn crate::progress::Transfer,
    ) -> Result<PathBuf> {
        let io = |source| Error::Io {
            action: "could not read the Warg download",
            path: from.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(from).await.map_err(io)?;
        let mut writer = cache.writer(&self.url, digest).await?;
        let mut buffer = vec![0; 256 * 1024];
        loop {
            let read = file.read(&mut buffer).await.map_err(io)?;
            if read == 0 {
                break;
            }
            writer.write(&buffer[..read]).await?;
            progress.advance(read as u64);
        }
        writer.commit(&format!("{} ({digest})", self.url)).await
    }
}

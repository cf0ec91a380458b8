//! The proxy as a decorator of the local store: [`Proxied`] serves a
//! repository of a namespace with an `[[upstream]]` by asking the local
//! [`Registry`] first and its upstream only for what is missing (or, for
//! tags, stale). [`RepoContent`] is what the OCI handlers read through,
//! one or the other as [`Proxy::content`] decides, so no handler knows
//! whether a repository is proxied.

use std::sync::Arc;

use super::flight::BlobFetch;
use super::{Error, Proxy, Upstream};
use crate::db::ManifestRecord;
use crate::digest::Digest;
use crate::metrics::global;
use crate::names::{Reference, RepoName};
use crate::registry::Registry;
use crate::registry::content::{Blob, Content, Served, Want};

/// A repository's content, local or proxied.
pub enum RepoContent<'a> {
    Local(&'a Registry),
    Proxied(Proxied<'a>),
}

impl Proxy {
    /// What serves `repo`: its upstream's proxy when its namespace has
    /// one, otherwise the local store alone.
    pub fn content(&self, repo: &RepoName) -> RepoContent<'_> {
        match self.upstream_for(repo.as_str()) {
            Some(upstream) => RepoContent::Proxied(Proxied {
                proxy: self,
                upstream,
            }),
            None => RepoContent::Local(&self.registry),
        }
    }
}

impl Content for RepoContent<'_> {
    type Error = Error;

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Served<ManifestRecord>, Error> {
        match self {
            RepoContent::Local(registry) => {
                Ok(Content::manifest(*registry, repo, reference).await?)
            }
            RepoContent::Proxied(proxied) => proxied.manifest(repo, reference).await,
        }
    }

    async fn tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Served<Vec<String>>, Error> {
        match self {
            RepoContent::Local(registry) => Ok(Content::tags(*registry, repo, last, limit).await?),
            RepoContent::Proxied(proxied) => proxied.tags(repo, last, limit).await,
        }
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest, want: Want) -> Result<Blob, Error> {
        match self {
            RepoContent::Local(registry) => Ok(Content::blob(*registry, repo, digest, want).await?),
            RepoContent::Proxied(proxied) => proxied.blob(repo, digest, want).await,
        }
    }
}

/// A repository proxied from `upstream`, cached in the proxy's registry.
pub struct Proxied<'a> {
    proxy: &'a Proxy,
    upstream: &'a Arc<Upstream>,
}

impl Proxied<'_> {
    fn upstream_name(&self) -> String {
        self.upstream.name().to_string()
    }

    fn blob_unknown(&self, repo: &RepoName, digest: &Digest) -> Error {
        Error::BlobUnknown {
            repo: repo.clone(),
            digest: digest.clone(),
            upstream: self.upstream_name(),
        }
    }

    /// Waits until the blob is stored here, downloading it if needed, then
    /// reads its size as the local store serves it.
    async fn stored_size(&self, repo: &RepoName, digest: &Digest) -> Result<u64, Error> {
        let stored = self
            .proxy
            .fetch_blob_to_store(self.upstream, repo.as_str(), digest)
            .await?;
        if !stored {
            return Err(self.blob_unknown(repo, digest));
        }
        match Content::blob(&self.proxy.registry, repo, digest, Want::Stored).await {
            Ok(Blob::Stored(size)) => Ok(size),
            Ok(Blob::Streaming { .. }) | Err(crate::registry::Error::BlobUnknown { .. }) => {
                Err(self.blob_unknown(repo, digest))
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Content for Proxied<'_> {
    type Error = Error;

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Served<ManifestRecord>, Error> {
        let served = super::manifests::resolve(self.proxy, self.upstream, repo, reference).await?;
        served.ok_or_else(|| Error::ManifestUnknown {
            repo: repo.clone(),
            reference: reference.to_string(),
            upstream: self.upstream_name(),
        })
    }

    /// The cached and the upstream's tags merged, then paged.
    async fn tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Served<Vec<String>>, Error> {
        let Some(all) = super::tags::merged(self.proxy, self.upstream, repo).await? else {
            return Err(Error::RepositoryUnknown {
                repo: repo.clone(),
                upstream: self.upstream_name(),
            });
        };
        let value = all
            .value
            .into_iter()
            .filter(|tag| last.is_none_or(|last| tag.as_str() > last))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        Ok(Served {
            value,
            stale: all.stale,
        })
    }

    /// A cached blob, or the upstream's. A whole one (`Want::Bytes`)
    /// streams as it arrives; a size (`Want::Size`) is the upstream's
    /// announced length when it sends one; otherwise the blob is served
    /// once it is stored. Cache hits are counted for reads (`GET`) only,
    /// as clients `HEAD` what they are about to `GET`; misses always.
    async fn blob(&self, repo: &RepoName, digest: &Digest, want: Want) -> Result<Blob, Error> {
        let metrics = global();
        match Content::blob(&self.proxy.registry, repo, digest, want).await {
            Ok(found) => {
                if want != Want::Size {
                    metrics.upstream_cache(self.upstream.name(), "blob", "hit");
                }
                return Ok(found);
            }
            Err(crate::registry::Error::BlobUnknown { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        metrics.upstream_cache(self.upstream.name(), "blob", "miss");
        if want != Want::Stored {
            let fetch = self
                .proxy
                .fetch_blob(self.upstream, repo.as_str(), digest)
                .await?;
            match fetch {
                BlobFetch::Streaming { length, body }
                    if want == Want::Bytes || length.is_some() =>
                {
                    return Ok(Blob::Streaming { length, body });
                }
                BlobFetch::Missing => return Err(self.blob_unknown(repo, digest)),
                BlobFetch::Streaming { .. } | BlobFetch::Local => {}
            }
        }
        Ok(Blob::Stored(self.stored_size(repo, digest).await?))
    }
}

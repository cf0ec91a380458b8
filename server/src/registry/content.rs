//! Reads of a repository's manifests, tags and blobs: the one interface
//! the OCI handlers read through. [`Registry`] implements it from the
//! local store; `proxy::Proxied` wraps it for namespaces with an
//! `[[upstream]]`, asking the upstream only for what the local store
//! lacks (or, for tags, holds stale), as a proxying blob store wraps a
//! local one. Which of the two serves a repository is decided in one
//! place, `proxy::Proxy::content`.

use std::future::Future;

use bytes::Bytes;
use futures::stream::BoxStream;

use super::{Error, Registry};
use crate::db::ManifestRecord;
use crate::digest::Digest;
use crate::names::{Reference, RepoName};

/// An answer, and whether it may be out of date: the text of a `Warning`
/// header when a cached answer is served because the upstream could not
/// be asked.
#[derive(Debug)]
pub struct Served<T> {
    pub value: T,
    pub stale: Option<String>,
}

impl<T> Served<T> {
    pub fn fresh(value: T) -> Self {
        Self { value, stale: None }
    }
}

/// How much of a blob a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Its size (`HEAD`): an announced length will do.
    Size,
    /// Its bytes from the start (`GET`): they may stream as they arrive.
    Bytes,
    /// The blob stored here (a range, a redirect).
    Stored,
}

/// Where a blob's bytes come from.
pub enum Blob {
    /// Stored here, with its size.
    Stored(u64),
    /// Arriving from elsewhere; `length` when announced.
    Streaming {
        length: Option<u64>,
        body: BoxStream<'static, std::io::Result<Bytes>>,
    },
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blob::Stored(size) => f.debug_tuple("Stored").field(size).finish(),
            Blob::Streaming { length, .. } => f
                .debug_struct("Streaming")
                .field("length", length)
                .finish_non_exhaustive(),
        }
    }
}

/// The reads a repository serves. Each implementation words its own
/// "not found" (a proxied one names its upstream).
pub trait Content: Sync {
    type Error: From<Error> + Send;

    /// The manifest `reference` names.
    fn manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> impl Future<Output = Result<Served<ManifestRecord>, Self::Error>> + Send;

    /// Up to `limit` tags after `last`, sorted.
    fn tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Served<Vec<String>>, Self::Error>> + Send;

    /// The blob `digest` of `repo`, as far as `want` needs it.
    fn blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        want: Want,
    ) -> impl Future<Output = Result<Blob, Self::Error>> + Send;
}

impl Content for Registry {
    type Error = Error;

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Served<ManifestRecord>, Error> {
        match super::manifests::stored(&self.db, repo.as_str(), reference).await? {
            Some(record) => Ok(Served::fresh(record)),
            None => Err(Error::ManifestUnknown {
                repo: repo.clone(),
                reference: reference.to_string(),
            }),
        }
    }

    async fn tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Served<Vec<String>>, Error> {
        if !self.db.repository_exists(repo.as_str()).await? {
            return Err(Error::RepositoryUnknown(repo.clone()));
        }
        let tags = self.db.list_tags(repo.as_str(), last, limit).await?;
        Ok(Served::fresh(tags))
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest, _want: Want) -> Result<Blob, Error> {
        match self
            .db
            .blob_size_in(repo.as_str(), &digest.to_string())
            .await?
        {
            Some(size) => Ok(Blob::Stored(size)),
            None => Err(Error::BlobUnknown {
                repo: repo.clone(),
                digest: digest.clone(),
            }),
        }
    }
}

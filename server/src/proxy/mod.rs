//! Pull-through cache: namespaces named in `[[upstream]]` entries are served
//! from another registry and cached here, through the client library the
//! `wkg` CLI uses.
//!
//! The proxy decorates the local store rather than replacing it: every
//! handler looks locally first and only asks the [`Upstream`] for what is
//! missing (or, for tags, stale). What it fetches is verified and stored like
//! a push, so it is indexed, listed and served like local content.
//!
//! - Manifests: by digest, served locally once cached, never re-asked. By
//!   tag, re-checked with the upstream once `tag_ttl` has passed since the
//!   last check ([`manifests`]). A cached semver tag is a package version:
//!   if the upstream re-points it, the gateway keeps serving what it cached,
//!   logs it and counts it (`wkg_gateway_upstream_version_conflicts`).
//! - Blobs: one download per blob however many clients ask at once, served
//!   to all of them while it streams ([`flight`]); committed only when the
//!   digest checks out.
//! - Failures: an upstream that is unreachable or too slow is left alone for
//!   [`REST_AFTER_FAILURE`]; meanwhile, and whenever the upstream fails,
//!   cached content is served (stale tags with a `Warning` header) and
//!   anything uncached fails with a 502, 503 or 504 naming the upstream.
//!
//! - Warg upstreams: releases read from the verified package log are
//!   presented as Wasm OCI artifacts the gateway synthesizes ([`warg`]).
//!
//! Tag checks are recorded in the database (`upstream_tags`), so replicas
//! share them; downloads in flight are per process, so two replicas may
//! fetch the same blob once each.

mod content;
pub mod discover;
pub mod flight;
pub mod manifests;
pub mod tags;
mod upstream;
pub mod warg;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::names::RepoName;
use crate::packages::Packages;
use crate::registry::Registry;

pub use content::{Proxied, RepoContent};
pub use upstream::Upstream;

/// How long an upstream that failed is left alone before it is asked again.
pub const REST_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Why the upstream could not help. Messages name the upstream and say what
/// happened; they reach clients.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream registry {upstream} is unreachable ({detail}); try again later")]
    Unreachable { upstream: String, detail: String },
    #[error("upstream registry {upstream} did not answer within {timeout:?}; try again later")]
    Timeout { upstream: String, timeout: Duration },
    #[error(
        "upstream registry {upstream} failed recently and is rested until {retry_in:?} from now; \
         try again then"
    )]
    Resting {
        upstream: String,
        retry_in: Duration,
    },
    #[error(
        "upstream registry {upstream} refused the gateway's credentials ({detail}); an \
         administrator must fix `auth` of its [[upstream]] entry"
    )]
    Refused { upstream: String, detail: String },
    #[error("upstream registry {upstream} failed: {detail}")]
    Failed { upstream: String, detail: String },
    #[error(
        "upstream registry {upstream} sent {what} that does not match its digest; nothing was \
         cached"
    )]
    Corrupt { upstream: String, what: String },
    #[error(
        "the download from upstream registry {upstream} broke off ({detail}); nothing was cached, try again"
    )]
    BrokenOff { upstream: String, detail: String },
    /// Our own storage or database failed while caching.
    #[error("caching failed: {0}")]
    Local(String),
}

impl UpstreamError {
    /// Whether the upstream looks down or overloaded, so that asking it
    /// again at once would only make clients wait: it is then rested for
    /// [`REST_AFTER_FAILURE`]. Refusals and bad content are answers, not
    /// outages.
    pub fn rests_upstream(&self) -> bool {
        matches!(
            self,
            UpstreamError::Unreachable { .. } | UpstreamError::Timeout { .. }
        )
    }
}

/// Why a proxied read failed: the upstream could not help, or caching what
/// it sent failed here. `crate::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    #[error(transparent)]
    Packages(#[from] crate::packages::Error),
    #[error(transparent)]
    Database(#[from] crate::db::Error),
    #[error(
        "manifest {reference} is neither cached in repository {repo} nor at upstream registry \
         {upstream}"
    )]
    ManifestUnknown {
        repo: RepoName,
        reference: String,
        upstream: String,
    },
    #[error(
        "blob {digest} is neither cached in repository {repo} nor at upstream registry {upstream}"
    )]
    BlobUnknown {
        repo: RepoName,
        digest: crate::digest::Digest,
        upstream: String,
    },
    #[error("repository {repo} is neither cached here nor known to upstream registry {upstream}")]
    RepositoryUnknown { repo: RepoName, upstream: String },
    /// A push into a namespace mirrored from an upstream.
    #[error(
        "repository {repository} is in a namespace this gateway mirrors from upstream registry \
         {upstream}; publish it under another namespace, or ask an administrator to set \
         allow_push = true on that [[upstream]] entry"
    )]
    PushDenied {
        repository: RepoName,
        upstream: String,
    },
}

/// Every configured upstream, in order of precedence, and which
/// namespaces each serves.
#[derive(Debug, Clone)]
pub struct Upstreams {
    upstreams: Arc<[Arc<Upstream>]>,
    /// The local `namespace_prefix`, stripped before matching namespaces.
    prefix: Arc<str>,
}

impl Upstreams {
    pub fn new(config: &Config) -> Self {
        let prefix = config.registry.namespace_prefix.clone();
        Self {
            upstreams: config
                .upstreams
                .iter()
                .map(|entry| Arc::new(Upstream::new(entry.clone(), prefix.clone())))
                .collect(),
            prefix: prefix.into(),
        }
    }

    /// The upstream that serves `repository`'s namespace, if any.
    pub fn upstream_for(&self, repository: &str) -> Option<&Arc<Upstream>> {
        let rest = repository.strip_prefix(&*self.prefix)?;
        let (namespace, _) = rest.split_once('/')?;
        self.upstreams.iter().find(|u| u.config.serves(namespace))
    }

    /// Refuses a push into a proxied namespace, unless its entry allows pushes.
    pub fn check_push(&self, repository: &RepoName) -> Result<(), Error> {
        match self.upstream_for(repository.as_str()) {
            Some(upstream) if !upstream.config.allow_push => Err(Error::PushDenied {
                repository: repository.clone(),
                upstream: upstream.config.name.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// The pull-through cache: the upstreams, the downloads in flight, and the
/// local stores cached content goes into. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Proxy {
    upstreams: Upstreams,
    flights: flight::Flights,
    /// Where fetched blobs and manifests are stored, as pushes are.
    registry: Registry,
    /// Where fetched packages are validated and indexed.
    packages: Packages,
}

impl Proxy {
    pub fn new(config: &Config, registry: Registry, packages: Packages) -> Self {
        Self {
            upstreams: Upstreams::new(config),
            flights: flight::Flights::default(),
            registry,
            packages,
        }
    }

    /// The upstream that serves `repository`'s namespace, if any.
    pub fn upstream_for(&self, repository: &str) -> Option<&Arc<Upstream>> {
        self.upstreams.upstream_for(repository)
    }

    /// Refuses a push into a proxied namespace, unless its entry allows pushes.
    pub fn check_push(&self, repository: &RepoName) -> Result<(), Error> {
        self.upstreams.check_push(repository)
    }

    /// Joins (or starts) the download of a blob of `repository` from
    /// `upstream` and waits for its first bytes ([`flight`]).
    pub async fn fetch_blob(
        &self,
        upstream: &Arc<Upstream>,
        repository: &str,
        digest: &crate::digest::Digest,
    ) -> Result<flight::BlobFetch, UpstreamError> {
        self.flights
            .fetch(&self.registry, upstream, repository, digest)
            .await
    }

    /// Joins (or starts) the download and waits until it is over: true
    /// when the blob is now stored here.
    pub async fn fetch_blob_to_store(
        &self,
        upstream: &Arc<Upstream>,
        repository: &str,
        digest: &crate::digest::Digest,
    ) -> Result<bool, UpstreamError> {
        self.flights
            .fetch_to_store(&self.registry, upstream, repository, digest)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_map_to_upstreams() {
        let config = Config::from_toml_str(
            r#"
            [registry]
            namespace_prefix = "mirror/"
            [[upstream]]
            namespaces = ["wasi"]
            registry = "wasi.dev"
            [[upstream]]
            namespaces = ["*"]
            oci = { registry = "127.0.0.1:5000" }
            allow_push = true
            "#,
        )
        .unwrap();
        let proxy = Upstreams::new(&config);
        let name = |repo: &str| proxy.upstream_for(repo).map(|u| u.config.name.clone());
        assert_eq!(name("mirror/wasi/http").as_deref(), Some("wasi.dev"));
        assert_eq!(name("mirror/acme/x").as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(name("wasi/http"), None, "outside the prefix");
        assert!(
            proxy
                .check_push(&RepoName::parse("mirror/wasi/http").unwrap())
                .is_err()
        );
        assert!(
            proxy
                .check_push(&RepoName::parse("mirror/acme/x").unwrap())
                .is_ok()
        );
    }
}

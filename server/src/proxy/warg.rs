//! Warg upstreams: a package's releases, read from its verified log, are
//! presented to OCI clients as Wasm package artifacts (design.md §3).
//!
//! Warg has no manifests, so the gateway writes them, and they must come out
//! byte-identical every time and on every replica, or digests would differ:
//! the config and manifest are fixed structs serialized in declaration order,
//! made only of what the log records (version, content digest and size,
//! release time). The content is downloaded and verified by `warg-client`,
//! then stored like any blob, so a version is cached whole on first pull and
//! served from the cache afterwards; Warg releases never change, so a cached
//! version is never re-checked. Tag lists are the log's (non-yanked) versions.

use std::sync::Arc;

use serde::Serialize;
use wkg_client::oci::RawManifest;
use wkg_client::warg::WargRelease;

use super::manifests::store;
use super::{Error, Proxy, Upstream, UpstreamError};
use crate::db::ManifestRecord;
use crate::digest::Digest;
use crate::metrics::global;
use crate::names::{Reference, RepoName};
use crate::packages::{WASM_CONFIG, WASM_LAYER};
use crate::registry::content::Served;
use crate::registry::manifests::OCI_MANIFEST;
use crate::registry::uploads::store_verified;

/// Resolves `reference` in a repository proxied from a Warg registry.
pub async fn resolve(
    proxy: &Proxy,
    upstream: &Arc<Upstream>,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<Served<ManifestRecord>>, Error> {
    let metrics = global();
    let cached =
        crate::registry::manifests::stored(&proxy.registry.db, repo.as_str(), reference).await?;
    if let Some(record) = cached {
        metrics.upstream_cache(upstream.name(), "manifest", "hit");
        return Ok(Some(Served::fresh(record)));
    }
    // Only versions can be fetched: a digest is known once its version is.
    let Reference::Tag(tag) = reference else {
        return Ok(None);
    };
    let Ok(version) = semver::Version::parse(tag.as_str()) else {
        return Ok(None);
    };
    metrics.upstream_cache(upstream.name(), "manifest", "miss");
    let _one_at_a_time = upstream.warg_ingest.lock().await;
    // Another request may have cached it while this one waited.
    if let Some(record) = proxy
        .registry
        .db
        .get_tagged_manifest(repo.as_str(), tag.as_str())
        .await?
    {
        return Ok(Some(Served::fresh(record)));
    }
    let Some(releases) = upstream.releases(repo.as_str()).await? else {
        return Ok(None);
    };
    let Some(release) = releases.into_iter().find(|r| r.version == version) else {
        return Ok(None);
    };
    let Some(path) = upstream.download(repo.as_str(), &version).await? else {
        return Ok(None);
    };
    let stored = cache_release(proxy, upstream, repo, &release, &path).await;
    upstream.forget_download(&path);
    Ok(Some(Served::fresh(stored?)))
}

/// Stores a release's content and synthesized config and manifest, tags it
/// with its version and indexes it.
async fn cache_release(
    proxy: &Proxy,
    upstream: &Upstream,
    repo: &RepoName,
    release: &WargRelease,
    content: &std::path::Path,
) -> Result<crate::db::ManifestRecord, Error> {
    let failed = |detail: String| UpstreamError::Failed {
        upstream: upstream.name().to_string(),
        detail,
    };
    let layer: Digest = release.digest.parse().map_err(|e| {
        failed(format!(
            "release {} has digest {}: {e}",
            release.version, release.digest
        ))
    })?;
    let size = store_file(proxy, upstream, repo, &layer, content).await?;
    let created = humantime::format_rfc3339_seconds(release.published).to_string();
    let config = serde_json::to_vec(&WasmConfig {
        created: &created,
        architecture: "wasm",
        os: "wasip2",
        layer_digests: [&release.digest],
    })
    .map_err(|e| UpstreamError::Local(e.to_string()))?;
    let config_digest = store_bytes(proxy, upstream, repo, &config).await?;
    let version = release.version.to_string();
    let manifest = serde_json::to_vec(&Manifest {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        config: Descriptor {
            media_type: WASM_CONFIG,
            digest: config_digest.to_string(),
            size: config.len() as u64,
        },
        layers: [Descriptor {
            media_type: WASM_LAYER,
            digest: layer.to_string(),
            size,
        }],
        annotations: Annotations {
            created: &created,
            version: &version,
        },
    })
    .map_err(|e| UpstreamError::Local(e.to_string()))?;
    let raw = RawManifest {
        digest: Digest::of(crate::digest::Algorithm::Sha256, &manifest).to_string(),
        bytes: manifest.into(),
    };
    let (record, _) = store(proxy, upstream, repo, Some(&version), raw).await?;
    // The release is stored and verified: serve it even when it cannot be
    // indexed now (every validation slot taken, say). The package API
    // indexes it on its next miss, as it does for older content.
    match crate::packages::reindex::index_repository(&proxy.packages, repo.as_str(), true).await {
        Ok(report) if !report.skipped.is_empty() => {
            tracing::warn!(%repo, skipped = ?report.skipped, "a Warg release was cached but not indexed");
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%repo, ?error, "a Warg release was cached but not indexed yet");
        }
    }
    Ok(record)
}

/// Streams a downloaded file into the blob store, checking its digest.
async fn store_file(
    proxy: &Proxy,
    upstream: &Upstream,
    repo: &RepoName,
    digest: &Digest,
    path: &std::path::Path,
) -> Result<u64, Error> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        UpstreamError::Local(format!(
            "cannot read the Warg download {}: {e}",
            path.display()
        ))
    })?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    store_verified(
        &proxy.registry,
        repo,
        digest,
        stream,
        upstream.config.timeout,
    )
    .await?
    .map_err(|_| {
        UpstreamError::Corrupt {
            upstream: upstream.name().to_string(),
            what: format!("content for {digest}"),
        }
        .into()
    })
}

/// Stores a small blob the gateway made itself.
async fn store_bytes(
    proxy: &Proxy,
    upstream: &Upstream,
    repo: &RepoName,
    bytes: &[u8],
) -> Result<Digest, Error> {
    let digest = Digest::of(crate::digest::Algorithm::Sha256, bytes);
    let body = futures::stream::iter([Ok::<_, std::convert::Infallible>(
        bytes::Bytes::copy_from_slice(bytes),
    )]);
    store_verified(
        &proxy.registry,
        repo,
        &digest,
        body,
        upstream.config.timeout,
    )
    .await?
    .map_err(|_| UpstreamError::Local("a blob the gateway made does not hash to itself".into()))?;
    Ok(digest)
}

/// The config upstream wkg writes (and requires `created` in).
#[derive(Serialize)]
struct WasmConfig<'a> {
    created: &'a str,
    architecture: &'static str,
    os: &'static str,
    #[serde(rename = "layerDigests")]
    layer_digests: [&'a str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u32,
    media_type: &'static str,
    config: Descriptor,
    layers: [Descriptor; 1],
    annotations: Annotations<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: &'static str,
    digest: String,
    size: u64,
}

#[derive(Serialize)]
struct Annotations<'a> {
    #[serde(rename = "org.opencontainers.image.created")]
    created: &'a str,
    #[serde(rename = "org.opencontainers.image.version")]
    version: &'a str,
}

//! Manifests of proxied repositories: looked up locally, fetched from the
//! upstream when missing, re-checked by tag once `tag_ttl` has passed.

use std::sync::Arc;

use wkg_client::oci::RawManifest;

use super::{Error, Proxy, Upstream, UpstreamError};
use crate::db::ManifestRecord;
use crate::digest::Digest;
use crate::metrics::{UpstreamLabels, global};
use crate::names::{Reference, RepoName};
use crate::packages::WASM_CONFIG;
use crate::packages::publish::{Manifest, Origin, store_manifest};
use crate::registry::content::Served;
use crate::registry::manifests::{MAX_MANIFEST_BYTES, ManifestFacts};

/// Resolves `reference` in a proxied repository; `None` when neither the
/// cache nor the upstream has it.
pub async fn resolve(
    proxy: &Proxy,
    upstream: &Arc<Upstream>,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<Served<ManifestRecord>>, Error> {
    if upstream.is_warg() {
        return super::warg::resolve(proxy, upstream, repo, reference).await;
    }
    let metrics = global();
    match reference {
        Reference::Digest(digest) => {
            let digest = digest.to_string();
            if let Some(record) = proxy
                .registry
                .db
                .get_manifest(repo.as_str(), &digest)
                .await?
            {
                metrics.upstream_cache(upstream.name(), "manifest", "hit");
                return Ok(Some(Served::fresh(record)));
            }
            metrics.upstream_cache(upstream.name(), "manifest", "miss");
            match upstream.manifest(repo.as_str(), &digest).await? {
                None => Ok(None),
                Some(raw) => Ok(Some(Served::fresh(
                    ingest(proxy, upstream, repo, None, raw).await?,
                ))),
            }
        }
        Reference::Tag(tag) => resolve_tag(proxy, upstream, repo, tag.as_str()).await,
    }
}

async fn resolve_tag(
    proxy: &Proxy,
    upstream: &Arc<Upstream>,
    repo: &RepoName,
    tag: &str,
) -> Result<Option<Served<ManifestRecord>>, Error> {
    let metrics = global();
    let cached = proxy
        .registry
        .db
        .get_tagged_manifest(repo.as_str(), tag)
        .await?;
    if let Some(record) = &cached {
        let Some(check) = proxy.registry.db.upstream_tag(repo.as_str(), tag).await? else {
            // Pushed here (allow_push): the gateway's own, never re-checked.
            return Ok(Some(Served::fresh(record.clone())));
        };
        let age_ms = crate::db::now_millis().saturating_sub(check.checked_at);
        if u128::try_from(age_ms).unwrap_or(0) < upstream.config.tag_ttl.as_millis() {
            metrics.upstream_cache(upstream.name(), "manifest", "hit");
            return Ok(Some(Served::fresh(record.clone())));
        }
    }
    let asked = upstream.tag_digest(repo.as_str(), tag).await;
    let Some(record) = cached else {
        // Nothing cached: the upstream's answer is the only one.
        let Some(digest) = asked? else {
            return Ok(None);
        };
        metrics.upstream_cache(upstream.name(), "manifest", "miss");
        return match upstream.manifest(repo.as_str(), &digest).await? {
            Some(raw) => Ok(Some(Served::fresh(
                ingest(proxy, upstream, repo, Some(tag), raw).await?,
            ))),
            None => Ok(None),
        };
    };
    let digest = match asked {
        Err(error) => return Ok(Some(stale(upstream, repo, tag, record, &error))),
        Ok(None) => {
            tracing::warn!(upstream = %upstream.name(), %repo, tag, "the upstream no longer has this tag; serving the cached manifest");
            return confirmed(proxy, upstream, repo, tag, record).await;
        }
        Ok(Some(digest)) => digest,
    };
    if record.digest == digest || semver::Version::parse(tag).is_ok() {
        if record.digest != digest {
            version_repointed(upstream, repo, tag, &record.digest, &digest);
        }
        return confirmed(proxy, upstream, repo, tag, record).await;
    }
    metrics.upstream_cache(upstream.name(), "manifest", "miss");
    match upstream.manifest(repo.as_str(), &digest).await {
        Ok(Some(raw)) => Ok(Some(Served::fresh(
            ingest(proxy, upstream, repo, Some(tag), raw).await?,
        ))),
        Ok(None) => Ok(Some(Served::fresh(record))),
        Err(error) => Ok(Some(stale(upstream, repo, tag, record, &error))),
    }
}

/// The cached manifest of a tag the upstream was just asked about: served,
/// and the check recorded so the next one waits for `tag_ttl`.
async fn confirmed(
    proxy: &Proxy,
    upstream: &Upstream,
    repo: &RepoName,
    tag: &str,
    record: ManifestRecord,
) -> Result<Option<Served<ManifestRecord>>, Error> {
    proxy
        .registry
        .db
        .record_upstream_tag(repo.as_str(), tag, upstream.name())
        .await?;
    global().upstream_cache(upstream.name(), "manifest", "hit");
    Ok(Some(Served::fresh(record)))
}

/// The cached manifest, served although the upstream could not confirm it.
fn stale(
    upstream: &Upstream,
    repo: &RepoName,
    tag: &str,
    record: ManifestRecord,
    error: &UpstreamError,
) -> Served<ManifestRecord> {
    tracing::warn!(upstream = %upstream.name(), %repo, tag, %error, "serving a cached tag the upstream could not confirm");
    global().upstream_cache(upstream.name(), "manifest", "stale");
    Served {
        value: record,
        stale: Some(format!(
            "110 - \"Response is Stale: upstream {} could not be asked\"",
            upstream.name()
        )),
    }
}

fn version_repointed(upstream: &Upstream, repo: &RepoName, tag: &str, cached: &str, offered: &str) {
    tracing::warn!(
        upstream = %upstream.name(), %repo, version = tag, cached, offered,
        "the upstream re-pointed a cached version; versions are immutable, so the cached one is still served"
    );
    global()
        .upstream_version_conflicts
        .get_or_create(&UpstreamLabels {
            upstream: upstream.name().to_string(),
        })
        .inc();
}

/// Stores a manifest fetched from the upstream (and `tag` pointing at it)
/// and, for a Wasm package, starts caching and indexing its blobs.
async fn ingest(
    proxy: &Proxy,
    upstream: &Arc<Upstream>,
    repo: &RepoName,
    tag: Option<&str>,
    raw: RawManifest,
) -> Result<ManifestRecord, Error> {
    let (record, facts) = store(proxy, upstream, repo, tag, raw).await?;
    if facts
        .config
        .as_ref()
        .is_some_and(|c| c.media_type == WASM_CONFIG)
    {
        tokio::spawn(cache_package(
            proxy.clone(),
            Arc::clone(upstream),
            repo.clone(),
            facts.blobs.clone(),
        ));
    }
    Ok(record)
}

/// Stores a manifest from (or synthesized for) the upstream, and `tag`
/// pointing at it, recording the tag as checked just now.
pub(super) async fn store(
    proxy: &Proxy,
    upstream: &Upstream,
    repo: &RepoName,
    tag: Option<&str>,
    raw: RawManifest,
) -> Result<(ManifestRecord, ManifestFacts), Error> {
    let invalid = |detail: String| UpstreamError::Failed {
        upstream: upstream.name().to_string(),
        detail,
    };
    if raw.bytes.len() > MAX_MANIFEST_BYTES {
        return Err(invalid(format!(
            "a manifest of {} bytes is over the limit of {MAX_MANIFEST_BYTES}",
            raw.bytes.len()
        ))
        .into());
    }
    let digest: Digest = raw
        .digest
        .parse()
        .map_err(|e| invalid(format!("manifest digest {}: {e}", raw.digest)))?;
    let manifest = Manifest {
        digest: &digest,
        content: &raw.bytes,
        content_type: None,
    };
    let stored = match store_manifest(&proxy.packages, repo, manifest, tag, Origin::Upstream).await
    {
        Ok(stored) => stored,
        Err(crate::packages::Error::Registry(crate::registry::Error::ManifestInvalid(why))) => {
            return Err(invalid(format!("its manifest {digest} is not valid: {why}")).into());
        }
        Err(crate::packages::Error::VersionTaken { conflict, .. }) => {
            version_repointed(
                upstream,
                repo,
                &conflict.version,
                &conflict.manifest_digest,
                &digest.to_string(),
            );
            return Err(invalid(format!(
                "version {} of {repo} was cached here with other content ({}) and has been \
                 deleted since; versions are immutable, so it cannot be fetched again",
                conflict.version, conflict.layer_digest
            ))
            .into());
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(tag) = tag {
        proxy
            .registry
            .db
            .record_upstream_tag(repo.as_str(), tag, upstream.name())
            .await?;
    }
    Ok((stored.record, stored.facts))
}

/// Caches a Wasm package's config and layer, then indexes its versions, so
/// proxied packages show up in the package API, search and WIT like local
/// ones. Failures are logged: the blobs are fetched again on demand.
async fn cache_package(proxy: Proxy, upstream: Arc<Upstream>, repo: RepoName, blobs: Vec<String>) {
    for digest in blobs {
        let Ok(parsed) = digest.parse::<Digest>() else {
            return;
        };
        match proxy
            .fetch_blob_to_store(&upstream, repo.as_str(), &parsed)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(upstream = %upstream.name(), %repo, %digest, "the upstream's manifest names a blob it does not have");
                return;
            }
            Err(error) => {
                tracing::warn!(upstream = %upstream.name(), %repo, %digest, %error, "caching a proxied package failed");
                return;
            }
        }
    }
    match crate::packages::reindex::index_repository(&proxy.packages, repo.as_str(), true).await {
        Ok(report) if !report.skipped.is_empty() => {
            tracing::warn!(%repo, skipped = ?report.skipped, "some proxied versions were not indexed");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%repo, ?error, "indexing a proxied package failed"),
    }
}

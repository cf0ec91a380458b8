//! Garbage collection: removes what no live manifest needs, safely while
//! the gateway serves.
//!
//! Per repository, live manifests are every manifest (or, with
//! `delete_untagged`, the tagged ones and those younger than the grace
//! period), plus, transitively, the children of live indexes and the
//! referrers of live manifests. Blob links no live manifest references are
//! removed once older than the grace period (so blobs pushed for a manifest
//! that is still on its way stay). A blob no repository links is first
//! marked, and deleted from storage by a later run once the mark is older
//! than the grace period and nothing linked it again meanwhile.

use std::collections::HashSet;
use std::time::Duration;

use crate::app::App;
use crate::db::{RepositoryGraph, now_millis};
use crate::digest::Digest;
use crate::storage::StorageKey;

#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    pub dry_run: bool,
    pub delete_untagged: bool,
    pub grace: Duration,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub manifests_deleted: usize,
    pub blob_links_removed: usize,
    pub blobs_marked: usize,
    pub blobs_deleted: usize,
    pub bytes_freed: u64,
}

pub type GcError = Box<dyn std::error::Error + Send + Sync>;

pub async fn collect(app: &App, options: GcOptions) -> Result<GcReport, GcError> {
    let grace = i64::try_from(options.grace.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_millis().saturating_sub(grace);
    let mut report = GcReport::default();
    for repository in app.db.list_repositories(None, i64::MAX).await? {
        let graph = app.db.repository_graph(&repository).await?;
        let live = live_manifests(&graph, options.delete_untagged, cutoff);
        for (digest, _, _) in graph.manifests.iter().filter(|(d, _, _)| !live.contains(d)) {
            report.manifests_deleted += 1;
            if !options.dry_run {
                app.db.delete_manifest(&repository, digest).await?;
            }
        }
        let live_blobs: HashSet<&str> = graph
            .references
            .iter()
            .filter(|(manifest, _, kind)| kind == "blob" && live.contains(manifest))
            .map(|(_, child, _)| child.as_str())
            .collect();
        for (digest, linked_at) in &graph.blob_links {
            if live_blobs.contains(digest.as_str()) || *linked_at >= cutoff {
                continue;
            }
            if options.dry_run
                || app
                    .db
                    .unlink_stale_blob(&repository, digest, cutoff)
                    .await?
            {
                report.blob_links_removed += 1;
            }
        }
    }
    for (digest, size, marked_at) in app.db.unlinked_blobs().await? {
        match marked_at {
            None => {
                report.blobs_marked += 1;
                if !options.dry_run {
                    app.db.mark_blob(&digest).await?;
                }
            }
            Some(marked) if marked <= cutoff => {
                if options.dry_run {
                    report.blobs_deleted += 1;
                    report.bytes_freed += u64::try_from(size).unwrap_or(0);
                } else if app.db.forget_marked_blob(&digest, cutoff).await? {
                    if let Ok(parsed) = digest.parse::<Digest>() {
                        app.storage.delete(StorageKey::Blob(&parsed)).await?;
                    }
                    report.blobs_deleted += 1;
                    report.bytes_freed += u64::try_from(size).unwrap_or(0);
                }
            }
            Some(_) => {}
        }
    }
    Ok(report)
}

/// The manifests of a repository that must stay.
fn live_manifests(graph: &RepositoryGraph, delete_untagged: bool, cutoff: i64) -> HashSet<String> {
    let mut live: HashSet<String> = if delete_untagged {
        let tagged: HashSet<&String> = graph.tagged.iter().collect();
        graph
            .manifests
            .iter()
            .filter(|(digest, _, created)| tagged.contains(digest) || *created >= cutoff)
            .map(|(digest, _, _)| digest.clone())
            .collect()
    } else {
        graph
            .manifests
            .iter()
            .map(|(digest, _, _)| digest.clone())
            .collect()
    };
    loop {
        let before = live.len();
        for (manifest, child, kind) in &graph.references {
            if kind == "manifest" && live.contains(manifest) {
                live.insert(child.clone());
            }
        }
        for (digest, subject, _) in &graph.manifests {
            if subject.as_ref().is_some_and(|s| live.contains(s)) {
                live.insert(digest.clone());
            }
        }
        if live.len() == before {
            return live;
        }
    }
}

/// Runs GC on `[gc] schedule`, one replica at a time (lease "gc").
pub async fn gc_loop(app: crate::app::AppState) {
    let Some(interval) = app.config.gc.schedule else {
        return;
    };
    let holder = uuid::Uuid::new_v4().to_string();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // not at start-up: let the gateway settle first
    loop {
        ticker.tick().await;
        match app
            .db
            .acquire_lease("gc", &holder, interval.max(Duration::from_secs(60)) * 2)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot take the gc lease; will retry");
                continue;
            }
        }
        let options = GcOptions {
            dry_run: false,
            delete_untagged: app.config.gc.delete_untagged,
            grace: app.config.gc.grace,
        };
        match collect(&app, options).await {
            Ok(report) => tracing::info!(?report, "garbage collection finished"),
            Err(error) => tracing::warn!(%error, "garbage collection failed; will retry"),
        }
        if let Err(error) = app.db.release_lease("gc", &holder).await {
            tracing::warn!(%error, "cannot release the gc lease");
        }
    }
}

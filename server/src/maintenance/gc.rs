//! Garbage collection: removes what no live manifest needs, safely while
//! the gateway serves, from the server (`[gc] schedule`) or from
//! `wkg-gateway gc`, on one replica or several.
//!
//! Per repository, live manifests are every manifest (or, with
//! `delete_untagged`, the tagged ones and those younger than the grace
//! period), plus, transitively, the children of live indexes and the
//! referrers of live manifests. Blob links no manifest references are
//! removed once older than the grace period (so blobs pushed for a manifest
//! that is still on its way stay). A blob no repository links is first
//! marked, and deleted from storage by a later run once the mark is older
//! than the grace period and nothing linked it again meanwhile.
//!
//! # The protocol
//!
//! What GC reads to decide is a snapshot that is stale by the time it acts,
//! so nothing is removed on that decision alone. Each removal is its own
//! short transaction (pushes never wait for a sweep) that re-checks, under
//! a database lock shared with every writer, that nothing needs it (see
//! `db::gc`; a database lock, since the CLI and other replicas are separate
//! processes):
//!
//! - **Manifest commits** lock, in their transaction, every blob link and
//!   child manifest they refer to (refreshing each link's time). Removing a
//!   link re-checks that it is older than the grace period and that no
//!   manifest of its repository refers to it; deleting an untagged manifest
//!   re-checks that it is untagged, old, listed by no manifest and that its
//!   subject is gone. Whichever commits first wins: a manifest PUT that
//!   lost the race gets 400 `MANIFEST_BLOB_UNKNOWN` naming the blob, never
//!   201 with the blob gone.
//! - **Links** are created only on a blob row that is not being deleted:
//!   uploads and the proxy take a *claim* on the digest before the object
//!   is put in place and end it in the transaction that links it; a
//!   cross-repository mount locks the blob row. Marking and deleting skip
//!   claimed blobs.
//! - **Deleting a blob** takes three steps: a transaction marks the row
//!   deleting (only if it is still unlinked, unclaimed and marked before
//!   the cutoff), the object is deleted from storage, a transaction removes
//!   the row. A writer that finds the row deleting waits for it to go, then
//!   writes the object anew (after 20 s it answers 503 with Retry-After).
//!
//! One collector runs at a time: a run holds the lease "gc" in the
//! database, renewed as it goes, and `wkg-gateway gc` waits for a run in
//! the server to finish. So a row left deleting when it starts belongs to a
//! collector that died (SIGKILL mid-run), and the run finishes it first.
//! Claims older than `db::CLAIM_EXPIRY` (one hour) are taken as left by a
//! writer that died. The one assumption on time: a collector is never
//! stopped, yet alive, for longer than its lease (`LEASE`, 30 s, renewed
//! every 5 s while the run lasts; after a collector dies, the next waits
//! for its lease to expire).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db::{Db, RepositoryGraph, now_millis};
use crate::digest::Digest;
use crate::storage::{Storage, StorageKey};

/// How long the "gc" lease lasts unless renewed.
const LEASE: Duration = Duration::from_secs(30);

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

/// One run, waiting first for a run elsewhere to finish.
pub async fn collect(db: &Db, storage: &Storage, options: GcOptions) -> Result<GcReport, GcError> {
    let lease = Lease::new(db);
    if !options.dry_run {
        let mut noted = false;
        while !lease.take().await? {
            if !noted {
                tracing::info!("another garbage collection is running; waiting for it");
                noted = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let result = Run {
        db,
        storage,
        options,
        lease: &lease,
    }
    .go()
    .await;
    if !options.dry_run {
        lease.release().await;
    }
    result
}

/// The "gc" lease of one run. Once taken, a task renews it every
/// `LEASE / 6` for as long as the run lasts, so a collector that dies
/// (SIGKILL) blocks the next one for at most `LEASE`.
struct Lease<'a> {
    db: &'a Db,
    holder: String,
    lost: Arc<AtomicBool>,
    keeper: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<'a> Lease<'a> {
    fn new(db: &'a Db) -> Self {
        Self {
            db,
            holder: uuid::Uuid::new_v4().to_string(),
            lost: Arc::new(AtomicBool::new(false)),
            keeper: std::sync::Mutex::new(None),
        }
    }

    /// Takes the lease if it is free; once taken, keeps it renewed.
    async fn take(&self) -> Result<bool, GcError> {
        if !self.db.acquire_lease("gc", &self.holder, LEASE).await? {
            return Ok(false);
        }
        let (db, holder, lost) = (self.db.clone(), self.holder.clone(), self.lost.clone());
        let keeper = tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE / 6).await;
                match db.acquire_lease("gc", &holder, LEASE).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(error) => tracing::warn!(%error, "cannot renew the gc lease; will retry"),
                }
            }
        });
        *self.keeper.lock().expect("lease keeper") = Some(keeper);
        Ok(true)
    }

    /// Ends the run if the lease went to another collector.
    fn keep(&self) -> Result<(), GcError> {
        if self.lost.load(Ordering::SeqCst) {
            Err("lost the garbage-collection lease to another collector; stopping".into())
        } else {
            Ok(())
        }
    }

    async fn release(&self) {
        if let Some(keeper) = self.keeper.lock().expect("lease keeper").take() {
            keeper.abort();
        }
        if let Err(error) = self.db.release_lease("gc", &self.holder).await {
            tracing::warn!(%error, "cannot release the gc lease; it expires on its own");
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(keeper) = self.keeper.lock().expect("lease keeper").take() {
            keeper.abort();
        }
    }
}

struct Run<'a> {
    db: &'a Db,
    storage: &'a Storage,
    options: GcOptions,
    lease: &'a Lease<'a>,
}

impl Run<'_> {
    async fn go(&self) -> Result<GcReport, GcError> {
        let grace = i64::try_from(self.options.grace.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_millis().saturating_sub(grace);
        let mut report = GcReport::default();
        if !self.options.dry_run {
            self.finish_interrupted_deletions(&mut report).await?;
            self.db.forget_expired_claims().await?;
        }
        for repository in self.db.list_repositories(None, i64::MAX).await? {
            if !self.options.dry_run {
                self.lease.keep()?;
            }
            self.repository(&repository, cutoff, &mut report).await?;
        }
        self.blobs(cutoff, &mut report).await?;
        Ok(report)
    }

    /// Deletes a repository's dead manifests, then the links nothing refers to.
    async fn repository(
        &self,
        repository: &str,
        cutoff: i64,
        report: &mut GcReport,
    ) -> Result<(), GcError> {
        let graph = self.db.repository_graph(repository).await?;
        let live = live_manifests(&graph, self.options.delete_untagged, cutoff);
        let mut pending: Vec<&String> = graph
            .manifests
            .iter()
            .map(|(digest, _, _)| digest)
            .filter(|digest| !live.contains(*digest))
            .collect();
        // Parents before children and subjects before referrers: each
        // deletion re-checks that nothing that stays lists it. One that is
        // needed again since GC looked stays, and so does what it lists.
        let mut refused: HashSet<&str> = HashSet::new();
        loop {
            let blocking: HashSet<&str> = pending
                .iter()
                .map(|d| d.as_str())
                .chain(refused.iter().copied())
                .collect();
            let (ready, blocked): (Vec<&String>, Vec<&String>) = pending
                .into_iter()
                .partition(|digest| !needed_by(&graph, digest, &blocking));
            if ready.is_empty() {
                break;
            }
            for digest in ready {
                if self.options.dry_run
                    || self
                        .db
                        .delete_unused_manifest(repository, digest, cutoff)
                        .await?
                {
                    report.manifests_deleted += 1;
                } else {
                    refused.insert(digest);
                }
            }
            pending = blocked;
        }
        self.links(repository, &graph, cutoff, report).await
    }

    async fn links(
        &self,
        repository: &str,
        graph: &RepositoryGraph,
        cutoff: i64,
        report: &mut GcReport,
    ) -> Result<(), GcError> {
        for (digest, linked_at) in &graph.blob_links {
            if *linked_at >= cutoff {
                continue;
            }
            // Referenced by a manifest that stays: nothing to try. Links of
            // deleted manifests' blobs are re-checked by the database.
            if self.options.dry_run {
                let referenced = graph
                    .references
                    .iter()
                    .any(|(_, child, kind)| kind == "blob" && child == digest);
                report.blob_links_removed += usize::from(!referenced);
            } else if self
                .db
                .unlink_unreferenced_blob(repository, digest, cutoff)
                .await?
            {
                report.blob_links_removed += 1;
            }
        }
        Ok(())
    }

    /// Marks unlinked blobs, and deletes those marked before the cutoff.
    async fn blobs(&self, cutoff: i64, report: &mut GcReport) -> Result<(), GcError> {
        for (n, (digest, size, marked_at)) in
            self.db.unlinked_blobs().await?.into_iter().enumerate()
        {
            if n % 100 == 99 && !self.options.dry_run {
                self.lease.keep()?;
            }
            match marked_at {
                None => {
                    report.blobs_marked += 1;
                    if !self.options.dry_run {
                        self.db.mark_blob(&digest).await?;
                    }
                }
                Some(marked) if marked <= cutoff => {
                    if self.options.dry_run || self.db.begin_blob_deletion(&digest, cutoff).await? {
                        if !self.options.dry_run {
                            self.delete_object(&digest).await?;
                        }
                        report.blobs_deleted += 1;
                        report.bytes_freed += u64::try_from(size).unwrap_or(0);
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Finishes deletions a collector began and did not finish (it died).
    async fn finish_interrupted_deletions(&self, report: &mut GcReport) -> Result<(), GcError> {
        for (digest, size) in self.db.blobs_being_deleted().await? {
            self.delete_object(&digest).await?;
            report.blobs_deleted += 1;
            report.bytes_freed += u64::try_from(size).unwrap_or(0);
        }
        Ok(())
    }

    /// Deletes a blob's object, then its row (the last two steps).
    async fn delete_object(&self, digest: &str) -> Result<(), GcError> {
        if let Ok(parsed) = digest.parse::<Digest>() {
            self.storage.delete(StorageKey::Blob(&parsed)).await?;
        }
        self.db.finish_blob_deletion(digest).await?;
        Ok(())
    }
}

/// Whether a dead manifest that is still to be deleted lists `digest` as a
/// child, or `digest` is a referrer of one: it goes after them.
fn needed_by(graph: &RepositoryGraph, digest: &str, remaining: &HashSet<&str>) -> bool {
    let listed = graph.references.iter().any(|(parent, child, kind)| {
        kind == "manifest"
            && child == digest
            && parent != digest
            && remaining.contains(parent.as_str())
    });
    let subject_pending = graph.manifests.iter().any(|(d, subject, _)| {
        d == digest
            && subject
                .as_deref()
                .is_some_and(|s| s != digest && remaining.contains(s))
    });
    listed || subject_pending
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

/// Runs GC on `[gc] schedule`; a tick while another collector (a replica,
/// or `wkg-gateway gc`) runs is skipped.
pub async fn gc_loop(db: Db, storage: Storage, config: crate::config::GcConfig) {
    let Some(interval) = config.schedule else {
        return;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // not at start-up: let the gateway settle first
    loop {
        ticker.tick().await;
        let options = GcOptions {
            dry_run: false,
            delete_untagged: config.delete_untagged,
            grace: config.grace,
        };
        let lease = Lease::new(&db);
        match lease.take().await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot take the gc lease; will retry");
                continue;
            }
        }
        let run = Run {
            db: &db,
            storage: &storage,
            options,
            lease: &lease,
        };
        match run.go().await {
            Ok(report) => tracing::info!(?report, "garbage collection finished"),
            Err(error) => tracing::warn!(%error, "garbage collection failed; will retry"),
        }
        lease.release().await;
    }
}

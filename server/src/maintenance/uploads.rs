//! Purges upload sessions that nobody touched for `uploads.max_age`.

use crate::db::now_millis;
use crate::registry::Registry;
use crate::storage::StorageKey;

/// Sessions handled per database round trip.
const BATCH: i64 = 500;

/// Name of the lease that makes one replica at a time run the purge.
const LEASE: &str = "upload-purge";

pub async fn purge_loop(registry: Registry) {
    let interval = registry.limits().purge_interval;
    let holder = uuid::Uuid::new_v4().to_string();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // Held for a few intervals, so a replica that dies mid-sweep hands
        // over soon, but two sweeps never overlap.
        match registry
            .db
            .acquire_lease(LEASE, &holder, interval * 3)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "cannot take the upload purge lease; will retry");
                continue;
            }
        }
        let outcome = purge_stale_uploads(&registry).await;
        if let Err(error) = registry.db.release_lease(LEASE, &holder).await {
            tracing::warn!(%error, "cannot release the upload purge lease");
        }
        match outcome {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged abandoned upload sessions"),
            Err(error) => tracing::warn!(%error, "upload purge failed; will retry"),
        }
    }
}

/// Deletes stale sessions (staged bytes first, then rows) and returns how
/// many went.
pub async fn purge_stale_uploads(
    registry: &Registry,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let max_age = i64::try_from(registry.limits().max_age.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_millis().saturating_sub(max_age);
    let mut purged = 0;
    loop {
        let stale = registry.db.stale_uploads(cutoff, BATCH).await?;
        if stale.is_empty() {
            return Ok(purged);
        }
        for id in &stale {
            registry
                .storage
                .delete_prefix(StorageKey::Upload(*id))
                .await?;
            registry.db.delete_upload(*id).await?;
            registry.forget_hash(*id);
            purged += 1;
        }
        if stale.len() < BATCH as usize {
            return Ok(purged);
        }
    }
}

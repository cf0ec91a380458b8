//! Purges upload sessions that nobody touched for `uploads.max_age`.

use crate::app::AppState;
use crate::db::now_millis;
use crate::storage::StorageKey;

/// Sessions handled per database round trip.
const BATCH: i64 = 500;

pub async fn purge_loop(app: AppState) {
    let mut ticker = tokio::time::interval(app.config.uploads.purge_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match purge_stale_uploads(&app).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged abandoned upload sessions"),
            Err(error) => tracing::warn!(%error, "upload purge failed; will retry"),
        }
    }
}

/// Deletes stale sessions (staged bytes first, then rows) and returns how
/// many went.
pub async fn purge_stale_uploads(
    app: &AppState,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let max_age = i64::try_from(app.config.uploads.max_age.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_millis().saturating_sub(max_age);
    let mut purged = 0;
    loop {
        let stale = app.db.stale_uploads(cutoff, BATCH).await?;
        if stale.is_empty() {
            return Ok(purged);
        }
        for id in &stale {
            app.storage.delete_prefix(StorageKey::Upload(*id)).await?;
            app.db.delete_upload(*id).await?;
            app.upload_hashes.forget(*id);
            purged += 1;
        }
        if stale.len() < BATCH as usize {
            return Ok(purged);
        }
    }
}

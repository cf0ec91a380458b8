//! The `leases` table: mutual exclusion of background jobs across replicas.

use std::time::Duration;

use super::{Db, Result, now_millis};

impl Db {
    /// Takes (or renews) the lease `name` for `holder` for `duration`.
    /// Returns false while another holder's lease has not expired.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        duration: Duration,
    ) -> Result<bool> {
        let now = now_millis();
        let expires = now.saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at < $4 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(expires)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() > 0)
    }

    /// Gives a lease back early (no-op unless `holder` holds it).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

//! The `revoked_jwts` table: JWTs ended before they expire (a web session
//! signed out), by `jti`.

use sqlx::Row as _;

use super::{Db, Result, now_millis};

impl Db {
    /// Ends the JWT `jti` (which expires at `expires_at`, Unix ms), and
    /// forgets revocations of JWTs that have expired anyway, which keeps
    /// the table as small as the set of live revoked sessions.
    pub async fn revoke_jwt(&self, jti: &str, expires_at: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM revoked_jwts WHERE expires_at < $1")
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO revoked_jwts (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the JWT `jti` was ended early.
    pub async fn jwt_revoked(&self, jti: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) FROM revoked_jwts WHERE jti = $1")
            .bind(jti)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<i64, _>(0) > 0)
    }
}

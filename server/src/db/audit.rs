//! The `audit_log` table: who pushed, deleted or administered what, and
//! whether it was allowed.

use sqlx::Row as _;

use super::{Db, Result, now_millis};

/// One audit record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// Who: a user name; `anonymous` (no credentials, e.g. a public pull
    /// token); `unauthenticated` (credentials refused); `cli:<unix user>`
    /// (`wkg-gateway admin`, see `admin_cli::cli_actor`); or
    /// `system:first-start` (the first admin, created at first start).
    /// User names cannot contain `:`, so the last two never collide with one.
    pub actor: String,
    /// Client address; `local` for the CLI and first start.
    pub client: String,
    /// `push`, `delete`, `admin`, ...
    pub action: String,
    /// Repository, package or admin resource.
    pub target: String,
    /// `allowed` or `denied`.
    pub outcome: String,
    /// HTTP status of the answer; 0 when there was no HTTP request (the CLI,
    /// first start).
    pub status: i32,
    /// Request method and path, or why it was refused.
    pub detail: String,
}

/// A record to append.
pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub client: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub outcome: &'a str,
    pub status: u16,
    pub detail: &'a str,
}

impl Db {
    pub async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, client, action, target, outcome, status, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(now_millis())
        .bind(entry.actor)
        .bind(entry.client)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.outcome)
        .bind(i32::from(entry.status))
        .bind(entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Newest first, up to `limit`, older than id `before` when given.
    pub async fn audit_entries(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, client, action, target, outcome, status, detail \
             FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                client: r.get(3),
                action: r.get(4),
                target: r.get(5),
                outcome: r.get(6),
                status: r.get(7),
                detail: r.get(8),
            })
            .collect())
    }
}

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
    /// `system:first-start` (the first admin, created at first start); or
    /// `system:audit` (a summary of refusals not recorded one by one, see
    /// `audit_limit`).
    /// User names cannot contain `:`, so the last two never collide with one.
    pub actor: String,
    /// Client address; `local` for the CLI and first start.
    pub client: String,
    /// `push`, `delete`, `admin`, ...; `refusals` for `system:audit` rows.
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

/// Bytes of client-supplied text one row keeps: the actor, the target and
/// the detail (request path, repository, user name) together. Anything
/// longer is cut, with its length noted, so a client sending a 30 kB path
/// cannot store 30 kB per refusal. The client address and the other
/// fields are the gateway's own words and short.
pub const MAX_CLIENT_TEXT: usize = 1024;
const MAX_ACTOR: usize = 128;
const MAX_TARGET: usize = 384;
const MAX_DETAIL: usize = MAX_CLIENT_TEXT - MAX_ACTOR - MAX_TARGET;

/// `text` in at most `max` bytes: whole, or cut at a character boundary
/// and ended with `…[N bytes]`.
fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let note = format!("…[{} bytes]", text.len());
    let mut keep = max.saturating_sub(note.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{note}", &text[..keep]).into()
}

impl Db {
    /// Appends a record; client-supplied text is cut to [`MAX_CLIENT_TEXT`].
    pub async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, client, action, target, outcome, status, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(now_millis())
        .bind(clip(entry.actor, MAX_ACTOR).into_owned())
        .bind(clip(entry.client, 64).into_owned())
        .bind(entry.action)
        .bind(clip(entry.target, MAX_TARGET).into_owned())
        .bind(entry.outcome)
        .bind(i32::from(entry.status))
        .bind(clip(entry.detail, MAX_DETAIL).into_owned())
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

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        let long = "é".repeat(1000);
        let cut = clip(&long, 100);
        assert!(cut.len() <= 100, "{}", cut.len());
        assert!(cut.ends_with("…[2000 bytes]"), "{cut}");
        assert!(cut.starts_with("éé"));
    }
}

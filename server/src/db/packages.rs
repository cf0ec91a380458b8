//! The `package_versions` table: which Wasm content each published version
//! is pinned to, including tombstones of deleted versions.

use sqlx::AnyConnection;

use super::{Result, now_millis};

/// A semver tag about to point at a manifest: a Wasm package (with its
/// content and index) or anything else (`None`), which may not take over a
/// tag that is, or was, a package version.
#[derive(Debug, Clone, Copy)]
pub struct VersionClaim<'a> {
    pub version: &'a str,
    pub content: Option<&'a VersionContent>,
}

/// The Wasm content of a version and what the index knows about it. Lists
/// and objects are JSON text.
#[derive(Debug, Clone, Default)]
pub struct VersionContent {
    pub layer_digest: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub kind: String,
    pub size: i64,
    pub annotations: Option<String>,
    pub metadata: Option<String>,
    pub wit_package: Option<String>,
    pub worlds: Option<String>,
    pub interfaces: Option<String>,
    pub imports: Option<String>,
    pub exports: Option<String>,
    pub wit_text: Option<String>,
}

/// The content a version is already pinned to, when it is not the claimed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConflict {
    pub version: String,
    pub layer_digest: String,
    pub manifest_digest: String,
    pub deleted: bool,
}

/// Pins `claim.version` to its layer inside an open transaction, or reports
/// the different content it is already pinned to.
pub(super) async fn claim_version(
    conn: &mut AnyConnection,
    repository: &str,
    manifest_digest: &str,
    claim: VersionClaim<'_>,
) -> Result<Option<VersionConflict>> {
    let now = now_millis();
    let Some(content) = claim.content else {
        return pinned(conn, repository, claim.version).await;
    };
    sqlx::query(
        "INSERT INTO package_versions (repository, version, layer_digest, manifest_digest, \
         kind, size, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(repository)
    .bind(claim.version)
    .bind(content.layer_digest.as_str())
    .bind(manifest_digest)
    .bind(content.kind.as_str())
    .bind(content.size)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if let Some(conflict) = pinned(conn, repository, claim.version).await?
        && conflict.layer_digest != content.layer_digest
    {
        return Ok(Some(conflict));
    }
    sqlx::query(
        "UPDATE package_versions SET manifest_digest = $1, deleted = 0, updated_at = $2, \
         namespace = $3, name = $4, kind = $5, size = $6, annotations = $7, metadata = $8, \
         wit_package = $9, worlds = $10, interfaces = $11, imports = $12, exports = $13, \
         wit_text = $14 WHERE repository = $15 AND version = $16",
    )
    .bind(manifest_digest)
    .bind(now)
    .bind(content.namespace.as_deref())
    .bind(content.name.as_deref())
    .bind(content.kind.as_str())
    .bind(content.size)
    .bind(content.annotations.as_deref())
    .bind(content.metadata.as_deref())
    .bind(content.wit_package.as_deref())
    .bind(content.worlds.as_deref())
    .bind(content.interfaces.as_deref())
    .bind(content.imports.as_deref())
    .bind(content.exports.as_deref())
    .bind(content.wit_text.as_deref())
    .bind(repository)
    .bind(claim.version)
    .execute(&mut *conn)
    .await?;
    Ok(None)
}

impl super::Db {
    /// Whether `version` of `repository` has an index row (live or tombstone).
    pub async fn version_pinned(&self, repository: &str, version: &str) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        Ok(pinned(&mut conn, repository, version).await?.is_some())
    }

    /// Writes the index row of an existing version (reindexing).
    pub async fn reindex_version(
        &self,
        repository: &str,
        manifest_digest: &str,
        claim: VersionClaim<'_>,
    ) -> Result<Option<VersionConflict>> {
        let mut tx = self.pool.begin().await?;
        let conflict = claim_version(&mut tx, repository, manifest_digest, claim).await?;
        if conflict.is_some() {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(conflict)
    }
}

/// The content `version` is pinned to, if it was ever published.
async fn pinned(
    conn: &mut AnyConnection,
    repository: &str,
    version: &str,
) -> Result<Option<VersionConflict>> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT layer_digest, manifest_digest, deleted FROM package_versions \
         WHERE repository = $1 AND version = $2",
    )
    .bind(repository)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(
        row.map(|(layer_digest, manifest_digest, deleted)| VersionConflict {
            version: version.to_string(),
            layer_digest,
            manifest_digest,
            deleted: deleted != 0,
        }),
    )
}

/// Turns the versions served by a deleted tag or manifest into tombstones.
pub(super) async fn tombstone_tag(
    conn: &mut AnyConnection,
    repository: &str,
    tag: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE package_versions SET deleted = 1, updated_at = $1 WHERE repository = $2 AND version = $3",
    )
    .bind(now_millis())
    .bind(repository)
    .bind(tag)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn tombstone_manifest(
    conn: &mut AnyConnection,
    repository: &str,
    digest: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE package_versions SET deleted = 1, updated_at = $1 \
         WHERE repository = $2 AND manifest_digest = $3",
    )
    .bind(now_millis())
    .bind(repository)
    .bind(digest)
    .execute(conn)
    .await?;
    Ok(())
}

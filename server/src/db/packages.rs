//! The `package_versions` table: which Wasm content each published version
//! is pinned to, including tombstones of deleted versions.

use sqlx::AnyConnection;

use super::{Result, now_millis};

/// A semver tag about to point at a manifest: a Wasm package (with its
/// layer digest) or anything else (`None`), which may not take over a tag
/// that is, or was, a package version.
#[derive(Debug, Clone, Copy)]
pub struct VersionClaim<'a> {
    pub version: &'a str,
    pub layer_digest: Option<&'a str>,
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
    let Some(layer) = claim.layer_digest else {
        return pinned(conn, repository, claim.version).await;
    };
    sqlx::query(
        "INSERT INTO package_versions (repository, version, layer_digest, manifest_digest, \
         deleted, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT DO NOTHING",
    )
    .bind(repository)
    .bind(claim.version)
    .bind(layer)
    .bind(manifest_digest)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if let Some(conflict) = pinned(conn, repository, claim.version).await?
        && conflict.layer_digest != layer
    {
        return Ok(Some(conflict));
    }
    sqlx::query(
        "UPDATE package_versions SET manifest_digest = $1, deleted = 0, updated_at = $2 \
         WHERE repository = $3 AND version = $4",
    )
    .bind(manifest_digest)
    .bind(now)
    .bind(repository)
    .bind(claim.version)
    .execute(&mut *conn)
    .await?;
    Ok(None)
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

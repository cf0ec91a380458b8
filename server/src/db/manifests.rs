//! The `manifests` and `manifest_references` tables. Manifest bytes live
//! here, byte-exact, so publishing a manifest and its tag is one transaction.

use super::packages::{VersionClaim, VersionConflict, claim_version, tombstone_manifest};
use super::read_cache::ManifestKey;
use super::repositories::ensure_repository;
use super::{Db, Result, now_millis};

/// A manifest about to be stored.
#[derive(Debug)]
pub struct NewManifest<'a> {
    pub repository: &'a str,
    pub digest: &'a str,
    pub media_type: &'a str,
    /// The manifest's `artifactType`, else its config's media type.
    pub artifact_type: Option<&'a str>,
    pub subject: Option<&'a str>,
    /// The manifest's annotations as a JSON object, when it has any.
    pub annotations: Option<String>,
    pub content: &'a [u8],
    /// `(digest, "blob" | "manifest")` of everything it refers to.
    pub references: Vec<(String, &'static str)>,
    /// Whether every reference must be in the repository when the manifest
    /// commits (a client's push). The proxy's ingest stores manifests whose
    /// blobs it fetches on demand.
    pub require_references: bool,
}

/// What [`Db::put_manifest`] did.
#[derive(Debug)]
pub enum PutOutcome {
    Stored,
    /// The tag is a Wasm package version pinned to other content.
    VersionTaken(VersionConflict),
    /// These references are not (any longer) in the repository: nothing
    /// was written.
    Missing(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ManifestRecord {
    pub digest: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// A manifest whose `subject` is some digest (one entry of a referrers list).
#[derive(Debug, Clone)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub annotations: Option<String>,
}

impl Db {
    /// Stores a manifest (idempotent: same digest, same bytes) and points
    /// `tag` at it. With a version claim, the tag is a Wasm package version:
    /// if that version is pinned to other content, nothing is written.
    ///
    /// With `require_references`, every blob link and child manifest it
    /// refers to is re-checked and locked in this transaction (a link's
    /// time is refreshed, which also restarts its GC grace), so a manifest
    /// never commits referring to something GC removed meanwhile (see
    /// `maintenance::gc`).
    pub async fn put_manifest(
        &self,
        manifest: &NewManifest<'_>,
        tag: Option<&str>,
        version: Option<VersionClaim<'_>>,
    ) -> Result<PutOutcome> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        ensure_repository(&mut tx, manifest.repository).await?;
        if let Some(claim) = version
            && let Some(conflict) =
                claim_version(&mut tx, manifest.repository, manifest.digest, claim).await?
        {
            tx.rollback().await?;
            return Ok(PutOutcome::VersionTaken(conflict));
        }
        if manifest.require_references {
            let missing = lock_references(&mut tx, manifest, now).await?;
            if !missing.is_empty() {
                tx.rollback().await?;
                return Ok(PutOutcome::Missing(missing));
            }
        }
        // On a digest already stored, the no-op update locks its row, which
        // orders this commit (and its tag) against GC deleting it.
        sqlx::query(
            "INSERT INTO manifests (repository, digest, media_type, artifact_type, subject, \
             annotations, size, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (repository, digest) DO UPDATE SET size = excluded.size",
        )
        .bind(manifest.repository)
        .bind(manifest.digest)
        .bind(manifest.media_type)
        .bind(manifest.artifact_type)
        .bind(manifest.subject)
        .bind(manifest.annotations.as_deref())
        .bind(i64::try_from(manifest.content.len()).unwrap_or(i64::MAX))
        .bind(manifest.content.to_vec())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (child, kind) in &manifest.references {
            sqlx::query(
                "INSERT INTO manifest_references (repository, manifest_digest, child_digest, \
                 child_kind) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(manifest.repository)
            .bind(manifest.digest)
            .bind(child.as_str())
            .bind(*kind)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(tag) = tag {
            sqlx::query(
                "INSERT INTO tags (repository, name, digest, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, \
                 updated_at = excluded.updated_at",
            )
            .bind(manifest.repository)
            .bind(tag)
            .bind(manifest.digest)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PutOutcome::Stored)
    }

    pub async fn get_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<ManifestRecord>> {
        let key = ManifestKey::Digest {
            repository: repository.to_string(),
            digest: digest.to_string(),
        };
        self.cached(key, async {
            let row: Option<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT media_type, content FROM manifests WHERE repository = $1 AND digest = $2",
            )
            .bind(repository)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(|(media_type, content)| ManifestRecord {
                digest: digest.to_string(),
                media_type,
                content,
            }))
        })
        .await
    }

    pub async fn get_tagged_manifest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<ManifestRecord>> {
        let key = ManifestKey::Tag {
            repository: repository.to_string(),
            tag: tag.to_string(),
        };
        self.cached(key, async {
            let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
                "SELECT m.digest, m.media_type, m.content FROM tags t JOIN manifests m \
                 ON m.repository = t.repository AND m.digest = t.digest \
                 WHERE t.repository = $1 AND t.name = $2",
            )
            .bind(repository)
            .bind(tag)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(|(digest, media_type, content)| ManifestRecord {
                digest,
                media_type,
                content,
            }))
        })
        .await
    }

    /// A manifest lookup through the cache, when there is one (see
    /// [`super::read_cache`]).
    async fn cached(
        &self,
        key: ManifestKey,
        query: impl Future<Output = Result<Option<ManifestRecord>>>,
    ) -> Result<Option<ManifestRecord>> {
        match &self.read_caches {
            Some(caches) => caches.manifests.get_or_query(key, query).await,
            None => query.await,
        }
    }

    /// Deletes a manifest and every tag pointing at it.
    pub async fn delete_manifest(&self, repository: &str, digest: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM manifests WHERE repository = $1 AND digest = $2")
            .bind(repository)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tags WHERE repository = $1 AND digest = $2")
            .bind(repository)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM manifest_references WHERE repository = $1 AND manifest_digest = $2",
        )
        .bind(repository)
        .bind(digest)
        .execute(&mut *tx)
        .await?;
        tombstone_manifest(&mut tx, repository, digest).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Which of `digests` are not manifests of `repository`.
    pub async fn missing_manifests(
        &self,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for digest in digests {
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT size FROM manifests WHERE repository = $1 AND digest = $2")
                    .bind(repository)
                    .bind(digest.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
            if row.is_none() {
                missing.push(digest.clone());
            }
        }
        Ok(missing)
    }

    /// Manifests of `repository` whose subject is `subject`, optionally only
    /// those of one artifact type, in digest order.
    pub async fn referrers(
        &self,
        repository: &str,
        subject: &str,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>> {
        type Row = (String, String, Option<String>, i64, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT digest, media_type, artifact_type, size, annotations FROM manifests \
             WHERE repository = $1 AND subject = $2 AND (CAST($3 AS TEXT) IS NULL OR artifact_type = $3) \
             ORDER BY digest",
        )
        .bind(repository)
        .bind(subject)
        .bind(artifact_type)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(digest, media_type, artifact_type, size, annotations)| Referrer {
                    digest,
                    media_type,
                    artifact_type,
                    size,
                    annotations,
                },
            )
            .collect())
    }
}

/// Locks what `manifest` refers to in its repository, refreshing each blob
/// link's time, and returns the references that are not there.
async fn lock_references(
    conn: &mut sqlx::AnyConnection,
    manifest: &NewManifest<'_>,
    now: i64,
) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for (child, kind) in &manifest.references {
        let query = if *kind == "blob" {
            sqlx::query(
                "UPDATE repository_blobs SET created_at = $3 WHERE repository = $1 AND digest = $2",
            )
            .bind(manifest.repository)
            .bind(child.as_str())
            .bind(now)
        } else {
            sqlx::query("UPDATE manifests SET size = size WHERE repository = $1 AND digest = $2")
                .bind(manifest.repository)
                .bind(child.as_str())
        };
        if query.execute(&mut *conn).await?.rows_affected() == 0 {
            missing.push(child.clone());
        }
    }
    Ok(missing)
}

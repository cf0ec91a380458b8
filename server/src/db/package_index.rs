//! Reading the package index (`package_versions` rows with a package name).

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Db, Result};

/// One indexed, not deleted, version of a package.
#[derive(Debug, Clone)]
pub struct IndexedVersion {
    pub repository: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub layer_digest: String,
    pub manifest_digest: String,
    pub yanked: bool,
    pub kind: String,
    pub size: i64,
    pub annotations: Option<String>,
    pub metadata: Option<String>,
    pub wit_package: Option<String>,
    pub worlds: Option<String>,
    pub interfaces: Option<String>,
    pub imports: Option<String>,
    pub exports: Option<String>,
    pub created_at: i64,
    /// The upstream registry the version was cached from (pull-through
    /// proxy); `None` for versions published here.
    pub upstream: Option<String>,
}

/// Selected from `package_versions` (unaliased: the upstream subquery names it).
const COLUMNS: &str = "repository, namespace, name, version, layer_digest, manifest_digest, yanked, \
     kind, size, annotations, metadata, wit_package, worlds, interfaces, imports, exports, created_at, \
     (SELECT u.upstream FROM upstream_tags u WHERE u.repository = package_versions.repository \
      AND u.name = package_versions.version) AS upstream";

impl<'r> sqlx::FromRow<'r, AnyRow> for IndexedVersion {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            repository: row.try_get("repository")?,
            namespace: row.try_get("namespace")?,
            name: row.try_get("name")?,
            version: row.try_get("version")?,
            layer_digest: row.try_get("layer_digest")?,
            manifest_digest: row.try_get("manifest_digest")?,
            yanked: row.try_get::<i64, _>("yanked")? != 0,
            kind: row.try_get("kind")?,
            size: row.try_get("size")?,
            annotations: row.try_get("annotations")?,
            metadata: row.try_get("metadata")?,
            wit_package: row.try_get("wit_package")?,
            worlds: row.try_get("worlds")?,
            interfaces: row.try_get("interfaces")?,
            imports: row.try_get("imports")?,
            exports: row.try_get("exports")?,
            created_at: row.try_get("created_at")?,
            upstream: row.try_get("upstream")?,
        })
    }
}

/// The condition every index read adds: a version is visible only while its
/// Wasm layer is linked into its own repository. Rows are written only from
/// content read through those links, so this changes nothing for them; it
/// keeps a row from an older gateway (or one whose layer was unlinked since)
/// from showing content the repository does not hold.
pub(super) const LAYER_LINKED: &str = "EXISTS (SELECT 1 FROM repository_blobs rb \
     WHERE rb.repository = package_versions.repository AND rb.digest = package_versions.layer_digest)";

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

impl Db {
    /// Package names (`ns`, `name`) after `after`, optionally in one
    /// namespace and matching `query` (name, metadata, annotations, WIT
    /// interfaces), in name order.
    pub async fn list_packages(
        &self,
        namespace: Option<&str>,
        query: Option<&str>,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let (after_ns, after_name) = after.unwrap_or(("", ""));
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT namespace, name FROM package_versions \
             WHERE namespace IS NOT NULL AND name IS NOT NULL AND deleted = 0 AND {LAYER_LINKED} \
             AND (CAST($1 AS TEXT) IS NULL OR namespace = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR LOWER(namespace || ':' || name) LIKE $2 ESCAPE '\\' \
                  OR LOWER(COALESCE(metadata, '')) LIKE $2 ESCAPE '\\' \
                  OR LOWER(COALESCE(annotations, '')) LIKE $2 ESCAPE '\\' \
                  OR LOWER(COALESCE(interfaces, '')) LIKE $2 ESCAPE '\\') \
             AND (namespace > $3 OR (namespace = $3 AND name > $4)) \
             GROUP BY namespace, name ORDER BY namespace, name LIMIT {limit}"
        )))
        .bind(namespace)
        .bind(query.map(like_pattern))
        .bind(after_ns)
        .bind(after_name)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Every live version of `ns:name`, in no particular order.
    pub async fn package_versions(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<IndexedVersion>> {
        let rows: Vec<IndexedVersion> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM package_versions \
             WHERE namespace = $1 AND name = $2 AND deleted = 0 AND {LAYER_LINKED}"
        )))
        .bind(namespace)
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    pub async fn package_version(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<IndexedVersion>> {
        let row: Option<IndexedVersion> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM package_versions \
             WHERE namespace = $1 AND name = $2 AND version = $3 AND deleted = 0 AND {LAYER_LINKED}"
        )))
        .bind(namespace)
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// The WIT text of a version, if it has one.
    pub async fn package_wit(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT wit_text FROM package_versions \
             WHERE namespace = $1 AND name = $2 AND version = $3 AND deleted = 0 AND {LAYER_LINKED}"
        )))
        .bind(namespace)
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(text,)| text))
    }

    /// Sets the yanked flag; false when there is no such live version.
    pub async fn set_yanked(
        &self,
        namespace: &str,
        name: &str,
        version: &str,
        yanked: bool,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE package_versions SET yanked = $1, updated_at = $2 \
             WHERE namespace = $3 AND name = $4 AND version = $5 AND deleted = 0",
        )
        .bind(i64::from(yanked))
        .bind(super::now_millis())
        .bind(namespace)
        .bind(name)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("Http_2%"), "%http\\_2\\%%");
    }
}

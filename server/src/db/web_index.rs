//! What the package browser reads beyond the package API's queries: one
//! row per package with its last publish time (the home page's "recently
//! published" and namespace counts), and whether a package exists (links to
//! dependencies).

use super::package_index::LAYER_LINKED;
use super::{Db, Result};

/// A package and when a version of it was last published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageActivity {
    pub namespace: String,
    pub name: String,
    /// Unix milliseconds of its newest live version.
    pub last_published: i64,
}

/// A `(namespace, name, last published)` row.
impl From<(String, String, i64)> for PackageActivity {
    fn from((namespace, name, last_published): (String, String, i64)) -> Self {
        Self {
            namespace,
            name,
            last_published,
        }
    }
}

impl Db {
    /// Every package with live versions, in name order. One grouped scan of
    /// the index: callers filter it to what the reader may pull, which a
    /// `LIMIT` in SQL could not do without paging through hidden packages.
    pub async fn package_activity(&self) -> Result<Vec<PackageActivity>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT namespace, name, MAX(created_at) FROM package_versions \
             WHERE namespace IS NOT NULL AND name IS NOT NULL AND deleted = 0 AND {LAYER_LINKED} \
             GROUP BY namespace, name ORDER BY namespace, name"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(PackageActivity::from).collect())
    }

    /// Packages per namespace, over every package (for readers who may see
    /// everything: no rows to filter, so SQL counts).
    pub async fn namespace_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT namespace, COUNT(DISTINCT name) FROM package_versions \
             WHERE namespace IS NOT NULL AND name IS NOT NULL AND deleted = 0 AND {LAYER_LINKED} \
             GROUP BY namespace ORDER BY namespace"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// The `limit` packages published most recently, over every package.
    pub async fn recent_packages(&self, limit: i64) -> Result<Vec<PackageActivity>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT namespace, name, MAX(created_at) AS published FROM package_versions \
             WHERE namespace IS NOT NULL AND name IS NOT NULL AND deleted = 0 AND {LAYER_LINKED} \
             GROUP BY namespace, name ORDER BY published DESC, namespace, name LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(PackageActivity::from).collect())
    }

    /// Whether `ns:name` has a live version.
    pub async fn package_exists(&self, namespace: &str, name: &str) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM package_versions \
             WHERE namespace = $1 AND name = $2 AND deleted = 0 AND {LAYER_LINKED} LIMIT 1"
        )))
        .bind(namespace)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}

//! Registry metadata in SQL through `sqlx`: embedded SQLite (WAL mode) by
//! default, PostgreSQL for scale. Queries use `$n` placeholders and portable
//! SQL so the same code runs on both through `sqlx::Any`; each backend has
//! its own migrations with the same file names.
//!
//! One file per table group; each adds methods to [`Db`].

mod access_tokens;
mod audit;
mod blobs;
mod gc;
mod leases;
mod manifests;
mod package_index;
mod packages;
mod publishers;
mod read_cache;
mod repositories;
mod revoked_jwts;
mod tags;
mod uploads;
mod upstream_tags;
mod users;
mod web_index;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub use access_tokens::{AccessTokenRow, NewAccessToken};
pub use audit::{AuditEntry, NewAuditEntry};
pub use blobs::{BlobClaim, CLAIM_EXPIRY};
pub use gc::RepositoryGraph;
pub use manifests::{ManifestRecord, NewManifest, PutOutcome, Referrer};
pub use package_index::IndexedVersion;
pub use packages::{VersionClaim, VersionConflict, VersionContent};
pub use publishers::{NewPublisher, PublisherRow};
pub use uploads::{ChunkConflict, ChunkRow, UploadRow};
pub use upstream_tags::UpstreamTag;
pub use users::{GrantRow, UserRow};
pub use web_index::PackageActivity;

use crate::config::DatabaseConfig;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database location {0}: {1}")]
    Location(String, std::io::Error),
    /// Garbage collection is deleting this blob's object right now (or a
    /// collector died doing so and the next run finishes it).
    #[error("blob {0} is being deleted by garbage collection")]
    BlobBeingDeleted(String),
}

impl Error {
    /// The database is unreachable or overloaded, rather than wrong.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
                | Error::BlobBeingDeleted(_)
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Handle to the metadata database, cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// Hot lookups answered from memory (SQLite files only).
    read_caches: Option<std::sync::Arc<read_cache::ReadCaches>>,
    /// Which engine: the GC protocol locks rows explicitly on PostgreSQL,
    /// where SQLite serializes every writer anyway (see `gc`).
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which SQL engine a URL names (a leaf type of the config, which checks
/// `database.url` with it).
pub use crate::config::Backend;

impl Db {
    /// Connects and brings the schema up to date.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self> {
        install_default_drivers();
        let backend = Backend::of_url(&config.url).ok_or_else(|| {
            Error::Location(
                config.url.clone(),
                std::io::Error::other("not a sqlite: or postgres:// URL"),
            )
        })?;
        let options = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                let pool = options
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(sqlx::raw_sql(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON;",
                            ))
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&sqlite_url(&config.url)?)
                    .await?;
                restrict_wal_files(&config.url);
                pool
            }
            Backend::Postgres => options.connect(&config.url).await?,
        };
        let read_caches = match backend {
            Backend::Sqlite => {
                SQLITE_MIGRATIONS.run(&pool).await?;
                sqlite_path(&config.url)
                    .and_then(|path| read_cache::ReadCaches::open(Path::new(path)))
                    .map(std::sync::Arc::new)
            }
            Backend::Postgres => {
                POSTGRES_MIGRATIONS.run(&pool).await?;
                None
            }
        };
        Ok(Self {
            pool,
            read_caches,
            backend,
        })
    }

    /// A round trip to the database (readiness).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file a `sqlite:` URL names (`None` for an in-memory database).
fn sqlite_path(url: &str) -> Option<&str> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// Creates the database file's directory and the file itself, both
/// private (see `fs_mode`; SQLite gives the -wal and -shm files the mode of
/// the database file), and asks sqlx to create the file otherwise.
fn sqlite_url(url: &str) -> Result<String> {
    if let Some(path) = sqlite_path(url) {
        let path = Path::new(path);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fs_mode::create_dir_all(parent)
                .map_err(|e| Error::Location(parent.display().to_string(), e))?;
        }
        // A file another user owns (the CLI run by someone else) keeps its
        // mode: that is worth a warning, not a refusal to start.
        let existed = path.exists();
        match crate::fs_mode::ensure_private_file(path) {
            Err(error) if existed => {
                tracing::warn!(%error, path = %path.display(), "cannot make the database private");
            }
            other => other.map_err(|e| Error::Location(path.display().to_string(), e))?,
        }
    }
    Ok(if url.contains('?') {
        url.to_string()
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Makes existing -wal and -shm files private: ones an older version left
/// with the umask's mode keep it, as SQLite reuses them. Failing that is
/// only a warning, as for the database file.
fn restrict_wal_files(url: &str) {
    let Some(path) = sqlite_path(url) else {
        return;
    };
    for suffix in ["-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        match crate::fs_mode::restrict_file(Path::new(&file)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(%error, path = %file, "cannot make a database file private");
            }
            _ => {}
        }
    }
}

/// Milliseconds since the Unix epoch: the timestamp format of every table.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

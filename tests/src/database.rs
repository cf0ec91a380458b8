//! Which database a test gateway uses: SQLite in its data directory by
//! default, or, when `WKG_TEST_DATABASE_URL` names a PostgreSQL server
//! (tests/scripts/with-postgres starts a throwaway one), a fresh database of
//! its own on that server, so tests run in parallel without sharing state.

use std::path::Path;

use sqlx::Connection as _;

pub const SERVER_ENV: &str = "WKG_TEST_DATABASE_URL";

/// The database URL for one test gateway whose data lives in `data_dir`.
pub async fn database_for_test(data_dir: &Path) -> String {
    match std::env::var(SERVER_ENV) {
        Ok(server) if !server.is_empty() => create_postgres_database(&server).await,
        _ => format!("sqlite://{}", data_dir.join("gateway.db").display()),
    }
}

/// Blocking variant for synchronous harness code (runs on its own thread,
/// so it works inside or outside an async runtime).
pub fn database_for_test_blocking(data_dir: &Path) -> String {
    let data_dir = data_dir.to_path_buf();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(database_for_test(&data_dir))
    })
    .join()
    .expect("database setup thread")
}

async fn create_postgres_database(server: &str) -> String {
    let name = unique_name("test");
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("{SERVER_ENV}={server} is not reachable: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let (base, _) = server.rsplit_once('/').expect("database URL with a path");
    format!("{base}/{name}")
}

/// A unique lowercase identifier (`<prefix>_<pid>_<nanos>_<n>`).
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

//! Database behaviours the gateway relies on, run against SQLite by default
//! and PostgreSQL under tests/scripts/with-postgres.

use std::time::Duration;

use integration_tests::TestApp;

#[tokio::test]
async fn leases_exclude_other_holders_until_released_or_expired() {
    let app = TestApp::spawn().await;
    let db = &app.app.db;
    let long = Duration::from_secs(60);
    assert!(db.acquire_lease("job", "a", long).await.unwrap());
    assert!(
        !db.acquire_lease("job", "b", long).await.unwrap(),
        "held by a"
    );
    assert!(
        db.acquire_lease("job", "a", long).await.unwrap(),
        "the holder renews"
    );
    assert!(
        db.acquire_lease("other-job", "b", long).await.unwrap(),
        "leases are per job"
    );
    db.release_lease("job", "b").await.unwrap();
    assert!(
        !db.acquire_lease("job", "b", long).await.unwrap(),
        "only the holder releases"
    );
    db.release_lease("job", "a").await.unwrap();
    assert!(
        db.acquire_lease("job", "b", Duration::from_millis(1))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        db.acquire_lease("job", "c", long).await.unwrap(),
        "an expired lease is taken over"
    );
}

#[tokio::test]
async fn tag_and_catalog_order_is_bytewise() {
    let app = TestApp::spawn().await;
    let (_, manifest) = app.push_artifact("b-repo", "z", b"x").await;
    for tag in ["a", "B", "_x", "1", "a-b", "a.b", "a_b", "aB"] {
        let response = app
            .put_manifest(
                "b-repo",
                tag,
                integration_tests::fixtures::OCI_MANIFEST,
                &manifest,
            )
            .await;
        assert!(response.status().is_success());
    }
    let tags = app.app.db.list_tags("b-repo", None, 100).await.unwrap();
    let mut sorted = tags.clone();
    sorted.sort();
    assert_eq!(
        tags, sorted,
        "byte order, as SQLite's BINARY and Postgres' C collation give"
    );
}

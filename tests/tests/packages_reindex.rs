//! Indexing content that the index does not know yet: lazily on first read,
//! and with `wkg-gateway reindex`.

use integration_tests::{TestApp, fixtures};
use reqwest::StatusCode;
use serde_json::Value;
use wkg_gateway::config::DatabaseConfig;
use wkg_gateway::db::Db;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

async fn forget_index(app: &TestApp) {
    sqlx::query("DELETE FROM package_versions")
        .execute(app.app.db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn unindexed_content_is_indexed_on_first_read() {
    let app = TestApp::spawn().await;
    for version in ["0.1.0", "0.2.0"] {
        let (response, _) = app
            .publish_wasm("acme/lazy", version, &fixtures::component(), "t")
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    forget_index(&app).await;
    let listed: Value = app
        .client
        .get(app.url("/api/v1/packages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["packages"].as_array().unwrap().len(),
        0,
        "the list does not index lazily"
    );

    let package = app
        .client
        .get(app.url("/api/v1/packages/acme/lazy"))
        .send()
        .await
        .unwrap();
    assert_eq!(package.status(), StatusCode::OK);
    let package: Value = package.json().await.unwrap();
    assert_eq!(package["latest"], "0.2.0");
    assert_eq!(package["versions"][0]["kind"], "component");
    let listed: Value = app
        .client
        .get(app.url("/api/v1/packages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["packages"][0]["package"], "acme:lazy");

    forget_index(&app).await;
    let version = app
        .client
        .get(app.url("/api/v1/packages/acme/lazy/0.1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(version.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn reindex_command_rebuilds_the_index() {
    let app = TestApp::spawn().await;
    let (response, _) = app
        .publish_wasm("acme/one", "1.0.0", &fixtures::component(), "t")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let wit = fixtures::wit_package("package acme:two@0.1.0;\ninterface i { f: func(); }\n");
    let (response, _) = app.publish_wasm("acme/two", "0.1.0", &wit, "t").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.push_artifact("acme/plain", "1.0.0", b"plain").await;
    forget_index(&app).await;
    let database_url = app.database_url.clone();
    let env = app.gateway_env();
    let _data = app.shutdown().await;

    let output = std::process::Command::new(BIN)
        .arg("reindex")
        .envs(env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("indexed 2 package versions"), "{stdout}");

    let db = Db::connect(&DatabaseConfig {
        url: database_url,
        max_connections: 1,
    })
    .await
    .unwrap();
    let versions = db.package_versions("acme", "two").await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].kind, "wit");
    assert_eq!(versions[0].wit_package.as_deref(), Some("acme:two@0.1.0"));
    assert_eq!(db.package_versions("acme", "one").await.unwrap().len(), 1);
    db.close().await;
}

//! Indexing content that the index does not know yet: lazily on first read,
//! and with `wkg-gateway reindex`; and what an index read may show.

use integration_tests::{TestApp, fixtures, sha256_digest};
use reqwest::StatusCode;
use serde_json::Value;
use wkg_gateway::config::DatabaseConfig;
use wkg_gateway::db::{Db, NewManifest, PutOutcome};
use wkg_gateway::packages::reindex::index_repository;

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

/// What an older gateway left after mallory pushed `evil/pkg:1.0.0`, a
/// Wasm manifest whose layer is alice's, foreign (with `urls`): the
/// manifest and its tag, and an index row copied from alice's content.
async fn leave_an_older_gateways_state(app: &TestApp, secret: &[u8]) {
    let config = fixtures::wasm_config(secret, "t");
    let config_digest = app.push_blob("evil/pkg", &config).await;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": fixtures::OCI_MANIFEST,
        "config": { "mediaType": fixtures::WASM_CONFIG, "digest": config_digest, "size": config.len() },
        "layers": [{ "mediaType": fixtures::WASM_LAYER, "digest": sha256_digest(secret),
                     "size": secret.len(), "urls": ["https://example.com/app.wasm"] }],
    }))
    .unwrap();
    let digest = sha256_digest(&manifest);
    let stored = NewManifest {
        repository: "evil/pkg",
        digest: &digest,
        media_type: fixtures::OCI_MANIFEST,
        artifact_type: Some(fixtures::WASM_CONFIG),
        subject: None,
        annotations: None,
        content: &manifest,
        references: vec![(config_digest, "blob")],
        require_references: true,
    };
    let outcome = app.app.db.put_manifest(&stored, Some("1.0.0"), None).await;
    assert!(matches!(outcome.unwrap(), PutOutcome::Stored));
    sqlx::query(
        "INSERT INTO package_versions (repository, version, layer_digest, manifest_digest, \
         deleted, yanked, namespace, name, kind, size, annotations, metadata, wit_package, \
         worlds, interfaces, imports, exports, wit_text, created_at, updated_at) \
         SELECT 'evil/pkg', version, layer_digest, $1, deleted, yanked, 'evil', 'pkg', kind, \
         size, annotations, metadata, wit_package, worlds, interfaces, imports, exports, \
         wit_text, created_at, updated_at FROM package_versions WHERE repository = 'secret/app'",
    )
    .bind(&digest)
    .execute(app.app.db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn index_reads_and_reindex_see_only_layers_linked_in_the_repository() {
    let app = TestApp::spawn().await;
    let secret = fixtures::component_with_metadata("alice's secret component", "MIT");
    let (response, _) = app.publish_wasm("secret/app", "1.0.0", &secret, "t").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    leave_an_older_gateways_state(&app, &secret).await;

    let get = |path: &'static str| {
        let app = &app;
        async move {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            let status = response.status();
            (status, response.bytes().await.unwrap().to_vec())
        }
    };
    let not_shown = |path: &str, (status, body): (StatusCode, Vec<u8>)| {
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let text = String::from_utf8_lossy(&body);
        assert!(!body.windows(secret.len()).any(|w| w == secret), "{path}");
        assert!(!text.contains("secret component"), "{path}: {text}");
    };
    for path in [
        "/api/v1/packages/evil/pkg",
        "/api/v1/packages/evil/pkg/1.0.0",
        "/api/v1/packages/evil/pkg/1.0.0/wit",
        "/api/v1/packages/evil/pkg/1.0.0/content",
        "/packages/evil/pkg",
        "/packages/evil/pkg/1.0.0",
    ] {
        not_shown(path, get(path).await);
    }
    for path in ["/api/v1/packages?q=secret", "/", "/search?q=secret"] {
        let (status, body) = get(path).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            text.contains("secret"),
            "{path} lists alice's package: {text}"
        );
        assert!(!text.contains("evil"), "{path}: {text}");
    }

    // Reindexing reads through the repository's links too: it refuses the
    // foreign layer rather than index alice's content for evil/pkg.
    let report = index_repository(&app.app.packages, "evil/pkg", false)
        .await
        .unwrap();
    assert_eq!(report.indexed, 0);
    assert!(
        report.skipped.len() == 1 && report.skipped[0].contains("foreign layer"),
        "{report:?}"
    );
    sqlx::query("DELETE FROM package_versions WHERE repository = 'evil/pkg'")
        .execute(app.app.db.pool())
        .await
        .unwrap();
    // A read that indexes lazily finds nothing to index either.
    let path = "/api/v1/packages/evil/pkg/1.0.0";
    not_shown(path, get(path).await);
    let row: Option<(String,)> =
        sqlx::query_as("SELECT version FROM package_versions WHERE repository = 'evil/pkg'")
            .fetch_optional(app.app.db.pool())
            .await
            .unwrap();
    assert!(row.is_none());
}

//! Garbage collection: garbage goes, nothing live or in flight does.

use std::time::Duration;

use integration_tests::fixtures::{self, OCI_INDEX, OCI_MANIFEST};
use integration_tests::{TestApp, sha256_digest};
use reqwest::StatusCode;
use serde_json::json;
use wkg_gateway::digest::Digest;
use wkg_gateway::maintenance::gc::{GcOptions, GcReport, collect};
use wkg_gateway::storage::StorageKey;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

fn options(dry_run: bool) -> GcOptions {
    GcOptions {
        dry_run,
        delete_untagged: true,
        grace: Duration::from_secs(3600),
    }
}

/// Makes everything stored so far look older than the grace period.
async fn age_everything(app: &TestApp, except_blob: &str) {
    let pool = app.app.db.pool();
    sqlx::query("UPDATE repository_blobs SET created_at = 0 WHERE digest <> $1")
        .bind(except_blob)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE manifests SET created_at = 0")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE blobs SET gc_marked_at = 0 WHERE gc_marked_at IS NOT NULL")
        .execute(pool)
        .await
        .unwrap();
}

async fn status(app: &TestApp, path: &str) -> StatusCode {
    app.client.get(app.url(path)).send().await.unwrap().status()
}

async fn object_exists(app: &TestApp, digest: &str) -> bool {
    let digest: Digest = digest.parse().unwrap();
    app.app
        .storage
        .exists(StorageKey::Blob(&digest))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_garbage_and_keeps_everything_live() {
    let app = TestApp::spawn().await;
    let (kept, kept_bytes) = app.push_artifact("repo", "keep", b"kept layer").await;
    let (dropped, _) = app.push_artifact("repo", "drop", b"dropped layer").await;
    assert_eq!(
        app.client
            .delete(app.url("/v2/repo/manifests/drop"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let dropped_layer = sha256_digest(b"dropped layer");
    // An untagged manifest that a tagged index lists.
    let (child, child_bytes) = app.push_artifact("repo", "child-tmp", b"child layer").await;
    app.client
        .delete(app.url("/v2/repo/manifests/child-tmp"))
        .send()
        .await
        .unwrap();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{ "mediaType": OCI_MANIFEST, "digest": child, "size": child_bytes.len() }]
    }))
    .unwrap();
    assert_eq!(
        app.put_manifest("repo", "idx", OCI_INDEX, &index)
            .await
            .status(),
        StatusCode::CREATED
    );
    // An untagged referrer of a live manifest.
    let config = app.push_blob("repo", b"{}").await;
    let signature = app.push_blob("repo", b"signature").await;
    let referrer =
        fixtures::artifact_manifest(&config, 2, &signature, 9, Some((&kept, kept_bytes.len())));
    let referrer_digest = sha256_digest(&referrer);
    assert_eq!(
        app.put_manifest("repo", &referrer_digest, OCI_MANIFEST, &referrer)
            .await
            .status(),
        StatusCode::CREATED
    );
    // Garbage: a blob no manifest uses. In flight: one pushed just now.
    let orphan = app.push_blob("repo", b"orphan").await;
    let fresh = app
        .push_blob("repo", b"fresh, for a manifest on its way")
        .await;
    age_everything(&app, &fresh).await;

    let dry = collect(&app.app.db, &app.app.storage, options(true))
        .await
        .unwrap();
    assert_eq!(dry.manifests_deleted, 1, "{dry:?}");
    assert_eq!(
        status(&app, &format!("/v2/repo/manifests/{dropped}")).await,
        StatusCode::OK,
        "dry run changes nothing"
    );

    let first = collect(&app.app.db, &app.app.storage, options(false))
        .await
        .unwrap();
    assert_eq!(
        first,
        GcReport {
            manifests_deleted: 1,
            blob_links_removed: 2,
            blobs_marked: 2,
            blobs_deleted: 0,
            bytes_freed: 0
        }
    );
    assert_eq!(
        status(&app, &format!("/v2/repo/manifests/{dropped}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&app, &format!("/v2/repo/blobs/{orphan}")).await,
        StatusCode::NOT_FOUND
    );
    assert!(
        object_exists(&app, &orphan).await,
        "objects go only after the mark ages"
    );

    age_everything(&app, &fresh).await;
    let second = collect(&app.app.db, &app.app.storage, options(false))
        .await
        .unwrap();
    assert_eq!(second.blobs_deleted, 2, "{second:?}");
    assert!(!object_exists(&app, &orphan).await);
    assert!(!object_exists(&app, &dropped_layer).await);

    for live in [
        format!("/v2/repo/manifests/{kept}"),
        format!("/v2/repo/manifests/{child}"),
        "/v2/repo/manifests/idx".to_string(),
        format!("/v2/repo/manifests/{referrer_digest}"),
        format!("/v2/repo/blobs/{}", sha256_digest(b"kept layer")),
        format!("/v2/repo/blobs/{}", sha256_digest(b"child layer")),
        format!("/v2/repo/blobs/{signature}"),
        format!("/v2/repo/blobs/{fresh}"),
    ] {
        assert_eq!(
            status(&app, &live).await,
            StatusCode::OK,
            "{live} must survive"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_during_concurrent_pushes_deletes_nothing_live() {
    let app = TestApp::spawn().await;
    for i in 0..5u8 {
        app.push_blob("busy", &[i; 100]).await; // garbage, aged below
    }
    age_everything(&app, "").await;
    let mut pushes = Vec::new();
    for i in 0..12u8 {
        let client = app.client.clone();
        let base = app.base.clone();
        pushes.push(tokio::spawn(async move {
            let layer = vec![i.wrapping_add(100); 1000];
            let config = b"{}".to_vec();
            for blob in [&layer, &config] {
                let digest = sha256_digest(blob);
                let url = format!("{base}/v2/busy/blobs/uploads/?digest={digest}");
                assert_eq!(
                    client
                        .post(url)
                        .body(blob.clone())
                        .send()
                        .await
                        .unwrap()
                        .status(),
                    StatusCode::CREATED
                );
            }
            let manifest = fixtures::artifact_manifest(
                &sha256_digest(&config),
                2,
                &sha256_digest(&layer),
                layer.len(),
                None,
            );
            let put = client
                .put(format!("{base}/v2/busy/manifests/v{i}"))
                .header("content-type", OCI_MANIFEST)
                .body(manifest)
                .send()
                .await
                .unwrap();
            assert_eq!(put.status(), StatusCode::CREATED);
            layer
        }));
    }
    for _ in 0..3 {
        collect(&app.app.db, &app.app.storage, options(false))
            .await
            .unwrap();
    }
    for (i, push) in pushes.into_iter().enumerate() {
        let layer = push.await.unwrap();
        assert_eq!(
            status(&app, &format!("/v2/busy/manifests/v{i}")).await,
            StatusCode::OK
        );
        let got = app
            .client
            .get(app.url(&format!("/v2/busy/blobs/{}", sha256_digest(&layer))))
            .send()
            .await
            .unwrap();
        assert!(
            got.bytes().await.unwrap().as_ref() == layer.as_slice(),
            "layer {i} intact"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_command_reports() {
    let app = TestApp::spawn().await;
    app.push_blob("cli", b"garbage").await;
    age_everything(&app, "").await;
    let env = app.gateway_env();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["gc", "--dry-run"])
            .envs(env)
            .env("WKG_GATEWAY_GC__GRACE", "1h")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("would remove 0 manifests, 1 blob links"),
        "{stdout}"
    );
    assert_eq!(
        status(
            &app,
            &format!("/v2/cli/blobs/{}", sha256_digest(b"garbage"))
        )
        .await,
        StatusCode::OK
    );
}

//! Pushing Wasm packages: validation of what is pushed, and immutable versions.

use integration_tests::fixtures::{self, OCI_MANIFEST, WASM_CONFIG, WASM_LAYER};
use integration_tests::{TestApp, assert_error, sha256_digest};
use reqwest::StatusCode;
use serde_json::json;

fn core_module() -> Vec<u8> {
    wat::parse_str("(module (func (export \"f\") (result i32) i32.const 1))").unwrap()
}

#[tokio::test]
async fn components_and_core_modules_are_accepted() {
    let app = TestApp::spawn().await;
    let (response, _) = app
        .publish_wasm(
            "ns/comp",
            "1.0.0",
            &fixtures::component(),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (response, _) = app
        .publish_wasm("ns/module", "0.1.0", &core_module(), "2026-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn garbage_and_misshapen_wasm_packages_are_rejected() {
    let app = TestApp::spawn().await;
    let (response, _) = app
        .publish_wasm("ns/bad", "1.0.0", b"definitely not wasm", "t")
        .await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a valid Wasm"),
        "{body}"
    );
    // A valid header with a broken body fails full validation.
    let (response, _) = app
        .publish_wasm("ns/bad", "1.0.1", b"\0asm\x01\0\0\0\x01\x05\x01", "t")
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;

    let component = fixtures::component();
    let layer = app.push_blob("ns/bad", &component).await;
    let config = app.push_blob("ns/bad", b"{}").await;
    let not_object = app.push_blob("ns/bad", b"[1]").await;
    let manifest = |config: &str, config_size: usize, layers: serde_json::Value| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": { "mediaType": WASM_CONFIG, "digest": config, "size": config_size },
            "layers": layers,
        }))
        .unwrap()
    };
    let wasm_layer = json!({ "mediaType": WASM_LAYER, "digest": layer, "size": component.len() });
    let cases = [
        (
            "two layers",
            manifest(&config, 2, json!([wasm_layer, wasm_layer])),
        ),
        ("no layers", manifest(&config, 2, json!([]))),
        (
            "wrong layer type",
            manifest(
                &config,
                2,
                json!([{ "mediaType": "application/octet-stream", "digest": layer, "size": component.len() }]),
            ),
        ),
        (
            "config not an object",
            manifest(&not_object, 3, json!([wasm_layer])),
        ),
    ];
    for (why, body) in cases {
        let response = app
            .put_manifest("ns/bad", "2.0.0", OCI_MANIFEST, &body)
            .await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
        eprintln!("{why}: {}", body["errors"][0]["message"]);
    }
    let ok = manifest(&config, 2, json!([wasm_layer]));
    assert_eq!(
        app.put_manifest("ns/bad", "2.0.0", OCI_MANIFEST, &ok)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn versions_are_immutable() {
    let app = TestApp::spawn().await;
    let first = fixtures::component();
    let second = core_module();
    let (response, original) = app
        .publish_wasm("ns/pkg", "1.0.0", &first, "2026-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Different content under the same version: refused, and the version keeps its content.
    let (response, _) = app
        .publish_wasm("ns/pkg", "1.0.0", &second, "2026-01-02T00:00:00Z")
        .await;
    let body = assert_error(response, StatusCode::CONFLICT, "DENIED").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("1.0.0") && message.contains(&sha256_digest(&first)),
        "{message}"
    );
    let current = app
        .client
        .get(app.url("/v2/ns/pkg/manifests/1.0.0"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(current.as_ref(), original.as_slice());

    // The same bytes again (a fresh `created` time, so a new manifest) are fine.
    let (response, republished) = app
        .publish_wasm("ns/pkg", "1.0.0", &first, "2026-01-03T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_ne!(republished, original);

    // Plain OCI content cannot take over a version tag either.
    let (_, plain) = app.push_artifact("ns/pkg", "scratch", b"plain").await;
    let response = app
        .put_manifest("ns/pkg", "1.0.0", OCI_MANIFEST, &plain)
        .await;
    assert_error(response, StatusCode::CONFLICT, "DENIED").await;

    // Non-semver tags move freely.
    for wasm in [&first, &second] {
        let (response, _) = app
            .publish_wasm("ns/pkg", "latest", wasm, "2026-01-04T00:00:00Z")
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

#[tokio::test]
async fn deleted_versions_leave_a_tombstone() {
    let app = TestApp::spawn().await;
    let first = fixtures::component();
    let (response, manifest) = app.publish_wasm("ns/gone", "0.1.0", &first, "a").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let delete = app
        .client
        .delete(app.url("/v2/ns/gone/manifests/0.1.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::ACCEPTED);

    let (response, _) = app
        .publish_wasm("ns/gone", "0.1.0", &core_module(), "b")
        .await;
    let body = assert_error(response, StatusCode::CONFLICT, "DENIED").await;
    assert_eq!(body["errors"][0]["detail"]["deleted"], true);
    let (response, _) = app.publish_wasm("ns/gone", "0.1.0", &first, "c").await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Deleting by manifest digest tombstones the version as well.
    let current = app
        .client
        .get(app.url("/v2/ns/gone/manifests/0.1.0"))
        .send()
        .await
        .unwrap();
    let digest = current.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(digest, sha256_digest(&manifest));
    let delete = app
        .client
        .delete(app.url(&format!("/v2/ns/gone/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::ACCEPTED);
    let (response, _) = app
        .publish_wasm("ns/gone", "0.1.0", &core_module(), "d")
        .await;
    assert_error(response, StatusCode::CONFLICT, "DENIED").await;
}

#[tokio::test]
async fn layers_above_the_parse_limit_get_a_header_check() {
    let app = TestApp::spawn_with("[packages]\nparse_size_limit = \"1KiB\"\n").await;
    let mut big = b"\0asm\x0d\0\x01\0".to_vec();
    big.extend(fixtures::pseudo_random(4096, 5));
    let (response, _) = app.publish_wasm("ns/big", "1.0.0", &big, "t").await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "stored without full parsing"
    );
    let mut not_wasm = b"ELF\0\0\0\0\0".to_vec();
    not_wasm.extend(fixtures::pseudo_random(4096, 6));
    let (response, _) = app.publish_wasm("ns/big", "1.0.1", &not_wasm, "t").await;
    assert_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
}

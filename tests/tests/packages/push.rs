//! Pushing Wasm packages: validation of what is pushed, and immutable versions.

use integration_tests::fixtures::{self, OCI_MANIFEST, WASM_CONFIG, WASM_LAYER};
use integration_tests::{TestApp, assert_oci_error, sha256_digest};
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
    let body = assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
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
    assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;

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
            "layer size not the blob's",
            manifest(
                &config,
                2,
                json!([{ "mediaType": WASM_LAYER, "digest": layer, "size": component.len() + 1 }]),
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
        let body = assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
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
    let body = assert_oci_error(response, StatusCode::CONFLICT, "DENIED").await;
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
    assert_oci_error(response, StatusCode::CONFLICT, "DENIED").await;

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
    let body = assert_oci_error(response, StatusCode::CONFLICT, "DENIED").await;
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
    assert_oci_error(response, StatusCode::CONFLICT, "DENIED").await;
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
    assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
}

const ALICE: (&str, &str) = ("alice", "alice-password-1");
const MALLORY: (&str, &str) = ("mallory", "mallory-password-1");

/// Token mode: alice may push and pull `secret/*`, mallory `evil/*`, and
/// alice has published `secret/app@1.0.0`, a component with metadata. The
/// harness client is left authenticated as mallory. Returns alice's bytes.
async fn alice_and_mallory() -> (TestApp, Vec<u8>) {
    let mut app = TestApp::spawn_token_mode("").await;
    for ((user, password), pattern) in [(ALICE, "secret/*"), (MALLORY, "evil/*")] {
        app.add_user(user, Some(password)).await;
        app.grant(user, pattern, "pull,push").await;
    }
    app.authenticate_client_as(ALICE.0, ALICE.1);
    let secret = fixtures::component_with_metadata("alice's secret component", "MIT");
    let (response, _) = app
        .publish_wasm("secret/app", "1.0.0", &secret, "2026-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    app.authenticate_client_as(MALLORY.0, MALLORY.1);
    (app, secret)
}

/// An image manifest with one layer of `layer_type`, optionally foreign.
fn one_layer_manifest(
    (config_type, config, config_size): (&str, &str, usize),
    (layer_type, layer, layer_size): (&str, &str, usize),
    foreign: bool,
) -> Vec<u8> {
    let mut descriptor = json!({ "mediaType": layer_type, "digest": layer, "size": layer_size });
    if foreign {
        descriptor["urls"] = json!(["https://example.com/app.wasm"]);
    }
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": { "mediaType": config_type, "digest": config, "size": config_size },
        "layers": [descriptor],
    }))
    .unwrap()
}

/// Status and body of a response, the body with `digest` written as `<digest>`.
async fn answer(response: reqwest::Response, digest: &str) -> (StatusCode, String) {
    let status = response.status();
    let body = response.text().await.unwrap();
    (status, body.replace(digest, "<digest>"))
}

#[tokio::test]
async fn a_manifest_cannot_read_another_repositorys_blob() {
    let (app, secret) = alice_and_mallory().await;
    let secret_digest = sha256_digest(&secret);
    // The same size as alice's layer, stored nowhere.
    let mut nowhere = secret.clone();
    *nowhere.last_mut().unwrap() ^= 0xff;
    let nowhere_digest = sha256_digest(&nowhere);
    let config = fixtures::wasm_config(&secret, "2026-02-01T00:00:00Z");
    let config_digest = app.push_blob("evil/pkg", &config).await;
    let wasm = |layer: &str, foreign| {
        one_layer_manifest(
            (WASM_CONFIG, &config_digest, config.len()),
            (WASM_LAYER, layer, secret.len()),
            foreign,
        )
    };

    // The attack: alice's layer as a foreign layer of mallory's package.
    let response = app
        .put_manifest(
            "evil/pkg",
            "1.0.0",
            OCI_MANIFEST,
            &wasm(&secret_digest, true),
        )
        .await;
    let body = assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("foreign layer"), "{message}");

    // The oracle: foreign or not, a digest held by another repository gets
    // exactly the answer of one stored nowhere.
    for foreign in [true, false] {
        let held = app
            .put_manifest(
                "evil/pkg",
                "1.0.1",
                OCI_MANIFEST,
                &wasm(&secret_digest, foreign),
            )
            .await;
        let held = answer(held, &secret_digest).await;
        let absent = app
            .put_manifest(
                "evil/pkg",
                "1.0.1",
                OCI_MANIFEST,
                &wasm(&nowhere_digest, foreign),
            )
            .await;
        let absent = answer(absent, &nowhere_digest).await;
        assert_eq!(held, absent, "foreign: {foreign}");
        let code = if foreign {
            "MANIFEST_INVALID"
        } else {
            "MANIFEST_BLOB_UNKNOWN"
        };
        assert_eq!(held.0, StatusCode::BAD_REQUEST);
        assert!(held.1.contains(code), "{}", held.1);
    }
    // Alice's blob as a (non-Wasm) config, and alice's manifest in an index.
    let alice_manifest = app.app.db.get_tagged_manifest("secret/app", "1.0.0").await;
    let alice_manifest = alice_manifest.unwrap().unwrap().digest;
    let index = |digest: &str| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": fixtures::OCI_INDEX,
            "manifests": [{ "mediaType": OCI_MANIFEST, "digest": digest, "size": 10 }],
        }))
        .unwrap()
    };
    let artifact = |config: &str| {
        one_layer_manifest(
            (fixtures::ARTIFACT_CONFIG, config, secret.len()),
            (fixtures::ARTIFACT_LAYER, &config_digest, config.len()),
            false,
        )
    };
    for (held, absent, media_type) in [
        (
            index(&alice_manifest),
            index(&nowhere_digest),
            fixtures::OCI_INDEX,
        ),
        (
            artifact(&secret_digest),
            artifact(&nowhere_digest),
            OCI_MANIFEST,
        ),
    ] {
        let held = app.put_manifest("evil/pkg", "x", media_type, &held).await;
        let digest = if media_type == OCI_MANIFEST {
            &secret_digest
        } else {
            &alice_manifest
        };
        let held = answer(held, digest).await;
        let absent = app.put_manifest("evil/pkg", "x", media_type, &absent).await;
        let absent = answer(absent, &nowhere_digest).await;
        assert_eq!(held, absent);
        assert!(held.1.contains("MANIFEST_BLOB_UNKNOWN"), "{}", held.1);
    }

    // A non-Wasm manifest may carry a foreign layer (OCI's non-distributable
    // content) without the blob, but that does not make the blob readable.
    let plain = |layer: &str| {
        one_layer_manifest(
            (fixtures::ARTIFACT_CONFIG, &config_digest, config.len()),
            (fixtures::ARTIFACT_LAYER, layer, secret.len()),
            true,
        )
    };
    for layer in [&secret_digest, &nowhere_digest] {
        let response = app
            .put_manifest("evil/pkg", "plain", OCI_MANIFEST, &plain(layer))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    // Mounting alice's blob falls back to an upload, from her repository
    // (mallory may not pull it) or from his (it does not hold the blob),
    // exactly as for a blob stored nowhere; alice herself may mount it.
    let mount = |digest: &str, from: &str| {
        app.client
            .post(app.url(&format!(
                "/v2/evil/pkg/blobs/uploads/?mount={digest}&from={from}"
            )))
            .send()
    };
    for (digest, from) in [
        (&secret_digest, "secret/app"),
        (&secret_digest, "evil/pkg"),
        (&nowhere_digest, "evil/pkg"),
    ] {
        let response = mount(digest, from).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "{digest} from {from}"
        );
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .contains("/blobs/uploads/")
        );
    }
    let alice_mount = integration_tests::http_client()
        .post(app.url(&format!(
            "/v2/secret/copy/blobs/uploads/?mount={secret_digest}&from=secret/app"
        )))
        .header(
            "authorization",
            integration_tests::auth::basic(ALICE.0, ALICE.1),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(alice_mount.status(), StatusCode::CREATED);

    // Nothing of alice's is readable anywhere under evil/, pages included.
    let session = app
        .token_for(Some(MALLORY), &["repository:evil/pkg:pull"])
        .await;
    for path in [
        "/packages/evil/pkg".to_string(),
        "/packages/evil/pkg/1.0.0".to_string(),
        format!("/v2/evil/pkg/blobs/{secret_digest}"),
        "/v2/evil/pkg/manifests/1.0.0".to_string(),
        "/api/v1/packages/evil/pkg".to_string(),
        "/api/v1/packages/evil/pkg/1.0.0".to_string(),
        "/api/v1/packages/evil/pkg/1.0.0/wit".to_string(),
        "/api/v1/packages/evil/pkg/1.0.0/content".to_string(),
    ] {
        let response = app
            .client
            .get(app.url(&path))
            .header("cookie", format!("wkg-session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.bytes().await.unwrap();
        assert!(!body.windows(secret.len()).any(|w| w == secret), "{path}");
        assert!(
            !String::from_utf8_lossy(&body).contains("secret component"),
            "{path}"
        );
    }
    let listed = app
        .client
        .get(app.url("/api/v1/packages?q=secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(!listed.text().await.unwrap().contains("evil"));
}

/// Pushes a Wasm package's config and layer to `repo` and returns the
/// manifest that refers to them (not yet pushed) and the blobs' digests.
async fn wasm_blobs(app: &TestApp, repo: &str, wasm: &[u8]) -> (Vec<u8>, [String; 2]) {
    let config = fixtures::wasm_config(wasm, "2026-01-01T00:00:00Z");
    let config_digest = app.push_blob(repo, &config).await;
    let layer_digest = app.push_blob(repo, wasm).await;
    let manifest = fixtures::wasm_manifest(
        &config_digest,
        config.len(),
        &layer_digest,
        wasm.len(),
        None,
    );
    (manifest, [config_digest, layer_digest])
}

/// A refused manifest is not visible, and the blobs it named stay.
async fn assert_refused_manifest_left_blobs(
    app: &TestApp,
    repo: &str,
    tag: &str,
    blobs: &[String],
) {
    let manifest = app
        .client
        .get(app.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("accept", fixtures::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_oci_error(manifest, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    for digest in blobs {
        let blob = app
            .client
            .head(app.url(&format!("/v2/{repo}/blobs/{digest}")))
            .send()
            .await
            .unwrap();
        assert_eq!(blob.status(), StatusCode::OK, "{digest} is still stored");
    }
}

/// A limit of zero runs out at the validator's first look at the clock,
/// whatever the machine's speed: the push is refused with the key to raise.
#[tokio::test]
async fn a_layer_that_takes_too_long_to_validate_is_refused_naming_the_limit() {
    let app = TestApp::spawn_with("[packages]\nparse_timeout = \"0s\"\n").await;
    let (manifest, blobs) = wasm_blobs(&app, "ns/slow", &fixtures::component()).await;
    let response = app
        .put_manifest("ns/slow", "1.0.0", OCI_MANIFEST, &manifest)
        .await;
    let body = assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("took too long to validate"), "{message}");
    assert!(message.contains("packages.parse_timeout"), "{message}");
    assert!(message.contains(&blobs[1]), "names the layer: {message}");
    assert_refused_manifest_left_blobs(&app, "ns/slow", "1.0.0", &blobs).await;
    // Plain OCI content is not Wasm-validated, so it is unaffected.
    app.push_artifact("ns/plain", "v1", b"not wasm").await;
}

/// With one validation slot and no queue, a push that needs validation
/// while the slot is taken is refused with 503 and Retry-After; nothing
/// it named is lost, and it goes through once the slot is free.
#[tokio::test(flavor = "multi_thread")]
async fn validations_beyond_the_slots_and_queue_are_refused_with_retry_after() {
    let app =
        TestApp::spawn_with("[packages]\nmax_concurrent_validations = 1\nvalidation_queue = 0\n")
            .await;
    let (manifest, blobs) = wasm_blobs(&app, "ns/busy", &fixtures::component()).await;
    // Held the way a running validation holds it.
    let held = app.app.packages.validations().enter().await.unwrap();
    let response = app
        .put_manifest("ns/busy", "1.0.0", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(response.headers()["retry-after"], "2");
    let body = assert_oci_error(response, StatusCode::SERVICE_UNAVAILABLE, "TOOMANYREQUESTS").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("packages.max_concurrent_validations"),
        "{message}"
    );
    assert_refused_manifest_left_blobs(&app, "ns/busy", "1.0.0", &blobs).await;
    drop(held);
    let response = app
        .put_manifest("ns/busy", "1.0.0", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        app.app.packages.validations().available(),
        1,
        "the slot was given back"
    );
}

/// With one slot and a queue of one: a second validation waits (and
/// completes once the slot frees), a third is refused meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_validation_waits_in_the_queue_while_a_full_queue_refuses() {
    let app =
        TestApp::spawn_with("[packages]\nmax_concurrent_validations = 1\nvalidation_queue = 1\n")
            .await;
    let (first, _) = wasm_blobs(&app, "ns/queue", &fixtures::component()).await;
    let (second, blobs) = wasm_blobs(&app, "ns/queue", &core_module()).await;
    let held = app.app.packages.validations().enter().await.unwrap();
    let waiting = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/v2/ns/queue/manifests/1.0.0");
        async move {
            client
                .put(url)
                .header("content-type", OCI_MANIFEST)
                .body(first)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.app.packages.validations().waiting() < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first push never queued"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let response = app
        .put_manifest("ns/queue", "2.0.0", OCI_MANIFEST, &second)
        .await;
    assert!(response.headers().contains_key("retry-after"));
    assert_oci_error(response, StatusCode::SERVICE_UNAVAILABLE, "TOOMANYREQUESTS").await;
    assert_refused_manifest_left_blobs(&app, "ns/queue", "2.0.0", &blobs).await;
    drop(held);
    assert_eq!(waiting.await.unwrap(), StatusCode::CREATED);
    let response = app
        .put_manifest("ns/queue", "2.0.0", OCI_MANIFEST, &second)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

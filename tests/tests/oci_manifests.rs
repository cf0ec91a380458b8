//! Manifest push, pull, negotiation, validation and delete.

use integration_tests::fixtures::{self, OCI_INDEX, OCI_MANIFEST};
use integration_tests::{TestApp, assert_error, sha256_digest};
use reqwest::StatusCode;
use serde_json::json;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[tokio::test]
async fn push_pull_by_tag_and_digest_byte_exact() {
    let app = TestApp::spawn().await;
    let layer = fixtures::component();
    let config = br#"{"architecture":"wasm"}"#;
    let config_digest = app.push_blob("wasi/http", config).await;
    let layer_digest = app.push_blob("wasi/http", &layer).await;
    // Odd whitespace on purpose: the digest is of the bytes as sent.
    let mut manifest = fixtures::wasm_manifest(
        &config_digest,
        config.len(),
        &layer_digest,
        layer.len(),
        None,
    );
    manifest.extend_from_slice(b"\n\n  ");
    let digest = sha256_digest(&manifest);

    let put = app
        .put_manifest("wasi/http", "1.0.0", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(put.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(
        put.headers()["location"],
        format!("/v2/wasi/http/manifests/{digest}").as_str()
    );

    for reference in ["1.0.0", digest.as_str()] {
        let get = app
            .client
            .get(app.url(&format!("/v2/wasi/http/manifests/{reference}")))
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(get.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(get.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(get.bytes().await.unwrap().as_ref(), manifest.as_slice());
        let head = app
            .client
            .head(app.url(&format!("/v2/wasi/http/manifests/{reference}")))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(
            head.headers()["content-length"],
            manifest.len().to_string().as_str()
        );
        assert_eq!(head.headers()["docker-content-digest"], digest.as_str());
    }

    // Pushing by digest works too, and must match the content.
    let by_digest = app
        .put_manifest("wasi/http", &digest, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(by_digest.status(), StatusCode::CREATED);
    let wrong = app
        .put_manifest(
            "wasi/http",
            &sha256_digest(b"other"),
            OCI_MANIFEST,
            &manifest,
        )
        .await;
    assert_error(wrong, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
}

#[tokio::test]
async fn push_and_pull_by_sha512_digest() {
    use sha2::{Digest as _, Sha512};
    let app = TestApp::spawn().await;
    let (_, manifest) = app.push_artifact("repo", "v1", b"layer").await;
    let digest = format!("sha512:{}", hex::encode(Sha512::digest(&manifest)));
    let put = app
        .put_manifest("repo", &digest, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(put.headers()["docker-content-digest"], digest.as_str());
    let get = app
        .client
        .get(app.url(&format!("/v2/repo/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(get.bytes().await.unwrap().as_ref(), manifest.as_slice());
}

#[tokio::test]
async fn docker_media_types_and_indexes() {
    let app = TestApp::spawn().await;
    let config = app.push_blob("img", b"{}").await;
    let layer = app.push_blob("img", b"layer").await;
    let docker = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 2 },
        "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 5 }]
    }))
    .unwrap();
    let put = app
        .put_manifest("img", "docker", DOCKER_MANIFEST, &docker)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    let docker_digest = sha256_digest(&docker);
    let list = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [{ "mediaType": DOCKER_MANIFEST, "digest": docker_digest, "size": docker.len(),
                        "platform": { "architecture": "amd64", "os": "linux" } }]
    }))
    .unwrap();
    assert_eq!(
        app.put_manifest("img", "list", DOCKER_LIST, &list)
            .await
            .status(),
        StatusCode::CREATED
    );
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{ "mediaType": DOCKER_MANIFEST, "digest": docker_digest, "size": docker.len() }]
    }))
    .unwrap();
    assert_eq!(
        app.put_manifest("img", "index", OCI_INDEX, &index)
            .await
            .status(),
        StatusCode::CREATED
    );
    for (tag, media_type) in [
        ("docker", DOCKER_MANIFEST),
        ("list", DOCKER_LIST),
        ("index", OCI_INDEX),
    ] {
        let get = app
            .client
            .get(app.url(&format!("/v2/img/manifests/{tag}")))
            .send()
            .await
            .unwrap();
        assert_eq!(get.headers()["content-type"], media_type, "{tag}");
    }
    // An index may only list manifests the repository has.
    let dangling = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{ "mediaType": OCI_MANIFEST, "digest": sha256_digest(b"missing"), "size": 7 }]
    }))
    .unwrap();
    let response = app
        .put_manifest("img", "dangling", OCI_INDEX, &dangling)
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
}

#[tokio::test]
async fn invalid_manifests_are_rejected_with_reasons() {
    let app = TestApp::spawn().await;
    let config = app.push_blob("repo", b"{}").await;
    let missing = sha256_digest(b"never uploaded");
    let unknown_layer = fixtures::wasm_manifest(&config, 2, &missing, 14, None);
    let body = assert_error(
        app.put_manifest("repo", "v1", OCI_MANIFEST, &unknown_layer)
            .await,
        StatusCode::BAD_REQUEST,
        "MANIFEST_BLOB_UNKNOWN",
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&missing)
    );

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (OCI_MANIFEST, b"not json".to_vec()),
        (OCI_MANIFEST, b"[1,2]".to_vec()),
        (OCI_MANIFEST, br#"{"schemaVersion":2}"#.to_vec()),
        (OCI_MANIFEST, br#"{"schemaVersion":1,"name":"x"}"#.to_vec()),
        (
            "application/x-custom",
            br#"{"schemaVersion":2,"mediaType":"application/x-custom"}"#.to_vec(),
        ),
        (
            DOCKER_MANIFEST,
            fixtures::wasm_manifest(&config, 2, &config, 2, None),
        ),
    ];
    for (media_type, body) in cases {
        let response = app.put_manifest("repo", "v1", media_type, &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    }
    let bad_tag = app.put_manifest("repo", "-bad", OCI_MANIFEST, b"{}").await;
    assert!(bad_tag.status() == StatusCode::BAD_REQUEST);

    let mut huge = fixtures::wasm_manifest(&config, 2, &config, 2, None);
    huge.extend(std::iter::repeat_n(b' ', 4 * 1024 * 1024));
    let response = app.put_manifest("repo", "huge", OCI_MANIFEST, &huge).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID").await;
    // None of the rejected manifests left a tag behind.
    let tags: serde_json::Value = app
        .client
        .get(app.url("/v2/repo/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!([]));
}

#[tokio::test]
async fn delete_by_tag_and_by_digest() {
    let app = TestApp::spawn().await;
    let (digest, _) = app.push_artifact("repo", "v1", b"layer one").await;
    let put = app
        .client
        .get(app.url("/v2/repo/manifests/v1"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        app.put_manifest("repo", "v2", OCI_MANIFEST, &put)
            .await
            .status(),
        StatusCode::CREATED
    );

    let untag = app
        .client
        .delete(app.url("/v2/repo/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(untag.status(), StatusCode::ACCEPTED);
    let gone = app
        .client
        .get(app.url("/v2/repo/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_error(gone, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    let still = app
        .client
        .get(app.url(&format!("/v2/repo/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);

    let delete = app
        .client
        .delete(app.url(&format!("/v2/repo/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::ACCEPTED);
    for reference in ["v2", digest.as_str()] {
        let gone = app
            .client
            .get(app.url(&format!("/v2/repo/manifests/{reference}")))
            .send()
            .await
            .unwrap();
        assert_error(gone, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
    let again = app
        .client
        .delete(app.url(&format!("/v2/repo/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_error(again, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    let tags: serde_json::Value = app
        .client
        .get(app.url("/v2/repo/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!([]));
}

#[tokio::test]
async fn concurrent_pushes_of_the_same_tag() {
    let app = TestApp::spawn().await;
    let config = app.push_blob("repo", b"{}").await;
    let mut manifests = Vec::new();
    for i in 0..8u8 {
        let layer = app.push_blob("repo", &[i; 16]).await;
        manifests.push(fixtures::artifact_manifest(&config, 2, &layer, 16, None));
    }
    let mut pushes = Vec::new();
    for manifest in manifests.clone() {
        let client = app.client.clone();
        let url = app.url("/v2/repo/manifests/latest");
        pushes.push(tokio::spawn(async move {
            client
                .put(url)
                .header("content-type", OCI_MANIFEST)
                .body(manifest)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for push in pushes {
        assert_eq!(push.await.unwrap(), StatusCode::CREATED);
    }
    let latest = app
        .client
        .get(app.url("/v2/repo/manifests/latest"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        manifests.iter().any(|m| m.as_slice() == latest.as_ref()),
        "the tag points at one of the pushed manifests"
    );
    for manifest in &manifests {
        let get = app
            .client
            .get(app.url(&format!("/v2/repo/manifests/{}", sha256_digest(manifest))))
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::OK);
    }
}

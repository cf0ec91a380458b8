//! Manifest push, pull, negotiation, validation and delete.

use integration_tests::fixtures::{self, OCI_INDEX, OCI_MANIFEST};
use integration_tests::{TestApp, assert_oci_error, sha256_digest};
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
    assert_oci_error(wrong, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
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
    assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
}

#[tokio::test]
async fn invalid_manifests_are_rejected_with_reasons() {
    let app = TestApp::spawn().await;
    let config = app.push_blob("repo", b"{}").await;
    let missing = sha256_digest(b"never uploaded");
    let unknown_layer = fixtures::wasm_manifest(&config, 2, &missing, 14, None);
    let body = assert_oci_error(
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
        assert_oci_error(response, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    }
    let bad_tag = app.put_manifest("repo", "-bad", OCI_MANIFEST, b"{}").await;
    assert!(bad_tag.status() == StatusCode::BAD_REQUEST);

    let mut huge = fixtures::wasm_manifest(&config, 2, &config, 2, None);
    huge.extend(std::iter::repeat_n(b' ', 4 * 1024 * 1024));
    let response = app.put_manifest("repo", "huge", OCI_MANIFEST, &huge).await;
    assert_oci_error(response, StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID").await;
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
    assert_oci_error(gone, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
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
        assert_oci_error(gone, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
    let again = app
        .client
        .delete(app.url(&format!("/v2/repo/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_oci_error(again, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
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

/// An image config like the conformance suite's, made unique by `author`.
fn suite_config(author: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "architecture": "amd64", "os": "linux", "author": author,
        "rootfs": { "type": "layers", "diff_ids": [] }
    }))
    .unwrap()
}

/// An image manifest shaped like the suite's: the config descriptor carries
/// the config inline (`data`) and a field no spec defines; `layers` may be
/// empty, and `mediaType` absent (the Content-Type then says what it is).
fn suite_manifest(config: &[u8], layers: &[&[u8]], with_media_type: bool) -> Vec<u8> {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(config);
    let layers: Vec<_> = layers
        .iter()
        .map(|layer| {
            json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256_digest(layer), "size": layer.len() })
        })
        .collect();
    let mut manifest = json!({
        "schemaVersion": 2,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha256_digest(config), "size": config.len(),
                    "data": data, "newUnspecifiedField": "aGVsbG8gd29ybGQ=" },
        "layers": layers
    });
    if with_media_type {
        manifest["mediaType"] = json!(OCI_MANIFEST);
    }
    serde_json::to_vec_pretty(&manifest).unwrap()
}

/// Uploads a blob the way the suite's setups do: `POST`, then one `PUT`
/// with the bytes and the digest.
async fn post_then_put(app: &TestApp, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let start = app
        .client
        .post(app.url(&format!("/v2/{repo}/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={digest}")))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    digest
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap()
}

/// Suite "Pull": its setup (two configs and a layer by POST + PUT, one
/// manifest pushed by tag, one only by digest), every HEAD and GET of
/// "Pull manifests", "Error codes", and its teardown.
#[tokio::test]
async fn suite_pull_manifests_by_tag_and_digest() {
    use reqwest::Method;
    let app = TestApp::spawn().await;
    let repo = "conformance/pull";
    let layer = b"a gzipped tarball, as far as this registry cares".as_slice();
    let configs = [suite_config("pull-0"), suite_config("pull-1")];
    for blob in [&configs[0][..], &configs[1], layer] {
        post_then_put(&app, repo, blob).await;
    }
    let manifests: Vec<Vec<u8>> = configs
        .iter()
        .map(|config| suite_manifest(config, &[layer], true))
        .collect();
    let digests: Vec<String> = manifests.iter().map(|m| sha256_digest(m)).collect();
    let tagged = app
        .put_manifest(repo, "tagtest0", OCI_MANIFEST, &manifests[0])
        .await;
    assert_eq!(tagged.status(), StatusCode::CREATED);
    let untagged = app
        .put_manifest(repo, &digests[1], OCI_MANIFEST, &manifests[1])
        .await;
    assert_eq!(untagged.status(), StatusCode::CREATED);

    for (reference, digest, bytes) in [
        (digests[0].as_str(), &digests[0], &manifests[0]),
        (digests[1].as_str(), &digests[1], &manifests[1]),
        ("tagtest0", &digests[0], &manifests[0]),
    ] {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let head = send(&app, Method::HEAD, &path).await;
        assert_eq!(head.status(), StatusCode::OK, "HEAD {reference}");
        assert_eq!(head.headers()["docker-content-digest"], digest.as_str());
        let get = send(&app, Method::GET, &path).await;
        assert_eq!(get.status(), StatusCode::OK, "GET {reference}");
        assert_eq!(get.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(get.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }

    // The suite's nonexistent manifest is not even a valid tag.
    let nonexistent = format!("/v2/{repo}/manifests/.INVALID_MANIFEST_NAME");
    let head = send(&app, Method::HEAD, &nonexistent).await;
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");
    let get = send(&app, Method::GET, &nonexistent).await;
    assert_oci_error(get, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;

    // "Error codes": a malformed digest is 400 or 404 with a code of the
    // spec's table; reading it is a 404, pushing to it a 400.
    let wrong = format!("/v2/{repo}/manifests/sha256:totallywrong");
    let get = send(&app, Method::GET, &wrong).await;
    assert_oci_error(get, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    let put = app
        .put_manifest(repo, "sha256:totallywrong", OCI_MANIFEST, b"blablabla")
        .await;
    assert_oci_error(put, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;

    // Teardown, manifests first (the suite's default order).
    for digest in &digests {
        let path = format!("/v2/{repo}/manifests/{digest}");
        assert_eq!(
            send(&app, Method::DELETE, &path).await.status(),
            StatusCode::ACCEPTED
        );
    }
    for blob in [&configs[0][..], &configs[1], layer] {
        let path = format!("/v2/{repo}/blobs/{}", sha256_digest(blob));
        assert_eq!(
            send(&app, Method::DELETE, &path).await.status(),
            StatusCode::ACCEPTED
        );
    }
    for reference in [digests[0].as_str(), &digests[1], "tagtest0"] {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let gone = send(&app, Method::GET, &path).await;
        assert_oci_error(gone, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
}

/// Suite "Push / Manifest Upload": one manifest under four tags, each
/// answered with a Location, and a manifest with no layers and no
/// `mediaType` (the suite only warns when it is refused; we accept it).
#[tokio::test]
async fn suite_manifest_upload_with_tags_and_without_layers() {
    let app = TestApp::spawn().await;
    let repo = "conformance/push";
    let layer = b"layer".as_slice();
    let config = suite_config("push-1");
    post_then_put(&app, repo, &config).await;
    post_then_put(&app, repo, layer).await;
    let manifest = suite_manifest(&config, &[layer], true);
    let digest = sha256_digest(&manifest);
    for tag in ["test0", "test1", "test2", "test3"] {
        let put = app.put_manifest(repo, tag, OCI_MANIFEST, &manifest).await;
        assert_eq!(put.status(), StatusCode::CREATED, "{tag}");
        assert_eq!(
            put.headers()["location"],
            format!("/v2/{repo}/manifests/{digest}").as_str()
        );
    }
    let empty = suite_manifest(&config, &[], false);
    let put = app
        .put_manifest(repo, "emptylayer", OCI_MANIFEST, &empty)
        .await;
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "{}",
        put.text().await.unwrap()
    );
    let empty_digest = sha256_digest(&empty);
    assert_eq!(
        put.headers()["location"],
        format!("/v2/{repo}/manifests/{empty_digest}").as_str()
    );
    let get = send(
        &app,
        reqwest::Method::GET,
        &format!("/v2/{repo}/manifests/emptylayer"),
    )
    .await;
    assert_eq!(get.headers()["content-type"], OCI_MANIFEST);
    assert_eq!(get.bytes().await.unwrap().as_ref(), empty.as_slice());

    // Teardown: both manifests by digest, which takes their tags along.
    for digest in [&digest, &empty_digest] {
        let path = format!("/v2/{repo}/manifests/{digest}");
        let deleted = send(&app, reqwest::Method::DELETE, &path).await;
        assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    }
    let tags: serde_json::Value = app
        .client
        .get(app.url(&format!("/v2/{repo}/tags/list")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags["tags"],
        json!([]),
        "deleting a manifest drops its tags"
    );
}

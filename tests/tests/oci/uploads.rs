//! Chunked, streamed, resumed, cancelled and mounted uploads.

use integration_tests::{TestApp, assert_oci_error, fixtures, sha256_digest};
use reqwest::StatusCode;

/// The limits on uploads: their own module of this binary.
mod limits;

async fn start(app: &TestApp, repo: &str) -> String {
    let response = app
        .client
        .post(app.url(&format!("/v2/{repo}/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["range"], "0-0");
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn patch(
    app: &TestApp,
    location: &str,
    range: Option<&str>,
    body: &[u8],
) -> reqwest::Response {
    let mut request = app
        .client
        .patch(app.url(location))
        .header("content-type", "application/octet-stream")
        .body(body.to_vec());
    if let Some(range) = range {
        request = request.header("content-range", range);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn chunked_upload_with_both_content_range_forms() {
    let app = TestApp::spawn().await;
    let content = fixtures::pseudo_random(10_000, 3);
    let digest = sha256_digest(&content);
    let location = start(&app, "ns/pkg").await;

    let first = patch(&app, &location, Some("0-3999"), &content[..4000]).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(first.headers()["range"], "0-3999");
    let location = first.headers()["location"].to_str().unwrap().to_string();

    let second = patch(
        &app,
        &location,
        Some("bytes=4000-7999"),
        &content[4000..8000],
    )
    .await;
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    assert_eq!(second.headers()["range"], "0-7999");

    let status = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(status.headers()["range"], "0-7999");
    assert!(status.headers().contains_key("docker-upload-uuid"));

    // The last chunk comes with the PUT.
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={digest}")))
        .header("content-range", "8000-9999")
        .body(content[8000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "{}",
        put.text().await.unwrap()
    );
    let get = app
        .client
        .get(app.url(&format!("/v2/ns/pkg/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), content.as_slice());
    // The session is gone once finished.
    let status = app.client.get(app.url(&location)).send().await.unwrap();
    assert_oci_error(status, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
}

#[tokio::test]
async fn streamed_patches_without_content_range() {
    let app = TestApp::spawn().await;
    let content = fixtures::pseudo_random(300_000, 4);
    let digest = sha256_digest(&content);
    let location = start(&app, "repo").await;
    for chunk in content.chunks(100_000) {
        let response = patch(&app, &location, None, chunk).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(put.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(
        put.headers()["location"],
        format!("/v2/repo/blobs/{digest}").as_str()
    );
}

#[tokio::test]
async fn out_of_order_chunk_is_416_and_upload_continues() {
    let app = TestApp::spawn().await;
    let content = fixtures::pseudo_random(2000, 5);
    let location = start(&app, "repo").await;
    assert_eq!(
        patch(&app, &location, Some("0-999"), &content[..1000])
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let skipped = patch(&app, &location, Some("1500-1999"), &content[1500..]).await;
    assert_eq!(skipped.headers()["range"], "0-999");
    assert_oci_error(
        skipped,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "BLOB_UPLOAD_INVALID",
    )
    .await;
    let repeated = patch(&app, &location, Some("0-999"), &content[..1000]).await;
    assert_oci_error(
        repeated,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "BLOB_UPLOAD_INVALID",
    )
    .await;
    assert_eq!(
        patch(&app, &location, Some("1000-1999"), &content[1000..])
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={}", sha256_digest(&content))))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn bad_chunks_and_bad_finishes() {
    let app = TestApp::spawn().await;
    let location = start(&app, "repo").await;
    let lying = patch(&app, &location, Some("0-99"), b"only a few bytes").await;
    assert_oci_error(lying, StatusCode::BAD_REQUEST, "SIZE_INVALID").await;
    let malformed = patch(&app, &location, Some("ten-twenty"), b"x").await;
    assert_oci_error(malformed, StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID").await;
    // Nothing was committed by the failures.
    let status = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(status.headers()["range"], "0-0");

    assert_eq!(
        patch(&app, &location, None, b"abc").await.status(),
        StatusCode::ACCEPTED
    );
    let no_digest = app.client.put(app.url(&location)).send().await.unwrap();
    assert_oci_error(no_digest, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let wrong = app
        .client
        .put(app.url(&format!("{location}?digest={}", sha256_digest(b"xyz"))))
        .send()
        .await
        .unwrap();
    assert_oci_error(wrong, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let head = app
        .client
        .head(app.url(&format!("/v2/repo/blobs/{}", sha256_digest(b"xyz"))))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let head = app
        .client
        .head(app.url(&format!("/v2/repo/blobs/{}", sha256_digest(b"abc"))))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.status(),
        StatusCode::NOT_FOUND,
        "a failed finish stores nothing"
    );
}

/// Several chunks hashed as they arrived: a wrong digest is refused before
/// anything is joined, and the session's staged bytes are gone.
#[tokio::test]
async fn a_chunked_upload_with_the_wrong_digest_stores_nothing() {
    let app = TestApp::spawn().await;
    let content = fixtures::pseudo_random(300_000, 9);
    let location = start(&app, "repo").await;
    let first = patch(&app, &location, Some("0-99999"), &content[..100_000]).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let second = patch(&app, &location, None, &content[100_000..]).await;
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    let claimed = sha256_digest(&content[1..]);
    let wrong = app
        .client
        .put(app.url(&format!("{location}?digest={claimed}")))
        .send()
        .await
        .unwrap();
    assert_oci_error(wrong, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    for digest in [claimed, sha256_digest(&content)] {
        let head = app
            .client
            .head(app.url(&format!("/v2/repo/blobs/{digest}")))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND, "{digest}");
    }
    let gone = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sessions_belong_to_their_repository_and_can_be_cancelled() {
    let app = TestApp::spawn().await;
    let location = start(&app, "mine").await;
    let foreign = location.replace("/v2/mine/", "/v2/theirs/");
    let response = app.client.get(app.url(&foreign)).send().await.unwrap();
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;

    let cancelled = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    let response = app.client.get(app.url(&location)).send().await.unwrap();
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    let response = patch(&app, &location, None, b"late").await;
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    let response = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
}

#[tokio::test]
async fn cross_repository_mount() {
    let app = TestApp::spawn().await;
    let digest = app.push_blob("source/repo", b"shared layer").await;
    let mounted = app
        .client
        .post(app.url(&format!(
            "/v2/target/repo/blobs/uploads/?mount={digest}&from=source/repo"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(mounted.status(), StatusCode::CREATED);
    assert_eq!(mounted.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(
        mounted.headers()["location"],
        format!("/v2/target/repo/blobs/{digest}").as_str()
    );
    let get = app
        .client
        .get(app.url(&format!("/v2/target/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), b"shared layer");

    // Unknown source, unknown blob or no `from` (no automatic discovery of
    // a source): an ordinary upload session instead, in the target.
    let unknown = sha256_digest(b"nobody has this");
    for query in [
        format!("mount={unknown}&from=source/repo"),
        format!("mount={digest}&from=elsewhere"),
        format!("mount={digest}"),
        format!("mount={unknown}"),
        "mount=garbage&from=source/repo".to_string(),
    ] {
        let response = app
            .client
            .post(app.url(&format!("/v2/third/blobs/uploads/?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{query}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("/v2/third/blobs/uploads/"),
            "{query}: {location}"
        );
    }
    let head = app
        .client
        .head(app.url(&format!("/v2/third/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND, "nothing was mounted");
}

#[tokio::test]
async fn concurrent_chunk_at_same_offset_commits_once() {
    let app = TestApp::spawn().await;
    let location = start(&app, "race").await;
    let chunk = fixtures::pseudo_random(200_000, 9);
    let mut attempts = Vec::new();
    for _ in 0..6 {
        let client = app.client.clone();
        let url = app.url(&location);
        let chunk = chunk.clone();
        attempts.push(tokio::spawn(async move {
            client
                .patch(url)
                .header("content-range", "0-199999")
                .body(chunk)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut accepted = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::RANGE_NOT_SATISFIABLE => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 1);
    let status = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(status.headers()["range"], "0-199999");
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={}", sha256_digest(&chunk))))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
}

/// Suite "Push / Blob Upload Chunked", step by step with its 42-byte blob:
/// a first chunk that does not start at 0 is 416; the first chunk is 202
/// with its Range; resending it to the session's first Location is 416; a
/// GET there (a stale Location) is 204 with Range and Location; the second
/// chunk goes to that Location; a bodiless PUT with the digest finishes.
#[tokio::test]
async fn suite_chunked_upload_sequence() {
    let app = TestApp::spawn().await;
    let blob = fixtures::pseudo_random(42, 11);
    let (first, second) = blob.split_at(22);
    let second_range = "22-41";

    let fresh = start(&app, "conformance").await;
    let out_of_order = patch(&app, &fresh, Some(second_range), second).await;
    assert_eq!(out_of_order.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let stale = start(&app, "conformance").await;
    let response = patch(&app, &stale, Some("0-21"), first).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["range"], "0-21");
    let retried = patch(&app, &stale, Some("0-21"), first).await;
    assert_eq!(retried.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let status = app.client.get(app.url(&stale)).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(status.headers()["range"], "0-21");
    let location = status.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/v2/conformance/blobs/uploads/"));

    let response = patch(&app, &location, Some(second_range), second).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let digest = sha256_digest(&blob);
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={digest}")))
        .header("content-type", "application/octet-stream")
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(
        put.headers()["location"],
        format!("/v2/conformance/blobs/{digest}").as_str()
    );
    let get = app
        .client
        .get(app.url(&format!("/v2/conformance/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), blob.as_slice());
}

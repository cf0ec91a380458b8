//! Blob reads, ranges, deletes and monolithic uploads.

use integration_tests::{TestApp, assert_error, fixtures, sha256_digest};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha512};

#[tokio::test]
async fn monolithic_post_then_head_get_and_ranges() {
    let app = TestApp::spawn().await;
    let content = fixtures::pseudo_random(100_000, 1);
    let digest = app.push_blob("team/app", &content).await;

    let head = app
        .client
        .head(app.url(&format!("/v2/team/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "100000");
    assert_eq!(head.headers()["docker-content-digest"], digest.as_str());

    let get = app
        .client
        .get(app.url(&format!("/v2/team/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(get.bytes().await.unwrap().as_ref(), content.as_slice());

    for (range, start, end) in [
        ("bytes=10-19", 10, 20),
        ("bytes=99990-", 99_990, 100_000),
        ("bytes=-5", 99_995, 100_000),
    ] {
        let part = app
            .client
            .get(app.url(&format!("/v2/team/app/blobs/{digest}")))
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {start}-{}/100000", end - 1).as_str()
        );
        assert_eq!(
            part.bytes().await.unwrap().as_ref(),
            &content[start..end],
            "{range}"
        );
    }
    let beyond = app
        .client
        .get(app.url(&format!("/v2/team/app/blobs/{digest}")))
        .header("range", "bytes=100000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.headers()["content-range"], "bytes */100000");
    assert_error(beyond, StatusCode::RANGE_NOT_SATISFIABLE, "UNSUPPORTED").await;
}

#[tokio::test]
async fn monolithic_put_after_post_and_sha512() {
    let app = TestApp::spawn().await;
    let content = b"sha512 content".to_vec();
    let digest = format!("sha512:{}", hex::encode(Sha512::digest(&content)));
    let start = app
        .client
        .post(app.url("/v2/repo/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let location = start.headers()["location"].to_str().unwrap().to_string();
    assert!(start.headers().contains_key("docker-upload-uuid"));
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={digest}")))
        .header("content-type", "application/octet-stream")
        .body(content.clone())
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
        .get(app.url(&format!("/v2/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(get.bytes().await.unwrap().as_ref(), content.as_slice());
}

#[tokio::test]
async fn digest_mismatch_stores_nothing() {
    let app = TestApp::spawn().await;
    let claimed = sha256_digest(b"what the client claims");
    let response = app
        .client
        .post(app.url(&format!("/v2/repo/blobs/uploads/?digest={claimed}")))
        .body("something else")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let head = app
        .client
        .head(app.url(&format!("/v2/repo/blobs/{claimed}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let digest: wkg_gateway::digest::Digest = claimed.parse().unwrap();
    let key = wkg_gateway::storage::StorageKey::Blob(&digest);
    assert!(
        !app.app.storage.exists(key).await.unwrap(),
        "no object for a rejected digest"
    );
}

#[tokio::test]
async fn blob_errors_and_delete() {
    let app = TestApp::spawn().await;
    let digest = app.push_blob("repo", b"to delete").await;
    let unknown = sha256_digest(b"never pushed");
    let response = app
        .client
        .get(app.url(&format!("/v2/repo/blobs/{unknown}")))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
    let response = app
        .client
        .head(app.url(&format!("/v2/repo/blobs/{unknown}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .client
        .get(app.url("/v2/repo/blobs/sha256:123"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let response = app
        .client
        .get(app.url(&format!("/v2/Repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
    // A blob pushed to one repository is not visible in another.
    let response = app
        .client
        .get(app.url(&format!("/v2/other/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;

    let deleted = app
        .client
        .delete(app.url(&format!("/v2/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let response = app
        .client
        .get(app.url(&format!("/v2/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
    let again = app
        .client
        .delete(app.url(&format!("/v2/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_error(again, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
}

#[tokio::test]
async fn empty_blob() {
    let app = TestApp::spawn().await;
    let digest = app.push_blob("repo", b"").await;
    let get = app
        .client
        .get(app.url(&format!("/v2/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()["content-length"], "0");
    // Empty blob through an upload session, too.
    let start = app
        .client
        .post(app.url("/v2/other/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let put = app
        .client
        .put(app.url(&format!("{location}?digest={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "{}",
        put.text().await.unwrap()
    );
}

#[tokio::test]
async fn concurrent_pushes_of_the_same_blob() {
    let app = TestApp::spawn().await;
    let content = fixtures::pseudo_random(3 * 1024 * 1024, 7);
    let digest = sha256_digest(&content);
    let mut pushes = Vec::new();
    for i in 0..8 {
        let client = app.client.clone();
        let content = content.clone();
        let url = if i % 2 == 0 {
            app.url(&format!("/v2/repo/blobs/uploads/?digest={digest}"))
        } else {
            app.url(&format!("/v2/repo{i}/blobs/uploads/?digest={digest}"))
        };
        pushes.push(tokio::spawn(async move {
            client
                .post(url)
                .body(content)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for push in pushes {
        assert_eq!(push.await.unwrap(), StatusCode::CREATED);
    }
    let get = app
        .client
        .get(app.url(&format!("/v2/repo3/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), content.as_slice());
}

//! Blob reads, ranges, deletes and monolithic uploads.

use integration_tests::{TestApp, assert_oci_error, counter, fixtures, sha256_digest};
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
    assert_oci_error(beyond, StatusCode::RANGE_NOT_SATISFIABLE, "UNSUPPORTED").await;
}

/// Hits of the in-memory blob cache so far. Gateways started by one test
/// run in its process and share its metrics.
async fn blob_cache_hits(app: &TestApp) -> u64 {
    let series = "wkg_gateway_blob_cache_total{result=\"hit\"}";
    counter(&app.client, &app.base, series).await.unwrap_or(0)
}

/// Small blobs are served from memory after their first read
/// (`[storage] memory_cache`); whole reads and ranges answer the same bytes
/// from memory, from the store with the cache off, and for blobs too big
/// to cache.
#[tokio::test]
async fn reads_are_the_same_from_memory_and_from_the_store() {
    for storage_extra in ["", "memory_cache = 0"] {
        let app = TestApp::spawn_with_storage_extra(storage_extra).await;
        let hits_before = blob_cache_hits(&app).await;
        for (seed, size) in [(3u64, 200_000usize), (4, 1_500_000)] {
            let content = fixtures::pseudo_random(size, seed);
            let digest = app.push_blob("team/hot", &content).await;
            let url = app.url(&format!("/v2/team/hot/blobs/{digest}"));
            for _ in 0..3 {
                let get = app.client.get(&url).send().await.unwrap();
                assert_eq!(get.headers()["content-length"], size.to_string().as_str());
                assert!(get.bytes().await.unwrap().as_ref() == content.as_slice());
            }
            for (range, start, end) in [
                (format!("bytes=0-{}", size - 1), 0, size),
                ("bytes=7-70000".to_string(), 7, 70_001),
                (format!("bytes={}-", size - 3), size - 3, size),
                ("bytes=-1".to_string(), size - 1, size),
            ] {
                let part = app
                    .client
                    .get(&url)
                    .header("range", &range)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
                assert!(
                    part.bytes().await.unwrap().as_ref() == &content[start..end],
                    "{range} of {size} bytes ({storage_extra:?})"
                );
            }
        }
        let hits = blob_cache_hits(&app).await - hits_before;
        if storage_extra.is_empty() {
            // Two more whole reads and four ranges of the small blob.
            assert_eq!(hits, 6);
        } else {
            assert_eq!(hits, 0, "the cache is off");
        }
    }
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
    assert_oci_error(response, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
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
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
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
    assert_oci_error(response, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let response = app
        .client
        .get(app.url(&format!("/v2/Repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
    // A blob pushed to one repository is not visible in another.
    let response = app
        .client
        .get(app.url(&format!("/v2/other/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;

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
    assert_oci_error(response, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
    let again = app
        .client
        .delete(app.url(&format!("/v2/repo/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_oci_error(again, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
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

/// Suite "Push / Blob Upload Monolithic": `POST ?digest=` with the bytes,
/// and `POST` then `PUT` with the bytes, each answered with the blob's
/// Location; the blob is there right after.
#[tokio::test]
async fn suite_monolithic_uploads_answer_with_locations() {
    let app = TestApp::spawn().await;
    let config = br#"{"architecture":"amd64","os":"linux","author":"push-1"}"#;
    let digest = sha256_digest(config);
    let response = app
        .client
        .post(app.url(&format!("/v2/conformance/blobs/uploads/?digest={digest}")))
        .header("content-type", "application/octet-stream")
        .body(config.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        format!("/v2/conformance/blobs/{digest}").as_str()
    );
    assert_eq!(response.headers()["docker-content-digest"], digest.as_str());
    let get = app
        .client
        .get(app.url(&format!("/v2/conformance/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), config.as_slice());

    for blob in [config.as_slice(), b"a layer"] {
        let digest = sha256_digest(blob);
        let start = app
            .client
            .post(app.url("/v2/conformance/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::ACCEPTED);
        let location = start.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/v2/conformance/blobs/uploads/"));
        let put = app
            .client
            .put(app.url(&format!("{location}?digest={digest}")))
            .header("content-type", "application/octet-stream")
            .body(blob.to_vec())
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
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(get.bytes().await.unwrap().as_ref(), blob);
    }
}

/// The suite's teardowns with `OCI_DELETE_MANIFEST_BEFORE_BLOBS=false`:
/// the blobs of a tagged manifest are deleted first (2xx, 404 or 405 are
/// allowed), and deleting the manifest afterwards must still succeed.
#[tokio::test]
async fn blobs_deleted_before_the_manifest_that_uses_them() {
    let app = TestApp::spawn().await;
    let layer = b"layer of a manifest".as_slice();
    let (digest, manifest) = app.push_artifact("repo", "tagtest0", layer).await;
    let config = br#"{"kind":"example"}"#.as_slice();
    for blob in [config, layer] {
        let url = app.url(&format!("/v2/repo/blobs/{}", sha256_digest(blob)));
        let deleted = app.client.delete(&url).send().await.unwrap();
        assert!(
            matches!(deleted.status().as_u16(), 200..=299 | 404 | 405),
            "{}",
            deleted.status()
        );
    }
    // The manifest itself is untouched until it is deleted.
    let get = app
        .client
        .get(app.url("/v2/repo/manifests/tagtest0"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), manifest.as_slice());
    let deleted = app
        .client
        .delete(app.url(&format!("/v2/repo/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    for path in [
        format!("/v2/repo/manifests/{digest}"),
        "/v2/repo/manifests/tagtest0".to_string(),
    ] {
        let gone = app.client.get(app.url(&path)).send().await.unwrap();
        assert_oci_error(gone, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
    for blob in [config, layer] {
        let url = app.url(&format!("/v2/repo/blobs/{}", sha256_digest(blob)));
        let gone = app.client.get(&url).send().await.unwrap();
        assert_oci_error(gone, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
    }
}

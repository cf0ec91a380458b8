//! Two gateway processes sharing one database and one blob store behave as
//! one registry (SQLite + local disk by default; PostgreSQL + S3 under
//! tests/scripts/with-postgres and with-s3).

use integration_tests::fixtures::{self, OCI_MANIFEST};
use integration_tests::upload::UploadSession;
use integration_tests::{GatewayProcess, counter, http_client, push_blob_to, sha256_digest};
use reqwest::StatusCode;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_moves_between_replicas() {
    let data = TempDir::new().unwrap();
    let a = GatewayProcess::start(BIN, data.path(), &[]);
    let b = a.start_replica();
    let client = http_client();
    let content = fixtures::pseudo_random(3_000_000, 21);

    let session = UploadSession::start(&client, &a.base, "shared").await;
    for (gateway, range) in [
        (&a, 0..1_000_000),
        (&b, 1_000_000..2_000_000),
        (&a, 2_000_000..3_000_000),
    ] {
        let response = session
            .via(&gateway.base)
            .patch(range.start, &content[range.clone()])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "chunk {range:?} on {}",
            gateway.base
        );
    }
    let on_b = session.via(&b.base);
    assert_eq!(on_b.range().await, "0-2999999");
    // Finished on B, whose process saw only the middle chunk go by.
    let digest = sha256_digest(&content);
    let put = on_b.finish(&digest).await;
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "{}",
        put.text().await.unwrap()
    );
    let got = client
        .get(format!("{}/v2/shared/blobs/{digest}", a.base))
        .send()
        .await
        .unwrap();
    assert!(got.bytes().await.unwrap().as_ref() == content.as_slice());
}

#[tokio::test(flavor = "multi_thread")]
async fn pushes_on_one_replica_are_visible_on_the_other_at_once() {
    let data = TempDir::new().unwrap();
    let a = GatewayProcess::start(BIN, data.path(), &[]);
    let b = a.start_replica();
    let client = http_client();
    let config = push_blob_to(&client, &a.base, "team/app", b"{}").await;
    let mut manifests = Vec::new();
    for i in 0..6u8 {
        let layer = push_blob_to(&client, &b.base, "team/app", &[i; 32]).await;
        manifests.push(fixtures::artifact_manifest(&config, 2, &layer, 32, None));
    }
    // One push on A, read from B immediately.
    let put = client
        .put(format!("{}/v2/team/app/manifests/v1", a.base))
        .header("content-type", OCI_MANIFEST)
        .body(manifests[0].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let got = client
        .get(format!("{}/v2/team/app/manifests/v1", b.base))
        .send()
        .await
        .unwrap();
    assert!(got.bytes().await.unwrap().as_ref() == manifests[0].as_slice());

    // Concurrent pushes of one tag through both replicas end in one state.
    let mut pushes = Vec::new();
    for (i, manifest) in manifests.iter().enumerate() {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let client = client.clone();
        let manifest = manifest.clone();
        pushes.push(tokio::spawn(async move {
            client
                .put(format!("{base}/v2/team/app/manifests/latest"))
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
    let from_a = client
        .get(format!("{}/v2/team/app/manifests/latest", a.base))
        .send()
        .await
        .unwrap();
    let digest_a = from_a.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    let from_b = client
        .get(format!("{}/v2/team/app/manifests/latest", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        from_b.headers()["docker-content-digest"].to_str().unwrap(),
        digest_a
    );
    assert!(manifests.iter().any(|m| sha256_digest(m) == digest_a));
}

/// What one replica has just served (and may hold in its manifest cache)
/// changes at once when the other replica moves a tag or deletes a manifest.
#[tokio::test(flavor = "multi_thread")]
async fn reads_on_one_replica_follow_writes_on_the_other_at_once() {
    let data = TempDir::new().unwrap();
    let a = GatewayProcess::start(BIN, data.path(), &[]);
    let b = a.start_replica();
    let client = http_client();
    let config = push_blob_to(&client, &a.base, "team/cached", b"{}").await;
    let get = |base: &str, reference: &str| {
        client
            .get(format!("{base}/v2/team/cached/manifests/{reference}"))
            .header("accept", OCI_MANIFEST)
            .send()
    };
    let mut previous: Option<String> = None;
    for round in 0..5u8 {
        let layer = push_blob_to(&client, &a.base, "team/cached", &[round; 40]).await;
        let manifest = fixtures::artifact_manifest(&config, 2, &layer, 40, None);
        let digest = sha256_digest(&manifest);
        let put = client
            .put(format!("{}/v2/team/cached/manifests/latest", a.base))
            .header("content-type", OCI_MANIFEST)
            .body(manifest.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
        // B answers with the new manifest, repeatedly (the second read can
        // come from its cache).
        for _ in 0..2 {
            let got = get(&b.base, "latest").await.unwrap();
            assert_eq!(got.headers()["docker-content-digest"], digest.as_str());
            assert_eq!(got.bytes().await.unwrap().as_ref(), manifest.as_slice());
            let by_digest = get(&b.base, &digest).await.unwrap();
            assert_eq!(by_digest.status(), StatusCode::OK);
        }
        // The manifest the tag pointed at before is deleted through A: B
        // stops serving it at once.
        if let Some(old) = previous.replace(digest) {
            assert_eq!(get(&b.base, &old).await.unwrap().status(), StatusCode::OK);
            let deleted = client
                .delete(format!("{}/v2/team/cached/manifests/{old}", a.base))
                .send()
                .await
                .unwrap();
            assert_eq!(deleted.status(), StatusCode::ACCEPTED);
            assert_eq!(
                get(&b.base, &old).await.unwrap().status(),
                StatusCode::NOT_FOUND
            );
        }
    }
    // Deleting the tag through A: B says the tag is unknown.
    let untag = client
        .delete(format!("{}/v2/team/cached/manifests/latest", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(untag.status(), StatusCode::ACCEPTED);
    assert_eq!(
        get(&b.base, "latest").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // On SQLite, B answered the repeated reads from its manifest cache.
    let on_postgres =
        std::env::var(integration_tests::database::SERVER_ENV).is_ok_and(|url| !url.is_empty());
    if !on_postgres {
        let count = async |result: &str| {
            let series = format!(
                "wkg_gateway_lookup_cache_total{{lookup=\"manifest\",result=\"{result}\"}}"
            );
            counter(&client, &b.base, &series).await.unwrap_or(0)
        };
        assert!(count("hit").await >= 5);
        assert!(count("miss").await >= 5);
    }
}

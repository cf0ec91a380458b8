//! `[server] request_timeout`: a request that does not finish in time gets
//! a 503 with `Retry-After` (here: a manifest whose body never arrives in
//! time), while blob uploads, which may stream for hours, are exempt.

use std::time::Duration;

use futures::StreamExt as _;
use integration_tests::{TestApp, fixtures};
use reqwest::{Body, StatusCode};
use serde_json::Value;

/// A body that sends `first`, waits `pause`, then sends `rest`.
fn dripping(first: Vec<u8>, pause: Duration, rest: Vec<u8>) -> Body {
    let chunks = futures::stream::iter([(first, Duration::ZERO), (rest, pause)]).then(
        |(chunk, wait)| async move {
            tokio::time::sleep(wait).await;
            Ok::<_, std::io::Error>(chunk)
        },
    );
    Body::wrap_stream(chunks)
}

#[tokio::test]
async fn slow_requests_time_out_but_uploads_may_take_their_time() {
    let app = TestApp::spawn_with("[server]\nrequest_timeout = \"1s\"").await;
    let config = br#"{"architecture":"wasm","os":"wasip2"}"#;
    let wasm = fixtures::component();
    let config_digest = app.push_blob("acme/app", config).await;
    let layer_digest = app.push_blob("acme/app", &wasm).await;
    let manifest = fixtures::wasm_manifest(
        &config_digest,
        config.len(),
        &layer_digest,
        wasm.len(),
        None,
    );
    let (head, tail) = manifest.split_at(10);

    let slow = app
        .client
        .put(app.url("/v2/acme/app/manifests/1.0.0"))
        .header("content-type", fixtures::OCI_MANIFEST)
        .body(dripping(
            head.to_vec(),
            Duration::from_secs(3),
            tail.to_vec(),
        ))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(slow.headers()["retry-after"], "1");
    let body: Value = slow.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did not complete within 1s")
    );
    let missing = app
        .client
        .get(app.url("/v2/acme/app/manifests/1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        StatusCode::NOT_FOUND,
        "nothing half-stored"
    );

    // A blob upload that pauses longer than the limit still succeeds.
    let blob = fixtures::pseudo_random(64 * 1024, 7);
    let digest = integration_tests::sha256_digest(&blob);
    let (a, b) = blob.split_at(1000);
    let uploaded = app
        .client
        .post(app.url(&format!("/v2/acme/app/blobs/uploads/?digest={digest}")))
        .body(dripping(
            a.to_vec(),
            Duration::from_millis(2500),
            b.to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
}

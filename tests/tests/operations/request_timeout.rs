//! `[server] request_timeout`: a request that does not finish in time gets
//! a 503 with `Retry-After` (here: a manifest whose body never arrives),
//! while blob uploads, which may stream for hours, are exempt.
//!
//! Nothing here guesses how long a step takes: the manifest's body is held
//! until its request has timed out, and the blob's body is held for at
//! least that long, since it was opened first.

use bytes::Bytes;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use integration_tests::{TestApp, fixtures};
use reqwest::{Body, StatusCode};
use serde_json::Value;

/// A body whose `first` bytes are sent now and the rest when the test
/// sends them through the returned sender (or never).
fn held(first: &[u8]) -> (Body, UnboundedSender<Result<Bytes, std::io::Error>>) {
    let (sender, receiver) = unbounded();
    sender
        .unbounded_send(Ok(Bytes::copy_from_slice(first)))
        .unwrap();
    (Body::wrap_stream(receiver), sender)
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_requests_time_out_but_uploads_may_take_their_time() {
    let app = TestApp::spawn_with("[server]\nrequest_timeout = \"2s\"").await;
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

    // A blob upload that will pause for longer than the limit.
    let blob = fixtures::pseudo_random(64 * 1024, 7);
    let digest = integration_tests::sha256_digest(&blob);
    let (blob_body, blob_rest) = held(&blob[..1000]);
    let uploading = tokio::spawn(
        app.client
            .post(app.url(&format!("/v2/acme/app/blobs/uploads/?digest={digest}")))
            .body(blob_body)
            .send(),
    );

    let (head, _) = manifest.split_at(10);
    let (manifest_body, _never) = held(head);
    let slow = app
        .client
        .put(app.url("/v2/acme/app/manifests/1.0.0"))
        .header("content-type", fixtures::OCI_MANIFEST)
        .body(manifest_body)
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
            .contains("did not complete within 2s"),
        "{body}"
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

    // The blob's body has now waited longer than the limit: it still
    // succeeds.
    blob_rest
        .unbounded_send(Ok(Bytes::copy_from_slice(&blob[1000..])))
        .unwrap();
    drop(blob_rest);
    let uploaded = uploading.await.unwrap().unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
}

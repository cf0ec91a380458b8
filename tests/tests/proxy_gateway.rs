//! Another wkg-gateway as the upstream: with token auth and credentials in
//! the `[[upstream]]` entry, found through its registry.json, and lying
//! (through a tap) about a blob stored here for another repository.

use integration_tests::upstream::{Tap, TapMode};
use integration_tests::{TestApp, assert_error, fixtures, sha256_digest};
use reqwest::StatusCode;

/// An upstream gateway in token mode holding `wasi:io@0.2.0`, with a robot
/// account `mirror` that may only pull.
async fn upstream_with_auth() -> (TestApp, Vec<u8>, String) {
    let mut upstream = TestApp::spawn_token_mode("").await;
    upstream
        .add_user("publisher", Some("publisher-password-1"))
        .await;
    upstream.grant("publisher", "*", "pull,push").await;
    upstream.add_user("mirror", Some("mirror-password-1")).await;
    upstream.grant("mirror", "wasi/*", "pull").await;
    upstream.authenticate_client_as("publisher", "publisher-password-1");
    let component = fixtures::component();
    let (response, manifest) = upstream
        .publish_wasm("wasi/io", "0.2.0", &component, "2024-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    (upstream, component, sha256_digest(&manifest))
}

fn entry(upstream: &TestApp, password: &str) -> String {
    format!(
        "[[upstream]]\nnamespaces = [\"wasi\"]\n\
         oci = {{ registry = \"{}\", protocol = \"http\", auth = {{ username = \"mirror\", password = \"{password}\" }} }}\n",
        upstream.authority
    )
}

#[tokio::test]
async fn a_gateway_with_token_auth_is_proxied_with_configured_credentials() {
    let (upstream, component, manifest_digest) = upstream_with_auth().await;
    // Anonymous pulls from the upstream are refused: the credentials matter.
    let response = upstream
        .client
        .get(upstream.url("/v2/wasi/io/manifests/0.2.0"))
        .header("authorization", "")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let gateway = TestApp::spawn_with(&entry(&upstream, "mirror-password-1")).await;
    let response = gateway
        .client
        .get(gateway.url("/v2/wasi/io/manifests/0.2.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["docker-content-digest"],
        manifest_digest.as_str()
    );
    let layer = sha256_digest(&component);
    let response = gateway
        .client
        .get(gateway.url(&format!("/v2/wasi/io/blobs/{layer}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        component.as_slice()
    );

    // Wrong credentials: a 502 that says the upstream refused them.
    let misconfigured = TestApp::spawn_with(&entry(&upstream, "wrong-password")).await;
    let response = misconfigured
        .client
        .get(misconfigured.url("/v2/wasi/io/manifests/0.2.0"))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("credentials") && message.contains(&upstream.authority),
        "{message}"
    );
}

#[tokio::test]
async fn a_registry_entry_is_resolved_through_its_registry_json() {
    // The upstream keeps its packages under a namespace prefix, which only
    // its registry.json tells.
    let upstream = TestApp::spawn_with("[registry]\nnamespace_prefix = \"mirror/\"\n").await;
    let component = fixtures::component();
    let (response, manifest) = upstream
        .publish_wasm(
            "mirror/wasi/http",
            "0.2.1",
            &component,
            "2024-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let gateway = TestApp::spawn_with(&format!(
        "[[upstream]]\nnamespaces = [\"wasi\"]\nregistry = \"{}\"\n",
        upstream.authority
    ))
    .await;
    let response = gateway
        .client
        .get(gateway.url("/v2/wasi/http/manifests/0.2.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        manifest.as_slice()
    );
    let tags: serde_json::Value = gateway
        .client
        .get(gateway.url("/v2/wasi/http/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["0.2.1"]));
    // Unknown upstream packages are a plain 404.
    let response = gateway
        .client
        .get(gateway.url("/v2/wasi/nothing/manifests/1.0.0"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
}

/// A whole response body, or the error that cut it short (before or after
/// the headers).
async fn read_all(response: reqwest::Result<reqwest::Response>) -> Result<Vec<u8>, String> {
    let response = response.map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        body.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    Ok(body)
}

#[tokio::test]
async fn an_upstream_cannot_claim_a_blob_stored_here_for_another_repository() {
    // The upstream's package has alice's layer digest; the tap in front of
    // it answers every blob GET with 200 and other bytes.
    let upstream = TestApp::spawn().await;
    let secret = fixtures::component_with_metadata("alice's secret component", "MIT");
    let (response, _) = upstream
        .publish_wasm("mirror/app", "1.0.0", &secret, "2024-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let tap = Tap::start(&upstream.authority).await;
    tap.set_mode(TapMode::CorruptBlobs);
    let gateway = TestApp::spawn_with(&format!(
        "[[upstream]]\nnamespaces = [\"mirror\"]\n\
         oci = {{ registry = \"{}\", protocol = \"http\" }}\n",
        tap.authority
    ))
    .await;
    let (response, _) = gateway
        .publish_wasm("secret/app", "1.0.0", &secret, "2025-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let layer = sha256_digest(&secret);

    let get = |path: String| gateway.client.get(gateway.url(&path)).send();
    let response = get("/v2/mirror/app/manifests/1.0.0".into()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let blob = format!("/v2/mirror/app/blobs/{layer}");
    for _ in 0..2 {
        let outcome = read_all(get(blob.clone()).await).await;
        assert!(
            outcome.is_err(),
            "a clean end: {:?}",
            outcome.map(|b| b.len())
        );
        let linked = gateway.app.db.blob_size_in("mirror/app", &layer).await;
        assert!(
            linked.unwrap().is_none(),
            "the upstream's 200 linked the blob"
        );
    }
    let response = get("/api/v1/packages/mirror/app/1.0.0/content".into())
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "VERSION_UNKNOWN").await;

    // An upstream that does send the bytes gets the blob linked, and the
    // object stored here stays as it was.
    tap.set_mode(TapMode::Faithful);
    let bytes = read_all(get(blob.clone()).await).await.unwrap();
    assert_eq!(bytes, secret);
    let linked = gateway.app.db.blob_size_in("mirror/app", &layer).await;
    assert_eq!(linked.unwrap(), Some(secret.len() as u64));
    let alice = read_all(get(format!("/v2/secret/app/blobs/{layer}")).await).await;
    assert_eq!(alice.unwrap(), secret);
}

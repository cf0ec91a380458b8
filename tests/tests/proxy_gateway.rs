//! Another wkg-gateway as the upstream: with token auth and credentials in
//! the `[[upstream]]` entry, and found through its registry.json.

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

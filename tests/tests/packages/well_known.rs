//! `/.well-known/wasm-pkg/registry.json`: discovery for `wkg`.

use integration_tests::{TestApp, assert_oci_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn advertises_this_registry_with_caching_headers() {
    let app = TestApp::spawn().await;
    let url = app.url("/.well-known/wasm-pkg/registry.json");
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "preferredProtocol": "oci", "oci": { "registry": app.authority, "namespacePrefix": "" } })
    );
    // Every member other than preferredProtocol must be an object (upstream wkg's parser).
    for (key, value) in body.as_object().unwrap() {
        assert!(
            key == "preferredProtocol" || value.is_object(),
            "{key} is not an object"
        );
    }

    let cached = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()["etag"], etag.as_str());
    assert!(cached.bytes().await.unwrap().is_empty());
    let stale = app
        .client
        .get(&url)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);

    let post = app.client.post(&url).send().await.unwrap();
    assert_oci_error(post, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
}

#[tokio::test]
async fn advertises_the_configured_prefix_and_public_url() {
    let app = TestApp::spawn_with(
        "public_url = \"https://wasm.example.com\"\n[registry]\nnamespace_prefix = \"webassembly/\"\n",
    )
    .await;
    let body: Value = app
        .client
        .get(app.url("/.well-known/wasm-pkg/registry.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["oci"],
        json!({ "registry": "wasm.example.com", "namespacePrefix": "webassembly/" })
    );
}

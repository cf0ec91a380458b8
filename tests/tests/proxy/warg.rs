//! A real warg-server (in-process) as the upstream of a proxied namespace:
//! releases come out as Wasm OCI artifacts with stable digests, cached,
//! indexed, and fetched by our wkg like any package.

use integration_tests::warg::WargServer;
use integration_tests::{TestApp, assert_oci_error, fixtures, sha256_digest};
use reqwest::StatusCode;
use serde_json::Value;

async fn gateway_for(warg: &WargServer) -> TestApp {
    TestApp::spawn_with(&warg.upstream_entry("example")).await
}

async fn get(gateway: &TestApp, path: &str) -> reqwest::Response {
    gateway
        .client
        .get(gateway.url(path))
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn warg_releases_are_served_as_wasm_oci_artifacts() {
    let warg = WargServer::start(&["example"]).await;
    let publisher = warg.publisher().await;
    let v1 = fixtures::component_with_metadata("from warg", "MIT");
    let v2 = fixtures::component_with_metadata("from warg, again", "MIT");
    publisher.release("example:greeter", "1.0.0", &v1).await;
    publisher.release("example:greeter", "1.1.0", &v2).await;

    let gateway = gateway_for(&warg).await;
    let tags: Value = get(&gateway, "/v2/example/greeter/tags/list")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["1.0.0", "1.1.0"]));

    let response = get(&gateway, "/v2/example/greeter/manifests/1.0.0").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], fixtures::OCI_MANIFEST);
    let digest = response.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_string();
    let manifest_bytes = response.bytes().await.unwrap();
    assert_eq!(sha256_digest(&manifest_bytes), digest);
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(manifest["config"]["mediaType"], fixtures::WASM_CONFIG);
    assert_eq!(manifest["layers"][0]["mediaType"], fixtures::WASM_LAYER);
    assert_eq!(manifest["layers"][0]["digest"], sha256_digest(&v1));
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        "1.0.0"
    );
    let layer = get(
        &gateway,
        &format!("/v2/example/greeter/blobs/{}", sha256_digest(&v1)),
    )
    .await;
    assert_eq!(layer.bytes().await.unwrap().as_ref(), v1.as_slice());
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config: Value = get(
        &gateway,
        &format!("/v2/example/greeter/blobs/{config_digest}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(config["created"].is_string(), "{config}");

    // Indexed (synchronously: the content is here) and marked as cached.
    let version: Value = get(&gateway, "/api/v1/packages/example/greeter/1.0.0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(version["upstream"], warg.url.as_str(), "{version}");
    assert_eq!(version["metadata"]["description"], "from warg");

    // Another gateway (another replica, or this one after losing its cache)
    // synthesizes byte-identical manifests, so digests are stable.
    let replica = gateway_for(&warg).await;
    let again = get(&replica, "/v2/example/greeter/manifests/1.0.0").await;
    assert_eq!(again.bytes().await.unwrap(), manifest_bytes);

    // Unknown versions and packages are plain 404s.
    let response = get(&gateway, "/v2/example/greeter/manifests/9.9.9").await;
    assert_oci_error(response, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    let response = get(&gateway, "/v2/example/nothing/manifests/1.0.0").await;
    assert_oci_error(response, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;

    // Cached versions outlive the upstream.
    drop(publisher);
    drop(warg);
    let response = get(&gateway, &format!("/v2/example/greeter/manifests/{digest}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = get(&gateway, "/v2/example/greeter/manifests/1.0.0").await;
    assert_eq!(response.bytes().await.unwrap(), manifest_bytes);
}

/// With every validation slot taken, a proxied pull is still served (the
/// release is stored and its digest checked; only indexing waits), while
/// the package API says why the version is not indexed yet, with
/// Retry-After, and indexes it once a slot is free.
#[tokio::test(flavor = "multi_thread")]
async fn proxied_pulls_are_served_while_validation_is_busy() {
    let warg = WargServer::start(&["example"]).await;
    let publisher = warg.publisher().await;
    let wasm = fixtures::component_with_metadata("busy day", "MIT");
    publisher.release("example:busy", "1.0.0", &wasm).await;
    let gateway = TestApp::spawn_with(&format!(
        "[packages]\nmax_concurrent_validations = 1\nvalidation_queue = 0\n\n{}",
        warg.upstream_entry("example")
    ))
    .await;

    let held = gateway.app.packages.validations().enter().await.unwrap();
    let response = get(&gateway, "/v2/example/busy/manifests/1.0.0").await;
    assert_eq!(response.status(), StatusCode::OK);
    let manifest: Value = response.json().await.unwrap();
    assert_eq!(manifest["layers"][0]["digest"], sha256_digest(&wasm));
    let layer = get(
        &gateway,
        &format!("/v2/example/busy/blobs/{}", sha256_digest(&wasm)),
    )
    .await;
    assert_eq!(layer.status(), StatusCode::OK);
    assert_eq!(layer.bytes().await.unwrap().as_ref(), wasm.as_slice());

    let response = get(&gateway, "/api/v1/packages/example/busy/1.0.0").await;
    assert_eq!(response.headers()["retry-after"], "2");
    let body = assert_oci_error(response, StatusCode::SERVICE_UNAVAILABLE, "TOOMANYREQUESTS").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("not indexed yet"), "{message}");
    assert!(!message.contains("manifest was not stored"), "{message}");

    drop(held);
    let version: Value = get(&gateway, "/api/v1/packages/example/busy/1.0.0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(version["metadata"]["description"], "busy day", "{version}");
    assert_eq!(version["upstream"], warg.url.as_str(), "{version}");
}

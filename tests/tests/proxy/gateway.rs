//! Another wkg-gateway as the upstream: with token auth and credentials in
//! the `[[upstream]]` entry, found through its registry.json, and lying
//! (through a tap) about a blob stored here for another repository; and fake
//! registries whose registry.json is too big, too slow, or leads where
//! discovery may not go.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::MethodRouter;
use integration_tests::upstream::{Tap, TapMode};
use integration_tests::{TestApp, assert_oci_error, fixtures, sha256_digest};
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
    let body = assert_oci_error(response, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("credentials") && message.contains(&upstream.authority),
        "{message}"
    );
    super::assert_no_cli_advice(message);
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
    assert_oci_error(response, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
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
    assert_oci_error(response, StatusCode::NOT_FOUND, "VERSION_UNKNOWN").await;

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

/// A host serving `route` as its registry.json, on `ip`; its `host:port`.
async fn fake_registry(ip: std::net::IpAddr, route: axum::routing::MethodRouter) -> String {
    let app = axum::Router::new().route("/.well-known/wasm-pkg/registry.json", route);
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

/// A registry.json route answering `document`, counting its requests.
fn document_route(document: serde_json::Value, hits: Arc<AtomicUsize>) -> MethodRouter {
    axum::routing::get(move || {
        hits.fetch_add(1, Ordering::SeqCst);
        let document = document.clone();
        async move { axum::Json(document) }
    })
}

fn oci_doc(registry: &str, prefix: &str) -> serde_json::Value {
    serde_json::json!({"preferredProtocol": "oci", "oci": {"registry": registry, "namespacePrefix": prefix}})
}

/// The gateway's answer for a proxied manifest: the upstream-failure envelope, whose
/// message is returned.
async fn refused(gateway: &TestApp, status: StatusCode) -> String {
    let response = gateway
        .client
        .get(gateway.url("/v2/wasi/io/manifests/0.2.0"))
        .send()
        .await
        .unwrap();
    let body = assert_oci_error(response, status, "UPSTREAM_UNAVAILABLE").await;
    let message = body["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.len() < 1024, "bounded: {message}");
    super::assert_no_cli_advice(&message);
    message
}

fn registry_entry(host: &str, extra: &str) -> String {
    format!(
        "[[upstream]]\nnamespaces = [\"wasi\"]\nregistry = \"{host}\"\nprotocol = \"http\"\n{extra}"
    )
}

/// An address of this machine other than loopback, to serve a fake upstream the
/// gateway cannot take for itself; `None` without one (no packet is sent to find it).
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    let usable = !ip.is_loopback() && !ip.is_unspecified();
    (usable && std::net::TcpListener::bind((ip, 0)).is_ok()).then_some(ip)
}

#[tokio::test]
async fn a_registry_json_out_of_bounds_is_refused() {
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    // (a) Endless, without a length: the 64 KiB cap stops it.
    let endless = fake_registry(
        loopback,
        axum::routing::get(|| async {
            let chunk = bytes::Bytes::from_static(&[b' '; 4096]);
            axum::body::Body::from_stream(futures::stream::repeat_with(move || {
                Ok::<_, std::convert::Infallible>(chunk.clone())
            }))
        }),
    )
    .await;
    let gateway = TestApp::spawn_with(&registry_entry(&endless, "")).await;
    let message = refused(&gateway, StatusCode::BAD_GATEWAY).await;
    assert!(message.contains("larger than 64 KiB"), "{message}");

    // Never answers: discovery_timeout, not the request's 30 s, bounds the wait.
    let silent = tokio::net::TcpListener::bind((loopback, 0)).await.unwrap();
    let silent_host = silent.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let gateway = TestApp::spawn_with(&registry_entry(
        &silent_host,
        "discovery_timeout = \"1s\"\n",
    ))
    .await;
    let message = refused(&gateway, StatusCode::GATEWAY_TIMEOUT).await;
    assert!(message.contains(&silent_host), "{message}");

    // (b) A link-local OCI host (the cloud metadata service), and (c) a namespace prefix
    // that is no repository path: refused even from a loopback upstream.
    for (document, needle) in [
        (oci_doc("169.254.169.254:80", ""), "link-local"),
        (oci_doc("ghcr.io", "../../admin/"), "namespacePrefix"),
        (oci_doc("user:pw@ghcr.io", ""), "oci.registry"),
    ] {
        let host = fake_registry(loopback, document_route(document, Arc::default())).await;
        let gateway = TestApp::spawn_with(&registry_entry(&host, "")).await;
        let message = refused(&gateway, StatusCode::BAD_GATEWAY).await;
        assert!(message.contains(needle), "{needle}: {message}");
    }
}

#[tokio::test]
async fn a_public_registry_json_cannot_lead_to_this_machine() {
    let Some(ip) = non_loopback_ip() else {
        eprintln!("skipped: this machine has no non-loopback address to serve a fake upstream");
        return;
    };
    let upstream = TestApp::spawn().await;
    let (response, _) = upstream
        .publish_wasm(
            "wasi/io",
            "0.2.0",
            &fixtures::component(),
            "2024-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // On loopback: a registry.json naming the real upstream, counting who reads it.
    let hits = Arc::new(AtomicUsize::new(0));
    let inner = fake_registry(
        std::net::IpAddr::from([127, 0, 0, 1]),
        document_route(oci_doc(&upstream.authority, ""), hits.clone()),
    )
    .await;
    let target = format!("http://{inner}/.well-known/wasm-pkg/registry.json");
    // (d) On a public address: a redirect to it, and a document naming loopback.
    let redirect = fake_registry(
        ip,
        axum::routing::get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [(reqwest::header::LOCATION, target)]) }
        }),
    )
    .await;
    let direct = fake_registry(
        ip,
        document_route(oci_doc(&upstream.authority, ""), Arc::default()),
    )
    .await;

    let gateway = TestApp::spawn_with(&registry_entry(&redirect, "")).await;
    let message = refused(&gateway, StatusCode::BAD_GATEWAY).await;
    assert!(
        message.contains("redirect") && message.contains("loopback"),
        "{message}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the loopback target was read"
    );
    let gateway = TestApp::spawn_with(&registry_entry(&direct, "")).await;
    let message = refused(&gateway, StatusCode::BAD_GATEWAY).await;
    assert!(message.contains("loopback"), "{message}");

    // The operator may allow it.
    for host in [&redirect, &direct] {
        let entry = registry_entry(host, "allow_private_discovery = true\n");
        let gateway = TestApp::spawn_with(&entry).await;
        let response = gateway
            .client
            .get(gateway.url("/v2/wasi/io/manifests/0.2.0"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

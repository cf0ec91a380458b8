use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::*;
use crate::progress::NoReporter;
use crate::progress::testing::Recording;

fn http() -> reqwest::Client {
    crate::install_crypto_provider();
    reqwest::Client::new()
}

fn doc(value: serde_json::Value) -> Map<String, Json> {
    value.as_object().unwrap().clone()
}

#[test]
fn current_and_legacy_forms() {
    let current = RegistryMetadata::from_json(&doc(json!({
        "preferredProtocol": "oci",
        "oci": {"registry": "ghcr.io", "namespacePrefix": "webassembly/"},
        "gateway": {"version": "1"}
    })))
    .unwrap();
    assert_eq!(current.preferred_protocol.as_deref(), Some("oci"));
    assert_eq!(
        current.oci,
        Some(OciLocation {
            registry: "ghcr.io".into(),
            namespace_prefix: "webassembly/".into()
        })
    );

    let legacy = RegistryMetadata::from_json(&doc(json!({
        "ociRegistry": "ghcr.io", "ociNamespacePrefix": "webassembly/"
    })))
    .unwrap();
    assert_eq!(legacy.oci, current.oci);

    let warg =
        RegistryMetadata::from_json(&doc(json!({"wargUrl": "https://warg.wa.dev"}))).unwrap();
    assert_eq!(warg.warg_url.as_deref(), Some("https://warg.wa.dev"));
    assert_eq!(warg.oci, None);
}

#[test]
fn scalar_extra_field_breaks_the_document_as_upstream() {
    let err = RegistryMetadata::from_json(&doc(json!({
        "preferredProtocol": "oci", "oci": {"registry": "x"}, "version": "1"
    })))
    .unwrap_err();
    assert!(err.contains("`version`"), "{err}");
}

#[test]
fn defaults_to_the_registry_name() {
    let name: RegistryName = "example.com:5000".parse().unwrap();
    let location = RegistryMetadata::default().oci_location(&name);
    assert_eq!(location.registry, "example.com:5000");
    assert_eq!(location.namespace_prefix, "");
}

#[test]
fn loopback_hosts_get_http() {
    for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "[::1]"] {
        assert!(is_loopback(host), "{host}");
    }
    for host in ["example.com", "10.0.0.1", "[::2]", "localhost.example.com"] {
        assert!(!is_loopback(host), "{host}");
    }
    let url =
        |name: &str, protocol| registry_json_url(&name.parse().unwrap(), protocol, &NoReporter);
    assert_eq!(
        url("127.0.0.2:80", None),
        "http://127.0.0.2:80/.well-known/wasm-pkg/registry.json"
    );
    assert_eq!(
        url("wasi.dev", None),
        "https://wasi.dev/.well-known/wasm-pkg/registry.json"
    );
    assert!(url("internal", Some(OciProtocol::Http)).starts_with("http://internal/"));
    assert!(url("localhost", Some(OciProtocol::Https)).starts_with("https://localhost/"));
}

#[test]
fn one_protocol_rule_for_every_caller() {
    for (authority, host) in [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:5000", "[::1]"),
        ("[::1]", "[::1]"),
        ("localhost", "localhost"),
        ("::1", "::1"),
        ("wasi.dev:443", "wasi.dev"),
    ] {
        assert_eq!(host_of(authority), host, "{authority}");
    }
    let quiet = NoReporter;
    for loopback in ["127.0.0.1:8080", "127.9.9.9", "[::1]:1", "localhost:5000"] {
        assert_eq!(protocol_for(loopback, None, &quiet), OciProtocol::Http);
        assert_eq!(
            protocol_for(loopback, Some(OciProtocol::Https), &quiet),
            OciProtocol::Https,
            "explicit https wins for {loopback}"
        );
    }
    for remote in [
        "wasi.dev",
        "10.0.0.1:5000",
        "[::2]:80",
        "localhost.example.com",
    ] {
        assert_eq!(protocol_for(remote, None, &quiet), OciProtocol::Https);
        assert_eq!(
            protocol_for(remote, Some(OciProtocol::Http), &quiet),
            OciProtocol::Http
        );
    }
    assert_eq!(base_url("127.0.0.1:9", None, &quiet), "http://127.0.0.1:9");
}

#[test]
fn cache_control() {
    let headers = |value: &str| {
        let mut map = HeaderMap::new();
        map.insert(header::CACHE_CONTROL, value.parse().unwrap());
        map
    };
    assert_eq!(cache::freshness(&headers("public, max-age=300")), Some(300));
    assert_eq!(cache::freshness(&headers("no-store")), None);
    assert_eq!(cache::freshness(&headers("max-age=60, no-cache")), Some(0));
    assert_eq!(cache::freshness(&HeaderMap::new()), Some(0));
}

/// A registry.json server that counts requests and answers 304 to a matching ETag.
async fn serve(max_age: u32, hits: Arc<AtomicUsize>, not_modified: Arc<AtomicUsize>) -> String {
    let route = move |request: HeaderMap| {
        let hits = hits.clone();
        let not_modified = not_modified.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let cache = format!("max-age={max_age}");
            if request.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) == Some(b"\"v1\"") {
                not_modified.fetch_add(1, Ordering::SeqCst);
                return (
                    StatusCode::NOT_MODIFIED,
                    [
                        (header::ETAG, "\"v1\"".to_owned()),
                        (header::CACHE_CONTROL, cache),
                    ],
                )
                    .into_response();
            }
            (
                [(header::ETAG, "\"v1\"".to_owned()), (header::CACHE_CONTROL, cache)],
                axum::Json(json!({"preferredProtocol": "oci", "oci": {"registry": "elsewhere:1", "namespacePrefix": "p/"}})),
            )
                .into_response()
        }
    };
    let app = axum::Router::new().route(
        "/.well-known/wasm-pkg/registry.json",
        axum::routing::get(route),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

#[tokio::test]
async fn fresh_entries_skip_the_request_and_stale_ones_revalidate() {
    let dir = tempfile::tempdir().unwrap();
    for (max_age, want_hits, want_304) in [(300, 1, 0), (0, 2, 1)] {
        let hits = Arc::new(AtomicUsize::new(0));
        let not_modified = Arc::new(AtomicUsize::new(0));
        let authority = serve(max_age, hits.clone(), not_modified.clone()).await;
        let registry: RegistryName = authority.parse().unwrap();
        // Two separate Discovery values: the second can only know the document from disk.
        for _ in 0..2 {
            let discovery = Discovery::new(http(), Some(dir.path().into()));
            let metadata = discovery.metadata(&registry, None, &NoReporter).await;
            assert_eq!(metadata.oci.unwrap().registry, "elsewhere:1");
        }
        assert_eq!(hits.load(Ordering::SeqCst), want_hits, "max-age={max_age}");
        assert_eq!(not_modified.load(Ordering::SeqCst), want_304);
    }
}

#[tokio::test]
async fn unreachable_registry_warns_and_uses_defaults() {
    // Bind then drop, so the port is (very likely) closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let registry: RegistryName = addr.to_string().parse().unwrap();
    let reporter = Recording::default();
    let discovery = Discovery::new(http(), None);
    let metadata = discovery.metadata(&registry, None, &reporter).await;
    assert_eq!(metadata, RegistryMetadata::default());
    let events = reporter.events.lock().unwrap();
    assert!(
        events[0].starts_with("warn could not read http://127.0.0.1:"),
        "{events:?}"
    );
}

/// A registry whose registry.json route answers with `app`.
async fn serve_route(route: axum::routing::MethodRouter) -> RegistryName {
    let app = axum::Router::new().route("/.well-known/wasm-pkg/registry.json", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string().parse().unwrap()
}

/// The one warning discovery gave for `registry`, whose metadata must be the defaults.
async fn defaults_with_warning(discovery: &Discovery, registry: &RegistryName) -> String {
    let reporter = Recording::default();
    let metadata = discovery.metadata(registry, None, &reporter).await;
    assert_eq!(metadata, RegistryMetadata::default());
    let events = reporter.events.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].clone()
}

#[tokio::test]
async fn oversized_documents_are_refused_without_reading_them_whole() {
    // Endless and without a length: only a streamed cap can stop reading it.
    let endless = axum::routing::get(|| async {
        let chunk = bytes::Bytes::from_static(&[b' '; 1024]);
        axum::body::Body::from_stream(futures::stream::repeat_with(move || {
            Ok::<_, std::convert::Infallible>(chunk.clone())
        }))
    });
    // Announced: refused from the header.
    let announced = axum::routing::get(|| async { vec![b' '; REGISTRY_JSON_MAX_BYTES + 1] });
    for route in [endless, announced] {
        let registry = serve_route(route).await;
        let warning = defaults_with_warning(&Discovery::new(http(), None), &registry).await;
        assert!(warning.contains("larger than 64 KiB"), "{warning}");
    }
    // Exactly at the cap is fine.
    let at_cap = axum::routing::get(|| async {
        let mut body = br#"{"oci":{"registry":"ghcr.io"}}"#.to_vec();
        body.resize(REGISTRY_JSON_MAX_BYTES, b' ');
        body
    });
    let registry = serve_route(at_cap).await;
    let metadata = Discovery::new(http(), None)
        .metadata(&registry, None, &NoReporter)
        .await;
    assert_eq!(metadata.oci.unwrap().registry, "ghcr.io");
}

#[tokio::test]
async fn a_registry_that_never_answers_is_given_up_on() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registry: RegistryName = listener.local_addr().unwrap().to_string().parse().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let discovery =
        Discovery::new(http(), None).with_timeout(std::time::Duration::from_millis(200));
    let warning = defaults_with_warning(&discovery, &registry).await;
    assert!(
        warning.contains("no complete answer within 0.2s"),
        "{warning}"
    );
}

#[test]
fn oci_locations_are_validated() {
    let location = |registry: &str, prefix: &str| OciLocation {
        registry: registry.into(),
        namespace_prefix: prefix.into(),
    };
    for (registry, prefix) in [
        ("ghcr.io", "webassembly/"),
        ("127.0.0.1:5000", ""),
        ("[::1]:5000", "a.b_c-d/e/"),
        ("registry", "wasm-"),
    ] {
        validate_location(&location(registry, prefix)).unwrap();
    }
    for (registry, prefix, needle) in [
        ("https://ghcr.io", "", "oci.registry"),
        ("user:pw@ghcr.io", "", "oci.registry"),
        ("ghcr.io/path", "", "oci.registry"),
        ("ghcr.io?q=1", "", "oci.registry"),
        ("ghcr.io:99999", "", "oci.registry"),
        (&"a".repeat(300), "", "longer than"),
        ("ghcr.io", "Upper/", "namespacePrefix"),
        ("ghcr.io", "/abs/", "namespacePrefix"),
        ("ghcr.io", "a//b/", "namespacePrefix"),
        ("ghcr.io", "a b/", "namespacePrefix"),
        ("ghcr.io", "../", "namespacePrefix"),
        (
            "ghcr.io",
            &"p".repeat(NAMESPACE_PREFIX_MAX + 1),
            "longer than",
        ),
    ] {
        let err = validate_location(&location(registry, prefix)).unwrap_err();
        assert!(err.contains(needle), "{registry} {prefix}: {err}");
        assert!(err.len() < 400, "bounded: {err}");
    }
    let doc = doc(json!({"oci": {"registry": "ghcr.io", "namespacePrefix": "BAD/"}}));
    assert!(RegistryMetadata::from_json(&doc).is_err());
    let long_key = "k".repeat(10_000);
    let err = RegistryMetadata::from_json(&doc_of(&long_key)).unwrap_err();
    assert!(err.len() < 200, "{err}");
}

fn doc_of(key: &str) -> Map<String, Json> {
    let mut map = Map::new();
    map.insert(key.to_owned(), Json::Bool(true));
    map
}

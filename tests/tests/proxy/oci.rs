//! The pull-through proxy against real upstreams on loopback: Debian's
//! `docker-registry`, behind a tap of the test's own that counts blob
//! downloads and misbehaves on demand.

use std::time::{Duration, Instant};

use futures::future::join_all;
use integration_tests::upstream::{DockerRegistry, Tap, TapMode};
use integration_tests::{TestApp, assert_oci_error, fixtures, sha256_digest};
use reqwest::StatusCode;
use serde_json::Value;

/// A gateway proxying namespace `wasi` (and `acme`) from `upstream`.
async fn gateway_for(upstream: &str, tag_ttl: &str) -> TestApp {
    TestApp::spawn_with(&format!(
        "[[upstream]]\nnamespaces = [\"wasi\", \"acme\"]\n\
         oci = {{ registry = \"{upstream}\", protocol = \"http\" }}\ntag_ttl = \"{tag_ttl}\"\n"
    ))
    .await
}

async fn get(gateway: &TestApp, path: &str) -> reqwest::Response {
    gateway
        .client
        .get(gateway.url(path))
        .send()
        .await
        .expect("request")
}

/// Waits (without asserting on time) until the background caching and
/// indexing of a proxied package shows in the package API.
async fn wait_for_index(gateway: &TestApp, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = get(gateway, path).await;
        if response.status() == StatusCode::OK {
            return response.json().await.expect("json");
        }
        assert!(Instant::now() < deadline, "{path} never got indexed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn cold_pull_then_warm_pull_with_the_upstream_stopped() {
    let mut registry = DockerRegistry::start();
    let component = fixtures::component();
    let manifest_digest = registry
        .pusher()
        .publish_wasm("wasi/clocks", "0.2.0", &component)
        .await;
    let gateway = gateway_for(&registry.authority, "0s").await;

    // Cold: fetched from the upstream, byte-identical.
    let response = get(&gateway, "/v2/wasi/clocks/manifests/0.2.0").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["docker-content-digest"],
        manifest_digest.as_str()
    );
    let manifest = response.bytes().await.expect("manifest");
    assert_eq!(sha256_digest(&manifest), manifest_digest);
    let layer = sha256_digest(&component);
    let response = get(&gateway, &format!("/v2/wasi/clocks/blobs/{layer}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.bytes().await.expect("layer").as_ref(),
        component.as_slice()
    );

    // Indexed like a local package, and marked as cached.
    let version = wait_for_index(&gateway, "/api/v1/packages/wasi/clocks/0.2.0").await;
    assert_eq!(
        version["upstream"],
        registry.authority.as_str(),
        "{version}"
    );
    assert_eq!(version["kind"], "component");
    // The package browser says where it came from.
    let page = get(&gateway, "/packages/wasi/clocks")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("cached from {}", registry.authority)),
        "{page}"
    );
    let tags: Value = get(&gateway, "/v2/wasi/clocks/tags/list")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["0.2.0"]));

    // Warm, with the upstream gone: the tag (re-checked at every pull, as
    // its TTL is 0) is served from the cache and marked stale.
    registry.stop();
    let response = get(&gateway, "/v2/wasi/clocks/manifests/0.2.0").await;
    assert_eq!(response.status(), StatusCode::OK);
    let warning = response.headers()["warning"].to_str().unwrap().to_string();
    assert!(
        warning.starts_with("110 ") && warning.contains(&registry.authority),
        "{warning}"
    );
    assert_eq!(response.bytes().await.unwrap(), manifest);
    let by_digest = get(
        &gateway,
        &format!("/v2/wasi/clocks/manifests/{manifest_digest}"),
    )
    .await;
    assert_eq!(by_digest.status(), StatusCode::OK);
    assert!(
        by_digest.headers().get("warning").is_none(),
        "digests need no upstream"
    );
    let response = get(&gateway, &format!("/v2/wasi/clocks/blobs/{layer}")).await;
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        component.as_slice()
    );
    let tags = get(&gateway, "/v2/wasi/clocks/tags/list").await;
    assert!(tags.headers().get("warning").is_some(), "cached tags only");

    // Nothing cached: a 5xx naming the upstream, in the OCI envelope.
    let response = get(&gateway, "/v2/wasi/clocks/manifests/9.9.9").await;
    let status = response.status();
    assert!(
        [
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::GATEWAY_TIMEOUT
        ]
        .contains(&status),
        "{status}"
    );
    let body = assert_oci_error(response, status, "UPSTREAM_UNAVAILABLE").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&registry.authority)
    );
    super::assert_no_cli_advice(body["errors"][0]["message"].as_str().unwrap());
    assert_eq!(
        body["errors"][0]["detail"]["upstream"],
        registry.authority.as_str()
    );

    // A proxied namespace is read-only unless the entry allows pushes.
    let response = gateway
        .client
        .post(gateway.url("/v2/wasi/clocks/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let body = assert_oci_error(response, StatusCode::FORBIDDEN, "DENIED").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("allow_push")
    );
    // Local namespaces are unaffected.
    let (response, _) = gateway
        .publish_wasm("mine/app", "1.0.0", &component, "2024-01-01T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn tags_are_rechecked_after_their_ttl_and_versions_never_move() {
    let registry = DockerRegistry::start();
    let tap = Tap::start(&registry.authority).await;
    let pusher = registry.pusher();
    let (first, _) = pusher
        .publish_artifact("acme/tool", "latest", b"first")
        .await;
    let patient = gateway_for(&tap.authority, "1h").await;
    // A TTL of zero: every tag read re-checks, so no test waits for one
    // to pass.
    let eager = gateway_for(&tap.authority, "0s").await;
    for gateway in [&patient, &eager] {
        let response = get(gateway, "/v2/acme/tool/manifests/latest").await;
        assert_eq!(response.headers()["docker-content-digest"], first.as_str());
    }

    let (second, _) = pusher
        .publish_artifact("acme/tool", "latest", b"second")
        .await;
    pusher
        .publish_artifact("acme/tool", "extra", b"extra")
        .await;
    // Within its TTL the tag is served without asking the upstream.
    let asked = tap.manifest_requests();
    let response = get(&patient, "/v2/acme/tool/manifests/latest").await;
    assert_eq!(response.headers()["docker-content-digest"], first.as_str());
    assert_eq!(
        tap.manifest_requests(),
        asked,
        "no upstream request within the TTL"
    );
    // Past it, the upstream is asked and the new digest served.
    let response = get(&eager, "/v2/acme/tool/manifests/latest").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["docker-content-digest"], second.as_str());
    // Tag lists merge the upstream's tags with the cached ones.
    let tags: Value = get(&patient, "/v2/acme/tool/tags/list")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["extra", "latest"]));

    // A cached version stays what it was when the upstream re-points it.
    let component = fixtures::component();
    let original = pusher.publish_wasm("acme/lib", "1.0.0", &component).await;
    let response = get(&eager, "/v2/acme/lib/manifests/1.0.0").await;
    assert_eq!(
        response.headers()["docker-content-digest"],
        original.as_str()
    );
    let other = fixtures::component_with_metadata("rewritten", "MIT");
    let repointed = pusher.publish_wasm("acme/lib", "1.0.0", &other).await;
    assert_ne!(repointed, original);
    let response = get(&eager, "/v2/acme/lib/manifests/1.0.0").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["docker-content-digest"],
        original.as_str()
    );
    let metrics = get(&eager, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("wkg_gateway_upstream_version_conflicts_total{") && l.ends_with(" 1")
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_cold_pulls_share_one_upstream_download() {
    let registry = DockerRegistry::start();
    let tap = Tap::start(&registry.authority).await;
    let layer = fixtures::pseudo_random(3 * 1024 * 1024 + 17, 7);
    let (_, digest) = registry
        .pusher()
        .publish_artifact("acme/big", "1", &layer)
        .await;
    let gateway = gateway_for(&tap.authority, "5m").await;
    let path = format!("/v2/acme/big/blobs/{digest}");
    let pulls = (0..32).map(|_| async {
        let response = get(&gateway, &path).await;
        assert_eq!(response.status(), StatusCode::OK);
        sha256_digest(&response.bytes().await.expect("body"))
    });
    for got in join_all(pulls).await {
        assert_eq!(got, digest);
    }
    assert_eq!(tap.blob_fetches(), 1, "one upstream download for 32 pulls");
    // Cached now: a later pull does not reach the upstream.
    let response = get(&gateway, &path).await;
    assert_eq!(sha256_digest(&response.bytes().await.unwrap()), digest);
    assert_eq!(tap.blob_fetches(), 1);
    let metrics = get(&gateway, "/metrics").await.text().await.unwrap();
    // Metrics are per process; the upstream label keeps this test's apart.
    let upstream = format!("upstream=\"{}\"", tap.authority);
    let line = |prefix: &str, labels: &[&str]| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with(prefix)
                    && l.contains(&upstream)
                    && labels.iter().all(|label| l.contains(label))
            })
            .unwrap_or_else(|| panic!("no {prefix} {labels:?} in\n{metrics}"))
            .to_string()
    };
    // The bytes of one download, however many clients got them.
    let fetched = line("wkg_gateway_upstream_fetched_bytes_total", &[]);
    assert!(fetched.ends_with(&format!(" {}", layer.len())), "{fetched}");
    line(
        "wkg_gateway_upstream_cache_total",
        &["kind=\"blob\"", "result=\"miss\""],
    );
    line(
        "wkg_gateway_upstream_cache_total",
        &["kind=\"blob\"", "result=\"hit\""],
    );
    let requests = line(
        "wkg_gateway_upstream_requests_total",
        &["operation=\"blob\"", "outcome=\"ok\""],
    );
    assert!(requests.ends_with(" 1"), "{requests}");
}

#[tokio::test]
async fn the_first_client_is_served_while_the_download_streams() {
    let registry = DockerRegistry::start();
    let tap = Tap::start(&registry.authority).await;
    let layer = fixtures::pseudo_random(2 * 1024 * 1024, 11);
    let (_, digest) = registry
        .pusher()
        .publish_artifact("acme/stream", "1", &layer)
        .await;
    let gateway = gateway_for(&tap.authority, "5m").await;
    tap.set_mode(TapMode::HoldBlobs);
    let mut response = get(&gateway, &format!("/v2/acme/stream/blobs/{digest}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(layer.len() as u64));
    // The upstream has sent half and is holding the rest: bytes arrive anyway.
    let first = response
        .chunk()
        .await
        .expect("read")
        .expect("a first chunk");
    assert!(!first.is_empty());
    assert_eq!(tap.blob_fetches(), 1);
    tap.release();
    let mut received = first.to_vec();
    while let Some(chunk) = response.chunk().await.expect("read") {
        received.extend_from_slice(&chunk);
    }
    assert_eq!(sha256_digest(&received), digest);
}

/// Reads a response to the end; `Err` when the connection broke before it.
async fn read_all(response: reqwest::Response) -> Result<Vec<u8>, String> {
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn wrong_or_broken_upstream_bytes_are_never_cached() {
    let registry = DockerRegistry::start();
    let tap = Tap::start(&registry.authority).await;
    let layer = fixtures::pseudo_random(512 * 1024, 3);
    let pusher = registry.pusher();
    let (manifest, digest) = pusher.publish_artifact("acme/bad", "1", &layer).await;
    let gateway = gateway_for(&tap.authority, "5m").await;
    let blob_path = format!("/v2/acme/bad/blobs/{digest}");
    let stored = || async {
        gateway
            .app
            .db
            .blob_size_in("acme/bad", &digest)
            .await
            .expect("db")
            .is_some()
    };

    for mode in [TapMode::CorruptBlobs, TapMode::BreakBlobs] {
        tap.set_mode(mode);
        let outcome = read_all(get(&gateway, &blob_path).await).await;
        match outcome {
            Ok(bytes) => panic!("{mode:?}: a clean end with {} bytes", bytes.len()),
            Err(error) => eprintln!("{mode:?}: the client saw {error}"),
        }
        assert!(!stored().await, "{mode:?}: nothing is cached");
    }

    // A manifest whose bytes do not match its digest is refused too.
    tap.set_mode(TapMode::CorruptManifests);
    let response = get(&gateway, &format!("/v2/acme/bad/manifests/{manifest}")).await;
    let body = assert_oci_error(response, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("digest"),
        "{body}"
    );
    let response = get(&gateway, "/v2/acme/bad/manifests/1").await;
    assert_oci_error(response, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE").await;

    // Once the upstream behaves, the same pulls succeed and are cached.
    tap.set_mode(TapMode::Faithful);
    let response = get(&gateway, "/v2/acme/bad/manifests/1").await;
    assert_eq!(
        response.headers()["docker-content-digest"],
        manifest.as_str()
    );
    let bytes = read_all(get(&gateway, &blob_path).await)
        .await
        .expect("good bytes");
    assert_eq!(sha256_digest(&bytes), digest);
    assert!(stored().await);
}

//! Metrics after traffic, and one structured log line per request.

use integration_tests::{GatewayProcess, TestApp, http_client, wait_until};
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.client.get(app.url("/v2/")).send().await.unwrap();
    app.push_blob("metrics/repo", &[7u8; 5000]).await;
    app.client
        .get(app.url("/v2/metrics/repo/manifests/missing"))
        .send()
        .await
        .unwrap();

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"wkg_gateway_http_requests_total{method="GET",route="/v2/",status="200"}"#,
        r#"wkg_gateway_http_requests_total{method="POST",route="/v2/{name}/blobs/uploads/",status="201"}"#,
        r#"wkg_gateway_http_requests_total{method="GET",route="/v2/{name}/manifests/{reference}",status="404"}"#,
        r#"wkg_gateway_http_request_duration_seconds_bucket{le="#,
        "wkg_gateway_uploads_in_progress",
        "wkg_gateway_http_received_bytes_total",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    let received: u64 = text
        .lines()
        .find(|l| l.starts_with("wkg_gateway_http_received_bytes_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(received >= 5000, "{received}");
    assert!(
        !text.contains("metrics/repo"),
        "raw paths never become labels"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_access_logs_without_secrets() {
    let data = TempDir::new().unwrap();
    let gateway = GatewayProcess::start(BIN, data.path(), &[("WKG_GATEWAY_LOG_FORMAT", "json")]);
    let client = http_client();
    let response = client
        .get(format!("{}/v2/", gateway.base))
        .header("x-request-id", "req-123")
        .header("authorization", "Bearer top-secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-request-id"],
        "req-123",
        "the request id is echoed"
    );
    let generated = client
        .get(format!("{}/v2/_catalog", gateway.base))
        .send()
        .await
        .unwrap();
    let generated_id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        !generated_id.is_empty(),
        "a request id is generated when absent"
    );

    let entry = wait_until("the JSON access log lines of both requests", || async {
        let log = gateway.log_text();
        let found = log
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["request_id"] == "req-123");
        found.filter(|_| log.contains(&generated_id))
    })
    .await;
    assert!(
        !gateway.log_text().contains("top-secret-token"),
        "secrets never reach the logs"
    );
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["route"], "/v2/");
    assert_eq!(entry["status"], 200);
    assert!(
        entry["duration_ms"].is_u64() && entry["bytes_out"].is_u64(),
        "{entry}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_headers_are_believed_only_from_trusted_proxies() {
    let client = http_client();
    for (trusted, expected) in [("127.0.0.1", "198.51.100.7"), ("10.0.0.0/8", "127.0.0.1")] {
        let data = TempDir::new().unwrap();
        let gateway = GatewayProcess::start(
            BIN,
            data.path(),
            &[
                ("WKG_GATEWAY_LOG_FORMAT", "json"),
                ("WKG_GATEWAY_SERVER__TRUSTED_PROXIES", trusted),
            ],
        );
        client
            .get(format!("{}/v2/", gateway.base))
            .header("x-forwarded-for", "198.51.100.7")
            .header("x-forwarded-proto", "https")
            .header("x-request-id", "forwarded")
            .send()
            .await
            .unwrap();
        let entry = wait_until("the access log line", || async {
            gateway
                .log_text()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|e| e["request_id"] == "forwarded")
        })
        .await;
        assert_eq!(entry["client"], expected, "trusted proxies {trusted}");
        let scheme = if expected == "127.0.0.1" {
            "http"
        } else {
            "https"
        };
        assert_eq!(entry["scheme"], scheme, "trusted proxies {trusted}");
    }
}

/// Label values of one label across every `wkg_gateway_http_requests_total`
/// series.
fn label_values(text: &str, label: &str) -> std::collections::BTreeSet<String> {
    let key = format!("{label}=\"");
    text.lines()
        .filter(|l| l.starts_with("wkg_gateway_http_requests_total{"))
        .filter_map(|l| {
            let rest = &l[l.find(&key)? + key.len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

#[tokio::test]
async fn invented_methods_and_paths_do_not_grow_the_metrics() {
    let app = TestApp::spawn().await;
    // A fixed pseudo-random sequence (no clock): 300 requests, each with a
    // method and a path nobody else uses.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut invented = Vec::new();
    for i in 0..300 {
        let method = format!("M{:X}", next());
        let path = match i % 3 {
            0 => format!("/nowhere-{:x}", next()),
            1 => format!("/v2/repo/manifests/{:x}", next()),
            _ => format!("/api/v1/x{:x}/y", next()),
        };
        let response = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&path),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{method} {path}");
        invented.push(method);
    }
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let methods = label_values(&text, "method");
    let standard = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other",
    ];
    assert!(
        methods.iter().all(|m| standard.contains(&m.as_str())),
        "method labels: {methods:?}"
    );
    assert!(methods.contains("other"), "{methods:?}");
    let mut known: std::collections::BTreeSet<String> = wkg_gateway::router::routes()
        .into_iter()
        .map(|(path, _)| path.to_string())
        .collect();
    known.insert("unmatched".to_string());
    let routes = label_values(&text, "route");
    assert!(routes.is_subset(&known), "route labels: {routes:?}");
    assert!(
        invented.iter().all(|m| !text.contains(m.as_str())),
        "no invented method is a label"
    );
}

/// A gateway of its own, for settings TestApp does not expose.
async fn serve(toml: &str) -> (wkg_gateway::Server, TempDir) {
    let data = TempDir::new().unwrap();
    let config = wkg_gateway::Config::from_toml_str(&format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{toml}",
        data.path().display().to_string()
    ))
    .unwrap();
    (wkg_gateway::app::bind(config).await.unwrap(), data)
}

#[tokio::test]
async fn metrics_on_their_own_listener_need_the_token() {
    let secrets = TempDir::new().unwrap();
    let token_file = secrets.path().join("metrics-token");
    std::fs::write(&token_file, "scrape-me-7f3a\n").unwrap();
    let (server, _data) = serve(&format!(
        "[metrics]\nlisten = \"127.0.0.1:0\"\ntoken_file = {:?}\n",
        token_file.display().to_string()
    ))
    .await;
    let main = format!("http://{}", server.local_addr());
    let metrics_addr = server.metrics_addr().expect("a metrics listener");
    let metrics = format!("http://{metrics_addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let client = http_client();

    // Not on the main listener any more.
    let moved = client.get(format!("{main}/metrics")).send().await.unwrap();
    integration_tests::assert_oci_error(moved, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
    for authorization in [None, Some("Bearer wrong"), Some("Bearer scrape-me-7f3")] {
        let mut request = client.get(format!("{metrics}/metrics"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let refused = request.send().await.unwrap();
        assert!(refused.headers().contains_key("www-authenticate"));
        let body =
            integration_tests::assert_oci_error(refused, StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
                .await;
        assert!(!body.to_string().contains("wkg_gateway_http"), "{body}");
    }
    let served = client
        .get(format!("{metrics}/metrics"))
        .bearer_auth("scrape-me-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert!(
        served
            .text()
            .await
            .unwrap()
            .contains("wkg_gateway_http_requests_total")
    );
    // Only /metrics is served there.
    let other = client.get(format!("{metrics}/v2/")).send().await.unwrap();
    integration_tests::assert_oci_error(other, StatusCode::NOT_FOUND, "UNSUPPORTED").await;

    // It stops with the server.
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(metrics_addr).await.is_err(),
        "the metrics listener is closed"
    );
}

#[tokio::test]
async fn a_metrics_token_guards_the_main_listener_too() {
    let secrets = TempDir::new().unwrap();
    let token_file = secrets.path().join("metrics-token");
    std::fs::write(&token_file, "main-token").unwrap();
    let app = TestApp::spawn_with(&format!(
        "[metrics]\ntoken_file = {:?}\n",
        token_file.display().to_string()
    ))
    .await;
    let refused = app.client.get(app.url("/metrics")).send().await.unwrap();
    integration_tests::assert_oci_error(refused, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let served = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("main-token")
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
}

//! Metrics after traffic, and one structured log line per request.

use integration_tests::{GatewayProcess, TestApp, http_client};
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

    let mut found = None;
    for _ in 0..50 {
        let log = gateway.log_text();
        found = log
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["request_id"] == "req-123");
        if found.is_some() && log.contains(&generated_id) {
            assert!(
                !log.contains("top-secret-token"),
                "secrets never reach the logs"
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let entry =
        found.unwrap_or_else(|| panic!("no JSON access log line; log:\n{}", gateway.log_text()));
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
        let mut entry = None;
        for _ in 0..50 {
            entry = gateway
                .log_text()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|e| e["request_id"] == "forwarded");
            if entry.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let entry =
            entry.unwrap_or_else(|| panic!("no access log line; log:\n{}", gateway.log_text()));
        assert_eq!(entry["client"], expected, "trusted proxies {trusted}");
        let scheme = if expected == "127.0.0.1" {
            "http"
        } else {
            "https"
        };
        assert_eq!(entry["scheme"], scheme, "trusted proxies {trusted}");
    }
}

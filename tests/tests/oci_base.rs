//! `/v2/` and the answers for anything that is not an endpoint.

use integration_tests::{TestApp, assert_error};
use reqwest::StatusCode;

#[tokio::test]
async fn api_version_check() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/v2/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let head = app.client.head(app.url("/v2/")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let bare = app.client.get(app.url("/v2")).send().await.unwrap();
    assert_error(bare, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_oci_errors() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/v2/repo/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
    let response = app
        .client
        .post(app.url("/v2/repo/tags/list"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let response = app
        .client
        .patch(app.url("/v2/repo/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let response = app.client.get(app.url("/elsewhere")).send().await.unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
}

#[tokio::test]
async fn malformed_requests_never_get_5xx() {
    let app = TestApp::spawn().await;
    let cases: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::GET, "/v2/UPPER/tags/list".into()),
        (reqwest::Method::GET, "/v2/a%2Fb/tags/list".into()),
        (reqwest::Method::GET, "/v2/a/blobs/sha256:zz".into()),
        (reqwest::Method::GET, "/v2/a/blobs/md5:abc".into()),
        (reqwest::Method::GET, "/v2/a/manifests/..bad".into()),
        (reqwest::Method::GET, "/v2/a/manifests/sha256:".into()),
        (reqwest::Method::GET, "/v2/a/tags/list?n=-1".into()),
        (reqwest::Method::GET, "/v2/a/tags/list?n=abc".into()),
        (reqwest::Method::GET, "/v2/_catalog?n=x".into()),
        (
            reqwest::Method::GET,
            "/v2/a/blobs/uploads/not-a-uuid".into(),
        ),
        (
            reqwest::Method::PATCH,
            "/v2/a/blobs/uploads/00000000-0000-0000-0000-000000000000".into(),
        ),
        (
            reqwest::Method::PUT,
            "/v2/a/blobs/uploads/zzz?digest=sha256:1".into(),
        ),
        (
            reqwest::Method::POST,
            "/v2/a/blobs/uploads/?digest=nope".into(),
        ),
        (reqwest::Method::GET, "/v2/a/referrers/bad".into()),
        (reqwest::Method::DELETE, "/v2/a/blobs/sha256:1".into()),
        (
            reqwest::Method::GET,
            format!("/v2/{}/tags/list", "a".repeat(300)),
        ),
        (reqwest::Method::GET, "/v2//tags/list".into()),
    ];
    for (method, path) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{method} {path} gave {status}");
        let body: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            body["errors"][0]["code"].is_string(),
            "{method} {path}: {body}"
        );
    }
}

#[tokio::test]
async fn clients_over_the_rate_limit_get_429() {
    let app = TestApp::spawn_with("[server]\nrate_limit = \"5/s\"\n").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            app.client
                .get(app.url("/v2/"))
                .send()
                .await
                .unwrap()
                .status(),
        );
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let refused = app
        .client
        .get(app.url("/v2/_catalog"))
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS").await;
    // Probes are never limited.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Without the setting there is no limit.
    let open = TestApp::spawn().await;
    for _ in 0..30 {
        assert_eq!(
            open.client
                .get(open.url("/v2/"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
}

/// DNS rebinding: a web page whose name points at 127.0.0.1 must not drive
/// an unauthenticated loopback gateway.
#[tokio::test]
async fn open_loopback_gateway_answers_only_its_own_host_names() {
    let app = TestApp::spawn_with("public_url = \"http://registry.test:5000\"").await;
    let blob = b"pushed by a rebinding page";
    let digest = integration_tests::sha256_digest(blob);
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
    ] {
        let response = app
            .client
            .post(app.url(&format!("/v2/rebind/blobs/uploads/?digest={digest}")))
            .header("host", host)
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        let body = assert_error(response, StatusCode::MISDIRECTED_REQUEST, "DENIED").await;
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("public_url"), "{message}");
        assert_eq!(body["errors"][0]["detail"]["host"], host, "{body}");
    }
    let stored = app
        .client
        .head(app.url(&format!("/v2/rebind/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), StatusCode::NOT_FOUND, "nothing was pushed");
    for host in [
        "localhost:1234",
        "127.0.0.2",
        "[::1]:80",
        "registry.test",
        "registry.test:5000",
    ] {
        let response = app
            .client
            .get(app.url("/v2/"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "Host {host}");
    }

    // Token mode needs credentials a rebinding page lacks: Host is not checked.
    let token = TestApp::spawn_token_mode("").await;
    let response = token
        .client
        .get(token.url("/v2/"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

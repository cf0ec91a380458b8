//! Secrets never reach the logs: a token-mode gateway process, logging at
//! debug (JSON) or info (text), serves traffic carrying every kind of
//! credential, and its captured stderr holds none of them.

use base64::Engine as _;
use integration_tests::GatewayProcess;
use integration_tests::auth::basic;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const SERVER: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

const ADMIN_PASSWORD: &str = "admin-Secret-4f1c9a";
const DEV_PASSWORD: &str = "dev-Secret-77b2e0";
const WRONG_PASSWORD: &str = "wrong-Secret-a93d11";

async fn status_of(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.expect("request").status()
}

/// Drives traffic with every credential kind; returns the secrets used.
async fn traffic(client: &Client, base: &str) -> Vec<String> {
    let url = |path: &str| format!("{base}{path}");
    let admin = basic("admin", ADMIN_PASSWORD);
    let dev = basic("dev", DEV_PASSWORD);

    // Passwords in JSON bodies (admin API).
    let created = client
        .post(url("/api/v1/admin/users"))
        .header("authorization", &admin)
        .json(&json!({"name": "dev", "password": DEV_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let granted = client
        .post(url("/api/v1/admin/users/dev/grants"))
        .header("authorization", &admin)
        .json(&json!({"pattern": "acme/*", "actions": ["pull", "push"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::OK);

    // A robot token, from the admin API.
    let robot: Value = client
        .post(url("/api/v1/admin/tokens"))
        .header("authorization", &admin)
        .json(&json!({"user": "dev", "description": "ci"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let robot = robot["secret"].as_str().unwrap().to_string();
    assert!(robot.starts_with("wkg_"));
    // A personal token, from the user's own API.
    let personal: Value = client
        .post(url("/api/v1/tokens"))
        .header("authorization", &dev)
        .json(&json!({"description": "laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let personal = personal["secret"].as_str().unwrap().to_string();

    // Basic password, robot token as Basic password and as Bearer.
    for authorization in [
        dev.clone(),
        basic("dev", &robot),
        format!("Bearer {robot}"),
        format!("Bearer {personal}"),
    ] {
        let pull = client
            .get(url("/v2/acme/app/tags/list"))
            .header("authorization", &authorization);
        assert_eq!(status_of(pull).await, StatusCode::NOT_FOUND);
        let push = client
            .post(url("/v2/acme/app/blobs/uploads/"))
            .header("authorization", &authorization);
        assert_eq!(status_of(push).await, StatusCode::ACCEPTED);
        let refused = client
            .delete(url(&format!(
                "/v2/acme/app/manifests/sha256:{}",
                "0".repeat(64)
            )))
            .header("authorization", &authorization);
        assert_eq!(status_of(refused).await, StatusCode::FORBIDDEN);
    }

    // A JWT from the token flow (GET with Basic), used as Bearer.
    let issued: Value = client
        .get(url("/v2/token"))
        .query(&[("scope", "repository:acme/app:pull,push")])
        .header("authorization", &dev)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = issued["token"].as_str().unwrap().to_string();
    let with_jwt = client.get(url("/v2/acme/app/tags/list")).bearer_auth(&jwt);
    assert_eq!(status_of(with_jwt).await, StatusCode::NOT_FOUND);

    // The OAuth2 form: password grant, then a refresh.
    let form: Value = client
        .post(url("/v2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "dev"),
            ("password", DEV_PASSWORD),
            ("scope", "repository:acme/app:pull"),
            ("client_id", "test"),
            ("access_type", "offline"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = form["refresh_token"].as_str().unwrap().to_string();
    let form_jwt = form["access_token"].as_str().unwrap().to_string();
    let refreshed = client.post(url("/v2/token")).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ]);
    assert_eq!(status_of(refreshed).await, StatusCode::OK);

    // Wrong credentials: refused, and not logged either.
    let wrong = client
        .get(url("/v2/acme/app/tags/list"))
        .header("authorization", basic("dev", WRONG_PASSWORD));
    assert_eq!(status_of(wrong).await, StatusCode::UNAUTHORIZED);
    let wrong_token = client.post(url("/v2/token")).form(&[
        ("grant_type", "password"),
        ("username", "dev"),
        ("password", WRONG_PASSWORD),
    ]);
    assert_eq!(status_of(wrong_token).await, StatusCode::UNAUTHORIZED);

    vec![
        ADMIN_PASSWORD.to_string(),
        DEV_PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        robot,
        personal,
        jwt,
        form_jwt,
        refresh,
    ]
}

/// The forms a secret could take in a log line: as is, and inside the
/// base64 of a Basic header.
fn forms(secret: &str, users: &[&str]) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    for user in users {
        let header = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        forms.push(header);
    }
    // A JWT's signature alone identifies it.
    if let Some(signature) = secret.split('.').nth(2).filter(|s| s.len() > 20) {
        forms.push(signature.to_string());
    }
    forms
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_logs() {
    for (format, level) in [("json", "debug"), ("text", "info")] {
        let data = tempfile::tempdir().unwrap();
        let gateway = GatewayProcess::start(
            SERVER,
            data.path(),
            &[
                ("WKG_GATEWAY_AUTH__MODE", "token"),
                ("WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
                ("WKG_GATEWAY_LOG_FORMAT", format),
                ("RUST_LOG", level),
            ],
        );
        let client = integration_tests::http_client();
        let secrets = traffic(&client, &gateway.base).await;
        let log = gateway.log_text();
        // The log did capture this traffic (so its silence on secrets means
        // something).
        assert!(
            log.contains("created the first user `admin`"),
            "{format}/{level}: {log}"
        );
        assert!(
            log.contains("tags/list") && log.contains("/v2/token"),
            "{format}/{level}: the requests are in the access log: {log}"
        );
        if format == "json" {
            for line in log.lines().filter(|l| !l.trim().is_empty()) {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            }
        }
        for secret in &secrets {
            for form in forms(secret, &["admin", "dev"]) {
                assert!(
                    !log.contains(&form),
                    "{format}/{level}: a secret ({} characters, starting {:?}) is in the log",
                    secret.len(),
                    &secret[..4]
                );
            }
        }
    }
}

//! Administration over real HTTP, the first admin created at first start,
//! and the audit log. The `wkg-gateway admin` CLI is tested in
//! `auth_admin_cli.rs`.

use integration_tests::auth::basic;
use integration_tests::{GatewayProcess, TestApp, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SERVER: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

#[tokio::test]
async fn admin_api_manages_users_grants_tokens_and_shows_the_audit_log() {
    let mut app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.authenticate_client_as("root", "root-password");
    let admin = app.client.clone();

    let created = admin
        .post(app.url("/api/v1/admin/users"))
        .json(&json!({"name": "robot-ci"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let again = admin
        .post(app.url("/api/v1/admin/users"))
        .json(&json!({"name": "robot-ci"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let bad = admin
        .post(app.url("/api/v1/admin/users"))
        .json(&json!({"name": "has:colon", "password": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["errors"][0]["code"],
        "INVALID_PARAMETER"
    );
    let granted = admin
        .post(app.url("/api/v1/admin/users/robot-ci/grants"))
        .json(&json!({"pattern": "acme/*", "actions": ["pull", "push"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::OK);
    let token: Value = admin
        .post(app.url("/api/v1/admin/tokens"))
        .json(&json!({"user": "robot-ci", "ttl": "30d", "description": "CI"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = token["secret"].as_str().unwrap().to_string();
    let id = token["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("wkg_"));
    assert!(token["expires_at"].is_i64());

    // The robot pushes with its token; the gateway sees the new grant at once.
    let mut robot = app.client.clone();
    robot = {
        let _ = robot;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {secret}").parse().unwrap());
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let as_robot = robot
        .post(app.url("/v2/acme/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(as_robot.status(), StatusCode::ACCEPTED);
    let refused = robot
        .delete(app.url(&format!("/v2/acme/app/manifests/sha256:{}", "1".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The robot is no administrator; anonymous callers are challenged.
    let not_admin = robot
        .post(app.url("/api/v1/admin/users"))
        .json(&json!({"name": "intruder"}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_admin.status(), StatusCode::FORBIDDEN);
    let anonymous_admin = integration_tests::http_client()
        .delete(app.url("/api/v1/admin/users/root"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_admin.status(), StatusCode::UNAUTHORIZED);
    let listed: Value = admin
        .get(app.url("/api/v1/admin/tokens?user=robot-ci"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["tokens"][0]["id"], id.as_str());
    assert!(listed["tokens"][0].get("secret").is_none());
    assert!(listed["tokens"][0]["last_used_at"].is_i64());

    // Revocation applies to the very next request.
    let revoked = admin
        .delete(app.url(&format!("/api/v1/admin/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = robot
        .post(app.url("/v2/acme/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let missing = admin
        .delete(app.url("/api/v1/admin/tokens/does-not-exist"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["errors"][0]["code"],
        "RESOURCE_UNKNOWN"
    );

    // A successful push (manifest PUT) is audited too.
    let (pushed, _) = app
        .publish_wasm(
            "acme/app",
            "1.0.0",
            &fixtures::component(),
            "2024-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    // So is an allowed delete.
    let (scratch, _) = app
        .push_artifact("acme/scratch", "latest", b"gone soon")
        .await;
    let deleted = admin
        .delete(app.url(&format!("/v2/acme/scratch/manifests/{scratch}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let audit: Value = admin
        .get(app.url("/api/v1/admin/audit?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    let has = |actor: &str, action: &str, outcome: &str| {
        entries
            .iter()
            .any(|e| e["actor"] == actor && e["action"] == action && e["outcome"] == outcome)
    };
    assert!(has("root", "push", "allowed"), "{audit}");
    assert!(has("robot-ci", "delete", "denied"), "{audit}");
    assert!(has("unauthenticated", "push", "denied"), "{audit}");
    assert!(has("root", "admin", "allowed"), "{audit}");
    let entry = |actor: &str, action: &str, outcome: &str| {
        entries
            .iter()
            .find(|e| e["actor"] == actor && e["action"] == action && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {actor} {action} {outcome} entry: {audit}"))
    };
    let delete = entry("root", "delete", "allowed");
    assert_eq!(delete["target"], "acme/scratch", "{delete}");
    assert_eq!(delete["status"], 202, "{delete}");
    assert_eq!(
        delete["detail"],
        format!("DELETE /v2/acme/scratch/manifests/{scratch}"),
        "{delete}"
    );
    let refused_admin = entry("robot-ci", "admin", "denied");
    assert_eq!(refused_admin["status"], 403, "{refused_admin}");
    assert_eq!(
        refused_admin["target"], "/api/v1/admin/users",
        "{refused_admin}"
    );
    assert_eq!(
        refused_admin["detail"], "POST /api/v1/admin/users",
        "{refused_admin}"
    );
    let anonymous_refusal = entry("anonymous", "admin", "denied");
    assert_eq!(anonymous_refusal["status"], 401, "{anonymous_refusal}");
    assert_eq!(
        anonymous_refusal["detail"], "DELETE /api/v1/admin/users/root",
        "{anonymous_refusal}"
    );
    assert!(
        !audit.to_string().contains(&secret),
        "the audit log never holds a token secret"
    );

    let removed = admin
        .delete(app.url("/api/v1/admin/users/robot-ci/grants?pattern=acme/*"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let gone = admin
        .delete(app.url("/api/v1/admin/users/robot-ci"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let users: Value = admin
        .get(app.url("/api/v1/admin/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"robot-ci"), "{names:?}");
}

#[tokio::test]
async fn first_start_creates_an_admin() {
    // With the password given.
    let data = tempfile::tempdir().unwrap();
    let gateway = GatewayProcess::start(
        SERVER,
        data.path(),
        &[
            ("WKG_GATEWAY_AUTH__MODE", "token"),
            (
                "WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD",
                "first-admin-password",
            ),
        ],
    );
    let client = integration_tests::http_client();
    let users = client
        .get(format!("{}/api/v1/admin/users", gateway.base))
        .header("authorization", basic("admin", "first-admin-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    assert!(!gateway.log_text().contains("first-admin-password"));
    // The creation is the audit log's first entry.
    let audit: Value = client
        .get(format!("{}/api/v1/admin/audit", gateway.base))
        .header("authorization", basic("admin", "first-admin-password"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = audit["entries"].as_array().unwrap().last().unwrap();
    assert_eq!(first["actor"], "system:first-start", "{audit}");
    assert_eq!(first["client"], "local", "{audit}");
    assert_eq!(first["action"], "admin", "{audit}");
    assert_eq!(first["outcome"], "allowed", "{audit}");
    assert_eq!(first["target"], "/api/v1/admin/users/admin", "{audit}");
    assert_eq!(
        first["detail"],
        "first start: created user admin with admin on * \
         (password from WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD)"
    );
    assert!(!audit.to_string().contains("first-admin-password"));

    // Without: generated and logged once.
    let data = tempfile::tempdir().unwrap();
    let gateway =
        GatewayProcess::start(SERVER, data.path(), &[("WKG_GATEWAY_AUTH__MODE", "token")]);
    let log = gateway.log_text();
    let password = log
        .split("with password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no generated password in the log: {log}"))
        .to_string();
    let users = client
        .get(format!("{}/api/v1/admin/users", gateway.base))
        .header("authorization", basic("admin", &password))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);
    let restarted = gateway.restart();
    assert!(
        !restarted.log_text().contains("with password"),
        "the password is printed on the first start only"
    );
}

#[tokio::test]
async fn users_create_list_and_revoke_their_own_tokens() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "acme/*", "pull,push").await;
    app.add_user("other", Some("other-password")).await;
    let client = integration_tests::http_client();
    let created = client
        .post(app.url("/api/v1/tokens"))
        .header("authorization", basic("dev", "dev-password"))
        .json(&json!({"description": "laptop", "scopes": ["acme/*=pull"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let token: Value = created.json().await.unwrap();
    let secret = token["secret"].as_str().unwrap().to_string();
    let id = token["id"].as_str().unwrap().to_string();
    assert_eq!(token["user"], "dev");
    assert!(
        token["expires_at"].is_i64(),
        "personal tokens expire by default"
    );
    // The token pulls but, narrowed to pull, does not push.
    let pull = client
        .get(app.url("/v2/acme/app/tags/list"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), StatusCode::NOT_FOUND);
    let push = client
        .post(app.url("/v2/acme/app/blobs/uploads/"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::FORBIDDEN);
    // A token cannot mint tokens; anonymous callers are challenged.
    let chained = client
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&secret)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(chained.status(), StatusCode::FORBIDDEN);
    let anonymous = client.get(app.url("/api/v1/tokens")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // Others neither see nor revoke it.
    let theirs: Value = client
        .get(app.url("/api/v1/tokens"))
        .header("authorization", basic("other", "other-password"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["tokens"], json!([]));
    let stolen = client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .header("authorization", basic("other", "other-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), StatusCode::NOT_FOUND);
    // The owner revokes it with the token itself (logout).
    let listed: Value = client
        .get(app.url("/api/v1/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["tokens"][0]["id"], id.as_str());
    assert_eq!(listed["current"], id.as_str());
    let revoked = client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = client
        .get(app.url("/v2/acme/app/tags/list"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// Every audit row, newest first, read from the gateway's database.
async fn audit_rows(app: &TestApp) -> Vec<wkg_gateway::db::AuditEntry> {
    app.app.db.audit_entries(None, 1000).await.unwrap()
}

#[tokio::test]
async fn refusals_store_at_most_a_kibibyte_of_client_text() {
    let app = TestApp::spawn_token_mode("").await;
    let client = integration_tests::http_client();
    // A repository name no repository can have: refused before anything
    // is authenticated or audited.
    for name in ["a".repeat(30_000), "a/".repeat(15_000) + "a"] {
        let response = client
            .delete(app.url(&format!("/v2/{name}/manifests/x")))
            .send()
            .await
            .unwrap();
        integration_tests::assert_oci_error(response, StatusCode::BAD_REQUEST, "NAME_INVALID")
            .await;
    }
    // Long text in a path that is audited is cut.
    let user = "u".repeat(30_000);
    let response = client
        .delete(app.url(&format!("/api/v1/admin/users/{user}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let long_repo = format!("{}/{}", "b".repeat(120), "c".repeat(120));
    let response = client
        .post(app.url(&format!("/v2/{long_repo}/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let rows = audit_rows(&app).await;
    for row in &rows {
        let client_text = row.actor.len() + row.target.len() + row.detail.len();
        assert!(client_text <= 1024, "{client_text} bytes: {row:?}");
    }
    let admin = rows
        .iter()
        .find(|r| r.action == "admin" && r.outcome == "denied")
        .unwrap_or_else(|| panic!("the refused admin request is audited: {rows:?}"));
    assert!(admin.detail.starts_with("DELETE /api/v1/admin/users/uuu"));
    assert!(admin.detail.ends_with("bytes]"), "{}", admin.detail);
    let push = rows
        .iter()
        .find(|r| r.action == "push")
        .unwrap_or_else(|| panic!("the refused push is audited: {rows:?}"));
    assert_eq!(push.target, long_repo, "short enough names are kept whole");
    assert!(
        rows.iter().all(|r| r.action != "delete"),
        "invalid names are not audited: {rows:?}"
    );
}

#[tokio::test]
async fn a_burst_of_refusals_from_one_source_stores_a_bounded_number_of_rows() {
    let mut app =
        TestApp::spawn_token_mode("[audit]\nrefusals_per_source = 5\nrefusal_window = \"1h\"\n")
            .await;
    let client = integration_tests::http_client();
    let before = integration_tests::counter(
        &client,
        &app.base,
        "wkg_gateway_audit_refusals_unrecorded_total",
    )
    .await
    .unwrap_or(0);
    for _ in 0..40 {
        let response = client
            .delete(app.url("/v2/acme/app/manifests/latest"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let rows = audit_rows(&app).await;
    let refusals = rows.iter().filter(|r| r.action == "delete").count();
    assert_eq!(refusals, 5, "{rows:?}");
    let notices: Vec<_> = rows.iter().filter(|r| r.actor == "system:audit").collect();
    assert_eq!(notices.len(), 1, "{rows:?}");
    assert_eq!(notices[0].client, "127.0.0.1");
    assert!(notices[0].detail.contains("more than 5 refused requests"));
    let after = integration_tests::counter(
        &client,
        &app.base,
        "wkg_gateway_audit_refusals_unrecorded_total",
    )
    .await
    .unwrap();
    assert!(after >= before + 35, "{before} -> {after}");

    // Allowed requests are still recorded.
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.authenticate_client_as("root", "root-password");
    app.push_artifact("acme/scratch", "latest", b"kept").await;
    let rows = audit_rows(&app).await;
    assert!(
        rows.iter()
            .any(|r| r.actor == "root" && r.action == "push" && r.outcome == "allowed"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn audit_sees_the_client_behind_every_forwarded_for_line() {
    let app = TestApp::spawn_token_mode("[server]\ntrusted_proxies = [\"127.0.0.1\"]\n").await;
    // The client sent the first line; the trusted proxy appended the second.
    let response = integration_tests::http_client()
        .delete(app.url("/v2/acme/app/manifests/latest"))
        .header("x-forwarded-for", "1.2.3.4")
        .header("x-forwarded-for", "5.6.7.8")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let rows = audit_rows(&app).await;
    let refusal = rows
        .iter()
        .find(|r| r.action == "delete")
        .unwrap_or_else(|| panic!("no refusal row: {rows:?}"));
    assert_eq!(refusal.client, "5.6.7.8", "{refusal:?}");
}

/// Validation errors of the admin and token APIs name the bad input, but
/// never echo a huge one whole.
#[tokio::test]
async fn admin_validation_errors_are_bounded() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    let huge = "Z".repeat(50_000);
    let client = integration_tests::http_client();
    let requests = [
        (
            reqwest::Method::POST,
            "/api/v1/admin/users".to_string(),
            json!({ "name": huge, "password": "long-enough-password" }),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/users/root/grants".to_string(),
            json!({ "pattern": huge, "actions": ["pull"] }),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/users/root/grants".to_string(),
            json!({ "pattern": "acme/*", "actions": [huge] }),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/tokens".to_string(),
            json!({ "user": "root", "ttl": huge }),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/admin/tokens".to_string(),
            json!({ "user": "root", "scopes": [huge] }),
        ),
    ];
    for (method, path, body) in requests {
        let response = client
            .request(method, app.url(&path))
            .basic_auth("root", Some("root-password"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_client_error(), "{path}: {status} {text:.300}");
        assert!(text.len() < 1024, "{path} echoes {} bytes", text.len());
        assert!(text.contains("ZZZZ"), "{path}: names the input: {text}");
    }
}

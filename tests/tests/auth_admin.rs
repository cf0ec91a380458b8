//! Administration over real HTTP and through `wkg-gateway admin`, the first
//! admin created at first start, and the audit log.

use std::io::Write as _;
use std::process::{Command, Stdio};

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

/// Runs `wkg-gateway admin ...` against a gateway's database.
fn admin_cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut command = Command::new(SERVER);
    command
        .arg("admin")
        .args(args)
        .env("WKG_GATEWAY_AUTH__MODE", "token")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in app.gateway_env() {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("admin cli");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test]
async fn admin_cli_changes_what_a_running_gateway_allows() {
    let app = TestApp::spawn_token_mode("").await;
    let client = integration_tests::http_client();
    let (ok, _, err) = admin_cli(
        &app,
        &["user", "add", "alice", "--password-stdin"],
        Some("alice-password\n"),
    );
    assert!(ok, "{err}");
    let denied = client
        .get(app.url("/v2/team/app/tags/list"))
        .header("authorization", basic("alice", "alice-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let (ok, out, err) = admin_cli(&app, &["grant", "alice", "team/*", "pull,push"], None);
    assert!(ok && out.contains("pull,push"), "{out}{err}");
    let allowed = client
        .get(app.url("/v2/team/app/tags/list"))
        .header("authorization", basic("alice", "alice-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.status(),
        StatusCode::NOT_FOUND,
        "allowed: the repo is just empty"
    );

    let (ok, secret, err) = admin_cli(
        &app,
        &[
            "token",
            "create",
            "alice",
            "--ttl",
            "1h",
            "--scope",
            "team/*=pull",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(err.contains("shown only now"), "{err}");
    let secret = secret.trim().to_string();
    let pull = client
        .get(app.url("/v2/team/app/tags/list"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), StatusCode::NOT_FOUND);
    let push = client
        .post(app.url("/v2/team/app/blobs/uploads/"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(
        push.status(),
        StatusCode::FORBIDDEN,
        "the token's scope is pull only"
    );

    let (ok, listing, _) = admin_cli(&app, &["token", "list", "--user", "alice"], None);
    assert!(ok);
    let id = listing.split('\t').next().unwrap().to_string();
    assert!(listing.contains("team/*=pull"), "{listing}");
    let (ok, _, err) = admin_cli(&app, &["token", "revoke", &id], None);
    assert!(ok, "{err}");
    let after = client
        .get(app.url("/v2/team/app/tags/list"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    let (ok, _, err) = admin_cli(&app, &["revoke-grant", "alice", "team/*"], None);
    assert!(ok, "{err}");
    let (ok, users, _) = admin_cli(&app, &["user", "list"], None);
    assert!(ok && users.contains("alice\tuser\t\n"), "{users}");
    let (ok, _, err) = admin_cli(&app, &["grant", "nobody", "x/*", "pull"], None);
    assert!(!ok && err.contains("no user"), "{err}");
    let (ok, _, err) = admin_cli(&app, &["grant", "alice", "x/*", "fly"], None);
    assert!(!ok && err.contains("pull, push, delete, admin"), "{err}");
    let (ok, audit, _) = admin_cli(&app, &["audit"], None);
    assert!(ok);
    assert!(
        audit.contains("alice") && audit.contains("denied"),
        "{audit}"
    );
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

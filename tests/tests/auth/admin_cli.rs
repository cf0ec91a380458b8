//! `wkg-gateway admin ...` run as a real process against the database of a
//! running gateway: the gateway sees each change at once (checked over
//! HTTP), and each change lands in the audit log the admin API shows.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use integration_tests::auth::basic;
use integration_tests::{TestApp, assert_oci_error, get_json};
use reqwest::StatusCode;
use serde_json::Value;

const SERVER: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

/// The login name the CLI runs as in these tests (its audit actor is
/// `cli:<name>`).
const OPERATOR: &str = "release-bot";

/// What a CLI run printed.
struct Run {
    ok: bool,
    out: String,
    err: String,
}

/// Runs `wkg-gateway admin ...` against a gateway's database, configured
/// by environment variables, as the unix user [`OPERATOR`].
fn admin_cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = Command::new(SERVER);
    command
        .arg("admin")
        .args(args)
        .env("WKG_GATEWAY_AUTH__MODE", "token")
        .env("USER", OPERATOR)
        .env_remove("LOGNAME");
    for (key, value) in app.gateway_env() {
        command.env(key, value);
    }
    run(command, stdin)
}

/// Runs `wkg-gateway admin --config FILE ...` with no `WKG_GATEWAY_*`
/// variable and no `USER` or `LOGNAME` (as in a bare container).
fn admin_cli_with_config(config: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = Command::new(SERVER);
    command.arg("admin").arg("--config").arg(config).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("WKG_GATEWAY_") || key == "USER" || key == "LOGNAME" {
            command.env_remove(key);
        }
    }
    run(command, stdin)
}

fn run(mut command: Command, stdin: Option<&str>) -> Run {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("admin cli");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    Run {
        ok: output.status.success(),
        out: String::from_utf8_lossy(&output.stdout).to_string(),
        err: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

/// The audit log as the admin API shows it to `root`.
async fn audit_over_http(app: &TestApp) -> Vec<Value> {
    let response = integration_tests::http_client()
        .get(app.url("/api/v1/admin/audit?limit=1000"))
        .header("authorization", basic("root", "root-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["entries"].as_array().unwrap().clone()
}

/// The one entry with this actor and detail; its other fields checked.
fn cli_entry<'a>(entries: &'a [Value], actor: &str, target: &str, detail: &str) -> &'a Value {
    let found: Vec<&Value> = entries
        .iter()
        .filter(|e| e["actor"] == actor && e["detail"] == detail)
        .collect();
    assert_eq!(found.len(), 1, "{actor} {detail:?} in {entries:#?}");
    let entry = found[0];
    assert_eq!(entry["target"], target, "{entry}");
    assert_eq!(entry["action"], "admin", "{entry}");
    assert_eq!(entry["outcome"], "allowed", "{entry}");
    assert_eq!(entry["client"], "local", "{entry}");
    assert_eq!(entry["status"], 0, "{entry}");
    entry
}

async fn tag_list(app: &TestApp, authorization: &str) -> reqwest::Response {
    integration_tests::http_client()
        .get(app.url("/v2/team/app/tags/list"))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_cli_changes_what_a_running_gateway_allows_and_audits_it() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    let alice = basic("alice", "alice-password");
    let run = admin_cli(
        &app,
        &["user", "add", "alice", "--password-stdin"],
        Some("alice-password\n"),
    );
    assert!(run.ok, "{}", run.err);
    assert_eq!(tag_list(&app, &alice).await.status(), StatusCode::FORBIDDEN);
    let run = admin_cli(&app, &["grant", "alice", "team/*", "pull,push"], None);
    assert!(
        run.ok && run.out.contains("pull,push"),
        "{}{}",
        run.out,
        run.err
    );
    assert_eq!(
        tag_list(&app, &alice).await.status(),
        StatusCode::NOT_FOUND,
        "allowed: the repo is just empty"
    );

    let run = admin_cli(
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
    assert!(run.ok, "{}", run.err);
    assert!(run.err.contains("shown only now"), "{}", run.err);
    let secret = run.out.trim().to_string();
    let bearer = format!("Bearer {secret}");
    assert_eq!(
        tag_list(&app, &bearer).await.status(),
        StatusCode::NOT_FOUND
    );
    let push = integration_tests::http_client()
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

    let run = admin_cli(&app, &["token", "list", "--user", "alice"], None);
    assert!(run.ok);
    let id = run.out.split('\t').next().unwrap().to_string();
    assert!(run.out.contains("team/*=pull"), "{}", run.out);
    let run = admin_cli(&app, &["token", "revoke", &id], None);
    assert!(run.ok, "{}", run.err);
    assert_eq!(
        tag_list(&app, &bearer).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Revoking the grant closes the door at once: 403, saying how to reopen it.
    let run = admin_cli(&app, &["revoke-grant", "alice", "team/*"], None);
    assert!(run.ok, "{}", run.err);
    let body = assert_oci_error(
        tag_list(&app, &alice).await,
        StatusCode::FORBIDDEN,
        "DENIED",
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        "alice may not pull team/app; an admin can grant it with \
         `wkg-gateway admin grant alice team/app pull`"
    );
    let run = admin_cli(&app, &["user", "list"], None);
    assert!(run.ok && run.out.contains("alice\tuser\t\n"), "{}", run.out);
    let run = admin_cli(&app, &["grant", "nobody", "x/*", "pull"], None);
    assert!(!run.ok && run.err.contains("no user"), "{}", run.err);
    let run = admin_cli(&app, &["grant", "alice", "x/*", "fly"], None);
    assert!(
        !run.ok && run.err.contains("pull, push, delete, admin"),
        "{}",
        run.err
    );

    // Removing the user: their password now gets 401 everywhere.
    let run = admin_cli(&app, &["user", "remove", "alice"], None);
    assert!(run.ok, "{}", run.err);
    assert_oci_error(
        tag_list(&app, &alice).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let token = integration_tests::http_client()
        .get(app.url("/v2/token"))
        .basic_auth("alice", Some("alice-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::UNAUTHORIZED);

    // Every change above, and only the successful ones, as the admin API shows them.
    let entries = audit_over_http(&app).await;
    let actor = format!("cli:{OPERATOR}");
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/alice",
        "user add alice (user)",
    );
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/alice/grants",
        "grant alice team/* pull,push",
    );
    cli_entry(
        &entries,
        &actor,
        &format!("/api/v1/admin/tokens/{id}"),
        "token create for alice (ttl: 1h; scopes: team/*=pull)",
    );
    cli_entry(
        &entries,
        &actor,
        &format!("/api/v1/admin/tokens/{id}"),
        &format!("token revoke {id}"),
    );
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/alice/grants",
        "revoke-grant alice team/*",
    );
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/alice",
        "user remove alice",
    );
    let from_cli = entries.iter().filter(|e| e["actor"] == actor).count();
    assert_eq!(
        from_cli, 6,
        "failed CLI commands are not recorded: {entries:#?}"
    );
    // The gateway's own first start created `admin` (this TestApp's database
    // was empty then).
    cli_entry(
        &entries,
        "system:first-start",
        "/api/v1/admin/users/admin",
        "first start: created user admin with admin on * (password generated and logged once)",
    );
    let text = Value::Array(entries.clone()).to_string();
    assert!(!text.contains(&secret) && !text.contains("alice-password"));

    // `admin audit` prints the same log.
    let run = admin_cli(&app, &["audit"], None);
    assert!(run.ok, "{}", run.err);
    assert!(
        run.out.contains(&format!(
            "{actor}\tlocal\tadmin\t/api/v1/admin/users/alice\tallowed\tuser remove alice"
        )),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("alice") && run.out.contains("denied"),
        "{}",
        run.out
    );
}

#[tokio::test]
async fn admin_cli_reads_a_config_file() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    // The same settings as the gateway, from a file instead of the environment.
    let config = app.data.path().join("admin.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[auth]\nmode = \"token\"\n[database]\nurl = {:?}\n{}",
            app.data.path().display().to_string(),
            app.database_url,
            integration_tests::storage::toml_section(&app.storage_settings),
        ),
    )
    .unwrap();
    let bob = basic("bob", "bob-password");
    let run = admin_cli_with_config(
        &config,
        &["user", "add", "bob", "--password-stdin"],
        Some("bob-password\n"),
    );
    assert!(run.ok, "{}", run.err);
    let run = admin_cli_with_config(&config, &["grant", "bob", "team/app", "pull"], None);
    assert!(run.ok, "{}", run.err);
    assert_eq!(tag_list(&app, &bob).await.status(), StatusCode::NOT_FOUND);

    let run = admin_cli_with_config(&config, &["revoke-grant", "bob", "team/app"], None);
    assert!(run.ok, "{}", run.err);
    assert_oci_error(tag_list(&app, &bob).await, StatusCode::FORBIDDEN, "DENIED").await;

    let run = admin_cli_with_config(&config, &["user", "remove", "bob"], None);
    assert!(run.ok, "{}", run.err);
    assert_oci_error(
        tag_list(&app, &bob).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;

    // Without USER or LOGNAME the actor names the process's uid.
    let uid = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata("/proc/self").unwrap().uid()
    };
    let actor = format!("cli:uid={uid}");
    let entries = audit_over_http(&app).await;
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/bob",
        "user add bob (user)",
    );
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/bob/grants",
        "grant bob team/app pull",
    );
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/bob/grants",
        "revoke-grant bob team/app",
    );
    cli_entry(
        &entries,
        &actor,
        "/api/v1/admin/users/bob",
        "user remove bob",
    );

    // A config file the CLI cannot use is an error naming it.
    let run = admin_cli_with_config(
        &app.data.path().join("missing.toml"),
        &["user", "list"],
        None,
    );
    assert!(!run.ok && run.err.contains("missing.toml"), "{}", run.err);
}

#[tokio::test]
async fn admin_cli_passwd_ends_earlier_logins_and_is_audited() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.add_user("alice", Some("alice-password")).await;
    app.grant("alice", "team/*", "pull").await;
    let jwt = app
        .token_for(
            Some(("alice", "alice-password")),
            &["repository:team/app:pull"],
        )
        .await;
    let bearer = format!("Bearer {jwt}");
    assert_eq!(
        tag_list(&app, &bearer).await.status(),
        StatusCode::NOT_FOUND
    );

    let run = admin_cli(&app, &["user", "passwd", "alice"], Some("x\n"));
    assert!(!run.ok, "--password-stdin is required");
    let run = admin_cli(
        &app,
        &["user", "passwd", "alice", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!run.ok && run.err.contains("at least 8"), "{}", run.err);
    let run = admin_cli(
        &app,
        &["user", "passwd", "nobody", "--password-stdin"],
        Some("long-enough-pw\n"),
    );
    assert!(!run.ok && run.err.contains("no user"), "{}", run.err);
    let run = admin_cli(
        &app,
        &["user", "passwd", "alice", "--password-stdin"],
        Some("brand-new-password\n"),
    );
    assert!(run.ok, "{}", run.err);

    assert_oci_error(
        tag_list(&app, &bearer).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_eq!(
        tag_list(&app, &basic("alice", "alice-password"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        tag_list(&app, &basic("alice", "brand-new-password"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let entries = audit_over_http(&app).await;
    cli_entry(
        &entries,
        &format!("cli:{OPERATOR}"),
        "/api/v1/admin/users/alice/password",
        "user passwd alice",
    );
    let text = Value::Array(entries).to_string();
    assert!(!text.contains("brand-new-password"));
}

#[tokio::test]
async fn admin_cli_manages_trusted_publishers_and_audits_them() {
    let mut app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    let added = admin_cli(
        &app,
        &[
            "publisher",
            "add",
            "--issuer",
            "https://token.actions.githubusercontent.com",
            "--claim",
            "repository=octo/app",
            "--claim",
            "workflow=release.yml",
            "--pattern",
            "acme/*",
            "--actions",
            "pull,push",
        ],
        None,
    );
    assert!(added.ok, "{}", added.err);
    let id = added.out.trim().to_owned();
    assert_eq!(id.len(), 16, "{}", added.out);
    assert!(
        added.err.contains(&format!("publisher-{id}")),
        "{}",
        added.err
    );

    let refused = admin_cli(
        &app,
        &[
            "publisher",
            "add",
            "--issuer",
            "https://gitlab.com",
            "--claim",
            "environment=prod",
            "--pattern",
            "acme/*",
            "--actions",
            "push",
        ],
        None,
    );
    assert!(!refused.ok);
    assert!(refused.err.contains("must check"), "{}", refused.err);

    let listed = admin_cli(&app, &["publisher", "list"], None);
    assert!(listed.ok, "{}", listed.err);
    assert_eq!(listed.out.lines().count(), 1, "{}", listed.out);
    assert!(
        listed.out.contains(&id)
            && listed.out.contains("github")
            && listed.out.contains("acme/*=pull,push"),
        "{}",
        listed.out
    );

    // The API sees what the CLI stored, and the CLI's removal.
    app.authenticate_client_as("root", "root-password");
    let url = app.url("/api/v1/admin/publishers");
    let seen: serde_json::Value = get_json(&app.client, &url).await;
    assert_eq!(seen["publishers"][0]["id"], id.as_str());
    let removed = admin_cli(&app, &["publisher", "remove", &id], None);
    assert!(removed.ok, "{}", removed.err);
    let seen: serde_json::Value = get_json(&app.client, &url).await;
    assert_eq!(seen["publishers"], serde_json::json!([]));

    let audit = admin_cli(&app, &["audit", "--limit", "20"], None);
    let target = format!("/api/v1/admin/publishers/{id}");
    let entries = audit
        .out
        .lines()
        .filter(|l| l.contains(&format!("cli:{OPERATOR}")) && l.contains(&target))
        .count();
    assert_eq!(entries, 2, "{}", audit.out);
}

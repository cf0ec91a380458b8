//! `wkg login` / `wkg logout` against a gateway in token mode: the password becomes a
//! personal access token in config.toml (never the password), publish and get then work
//! through the token flow, and logout revokes the token on the gateway.

use std::process::Stdio;

use crate::common::{Env, ok, run};
use integration_tests::{TestApp, fixtures};
use tokio::io::AsyncWriteExt as _;

async fn login(env: &Env, args: &[&str], password: &str) -> (bool, String, String) {
    let mut child = env
        .wkg()
        .arg("login")
        .args(args)
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_publish_and_get_then_logout() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("alice", Some("alice-password")).await;
    app.grant("alice", "acme/*", "pull,push").await;
    let env = Env::with_registry(&app.authority);
    let wasm = fixtures::component_with_metadata("logged in", "MIT");
    let file = env.write("app.wasm", &wasm);

    let (ok_login, _, stderr) = login(&env, &["-u", "alice"], "wrong-password").await;
    assert!(!ok_login, "a wrong password fails");
    assert!(
        stderr.contains("check the user name and password"),
        "{stderr}"
    );

    let (ok_login, _, stderr) = login(&env, &["-u", "alice"], "alice-password").await;
    assert!(ok_login, "{stderr}");
    assert!(stderr.contains("Logged in to"), "{stderr}");
    let config = std::fs::read_to_string(env.config()).unwrap();
    assert!(
        !config.contains("alice-password"),
        "the password is never stored"
    );
    assert!(config.contains("wkg_"), "the token is: {config}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.config())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "config.toml is private after login");
    }

    ok(env
        .wkg()
        .args(["publish", "--package", "acme:app@1.0.0"])
        .arg(&file))
    .await;
    ok(env.wkg().args(["get", "acme:app@1.0.0", "-o", "back.wasm"])).await;
    assert_eq!(std::fs::read(env.path("back.wasm")).unwrap(), wasm);
    let tokens = wkg_gateway_tokens(&app).await;
    assert_eq!(tokens.len(), 1, "login made one token");

    let (output, _, stderr) = run(env.wkg().arg("logout")).await;
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("revoked"), "{stderr}");
    let config = std::fs::read_to_string(env.config()).unwrap();
    assert!(!config.contains("wkg_"), "the token is forgotten: {config}");
    let tokens = wkg_gateway_tokens(&app).await;
    assert!(
        tokens[0]["revoked"].as_bool().unwrap(),
        "and revoked on the gateway"
    );
    let (output, _, _) = run(env
        .wkg()
        .args(["get", "acme:app@1.0.0", "-o", "again.wasm"]))
    .await;
    assert!(!output.status.success(), "logged out: no access");
}

/// alice's tokens as the admin API lists them.
async fn wkg_gateway_tokens(app: &TestApp) -> Vec<serde_json::Value> {
    serde_json::to_value(
        wkg_gateway::auth::admin::list_tokens(&app.app.db, Some("alice"))
            .await
            .unwrap(),
    )
    .unwrap()
    .as_array()
    .unwrap()
    .clone()
}

//! `wkg` against a gateway in token mode: the gateway's own Docker token flow, robot
//! tokens as Bearer tokens, and refusals that say where credentials go.

use crate::common::{Env, files_under, ok, run};
use integration_tests::{TestApp, fixtures};

fn with_auth(env: &Env, auth: &str) {
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(env.config(), format!("{config}auth = {auth}\n")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_robot_tokens_publish_and_get() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("alice", Some("s3cret-password")).await;
    app.grant("alice", "acme/*", "pull,push").await;
    app.add_user("ci", None).await;
    app.grant("ci", "acme/*", "pull").await;
    let robot = app.create_token("ci", None, &[]).await;

    let wasm = fixtures::component_with_metadata("Guarded", "MIT");
    let anonymous = Env::with_registry(&app.authority);
    let file = anonymous.write("guarded.wasm", &wasm);

    // Anonymous: refused, with the places credentials can come from.
    let (output, _, stderr) = run(anonymous
        .wkg()
        .args(["publish", "--package", "acme:guarded@1.0.0"])
        .arg(&file))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("denied access"), "{stderr}");
    assert!(
        stderr.contains("WKG_REGISTRY_<HOST>_AUTH_BEARER"),
        "{stderr}"
    );

    // A user with push rights, from config.toml: username and password go through
    // the gateway's token endpoint.
    let alice = Env::with_registry(&app.authority);
    with_auth(
        &alice,
        "{ username = \"alice\", password = \"s3cret-password\" }",
    );
    let file = alice.write("guarded.wasm", &wasm);
    ok(alice
        .wkg()
        .args(["publish", "--package", "acme:guarded@1.0.0"])
        .arg(&file))
    .await;
    ok(alice.wkg().args(["get", "acme:guarded", "-o", "back.wasm"])).await;
    assert_eq!(std::fs::read(alice.path("back.wasm")).unwrap(), wasm);
    assert_eq!(
        files_under(&alice.cache().join("blobs")).len(),
        1,
        "the download is cached"
    );

    // A robot's access token as the Bearer environment variable.
    let ci = Env::with_registry(&app.authority);
    let var = format!(
        "WKG_REGISTRY_{}_AUTH_BEARER",
        app.authority.replace(['.', ':'], "_")
    );
    ok(ci
        .wkg()
        .env(&var, &robot)
        .args(["get", "acme:guarded@1.0.0", "-o", "ci.wasm"]))
    .await;
    assert_eq!(std::fs::read(ci.path("ci.wasm")).unwrap(), wasm);
    // ...which only has pull: its publish is refused.
    let file = ci.write("guarded.wasm", &wasm);
    let (output, _, stderr) = run(ci
        .wkg()
        .env(&var, &robot)
        .args(["publish", "--package", "acme:guarded@1.1.0"])
        .arg(&file))
    .await;
    assert!(!output.status.success(), "{stderr}");

    // A wrong password is refused too.
    let mallory = Env::with_registry(&app.authority);
    with_auth(&mallory, "{ username = \"alice\", password = \"guess\" }");
    let (output, _, stderr) = run(mallory.wkg().args(["get", "acme:guarded@1.0.0"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("denied access"), "{stderr}");
}

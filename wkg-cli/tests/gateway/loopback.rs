//! A registry on this machine, named with no `protocol` (the README's bundled-CLI block):
//! every command talks plain http to it, says so once, and an explicit `protocol` wins.

use std::process::Stdio;

use crate::common::{Env, ok, run};
use integration_tests::{TestApp, fixtures};
use tokio::io::AsyncWriteExt as _;

/// The notice `wkg` prints when it picks plain http for a loopback registry.
const NOTICE: &str = "is on this machine, so wkg talks plain http to it";

/// `wkg config --default-registry <registry>`, as the README does it: no `protocol`.
async fn default_registry(env: &Env, registry: &str) {
    ok(env.wkg().args(["config", "--default-registry", registry])).await;
    assert_eq!(
        std::fs::read_to_string(env.config()).unwrap(),
        format!("default_registry = \"{registry}\"\n")
    );
}

/// Asserts success and that the loopback notice appeared exactly once; returns stdout.
async fn ok_with_one_notice(cmd: &mut tokio::process::Command) -> String {
    let (output, stdout, stderr) = run(cmd).await;
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(stderr.matches(NOTICE).count(), 1, "{stderr}");
    assert!(stderr.contains("note: 127.0.0.1:"), "{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_registry_without_protocol_works_in_every_command() {
    let app = TestApp::spawn().await;
    let env = Env::empty();
    default_registry(&env, &app.authority).await;
    let wasm = fixtures::component_with_metadata("Hello over loopback", "MIT");
    let file = env.write("hello.wasm", &wasm);

    // publish: registry.json, then OCI push, both plain http; one notice for the process.
    let stdout = ok_with_one_notice(
        env.wkg()
            .args(["publish", "--package", "example:hello@1.0.0"])
            .arg(&file),
    )
    .await;
    assert!(stdout.contains("Published example:hello@1.0.0"), "{stdout}");

    // info: the package API.
    let stdout = ok_with_one_notice(env.wkg().args(["info", "example:hello"])).await;
    assert!(stdout.contains("versions: 1.0.0\n"), "{stdout}");
    assert!(
        stdout.contains("description: Hello over loopback\n"),
        "{stdout}"
    );

    // get: OCI pull, byte for byte.
    ok_with_one_notice(
        env.wkg()
            .args(["get", "example:hello@1.0.0", "-o", "got.wasm"]),
    )
    .await;
    assert_eq!(std::fs::read(env.path("got.wasm")).unwrap(), wasm);

    // search: the package API again, same scheme.
    let stdout = ok_with_one_notice(env.wkg().args(["search", "hello"])).await;
    assert!(stdout.starts_with("example:hello"), "{stdout}");

    // oci push and pull: by reference, same scheme, no --insecure needed.
    let reference = format!("{}/example/raw:1.0.0", app.authority);
    let stdout = ok_with_one_notice(env.wkg().args(["oci", "push", &reference]).arg(&file)).await;
    assert!(
        stdout.starts_with(&format!("Pushed {reference}")),
        "{stdout}"
    );
    ok_with_one_notice(
        env.wkg()
            .args(["oci", "pull", &reference, "-o", "raw.wasm"]),
    )
    .await;
    assert_eq!(std::fs::read(env.path("raw.wasm")).unwrap(), wasm);

    // -q silences the notice, not the command.
    let (output, _, stderr) = run(env.wkg().args(["-q", "info", "example:hello"])).await;
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(NOTICE), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_to_a_loopback_registry_without_protocol() {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("alice", Some("alice-password")).await;
    app.grant("alice", "example/*", "pull,push").await;
    let env = Env::empty();
    default_registry(&env, &app.authority).await;

    let mut child = env
        .wkg()
        .args(["login", "-u", "alice", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"alice-password\n").await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches(NOTICE).count(), 1, "{stderr}");
    assert!(stderr.contains("Logged in to"), "{stderr}");

    let file = env.write("hello.wasm", &fixtures::component());
    ok(env
        .wkg()
        .args(["publish", "--package", "example:hello@1.0.0"])
        .arg(&file))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_https_protocol_is_honoured_for_a_loopback_registry() {
    let app = TestApp::spawn().await;
    let env = Env::empty();
    std::fs::write(
        env.config(),
        format!(
            "default_registry = \"{0}\"\n\n[registry.\"{0}\".oci]\nprotocol = \"https\"\n",
            app.authority
        ),
    )
    .unwrap();
    let file = env.write("hello.wasm", &fixtures::component());
    let reference = format!("{}/example/hello:1.0.0", app.authority);
    for args in [
        &["publish", "--package", "example:hello@1.0.0"][..],
        &["info", "example:hello"],
        &["search", "hello"],
        &["oci", "pull", &reference, "-o", "pulled.wasm"],
    ] {
        let mut cmd = env.wkg();
        cmd.args(args);
        if args[0] == "publish" {
            cmd.arg(&file);
        }
        let (output, _, stderr) = run(&mut cmd).await;
        assert!(
            !output.status.success(),
            "{args:?} used plain http: {stderr}"
        );
        assert!(!stderr.contains(NOTICE), "{args:?}: {stderr}");
        let lower = stderr.to_ascii_lowercase();
        assert!(
            ["tls", "ssl", "certificate", "corrupt message", "https://"]
                .iter()
                .any(|needle| lower.contains(needle)),
            "{args:?} does not fail like a TLS handshake with a plain-http server: {stderr}"
        );
    }
    // Nothing reached the registry over plain http.
    let tags = app
        .client
        .get(app.url("/v2/example/hello/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.status(), 404);
}

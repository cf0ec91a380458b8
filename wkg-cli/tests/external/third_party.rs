//! Our `wkg` against a registry that is not a wkg-gateway: Debian's
//! `docker-registry` (CNCF distribution), which serves no registry.json, so
//! wkg falls back to plain OCI at the host with no prefix. Also where
//! progress bars appear: on a terminal, not in pipes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Env, files_under, ok, run};
use integration_tests::upstream::{DockerRegistry, Tap, TapMode};
use integration_tests::{fixtures, sha256_digest};
use tokio::io::AsyncReadExt as _;

const TYPES: &str = "package acme:types;\n\ninterface clock {\n  now: func() -> u64;\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_get_and_fetch_against_docker_registry() {
    let registry = DockerRegistry::start();
    let env = Env::with_registry(&registry.authority);

    let component = fixtures::component_with_metadata("on distribution", "MIT");
    let file = env.write("thing.wasm", &component);
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:thing@1.0.0"])
        .arg(&file))
    .await;
    ok(env
        .wkg()
        .args(["get", "acme:thing@1.0.0", "-o", "got.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("got.wasm")).unwrap(), component);

    // The artifact distribution stores is the upstream Wasm-on-OCI shape.
    let manifest: serde_json::Value = integration_tests::http_client()
        .get(format!(
            "http://{}/v2/acme/thing/manifests/1.0.0",
            registry.authority
        ))
        .header("accept", fixtures::OCI_MANIFEST)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["config"]["mediaType"], fixtures::WASM_CONFIG);
    assert_eq!(manifest["layers"][0]["digest"], sha256_digest(&component));

    // A WIT dependency, fetched into wit/deps and pinned in wkg.lock.
    let types = env.write("types.wasm", &fixtures::wit_package(TYPES));
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:types@0.2.0"])
        .arg(&types))
    .await;
    std::fs::create_dir_all(env.path("wit")).unwrap();
    std::fs::write(
        env.path("wit/world.wit"),
        "package acme:app;\n\nworld app {\n  import acme:types/clock;\n}\n",
    )
    .unwrap();
    ok(env.wkg().arg("fetch")).await;
    let deps: Vec<_> = files_under(&env.path("wit/deps"));
    assert!(!deps.is_empty(), "nothing fetched");
    let lock = std::fs::read_to_string(env.path("wkg.lock")).unwrap();
    assert!(
        lock.contains("acme:types") && lock.contains("0.2.0"),
        "{lock}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bars_on_a_terminal_and_not_in_pipes() {
    let registry = DockerRegistry::start();
    let tap = Tap::start(&registry.authority).await;
    let big = fixtures::large_component(4 * 1024 * 1024);
    let pusher = registry.pusher();
    pusher.publish_wasm("acme/big", "1.0.0", &big).await;
    // A second package for the terminal run, which the cache cannot answer.
    let other = fixtures::large_component(4 * 1024 * 1024 + 1);
    pusher.publish_wasm("acme/other", "1.0.0", &other).await;
    let env = Env::with_registry(&tap.authority);

    // Not a terminal: no bar, no carriage returns.
    let (output, _, stderr) = run(env
        .wkg()
        .args(["get", "acme:big@1.0.0", "-o", "piped.wasm"]))
    .await;
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains("B/s"),
        "{stderr:?}"
    );

    // On a terminal (a pty from `script`), a bar shows while the download
    // is under way: the tap holds the second half until the bar was seen.
    tap.set_mode(TapMode::HoldBlobs);
    let wkg = env.wkg();
    let std = wkg.as_std();
    let mut line = format!("{:?}", std.get_program());
    for arg in std.get_args() {
        line.push(' ');
        line.push_str(&format!("{arg:?}"));
    }
    line.push_str(" get acme:other@1.0.0 -o tty.wasm");
    let mut script = tokio::process::Command::new("script");
    script
        .args(["-qfec", &line, "/dev/null"])
        .current_dir(env.work())
        .env("TERM", "xterm")
        .env("COLUMNS", "120")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in std.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let mut child = script.spawn().expect("script (util-linux) runs");
    let mut terminal = child.stdout.take().unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buffer = [0u8; 4096];
    while !(seen.contains("acme:other@1.0.0") && seen.contains("MiB")) {
        assert!(
            Instant::now() < deadline,
            "no progress bar on the terminal: {seen:?}"
        );
        let read = tokio::time::timeout(Duration::from_secs(5), terminal.read(&mut buffer))
            .await
            .unwrap_or(Ok(0))
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    tap.release();
    let mut rest = String::new();
    let _ = terminal.read_to_string(&mut rest).await;
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{seen}{rest}");
    assert_eq!(std::fs::read(env.path("tty.wasm")).unwrap(), other);
}

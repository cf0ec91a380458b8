//! `wkg publish` checks a WIT package against its series neighbours, as upstream does.

use crate::common::{Env, ok, run};
use integration_tests::{TestApp, fixtures};

fn api(version: &str, functions: &str) -> Vec<u8> {
    fixtures::wit_package(&format!(
        "package acme:api@{version};\n\ninterface clock {{\n{functions}}}\n\nworld w {{\n  import clock;\n}}\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_versions_in_a_series_are_refused() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let publish = |name: &str, bytes: Vec<u8>| {
        let file = env.write(name, &bytes);
        let mut cmd = env.wkg();
        cmd.arg("publish").arg(file);
        cmd
    };

    ok(&mut publish(
        "1.0.0.wasm",
        api("1.0.0", "  now: func() -> u64;\n"),
    ))
    .await;
    // Adding a function is a compatible change.
    ok(&mut publish(
        "1.1.0.wasm",
        api("1.1.0", "  now: func() -> u64;\n  later: func() -> u64;\n"),
    ))
    .await;

    // Removing one within the 1.x series is not.
    let (output, _, stderr) = run(&mut publish(
        "1.2.0.wasm",
        api("1.2.0", "  later: func() -> u64;\n"),
    ))
    .await;
    assert!(!output.status.success());
    assert!(
        stderr.contains("`acme:api@1.2.0` is not semver-compatible with version 1.1.0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("function `clock.now` was removed"),
        "{stderr}"
    );

    // ...unless asked to skip the check; and a new major version may break anything.
    let mut skip = publish("1.2.0-skip.wasm", api("1.2.0", "  later: func() -> u64;\n"));
    skip.arg("--skip-semver-check");
    ok(&mut skip).await;
    ok(&mut publish(
        "2.0.0.wasm",
        api("2.0.0", "  other: func();\n"),
    ))
    .await;

    let tags: serde_json::Value = app
        .client
        .get(app.url("/v2/acme/api/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags["tags"],
        serde_json::json!(["1.0.0", "1.1.0", "1.2.0", "2.0.0"])
    );
}

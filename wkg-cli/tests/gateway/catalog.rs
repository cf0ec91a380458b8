//! `wkg info` and `wkg search`: from the gateway's package API, and from plain OCI.

use crate::common::{Env, ok, run};
use integration_tests::{TestApp, fixtures};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_search_use_the_package_api() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    for (version, description) in [("1.0.0", "Thing one"), ("1.1.0", "A clock thing")] {
        let file = env.write(
            &format!("{version}.wasm"),
            &fixtures::component_with_metadata(description, "MIT"),
        );
        ok(env
            .wkg()
            .args(["publish", "--package", &format!("acme:thing@{version}")])
            .arg(&file))
        .await;
    }
    let types = fixtures::wit_package(
        "package acme:types@0.2.0;\n\ninterface clock {\n  now: func() -> u64;\n}\n\nworld timed {\n  import clock;\n}\n",
    );
    let file = env.write("types.wasm", &types);
    ok(env.wkg().arg("publish").arg(&file)).await;

    let (output, stdout, stderr) = run(env.wkg().args(["-v", "info", "acme:thing"])).await;
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("versions: 1.1.0, 1.0.0\n"), "{stdout}");
    assert!(stdout.contains("version: 1.1.0\n"), "{stdout}");
    assert!(stdout.contains("kind: component\n"), "{stdout}");
    assert!(stdout.contains("description: A clock thing\n"), "{stdout}");
    assert!(stdout.contains("licenses: MIT\n"), "{stdout}");
    assert!(
        stderr.contains("from the registry's package API"),
        "{stderr}"
    );

    let stdout = ok(env.wkg().args(["info", "acme:types@0.2.0"])).await;
    assert!(stdout.contains("kind: wit\n"), "{stdout}");
    assert!(stdout.contains("worlds: timed\n"), "{stdout}");
    assert!(stdout.contains("interfaces: clock\n"), "{stdout}");

    let stdout = ok(env.wkg().args(["search", "clock"])).await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("acme:thing") && l.contains("1.1.0")),
        "{stdout}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("acme:types")),
        "{stdout}"
    );

    let (output, stdout, stderr) = run(env.wkg().args(["search", "nothing-like-this"])).await;
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("No packages match"), "{stderr}");

    let (output, _, stderr) = run(env.wkg().args(["info", "acme:absent"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("`acme:absent` was not found"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_works_without_the_api_and_search_says_it_cannot() {
    // A local-directory registry has no package API: info decodes the content itself.
    let env = Env::with_registry("unused.example");
    let root = env.dir.path().join("packages");
    std::fs::write(
        env.config(),
        format!(
            "default_registry = \"dev\"\n\n[registry.\"dev\".local]\nroot = {:?}\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    let file = env.write(
        "c.wasm",
        &fixtures::component_with_metadata("Offline thing", "Apache-2.0"),
    );
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:plain@0.1.0"])
        .arg(&file))
    .await;
    let (output, stdout, stderr) = run(env.wkg().args(["-v", "info", "acme:plain"])).await;
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("versions: 0.1.0\n"), "{stdout}");
    assert!(stdout.contains("description: Offline thing\n"), "{stdout}");
    assert!(stdout.contains("exports: run\n"), "{stdout}");
    assert!(
        stderr.contains("from OCI tags and the package content"),
        "{stderr}"
    );

    // Search needs a registry to ask.
    std::fs::write(env.config(), "").unwrap();
    let (output, _, stderr) = run(env.wkg().args(["search", "x"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("search needs a registry"), "{stderr}");
}

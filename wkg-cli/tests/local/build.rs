//! `wkg build` and `wkg publish <DIR>` against a real gateway.

use crate::common::{Env, ok, run};
use integration_tests::{TestApp, fixtures};

async fn annotations(app: &TestApp, repo: &str, tag: &str) -> serde_json::Value {
    let response = app
        .client
        .get(app.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("accept", fixtures::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{repo}:{tag}");
    let manifest: serde_json::Value = response.json().await.unwrap();
    manifest["annotations"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_then_publish_with_wkg_toml_metadata() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let types = fixtures::wit_package(
        "package acme:types@0.2.0;\n\ninterface clock {\n  now: func() -> u64;\n}\n",
    );
    let file = env.write("types.wasm", &types);
    ok(env.wkg().arg("publish").arg(&file)).await;

    std::fs::create_dir_all(env.path("wit")).unwrap();
    std::fs::write(
        env.path("wit/world.wit"),
        "package acme:app@0.1.0;\n\nworld app {\n  import acme:types/clock@0.2.0;\n}\n",
    )
    .unwrap();
    std::fs::write(
        env.path("wkg.toml"),
        "[metadata]\ndescription = \"The app\"\nlicense = \"Apache-2.0\"\n\
         repository = \"https://example.com/app\"\n",
    )
    .unwrap();

    let stdout = ok(env.wkg().arg("build")).await;
    assert_eq!(stdout.trim(), "acme:app@0.1.0.wasm");
    assert!(env.path("wkg.lock").is_file());
    assert!(
        !env.path("wit/deps").exists(),
        "build fetches into memory only"
    );

    // The built package publishes under the name and version its WIT gives, and the
    // wkg.toml metadata becomes OCI annotations.
    ok(env
        .wkg()
        .arg("publish")
        .arg(env.path("acme:app@0.1.0.wasm")))
    .await;
    let published = annotations(&app, "acme/app", "0.1.0").await;
    assert_eq!(published["org.opencontainers.image.description"], "The app");
    assert_eq!(published["org.opencontainers.image.licenses"], "Apache-2.0");
    assert_eq!(
        published["org.opencontainers.image.source"],
        "https://example.com/app"
    );

    // It carries its dependency: fetched back as WIT text, it still names acme:types.
    let got = ok(env.wkg().args(["get", "acme:app@0.1.0", "-o", "got/"])).await;
    let text = std::fs::read_to_string(env.path(got.trim())).unwrap();
    assert!(text.contains("acme:types/clock@0.2.0"), "{text}");

    // Publishing the directory itself builds it first (new version, same lock).
    std::fs::write(
        env.path("wit/world.wit"),
        "package acme:app@0.2.0;\n\nworld app {\n  import acme:types/clock@0.2.0;\n}\n",
    )
    .unwrap();
    let stdout = ok(env.wkg().args(["publish", "wit"])).await;
    assert!(stdout.contains("Published acme:app@0.2.0"), "{stdout}");
    let published = annotations(&app, "acme/app", "0.2.0").await;
    assert_eq!(published["org.opencontainers.image.description"], "The app");

    // ...but not when that would change the lock.
    std::fs::write(
        env.path("wit/world.wit"),
        "package acme:app@0.3.0;\n\nworld app {\n  import acme:types/clock@0.2.0;\n}\n",
    )
    .unwrap();
    std::fs::remove_file(env.path("wkg.lock")).unwrap();
    let (output, _, stderr) = run(env.wkg().args(["publish", "wit"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("would change wkg.lock"), "{stderr}");
}

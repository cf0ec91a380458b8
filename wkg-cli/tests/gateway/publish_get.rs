//! `wkg publish` and `wkg get` against a real gateway, checked over HTTP.

use crate::common::{Env, files_under, ok, run};
use integration_tests::{TestApp, fixtures, sha256_digest};
use serde_json::Value;

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn manifest(app: &TestApp, repo: &str, tag: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("accept", fixtures::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_a_component_then_get_it_back() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let v1 = fixtures::component_with_metadata("First thing", "Apache-2.0");
    let file = env.write("thing.wasm", &v1);

    let stdout = ok(env
        .wkg()
        .args(["publish", "--package", "acme:thing@1.0.0"])
        .arg(&file))
    .await;
    assert!(stdout.contains("Published acme:thing@1.0.0"), "{stdout}");

    // What the gateway now serves is the upstream Wasm-on-OCI shape.
    let tags = json(&app, "/v2/acme/thing/tags/list").await;
    assert_eq!(tags["tags"], serde_json::json!(["1.0.0"]));
    let manifest = manifest(&app, "acme/thing", "1.0.0").await;
    assert_eq!(manifest["config"]["mediaType"], fixtures::WASM_CONFIG);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], fixtures::WASM_LAYER);
    assert_eq!(manifest["layers"][0]["digest"], sha256_digest(&v1));
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.opencontainers.image.version"], "1.0.0");
    assert_eq!(
        annotations["org.opencontainers.image.description"],
        "First thing"
    );
    assert_eq!(
        annotations["org.opencontainers.image.licenses"],
        "Apache-2.0"
    );
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config = json(&app, &format!("/v2/acme/thing/blobs/{config_digest}")).await;
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["layerDigests"][0], sha256_digest(&v1));

    // Back, byte for byte, to an explicit output file.
    let stdout = ok(env.wkg().args([
        "get",
        "acme:thing@1.0.0",
        "--format",
        "wasm",
        "-o",
        "got.wasm",
    ]))
    .await;
    assert_eq!(stdout.trim(), "got.wasm");
    assert_eq!(std::fs::read(env.path("got.wasm")).unwrap(), v1);

    // stderr is not a terminal here: no progress bar, only the status line.
    let (output, _, stderr) = run(env
        .wkg()
        .args(["get", "acme:thing@1.0.0", "-o", "status.wasm"]))
    .await;
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "Fetched acme:thing@1.0.0 to status.wasm\n");

    // The cache holds it under the registry and digest.
    let cached = files_under(&env.cache().join("blobs"));
    let hex = sha256_digest(&v1)["sha256:".len()..].to_owned();
    let escaped = app.authority.replace(':', "%3A");
    assert!(
        cached.contains(&format!("{escaped}/sha256/{hex}").into()),
        "{cached:?}"
    );

    // A second, different version; `get` without a version fetches the latest.
    let v2 = fixtures::component_with_metadata("Second thing", "MIT");
    let file2 = env.write("thing2.wasm", &v2);
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:thing@1.1.0"])
        .arg(&file2))
    .await;
    ok(env.wkg().args(["get", "acme:thing"])).await;
    assert_eq!(
        std::fs::read(env.path("acme_thing@1.1.0.wasm")).unwrap(),
        v2,
        "default output name, latest version"
    );

    // An existing file is not overwritten without --overwrite.
    let (output, _, stderr) = run(env
        .wkg()
        .args(["get", "acme:thing@1.0.0", "-o", "got.wasm"]))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("--overwrite"), "{stderr}");
    ok(env
        .wkg()
        .args(["get", "acme:thing@1.1.0", "-o", "got.wasm", "--overwrite"]))
    .await;
    assert_eq!(std::fs::read(env.path("got.wasm")).unwrap(), v2);

    // --check compares without writing: same file passes, another version fails.
    ok(env
        .wkg()
        .args(["get", "acme:thing@1.1.0", "-o", "got.wasm", "--check"]))
    .await;
    let (output, _, stderr) =
        run(env
            .wkg()
            .args(["get", "acme:thing@1.0.0", "-o", "got.wasm", "--check"]))
        .await;
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("differs from acme:thing@1.0.0"), "{stderr}");
    assert_eq!(
        std::fs::read(env.path("got.wasm")).unwrap(),
        v2,
        "untouched"
    );
    let (output, _, stderr) =
        run(env
            .wkg()
            .args(["get", "acme:thing@1.0.0", "-o", "missing.wasm", "--check"]))
        .await;
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!env.path("missing.wasm").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_packages_and_versions_fail_clearly() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);

    let (output, stdout, stderr) = run(env.wkg().args(["get", "acme:nothing"])).await;
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stderr.starts_with("error: could not get acme:nothing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("package `acme:nothing` was not found in registry"),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: "), "{stderr}");
    assert!(!env.path("acme_nothing.wasm").exists());

    let file = env.write("c.wasm", &fixtures::component());
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:some@0.1.0"])
        .arg(&file))
    .await;
    let (output, _, stderr) = run(env.wkg().args(["get", "acme:some@0.2.0"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("has no version 0.2.0"), "{stderr}");
    assert!(
        stderr.contains("available (newest first): 0.1.0"),
        "{stderr}"
    );

    // Versions are immutable: publishing 0.1.0 again is refused before any upload.
    let (output, _, stderr) = run(env
        .wkg()
        .args(["publish", "--package", "acme:some@0.1.0"])
        .arg(&file))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("is already published"), "{stderr}");

    // --skip-dupes turns that into a warning; several paths are published in turn.
    let other = env.write(
        "other.wasm",
        &fixtures::wit_package("package acme:other@1.0.0;\ninterface i {}\n"),
    );
    let wit_dup = env.write(
        "some-wit.wasm",
        &fixtures::wit_package("package acme:some@0.1.0;\ninterface i {}\n"),
    );
    let (output, stdout, stderr) = run(env
        .wkg()
        .args(["publish", "--skip-dupes"])
        .arg(&wit_dup)
        .arg(&other))
    .await;
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("warning: skipping"), "{stderr}");
    assert!(stdout.contains("Published acme:other@1.0.0"), "{stdout}");

    // A component without name metadata needs --package.
    let (output, _, stderr) = run(env.wkg().arg("publish").arg(&file)).await;
    assert!(!output.status.success());
    assert!(
        stderr.contains("--package <namespace>:<name>@<version>"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wit_packages_name_themselves_and_come_back_as_text() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let wit = fixtures::wit_package(
        "package acme:types@0.2.0;\n\ninterface clock {\n  now: func() -> u64;\n}\n",
    );
    let file = env.write("types.wasm", &wit);

    let stdout = ok(env.wkg().args(["publish", "--dry-run"]).arg(&file)).await;
    assert!(
        stdout.starts_with("Would publish acme:types@0.2.0"),
        "{stdout}"
    );
    let tags = app
        .client
        .get(app.url("/v2/acme/types/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.status(), 404, "a dry run uploads nothing");

    ok(env.wkg().arg("publish").arg(&file)).await;
    let stdout = ok(env.wkg().args(["get", "acme:types@0.2.0"])).await;
    assert_eq!(stdout.trim(), "acme_types@0.2.0.wit");
    let text = std::fs::read_to_string(env.path("acme_types@0.2.0.wit")).unwrap();
    assert!(text.contains("package acme:types@0.2.0;"), "{text}");
    assert!(text.contains("now: func() -> u64;"), "{text}");

    // `auto` follows the output's extension: `.wasm` gets the binary.
    ok(env
        .wkg()
        .args(["get", "acme:types@0.2.0", "-o", "types-copy.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("types-copy.wasm")).unwrap(), wit);

    // `-o dir/` creates the directory and uses the default name.
    let stdout = ok(env.wkg().args(["get", "acme:types", "-o", "deps/"])).await;
    assert_eq!(stdout.trim(), "deps/acme_types@0.2.0.wit");
    assert!(env.path("deps/acme_types@0.2.0.wit").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_prefix_is_discovered_from_registry_json() {
    let app = TestApp::spawn_with("[registry]\nnamespace_prefix = \"wasm/\"").await;
    let env = Env::with_registry(&app.authority);
    let file = env.write("c.wasm", &fixtures::component());
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:prefixed@1.0.0"])
        .arg(&file))
    .await;
    let tags = json(&app, "/v2/wasm/acme/prefixed/tags/list").await;
    assert_eq!(tags["tags"], serde_json::json!(["1.0.0"]));
    // The document is cached on disk for the next run.
    let cached = files_under(&env.cache().join("registries"));
    assert_eq!(cached.len(), 1, "{cached:?}");

    ok(env.wkg().args(["get", "acme:prefixed", "-o", "back.wasm"])).await;
    assert_eq!(
        std::fs::read(env.path("back.wasm")).unwrap(),
        fixtures::component()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xdg_cache_is_the_default() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let (response, _) = app
        .publish_wasm(
            "acme/xdg",
            "1.0.0",
            &fixtures::component(),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(response.status(), 201);
    let mut cmd = env.bare_wkg();
    cmd.arg("--config")
        .arg(env.config())
        .args(["get", "acme:xdg@1.0.0", "--format", "wasm"]);
    ok(&mut cmd).await;
    assert_eq!(
        std::fs::read(env.path("acme_xdg@1.0.0.wasm")).unwrap(),
        fixtures::component()
    );
    let cached = files_under(
        &env.dir
            .path()
            .join("xdg-cache")
            .join("wasm-pkg")
            .join("blobs"),
    );
    assert_eq!(cached.len(), 1, "{cached:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_components_stream_in_chunks() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    // Over two 4 MiB chunks, so the upload takes several PATCH requests.
    let big = fixtures::large_component(9 * 1024 * 1024 + 123);
    let file = env.write("big.wasm", &big);
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:big@1.0.0"])
        .arg(&file))
    .await;
    let manifest = manifest(&app, "acme/big", "1.0.0").await;
    assert_eq!(manifest["layers"][0]["size"], big.len());
    ok(env
        .wkg()
        .args(["get", "acme:big@1.0.0", "-o", "big-back.wasm"]))
    .await;
    assert!(
        std::fs::read(env.path("big-back.wasm")).unwrap() == big,
        "the 9 MiB component came back changed"
    );
}

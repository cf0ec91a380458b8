//! The real upstream `wkg` 0.16 against the gateway: publish a component and
//! a WIT package, get by version and latest, fetch a WIT dependency. The
//! only configuration is the three lines a developer writes.
//!
//! `tests/scripts/install-upstream-wkg` installs the binary (cached outside the
//! clone); `WKG_UPSTREAM_BIN` or that cache locate it. Without it the test
//! fails, never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::{TestApp, fixtures, sha256_digest};
use serde_json::Value;
use tempfile::TempDir;

const GREETER_WIT: &str = "package example:greeter@0.2.0;\n\ninterface greet {\n    hello: func(name: string) -> string;\n}\n\nworld greeter {\n    export greet;\n}\n";

fn upstream_wkg() -> PathBuf {
    if let Ok(path) = std::env::var("WKG_UPSTREAM_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").expect("HOME");
    let cached = Path::new(&home).join(".cache/wkg-gateway-tools/wkg-0.16.1/bin/wkg");
    assert!(
        cached.exists(),
        "upstream wkg 0.16.1 is not installed at {}; run tests/scripts/install-upstream-wkg (scripts/test does)",
        cached.display()
    );
    cached
}

/// Runs upstream wkg in `dir` with an isolated config and cache.
struct Wkg {
    binary: PathBuf,
    home: TempDir,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl Wkg {
    fn new(app: &TestApp) -> Self {
        let home = TempDir::new().unwrap();
        let config = home.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "default_registry = \"{0}\"\n\n[registry.\"{0}\".oci]\nprotocol = \"http\"\n",
                app.authority
            ),
        )
        .unwrap();
        Self {
            binary: upstream_wkg(),
            home,
            config,
            env: Vec::new(),
        }
    }

    async fn run(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.output(dir, args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "wkg {} failed ({}):\n{stdout}\n{stderr}",
            args.join(" "),
            output.status
        );
        stdout
    }

    async fn output(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(dir)
            .env("WKG_CONFIG_FILE", &self.config)
            .env("WKG_CACHE_DIR", self.home.path().join("cache"))
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("xdg"))
            .env("XDG_CACHE_HOME", self.home.path().join("xdg-cache"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("run wkg")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_wkg_publishes_gets_and_fetches() {
    let app = TestApp::spawn().await;
    let wkg = Wkg::new(&app);
    let work = TempDir::new().unwrap();
    let dir = work.path();

    // Publish a component as two versions. Upstream `wkg publish` 0.16.1
    // refuses every component (it reads the version from the decoded world's
    // package, which is always the unversioned `root:component`, before it
    // applies `--package`), so components go through `wkg oci push`, which
    // writes the same manifest shape.
    let component = fixtures::component_with_metadata("Hello from upstream wkg", "MIT");
    std::fs::write(dir.join("hello.wasm"), &component).unwrap();
    let rejected = wkg
        .output(
            dir,
            &["publish", "hello.wasm", "--package", "example:hello@1.0.0"],
        )
        .await;
    assert!(
        !rejected.status.success(),
        "upstream wkg publish of a component now works: use it here"
    );
    for version in ["1.0.0", "1.1.0"] {
        let reference = format!("{}/example/hello:{version}", app.authority);
        wkg.run(
            dir,
            &[
                "oci",
                "push",
                "--insecure",
                &app.authority,
                &reference,
                "hello.wasm",
            ],
        )
        .await;
    }

    // Publish a WIT package built by wkg itself.
    std::fs::create_dir_all(dir.join("greeter/wit")).unwrap();
    std::fs::write(dir.join("greeter/wit/greeter.wit"), GREETER_WIT).unwrap();
    wkg.run(
        &dir.join("greeter"),
        &["wit", "build", "-o", "../greeter.wasm"],
    )
    .await;
    wkg.run(dir, &["publish", "greeter.wasm"]).await;

    // The gateway indexed what wkg published.
    let detail: Value = app
        .client
        .get(app.url("/api/v1/packages/example/hello/1.0.0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["layerDigest"], sha256_digest(&component));
    assert_eq!(detail["metadata"]["description"], "Hello from upstream wkg");
    let greeter: Value = app
        .client
        .get(app.url("/api/v1/packages/example/greeter/0.2.0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(greeter["kind"], "wit");

    // Get by version and latest: byte-identical.
    let exact = dir.join("got-1.0.0.wasm");
    wkg.run(
        dir,
        &["get", "example:hello@1.0.0", "-o", exact.to_str().unwrap()],
    )
    .await;
    assert_eq!(std::fs::read(&exact).unwrap(), component);
    let latest = dir.join("got-latest.wasm");
    let output = wkg
        .run(
            dir,
            &["get", "example:hello", "-o", latest.to_str().unwrap()],
        )
        .await;
    assert_eq!(std::fs::read(&latest).unwrap(), component);
    eprintln!("{output}");

    // Fetch a WIT dependency into a project that imports the greeter.
    std::fs::create_dir_all(dir.join("app/wit")).unwrap();
    std::fs::write(
        dir.join("app/wit/world.wit"),
        "package example:app@0.1.0;\n\nworld app {\n    import example:greeter/greet@0.2.0;\n}\n",
    )
    .unwrap();
    wkg.run(&dir.join("app"), &["fetch"]).await;
    let lock = std::fs::read_to_string(dir.join("app/wkg.lock")).unwrap();
    assert!(lock.contains("example:greeter"), "{lock}");
    let deps = dir.join("app/wit/deps");
    let fetched: Vec<String> = walk(&deps)
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        fetched
            .iter()
            .any(|wit| wit.contains("hello: func(name: string) -> string")),
        "{fetched:?}"
    );

    // Overwriting a published version with different content is refused.
    std::fs::write(dir.join("other.wasm"), fixtures::component()).unwrap();
    let reference = format!("{}/example/hello:1.0.0", app.authority);
    let output = wkg
        .output(
            dir,
            &[
                "oci",
                "push",
                "--insecure",
                &app.authority,
                &reference,
                "other.wasm",
            ],
        )
        .await;
    assert!(
        !output.status.success(),
        "an immutable version was overwritten"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("immutable"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Upstream wkg's own way to send a token: `WKG_REGISTRY_<HOST>_AUTH_BEARER`
/// with a robot token made by `wkg-gateway admin token create`.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_wkg_gets_with_a_robot_token_as_bearer() {
    let mut app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.authenticate_client_as("root", "root-password");
    let component = fixtures::component_with_metadata("private", "MIT");
    let (response, _) = app
        .publish_wasm(
            "example/private",
            "1.0.0",
            &component,
            "2024-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(response.status(), 201);
    app.add_user("ci", None).await;
    app.grant("ci", "example/*", "pull").await;
    let output = Command::new(env!("CARGO_BIN_EXE_wkg-gateway-test-server"))
        .args(["admin", "token", "create", "ci", "--ttl", "1h"])
        .env("WKG_GATEWAY_AUTH__MODE", "token")
        .envs(app.gateway_env())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let secret = String::from_utf8(output.stdout).unwrap().trim().to_string();

    let work = TempDir::new().unwrap();
    let dir = work.path();
    let target = dir.join("private.wasm");
    let mut wkg = Wkg::new(&app);
    let refused = wkg
        .output(
            dir,
            &[
                "get",
                "example:private@1.0.0",
                "-o",
                target.to_str().unwrap(),
            ],
        )
        .await;
    assert!(!refused.status.success(), "no credentials, no package");
    let host: String = app
        .authority
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    wkg.env
        .push((format!("WKG_REGISTRY_{host}_AUTH_BEARER"), secret));
    wkg.run(
        dir,
        &[
            "get",
            "example:private@1.0.0",
            "-o",
            target.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(std::fs::read(&target).unwrap(), component);
}

/// Upstream wkg gets `wasi:` packages through a gateway that fronts another
/// registry (Debian's docker-registry standing in for ghcr.io): the README's
/// "front wasi.dev" recipe, with the namespace mapped to the gateway.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_wkg_gets_a_package_through_the_proxy() {
    let registry = integration_tests::upstream::DockerRegistry::start();
    let component = fixtures::component_with_metadata("proxied clocks", "Apache-2.0");
    registry
        .pusher()
        .publish_wasm("webassembly/wasi/clocks", "0.2.3", &component)
        .await;
    let app = TestApp::spawn_with(&integration_tests::upstream::oci_upstream_entry(
        "wasi",
        &registry.authority,
        "webassembly/",
    ))
    .await;
    let wkg = Wkg::new(&app);
    std::fs::write(
        &wkg.config,
        format!(
            "default_registry = \"{0}\"\n\n[namespace_registries]\nwasi = \"{0}\"\n\n\
             [registry.\"{0}\".oci]\nprotocol = \"http\"\n",
            app.authority
        ),
    )
    .unwrap();
    let work = TempDir::new().unwrap();
    let target = work.path().join("clocks.wasm");
    wkg.run(
        work.path(),
        &["get", "wasi:clocks@0.2.3", "-o", target.to_str().unwrap()],
    )
    .await;
    assert_eq!(std::fs::read(&target).unwrap(), component);
    let latest = work.path().join("latest.wasm");
    wkg.run(
        work.path(),
        &["get", "wasi:clocks", "-o", latest.to_str().unwrap()],
    )
    .await;
    assert_eq!(std::fs::read(&latest).unwrap(), component);
}

/// Upstream wkg gets a package hosted on a Warg registry (which it cannot
/// read itself since 0.16) through the gateway.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_wkg_gets_a_warg_hosted_package_through_the_proxy() {
    let warg = integration_tests::warg::WargServer::start(&["example"]).await;
    let component = fixtures::component_with_metadata("hosted on warg", "MIT");
    warg.publisher()
        .await
        .release("example:greeter", "1.0.0", &component)
        .await;
    let app = TestApp::spawn_with(&warg.upstream_entry("example")).await;
    let wkg = Wkg::new(&app);
    let work = TempDir::new().unwrap();
    let target = work.path().join("greeter.wasm");
    wkg.run(
        work.path(),
        &[
            "get",
            "example:greeter@1.0.0",
            "-o",
            target.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(std::fs::read(&target).unwrap(), component);
}

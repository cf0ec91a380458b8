//! Our `wkg` and upstream `wkg` 0.16.1 on the same files and the same registry: each reads
//! what the other wrote (config.toml, wkg.lock, deps/, published packages), byte for byte.
//!
//! `tests/scripts/install-upstream-wkg` installs upstream wkg (scripts/test runs it);
//! `WKG_UPSTREAM_BIN` or that cache locates it. Without it these tests fail, never skip.

use std::path::{Path, PathBuf};

use crate::common::{Env, files_under, ok};
use integration_tests::{TestApp, fixtures};

fn upstream_bin() -> PathBuf {
    if let Ok(path) = std::env::var("WKG_UPSTREAM_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").expect("HOME");
    let cached = Path::new(&home).join(".cache/wkg-gateway-tools/wkg-0.16.1/bin/wkg");
    assert!(
        cached.exists(),
        "upstream wkg 0.16.1 is not installed at {}; run tests/scripts/install-upstream-wkg",
        cached.display()
    );
    cached
}

/// Upstream wkg in `dir`, with the environment's config and a cache of its own.
fn upstream(env: &Env, dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(upstream_bin());
    cmd.current_dir(dir)
        .env("WKG_CONFIG_FILE", env.config())
        .env("WKG_CACHE_DIR", env.dir.path().join("upstream-cache"))
        .env("HOME", env.dir.path().join("home"))
        .env("XDG_CONFIG_HOME", env.dir.path().join("xdg-config"))
        .env("XDG_CACHE_HOME", env.dir.path().join("xdg-cache"))
        .env_remove("WKG_REGISTRY")
        .env_remove("WKG_PACKAGE")
        .kill_on_drop(true);
    cmd
}

/// A project whose WIT imports `acme:types/clock@0.2.0`.
fn project(env: &Env, name: &str) -> PathBuf {
    let dir = env.path(name);
    std::fs::create_dir_all(dir.join("wit")).unwrap();
    std::fs::write(
        dir.join("wit/world.wit"),
        "package acme:app;\n\nworld app {\n  import acme:types/clock@0.2.0;\n}\n",
    )
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_files_and_deps_are_interchangeable() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let types = fixtures::wit_package(
        "package acme:types@0.2.0;\n\ninterface clock {\n  now: func() -> u64;\n}\n",
    );
    let file = env.write("types.wasm", &types);
    ok(env.wkg().arg("publish").arg(&file)).await;

    // Upstream writes the lock; ours reads it and writes the same bytes back.
    let a = project(&env, "a");
    ok(upstream(&env, &a).arg("fetch")).await;
    let upstream_lock = std::fs::read_to_string(a.join("wkg.lock")).unwrap();
    assert!(
        upstream_lock.contains("name = \"acme:types\""),
        "{upstream_lock}"
    );
    let upstream_deps = files_under(&a.join("wit/deps"));
    ok(env.wkg().current_dir(&a).arg("fetch")).await;
    assert_eq!(
        std::fs::read_to_string(a.join("wkg.lock")).unwrap(),
        upstream_lock
    );
    assert_eq!(files_under(&a.join("wit/deps")), upstream_deps);

    // Ours writes the lock; upstream reads it and writes the same bytes back.
    let b = project(&env, "b");
    ok(env.wkg().current_dir(&b).arg("fetch")).await;
    let our_lock = std::fs::read_to_string(b.join("wkg.lock")).unwrap();
    assert_eq!(our_lock, upstream_lock, "same project, same lock");
    ok(upstream(&env, &b).arg("fetch")).await;
    assert_eq!(
        std::fs::read_to_string(b.join("wkg.lock")).unwrap(),
        our_lock
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_and_config_cross_over() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);

    // Upstream publishes a WIT package; ours gets it.
    let wit = fixtures::wit_package("package acme:shared@1.0.0;\n\ninterface i {}\n");
    let file = env.write("shared.wasm", &wit);
    ok(upstream(&env, &env.work()).arg("publish").arg(&file)).await;
    ok(env
        .wkg()
        .args(["get", "acme:shared@1.0.0", "-o", "ours.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("ours.wasm")).unwrap(), wit);

    // Ours publishes a component; upstream gets it.
    let component = fixtures::component_with_metadata("Crossing", "MIT");
    let file = env.write("component.wasm", &component);
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:crossing@1.0.0"])
        .arg(&file))
    .await;
    // Upstream needs a parent directory in the output path.
    ok(upstream(&env, &env.work()).args(["get", "acme:crossing@1.0.0", "-o", "./theirs.wasm"]))
        .await;
    assert_eq!(std::fs::read(env.path("theirs.wasm")).unwrap(), component);

    // A config file upstream wrote (with its empty tables) is one ours reads.
    let written = env.dir.path().join("upstream-config.toml");
    ok(upstream(&env, &env.work())
        .args([
            "config",
            "--default-registry",
            "wasm.example:5000",
            "--config",
        ])
        .arg(&written))
    .await;
    let shown = ok(env.bare_wkg().arg("config").arg("--config").arg(&written)).await;
    assert!(
        shown.contains("Default registry: wasm.example:5000"),
        "{shown}"
    );
}

//! `--offline`: after the registry is gone, what was fetched before is still there.

use crate::common::{Env, ok, run};
use integration_tests::{TestApp, fixtures};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_serves_what_was_fetched_before() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let v1 = fixtures::component_with_metadata("one", "MIT");
    let v2 = fixtures::component_with_metadata("two", "MIT");
    for (version, bytes) in [("1.0.0", &v1), ("1.1.0", &v2)] {
        let file = env.write(&format!("{version}.wasm"), bytes);
        ok(env
            .wkg()
            .args(["publish", "--package", &format!("acme:thing@{version}")])
            .arg(&file))
        .await;
    }
    let types = fixtures::wit_package(
        "package acme:types@0.2.0;\n\ninterface clock {\n  now: func() -> u64;\n}\n",
    );
    let file = env.write("types.wasm", &types);
    ok(env.wkg().arg("publish").arg(&file)).await;
    std::fs::create_dir_all(env.path("wit")).unwrap();
    std::fs::write(
        env.path("wit/world.wit"),
        "package acme:app;\n\nworld app {\n  import acme:types/clock@0.2.0;\n}\n",
    )
    .unwrap();

    // Online: fetch 1.0.0 and the WIT dependency once.
    ok(env
        .wkg()
        .args(["get", "acme:thing@1.0.0", "-o", "online.wasm"]))
    .await;
    ok(env.wkg().arg("fetch")).await;
    let lock = std::fs::read_to_string(env.path("wkg.lock")).unwrap();

    // The registry goes away.
    drop(app.shutdown().await);
    let (output, _, stderr) =
        run(env.wkg().args(["get", "acme:thing@1.0.0", "-o", "no.wasm"])).await;
    assert!(
        !output.status.success(),
        "the registry is really gone: {stderr}"
    );

    ok(env
        .wkg()
        .args(["--offline", "get", "acme:thing@1.0.0", "-o", "offline.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("offline.wasm")).unwrap(), v1);
    // "Latest" offline is the newest version fetched before.
    ok(env
        .wkg()
        .args(["--offline", "get", "acme:thing", "-o", "latest.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("latest.wasm")).unwrap(), v1);

    let (output, _, stderr) = run(env.wkg().args(["--offline", "get", "acme:thing@1.1.0"])).await;
    assert!(!output.status.success());
    assert!(
        stderr.contains("--offline: `acme:thing@1.1.0` from"),
        "{stderr}"
    );
    assert!(stderr.contains("is not in the cache"), "{stderr}");

    let (output, _, stderr) = run(env.wkg().args(["--offline", "publish"]).arg(&file)).await;
    assert!(!output.status.success());
    assert!(stderr.contains("publishing needs the registry"), "{stderr}");

    // The WIT dependency comes back from the cache through the lock.
    std::fs::remove_dir_all(env.path("wit/deps")).unwrap();
    ok(env.wkg().args(["--offline", "fetch"])).await;
    assert!(env.path("wit/deps/acme-types-0.2.0/package.wit").is_file());
    assert_eq!(std::fs::read_to_string(env.path("wkg.lock")).unwrap(), lock);
}

//! The Warg backend (`[registry."x".warg]`, `default = "warg"`) against a real
//! warg-server: versions from the verified log, content into the cache, and
//! `--offline` afterwards.

use crate::common::{Env, ok, run};
use integration_tests::fixtures;
use integration_tests::warg::WargServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_from_a_warg_registry() {
    let warg = WargServer::start(&["example"]).await;
    let v1 = fixtures::component_with_metadata("warg backend one", "MIT");
    let v2 = fixtures::component_with_metadata("warg backend two", "MIT");
    let publisher = warg.publisher().await;
    publisher.release("example:tool", "1.0.0", &v1).await;
    publisher.release("example:tool", "1.2.0", &v2).await;

    let env = Env::with_registry("warg.test");
    std::fs::write(
        env.config(),
        format!(
            "default_registry = \"warg.test\"\n\n[registry.\"warg.test\"]\ndefault = \"warg\"\n\n\
             [registry.\"warg.test\".warg]\nurl = \"{}\"\n",
            warg.url
        ),
    )
    .unwrap();

    ok(env
        .wkg()
        .args(["get", "example:tool@1.0.0", "-o", "one.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("one.wasm")).unwrap(), v1);
    ok(env.wkg().args(["get", "example:tool", "-o", "latest.wasm"])).await;
    assert_eq!(std::fs::read(env.path("latest.wasm")).unwrap(), v2);

    // A version the log does not have: the error lists those it does.
    let (output, _, stderr) = run(env.wkg().args(["get", "example:tool@3.0.0"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("1.2.0"), "{stderr}");
    // Publishing to Warg is not something this wkg does: it says so.
    let file = env.write("new.wasm", &v1);
    let (output, _, stderr) = run(env
        .wkg()
        .args(["publish", "--package", "example:tool@2.0.0"])
        .arg(&file))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("warg"), "{stderr}");

    // WIT dependencies resolve against the Warg log too.
    let types = fixtures::wit_package(
        "package example:types;\n\ninterface clock {\n  now: func() -> u64;\n}\n",
    );
    publisher.release("example:types", "0.1.0", &types).await;
    std::fs::create_dir_all(env.path("wit")).unwrap();
    std::fs::write(
        env.path("wit/world.wit"),
        "package example:app;\n\nworld app {\n  import example:types/clock;\n}\n",
    )
    .unwrap();
    ok(env.wkg().arg("fetch")).await;
    let lock = std::fs::read_to_string(env.path("wkg.lock")).unwrap();
    assert!(
        lock.contains("example:types") && lock.contains("0.1.0"),
        "{lock}"
    );
    let deps = crate::common::files_under(&env.path("wit/deps"));
    assert!(
        deps.iter()
            .any(|p| std::fs::read_to_string(env.path("wit/deps").join(p))
                .unwrap_or_default()
                .contains("now: func")),
        "{deps:?}"
    );

    // With the registry gone, what was fetched is still there.
    drop(publisher);
    drop(warg);
    ok(env.wkg().args([
        "--offline",
        "get",
        "example:tool@1.0.0",
        "-o",
        "offline.wasm",
    ]))
    .await;
    assert_eq!(std::fs::read(env.path("offline.wasm")).unwrap(), v1);
}

//! The local-directory backend end to end: `[registry."<name>".local] root = "<dir>"`.

use crate::common::{Env, files_under, ok, run};
use integration_tests::fixtures;

fn local_env() -> Env {
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
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_get_through_a_directory() {
    let env = local_env();
    let root = env.dir.path().join("packages");
    let v1 = fixtures::component_with_metadata("one", "MIT");
    let v2 = fixtures::wit_package("package acme:thing@2.0.0;\ninterface i {}\n");
    let file1 = env.write("one.wasm", &v1);
    let file2 = env.write("two.wasm", &v2);

    let stdout = ok(env
        .wkg()
        .args(["publish", "--package", "acme:thing@1.0.0"])
        .arg(&file1))
    .await;
    assert!(
        stdout.contains("Published acme:thing@1.0.0 to dev"),
        "{stdout}"
    );
    ok(env.wkg().arg("publish").arg(&file2)).await;
    let mut files = files_under(&root);
    files.sort();
    assert_eq!(
        files,
        [
            std::path::PathBuf::from("acme/thing/1.0.0.wasm"),
            std::path::PathBuf::from("acme/thing/2.0.0.wasm")
        ]
    );
    assert_eq!(
        std::fs::read(root.join("acme/thing/1.0.0.wasm")).unwrap(),
        v1
    );
    assert_eq!(
        std::fs::read(root.join("acme/thing/2.0.0.wasm")).unwrap(),
        v2
    );

    ok(env
        .wkg()
        .args(["get", "acme:thing@1.0.0", "-o", "got.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("got.wasm")).unwrap(), v1);
    ok(env
        .wkg()
        .args(["get", "acme:thing", "--format", "wasm", "-o", "latest.wasm"]))
    .await;
    assert_eq!(std::fs::read(env.path("latest.wasm")).unwrap(), v2);

    let (output, _, stderr) = run(env.wkg().args(["get", "acme:thing@3.0.0"])).await;
    assert!(!output.status.success());
    assert!(
        stderr.contains("available (newest first): 2.0.0, 1.0.0"),
        "{stderr}"
    );

    let (output, _, stderr) = run(env
        .wkg()
        .args(["publish", "--package", "acme:thing@1.0.0"])
        .arg(&file2))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("is already published"), "{stderr}");
    assert_eq!(
        std::fs::read(root.join("acme/thing/1.0.0.wasm")).unwrap(),
        v1
    );
}

//! Interop with the `oras` Python client (PyPI) in plain-http mode: push a
//! Wasm component with a Wasm config, pull it back byte-identical, and
//! check what the gateway stored.

use std::process::Command;

use integration_tests::fixtures::{self, WASM_CONFIG, WASM_LAYER};
use integration_tests::{TestApp, sha256_digest};
use serde_json::Value;
use tempfile::TempDir;

#[tokio::test(flavor = "multi_thread")]
async fn oras_pushes_and_pulls_a_component() {
    let app = TestApp::spawn().await;
    let work = TempDir::new().unwrap();
    let wasm = fixtures::component_with_metadata("pushed by oras", "MIT");
    std::fs::write(work.path().join("hello.wasm"), &wasm).unwrap();
    std::fs::write(
        work.path().join("config.json"),
        br#"{"architecture":"wasm","os":"wasip2"}"#,
    )
    .unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/oras_roundtrip.py");
    let (authority, dir) = (app.authority.clone(), work.path().to_path_buf());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(&authority)
            .arg("example/oras:0.3.0")
            .arg(&dir)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'oras'"),
        "the oras package is missing: pip install oras"
    );
    assert!(
        output.status.success(),
        "oras round trip failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );

    let pulled = std::fs::read(work.path().join("pulled/hello.wasm")).unwrap();
    assert!(pulled == wasm, "the component round-trips byte for byte");

    let manifest: Value = app
        .client
        .get(app.url("/v2/example/oras/manifests/0.3.0"))
        .header("accept", fixtures::OCI_MANIFEST)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["config"]["mediaType"], WASM_CONFIG);
    assert_eq!(manifest["layers"][0]["mediaType"], WASM_LAYER);
    assert_eq!(manifest["layers"][0]["digest"], sha256_digest(&wasm));
    assert_eq!(
        manifest["layers"][0]["annotations"]["org.opencontainers.image.title"],
        "hello.wasm"
    );
}

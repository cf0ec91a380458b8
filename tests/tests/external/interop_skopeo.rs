//! Interop with `skopeo` (Debian package) in plain-http mode: copy a Wasm
//! component from an OCI image layout into the gateway and back out into
//! another layout; blobs and manifest come back byte-identical.

use std::path::Path;
use std::process::Command;

use integration_tests::fixtures::{self, OCI_MANIFEST};
use integration_tests::{TestApp, sha256_digest};
use serde_json::{Value, json};
use tempfile::TempDir;

fn write_blob(layout: &Path, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&digest[7..]), bytes).unwrap();
    digest
}

fn read_blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(layout.join("blobs/sha256").join(&digest[7..])).unwrap()
}

async fn skopeo(args: Vec<String>) {
    let output = tokio::task::spawn_blocking(move || Command::new("skopeo").args(&args).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!("cannot run skopeo ({e}); install it with `apt-get install skopeo`")
        });
    assert!(
        output.status.success(),
        "skopeo failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_copies_a_component_in_and_out() {
    let app = TestApp::spawn().await;
    let work = TempDir::new().unwrap();
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();

    // An OCI image layout holding one Wasm component, tagged 1.0.0.
    let source = work.path().join("source");
    let wasm = fixtures::component_with_metadata("copied by skopeo", "MIT");
    let config = br#"{"architecture":"wasm","os":"wasip2"}"#;
    let config_digest = write_blob(&source, config);
    let layer_digest = write_blob(&source, &wasm);
    let manifest = fixtures::wasm_manifest(
        &config_digest,
        config.len(),
        &layer_digest,
        wasm.len(),
        None,
    );
    let manifest_digest = write_blob(&source, &manifest);
    std::fs::write(
        source.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": "1.0.0" }
        }]
    });
    std::fs::write(source.join("index.json"), index.to_string()).unwrap();

    let remote = format!("docker://{}/example/skopeo:1.0.0", app.authority);
    let policy_arg = format!("--policy={}", policy.display());
    skopeo(vec![
        policy_arg.clone(),
        "copy".into(),
        "--preserve-digests".into(),
        "--dest-tls-verify=false".into(),
        format!("oci:{}:1.0.0", source.display()),
        remote.clone(),
    ])
    .await;

    // The gateway holds exactly what was in the layout.
    let stored = app
        .client
        .get(app.url("/v2/example/skopeo/manifests/1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.headers()["docker-content-digest"],
        manifest_digest.as_str()
    );
    assert!(stored.bytes().await.unwrap().as_ref() == manifest.as_slice());

    let target = work.path().join("target");
    skopeo(vec![
        policy_arg,
        "copy".into(),
        "--preserve-digests".into(),
        "--src-tls-verify=false".into(),
        remote,
        format!("oci:{}:1.0.0", target.display()),
    ])
    .await;
    let index: Value =
        serde_json::from_slice(&std::fs::read(target.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], manifest_digest);
    assert!(read_blob(&target, &manifest_digest) == manifest);
    assert!(
        read_blob(&target, &layer_digest) == wasm,
        "the component round-trips byte for byte"
    );
    assert!(read_blob(&target, &config_digest) == config);
}

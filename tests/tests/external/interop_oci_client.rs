//! Interop with `oci-client` 0.18, the OCI client upstream wkg uses: push a
//! Wasm component the way wkg does (chunked PATCHes of at most 4 MiB), pull
//! it back by tag and by digest, list tags. Byte-identical round trips.

use std::collections::BTreeMap;

use integration_tests::fixtures::{self, WASM_CONFIG, WASM_LAYER};
use integration_tests::{TestApp, install_crypto, sha256_digest};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

fn client() -> Client {
    install_crypto();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

#[tokio::test]
async fn push_and_pull_a_component_with_oci_client() {
    let app = TestApp::spawn().await;
    let client = client();
    // Over 4 MiB, so oci-client uploads it in several chunks.
    let wasm = fixtures::large_component(9 * 1024 * 1024 + 123);
    let config_json = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [sha256_digest(&wasm)],
    });
    let config = Config::new(
        serde_json::to_vec(&config_json).unwrap(),
        WASM_CONFIG.to_string(),
        None,
    );
    let mut layer_annotations = BTreeMap::new();
    layer_annotations.insert(
        "org.opencontainers.image.title".to_string(),
        "hello.wasm".to_string(),
    );
    let layers = vec![ImageLayer::new(
        wasm.clone(),
        WASM_LAYER.to_string(),
        Some(layer_annotations),
    )];
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.version".to_string(),
        "1.2.0".to_string(),
    );
    let manifest = OciImageManifest::build(&layers, &config, Some(annotations));

    let reference: Reference = format!("{}/example/hello:1.2.0", app.authority)
        .parse()
        .unwrap();
    let pushed = client
        .push(
            &reference,
            &layers,
            config,
            &RegistryAuth::Anonymous,
            Some(manifest),
        )
        .await
        .unwrap();
    assert!(
        pushed.manifest_url.contains("/v2/example/hello/manifests/"),
        "{}",
        pushed.manifest_url
    );

    let pulled = client
        .pull(&reference, &RegistryAuth::Anonymous, vec![WASM_LAYER])
        .await
        .unwrap();
    assert_eq!(pulled.layers.len(), 1);
    assert!(
        pulled.layers[0].data.as_ref() == wasm.as_slice(),
        "layer bytes round trip"
    );
    let config: Value = serde_json::from_slice(&pulled.config.data).unwrap();
    assert_eq!(config["layerDigests"][0], sha256_digest(&wasm));
    let digest = pulled.digest.clone().expect("manifest digest");

    let by_digest: Reference = format!("{}/example/hello@{digest}", app.authority)
        .parse()
        .unwrap();
    let again = client
        .pull(&by_digest, &RegistryAuth::Anonymous, vec![WASM_LAYER])
        .await
        .unwrap();
    assert!(again.layers[0].data.as_ref() == wasm.as_slice());

    let tags = client
        .list_tags(&reference, &RegistryAuth::Anonymous, None, None)
        .await
        .unwrap();
    assert_eq!(tags.tags, vec!["1.2.0".to_string()]);

    // The gateway indexed it as a package.
    let detail: Value = app
        .client
        .get(app.url("/api/v1/packages/example/hello/1.2.0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["layerDigest"], sha256_digest(&wasm));
    assert_eq!(detail["manifestDigest"], digest);
}

//! Where packages live is what registry.json (or inline metadata) says, not the name.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{Env, ok};
use integration_tests::{TestApp, fixtures};

/// A host that serves only a registry.json, counting requests.
async fn well_known(document: serde_json::Value, hits: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/.well-known/wasm-pkg/registry.json",
        axum::routing::get(move || {
            let document = document.clone();
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(document)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_json_sends_packages_to_another_host() {
    let app = TestApp::spawn().await;
    let wasm = fixtures::component();
    for (document, repo) in [
        (
            serde_json::json!({"preferredProtocol": "oci", "oci": {"registry": app.authority, "namespacePrefix": "current/"}}),
            "current/acme/moved",
        ),
        (
            serde_json::json!({"ociRegistry": app.authority, "ociNamespacePrefix": "legacy/"}),
            "legacy/acme/moved",
        ),
    ] {
        let hits = Arc::new(AtomicUsize::new(0));
        let name = well_known(document, hits.clone()).await;
        // `protocol = "http"` is keyed by the wkg registry name and applies to the OCI
        // host that registry.json names.
        let env = Env::with_registry(&name);
        let file = env.write("moved.wasm", &wasm);
        ok(env
            .wkg()
            .args(["publish", "--package", "acme:moved@1.0.0"])
            .arg(&file))
        .await;
        let tags = app
            .client
            .get(app.url(&format!("/v2/{repo}/tags/list")))
            .send()
            .await
            .unwrap();
        assert_eq!(tags.status(), 200, "{repo}");
        ok(env
            .wkg()
            .args(["get", "acme:moved@1.0.0", "-o", "back.wasm"]))
        .await;
        assert_eq!(std::fs::read(env.path("back.wasm")).unwrap(), wasm);
        assert!(hits.load(Ordering::SeqCst) >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_metadata_skips_discovery() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry("unused.example");
    std::fs::write(
        env.config(),
        format!(
            "[namespace_registries]\nacme = {{ registry = \"meta\", metadata = {{ preferredProtocol = \"oci\", oci = {{ registry = \"{0}\", namespacePrefix = \"inline/\" }} }} }}\n\n[registry.\"meta\".oci]\nprotocol = \"http\"\n",
            app.authority
        ),
    )
    .unwrap();
    let wasm = fixtures::component();
    let file = env.write("inline.wasm", &wasm);
    ok(env
        .wkg()
        .args(["publish", "--package", "acme:inline@1.0.0"])
        .arg(&file))
    .await;
    let tags = app
        .client
        .get(app.url("/v2/inline/acme/inline/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.status(), 200);
    ok(env.wkg().args(["get", "acme:inline", "-o", "back.wasm"])).await;
    assert_eq!(std::fs::read(env.path("back.wasm")).unwrap(), wasm);
    // Nothing was asked of a host called `meta`: no registry.json was cached for it.
    assert!(!env.cache().join("registries").exists());
}

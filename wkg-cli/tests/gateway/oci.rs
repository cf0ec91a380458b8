//! `wkg oci push/pull` against a real gateway, and what `wkg` sends and checks against a
//! deliberately misbehaving registry on loopback.

use std::sync::{Arc, Mutex};

use crate::common::{Env, files_under, ok, run};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use integration_tests::{TestApp, fixtures, sha256_digest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_push_then_pull_roundtrip() {
    let app = TestApp::spawn().await;
    let env = Env::with_registry(&app.authority);
    let wasm = fixtures::component_with_metadata("Raw push", "MIT");
    let file = env.write("raw.wasm", &wasm);
    let reference = format!("{}/acme/raw:1.0.0", app.authority);

    let stdout = ok(env
        .bare_wkg()
        .args(["oci", "push", &reference])
        .arg(&file)
        .args([
            "--insecure",
            &format!("other.example:1,{}", app.authority),
            "--annotation",
            "org.example.team=blue",
            "-a",
            "Ada",
        ]))
    .await;
    assert!(
        stdout.starts_with(&format!("Pushed {reference} (sha256:")),
        "{stdout}"
    );

    let response = app
        .client
        .get(app.url("/v2/acme/raw/manifests/1.0.0"))
        .header("accept", fixtures::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    let manifest: serde_json::Value = response.json().await.unwrap();
    assert_eq!(manifest["annotations"]["org.example.team"], "blue");
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.authors"],
        "Ada"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.description"],
        "Raw push"
    );
    assert_eq!(manifest["layers"][0]["digest"], sha256_digest(&wasm));

    ok(env.bare_wkg().args([
        "oci",
        "pull",
        &reference,
        "-o",
        "pulled.wasm",
        "--insecure",
        &app.authority,
    ]))
    .await;
    assert_eq!(std::fs::read(env.path("pulled.wasm")).unwrap(), wasm);

    // Without --insecure too: the registry is on this machine, so plain http, said once,
    // as every other command does.
    let (output, _, stderr) =
        run(env
            .bare_wkg()
            .args(["oci", "pull", &reference, "-o", "loopback.wasm"]))
        .await;
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("is on this machine, so wkg talks plain http to it")
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(std::fs::read(env.path("loopback.wasm")).unwrap(), wasm);

    // An explicit `protocol = "https"` wins, as for every command: https to a plain-http
    // registry fails, and says what to do.
    let config = env.write(
        "https.toml",
        format!(
            "[registry.\"{}\".oci]\nprotocol = \"https\"\n",
            app.authority
        )
        .as_bytes(),
    );
    let (output, _, stderr) = run(env.bare_wkg().arg("--config").arg(&config).args([
        "oci",
        "pull",
        &reference,
        "-o",
        "again.wasm",
    ]))
    .await;
    assert!(!output.status.success());
    assert!(
        stderr.starts_with(&format!("error: could not pull {reference}")),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure <host:port>"), "{stderr}");
    assert!(
        !stderr.contains("retrying"),
        "a TLS failure is not retried: {stderr}"
    );
    assert!(!env.path("again.wasm").exists());

    // --insecure still forces plain http, whatever the config says.
    ok(env
        .bare_wkg()
        .arg("--config")
        .arg(&config)
        .args(["oci", "pull", &reference, "-o", "forced.wasm", "--insecure"])
        .arg(&app.authority))
    .await;
    assert_eq!(std::fs::read(env.path("forced.wasm")).unwrap(), wasm);
}

/// What the fake registry saw and serves.
#[derive(Default)]
struct Fake {
    authorizations: Mutex<Vec<String>>,
    /// The bytes the manifest promises.
    promised: Vec<u8>,
    /// The bytes actually served for the layer.
    served: Vec<u8>,
    /// How many tag listings still answer 503 before one succeeds.
    tag_failures: Mutex<u32>,
}

fn record(fake: &Fake, headers: &HeaderMap) {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        fake.authorizations
            .lock()
            .unwrap()
            .push(value.to_str().unwrap().to_owned());
    }
}

async fn v2(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> &'static str {
    record(&fake, &headers);
    "{}"
}

async fn tags(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    record(&fake, &headers);
    {
        let mut failures = fake.tag_failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response();
        }
    }
    axum::Json(serde_json::json!({"name": "acme/bad", "tags": ["1.0.0"]})).into_response()
}

async fn manifest(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    record(&fake, &headers);
    let config = br#"{"architecture":"wasm"}"#;
    let body = fixtures::wasm_manifest(
        &sha256_digest(config),
        config.len(),
        &sha256_digest(&fake.promised),
        fake.promised.len(),
        None,
    );
    ([(header::CONTENT_TYPE, fixtures::OCI_MANIFEST)], body).into_response()
}

async fn blob(
    State(fake): State<Arc<Fake>>,
    Path(_digest): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&fake, &headers);
    (StatusCode::OK, fake.served.clone()).into_response()
}

async fn fake_registry(fake: Arc<Fake>) -> String {
    let app = axum::Router::new()
        .route("/v2/", axum::routing::get(v2))
        .route("/v2/acme/bad/tags/list", axum::routing::get(tags))
        .route(
            "/v2/acme/bad/manifests/{reference}",
            axum::routing::get(manifest),
        )
        .route("/v2/acme/bad/blobs/{digest}", axum::routing::get(blob))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_content_is_rejected_and_bearer_token_is_sent() {
    let promised = fixtures::component();
    let mut served = promised.clone();
    let last = served.len() - 1;
    served[last] ^= 0xff;
    let fake = Arc::new(Fake {
        promised,
        served,
        ..Fake::default()
    });
    let authority = fake_registry(fake.clone()).await;
    let env = Env::with_registry(&authority);
    let token_var = format!(
        "WKG_REGISTRY_{}_AUTH_BEARER",
        authority.replace(['.', ':'], "_")
    );

    let (output, _, stderr) = run(env.wkg().env(&token_var, "secret-token").args([
        "get",
        "acme:bad@1.0.0",
        "-o",
        "bad.wasm",
    ]))
    .await;
    assert!(!output.status.success());
    assert!(stderr.contains("does not match its digest"), "{stderr}");
    assert!(stderr.contains(&sha256_digest(&fake.promised)), "{stderr}");
    assert!(!env.path("bad.wasm").exists(), "nothing written");
    assert_eq!(
        files_under(&env.cache().join("blobs")),
        Vec::<std::path::PathBuf>::new()
    );

    let seen = fake.authorizations.lock().unwrap().clone();
    assert!(!seen.is_empty(), "no Authorization header was sent");
    assert!(
        seen.iter().all(|value| value == "Bearer secret-token"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried() {
    let wasm = fixtures::component();
    let fake = Arc::new(Fake {
        promised: wasm.clone(),
        served: wasm.clone(),
        tag_failures: Mutex::new(2),
        ..Fake::default()
    });
    let authority = fake_registry(fake.clone()).await;
    let env = Env::with_registry(&authority);

    // No version: the tag listing answers 503 twice, then works.
    let (output, _, stderr) = run(env.wkg().args(["get", "acme:bad", "-o", "good.wasm"])).await;
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("retrying").count(), 2, "{stderr}");
    assert_eq!(std::fs::read(env.path("good.wasm")).unwrap(), wasm);

    // Plain OCI has no package API: info falls back to tags and content, search refuses.
    let stdout = ok(env.wkg().args(["info", "acme:bad"])).await;
    assert!(stdout.contains("versions: 1.0.0\n"), "{stdout}");
    assert!(stdout.contains("kind: component\n"), "{stdout}");
    let (output, _, stderr) = run(env.wkg().args(["search", "bad"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("does not offer package search"), "{stderr}");

    // -q keeps the retry warnings quiet.
    *fake.tag_failures.lock().unwrap() = 1;
    let (output, _, stderr) = run(env
        .wkg()
        .args(["-q", "get", "acme:bad", "-o", "quiet.wasm"]))
    .await;
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "");
}

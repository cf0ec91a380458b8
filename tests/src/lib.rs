//! Shared test harness: a real gateway on `127.0.0.1:0` (in-process with
//! [`TestApp`], or as a child process with [`GatewayProcess`]) and helpers
//! that speak OCI over HTTP like a client would.
//!
//! # No test depends on wall-clock speed
//!
//! CI machines are slow and busy, so a test must pass however long each
//! step takes:
//! - Time-based behaviour (throttle windows, TTLs, grace periods, leases,
//!   `tag_ttl`) is driven through configuration (a zero TTL, a window of an
//!   hour that a test can never outlast, a budget that counts attempts) or
//!   an injectable clock, and the test asserts on state, never on how long
//!   something took.
//! - A test that waits for something to happen polls for that state with
//!   [`wait_until`] (or a loop like it) and a generous [`DEADLINE`], a limit
//!   that only a hang reaches, never a `sleep` that hopes it is long enough.
//!   [`wait_for_gauge`] waits for the gateway to report a request in
//!   flight, say before a signal is sent.
//! - A sleep is fine only where any length works: between polls, or to
//!   vary the interleaving of a race whose outcome is checked either way.

pub mod auth;
pub mod builder;
pub mod caller;
pub mod database;
pub mod docker;
pub mod fixtures;
pub mod haproxy;
pub mod moto;
pub mod postgres;
pub mod process;
pub mod storage;
pub mod upload;
pub mod upstream;
pub mod warg;

use std::sync::Once;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wkg_gateway::Config;

pub use process::GatewayProcess;

/// How long a test waits for a state before it fails: a limit only a hang
/// reaches, never an expectation of speed.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// Polls `check` every 50 ms until it returns `Some`, and returns that;
/// fails naming `what` after [`DEADLINE`].
pub async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {DEADLINE:?} for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until the gateway at `base` reports `value` for the gauge
/// `series` on `/metrics` (e.g. `wkg_gateway_uploads_in_progress`).
pub async fn wait_for_gauge(client: &Client, base: &str, series: &str, value: u64) {
    wait_until(&format!("{series} = {value} on {base}"), || async {
        (counter(client, base, series).await == Some(value)).then_some(())
    })
    .await
}

/// rustls needs one process-wide crypto provider; clients here use ring.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A plain HTTP client (with the crypto provider installed first).
pub fn http_client() -> Client {
    install_crypto();
    Client::builder().build().expect("http client")
}

/// A client that trusts the certificates of a PEM file (a test CA, or a
/// served chain whose last entry is the test CA).
pub fn https_client_trusting(cert_file: &std::path::Path) -> Client {
    install_crypto();
    let pem = std::fs::read(cert_file).expect("certificate file");
    let mut builder = Client::builder();
    for cert in reqwest::Certificate::from_pem_bundle(&pem).expect("PEM certificates") {
        builder = builder.add_root_certificate(cert);
    }
    builder.build().expect("https client")
}

/// A gateway served in-process on an ephemeral loopback port, with its own
/// temporary data directory. Stopped when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// `127.0.0.1:<port>`, as OCI clients name a registry.
    pub authority: String,
    pub client: Client,
    pub data: TempDir,
    /// The running gateway's state (database and storage handles).
    pub app: wkg_gateway::AppState,
    /// The gateway's database (SQLite file, or a Postgres database of its own).
    pub database_url: String,
    /// The gateway's `[storage]` settings (empty: local disk in `data`).
    pub storage_settings: Vec<(String, String)>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with("").await
    }

    /// Starts a gateway with extra TOML config (`listen` and `data_dir` are set here).
    pub async fn spawn_with(extra_toml: &str) -> Self {
        Self::spawn_configured(extra_toml, "").await
    }

    /// Starts a gateway with extra keys in its `[storage]` table.
    pub async fn spawn_with_storage_extra(storage_toml: &str) -> Self {
        Self::spawn_configured("", storage_toml).await
    }

    async fn spawn_configured(extra_toml: &str, storage_extra: &str) -> Self {
        let data = TempDir::new().expect("temp dir");
        let database_url = database::database_for_test(data.path()).await;
        let storage_settings = storage::storage_for_test();
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra_toml}\n[database]\nurl = {database_url:?}\n{}",
            data.path().display().to_string(),
            storage::toml_section(&storage_settings),
        );
        let toml = if storage_extra.is_empty() {
            toml
        } else if storage_settings.is_empty() {
            format!("{toml}\n[storage]\n{storage_extra}")
        } else {
            format!("{toml}{storage_extra}")
        };
        let config = Config::from_toml_str(&toml).expect("test config");
        let server = wkg_gateway::app::bind(config)
            .await
            .expect("gateway starts");
        let addr = server.local_addr();
        let state = server.app().clone();
        // With [tls], talk https and trust the configured certificate.
        let (scheme, client) = match &state.config.tls {
            Some(tls) => ("https", https_client_trusting(&tls.cert_file)),
            None => ("http", http_client()),
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("{scheme}://{addr}"),
            authority: addr.to_string(),
            client,
            data,
            app: state,
            database_url,
            storage_settings,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Environment that points another gateway process (e.g. `reindex`) at
    /// this gateway's database and blob store.
    pub fn gateway_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "WKG_GATEWAY_DATA_DIR".to_string(),
                self.data.path().display().to_string(),
            ),
            (
                "WKG_GATEWAY_DATABASE__URL".to_string(),
                self.database_url.clone(),
            ),
        ];
        for (key, value) in &self.storage_settings {
            env.push((
                format!("WKG_GATEWAY_STORAGE__{}", key.to_ascii_uppercase()),
                value.clone(),
            ));
        }
        env
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server, waits for it to finish and hands back its data
    /// directory (for tests that continue with another process).
    pub async fn shutdown(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server run");
        }
        let placeholder = TempDir::new().expect("temp dir");
        std::mem::replace(&mut self.data, placeholder)
    }

    /// Uploads a blob monolithically (`POST ?digest=`) and returns its digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let response = self
            .client
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
            .body(bytes.to_vec())
            .send()
            .await
            .expect("push blob");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "push blob: {}",
            response.text().await.unwrap_or_default()
        );
        digest
    }

    /// PUTs a manifest and returns the response.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Response {
        self.client
            .put(self.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .expect("put manifest")
    }

    /// Pushes a small plain OCI artifact (config + one layer + manifest)
    /// under `tag`, returning the manifest's digest and bytes.
    pub async fn push_artifact(&self, repo: &str, tag: &str, layer: &[u8]) -> (String, Vec<u8>) {
        let config = br#"{"kind":"example"}"#;
        let config_digest = self.push_blob(repo, config).await;
        let layer_digest = self.push_blob(repo, layer).await;
        let manifest = fixtures::artifact_manifest(
            &config_digest,
            config.len(),
            &layer_digest,
            layer.len(),
            None,
        );
        let response = self
            .put_manifest(repo, tag, fixtures::OCI_MANIFEST, &manifest)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap_or_default()
        );
        (sha256_digest(&manifest), manifest)
    }
}

impl TestApp {
    /// Publishes Wasm bytes as a Wasm package version the way upstream wkg
    /// does (its config records a `created` time, so republishing the same
    /// bytes yields a new manifest). Returns the response and the manifest.
    pub async fn publish_wasm(
        &self,
        repo: &str,
        tag: &str,
        wasm: &[u8],
        created: &str,
    ) -> (Response, Vec<u8>) {
        let config = fixtures::wasm_config(wasm, created);
        let config_digest = self.push_blob(repo, &config).await;
        let layer_digest = self.push_blob(repo, wasm).await;
        let manifest = fixtures::wasm_manifest(
            &config_digest,
            config.len(),
            &layer_digest,
            wasm.len(),
            None,
        );
        (
            self.put_manifest(repo, tag, fixtures::OCI_MANIFEST, &manifest)
                .await,
            manifest,
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Uploads a blob monolithically to the gateway at `base` (any process,
/// any replica), asserting 201.
pub async fn push_blob_to(client: &Client, base: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let response = client
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={digest}"))
        .body(bytes.to_vec())
        .send()
        .await
        .expect("push blob");
    let status = response.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "blob upload to {repo} on {base}: {}",
        response.text().await.unwrap_or_default()
    );
    digest
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Asserts an OCI error response: status and the first error's code.
/// `GET url` with `client`, which must answer 200 with JSON; the JSON.
pub async fn get_json(client: &Client, url: impl reqwest::IntoUrl) -> Value {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub async fn assert_oci_error(response: Response, status: StatusCode, code: &str) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.expect("error body");
    check_error(actual, &content_type, &text, status, code)
}

/// The checks of [`assert_oci_error`] on an answer already read.
pub fn check_error(
    actual: StatusCode,
    content_type: &str,
    text: &str,
    status: StatusCode,
    code: &str,
) -> Value {
    assert_eq!(actual, status, "status; body: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "error content-type {content_type:?}"
    );
    let body: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {text}"));
    assert_eq!(body["errors"][0]["code"], code, "error code; body: {text}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message; body: {text}"
    );
    body
}

/// The value of one counter series (`name{labels}` exactly as the gateway
/// at `base` renders it on `/metrics`), if it has been counted yet.
pub async fn counter(client: &Client, base: &str, series: &str) -> Option<u64> {
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    let prefix = format!("{series} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.parse().expect("a counter value"))
}

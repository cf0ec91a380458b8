//! Real upstream registries for the proxy tests: Debian's `docker-registry`
//! (CNCF distribution) on a loopback port, a tap of our own that forwards to
//! any registry while counting blob downloads and misbehaving on demand, and
//! a minimal OCI pusher to publish into them.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use reqwest::{Client, StatusCode};
use tempfile::TempDir;
use tokio::sync::watch;

use crate::{fixtures, http_client, sha256_digest};

/// `docker-registry serve` with a config of its own, storing in a temp dir.
/// Killed when dropped.
pub struct DockerRegistry {
    /// `127.0.0.1:<port>`
    pub authority: String,
    child: Option<Child>,
    dir: TempDir,
}

impl DockerRegistry {
    pub fn start() -> Self {
        let dir = TempDir::new().expect("temp dir");
        let mut registry = Self {
            authority: String::new(),
            child: None,
            dir,
        };
        registry.restart();
        registry
    }

    /// Starts (again) on a fresh port, keeping the stored content.
    pub fn restart(&mut self) {
        self.stop();
        let port = free_port();
        self.authority = format!("127.0.0.1:{port}");
        let config = self.dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {}\n",
                self.dir.path().join("data").display(),
                self.authority
            ),
        )
        .expect("registry config");
        let log = std::fs::File::create(self.dir.path().join("registry.log")).expect("log");
        let child = Command::new(binary())
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        self.child = Some(child);
        wait_for_v2(&self.authority, &self.dir.path().join("registry.log"));
    }

    /// Stops the registry (its content stays for a restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pusher(&self) -> Pusher {
        Pusher::new(&self.authority)
    }
}

/// A gateway `[[upstream]]` entry serving `namespace` from this plain-http
/// registry, whose repositories carry `prefix` (`""` for none).
pub fn oci_upstream_entry(namespace: &str, authority: &str, prefix: &str) -> String {
    format!(
        "[[upstream]]\nnamespaces = [\"{namespace}\"]\n\
         oci = {{ registry = \"{authority}\", namespace_prefix = \"{prefix}\", protocol = \"http\" }}\n"
    )
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> &'static str {
    let path = "/usr/bin/docker-registry";
    assert!(
        Path::new(path).exists(),
        "Debian's docker-registry is not installed ({path}); scripts/test installs it \
         (apt-get install docker-registry)"
    );
    path
}

/// A port nothing listens on right now (docker-registry cannot report the
/// port it bound, so it cannot be given port 0).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn wait_for_v2(authority: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(authority) {
            use std::io::{Read, Write};
            let _ = stream
                .write_all(format!("GET /v2/ HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes());
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "docker-registry did not answer on {authority}; its log: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pushes blobs and manifests to any registry with plain OCI requests.
pub struct Pusher {
    base: String,
    client: Client,
}

impl Pusher {
    pub fn new(authority: &str) -> Self {
        Self {
            base: format!("http://{authority}"),
            client: http_client(),
        }
    }

    /// POST, then PUT with the digest: the flow every registry supports.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256_digest(bytes);
        let started = self
            .client
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.base))
            .send()
            .await
            .expect("start upload");
        assert_eq!(started.status(), StatusCode::ACCEPTED, "start upload");
        let location = started.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let done = self
            .client
            .put(format!("{location}{separator}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("finish upload");
        assert_eq!(done.status(), StatusCode::CREATED, "finish upload");
        digest
    }

    pub async fn put_manifest(&self, repo: &str, tag: &str, manifest: &[u8]) -> String {
        let response = self
            .client
            .put(format!("{}/v2/{repo}/manifests/{tag}", self.base))
            .header("content-type", fixtures::OCI_MANIFEST)
            .body(manifest.to_vec())
            .send()
            .await
            .expect("put manifest");
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "put manifest: {}",
            response.text().await.unwrap_or_default()
        );
        sha256_digest(manifest)
    }

    /// Publishes Wasm bytes as a package version; returns the manifest digest.
    pub async fn publish_wasm(&self, repo: &str, tag: &str, wasm: &[u8]) -> String {
        let config = fixtures::wasm_config(wasm, "2024-01-01T00:00:00Z");
        let config = config.as_slice();
        let config_digest = self.push_blob(repo, config).await;
        let layer_digest = self.push_blob(repo, wasm).await;
        let manifest = fixtures::wasm_manifest(
            &config_digest,
            config.len(),
            &layer_digest,
            wasm.len(),
            None,
        );
        self.put_manifest(repo, tag, &manifest).await
    }

    /// Publishes a plain artifact with one layer; returns (manifest, layer) digests.
    pub async fn publish_artifact(&self, repo: &str, tag: &str, layer: &[u8]) -> (String, String) {
        let config = b"{}";
        let config_digest = self.push_blob(repo, config).await;
        let layer_digest = self.push_blob(repo, layer).await;
        let manifest = fixtures::artifact_manifest(
            &config_digest,
            config.len(),
            &layer_digest,
            layer.len(),
            None,
        );
        (self.put_manifest(repo, tag, &manifest).await, layer_digest)
    }
}

/// What the [`Tap`] does to the traffic it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapMode {
    /// Forward faithfully.
    Faithful,
    /// Flip the first byte of every blob body (same length).
    CorruptBlobs,
    /// Flip a byte inside every manifest body.
    CorruptManifests,
    /// Send the first half of every blob body, then break the connection.
    BreakBlobs,
    /// Send the first half of every blob body, then wait for [`Tap::release`].
    HoldBlobs,
}

struct TapState {
    target: String,
    client: Client,
    mode: Mutex<TapMode>,
    blob_gets: AtomicUsize,
    manifest_requests: AtomicUsize,
    release: watch::Sender<bool>,
}

/// A forwarding proxy of the test's own in front of a registry, so tests can
/// count the blob downloads an upstream serves and make it misbehave.
pub struct Tap {
    /// `127.0.0.1:<port>`
    pub authority: String,
    state: Arc<TapState>,
    task: tokio::task::JoinHandle<()>,
}

impl Tap {
    pub async fn start(target_authority: &str) -> Self {
        let state = Arc::new(TapState {
            target: format!("http://{target_authority}"),
            client: http_client(),
            mode: Mutex::new(TapMode::Faithful),
            blob_gets: AtomicUsize::new(0),
            manifest_requests: AtomicUsize::new(0),
            release: watch::Sender::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let authority = listener.local_addr().expect("addr").to_string();
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            authority,
            state,
            task,
        }
    }

    pub fn set_mode(&self, mode: TapMode) {
        *self.state.mode.lock().expect("mode") = mode;
    }

    /// `GET` requests for blobs the upstream answered so far.
    pub fn blob_fetches(&self) -> usize {
        self.state.blob_gets.load(Ordering::SeqCst)
    }

    /// `GET` and `HEAD` requests for manifests so far.
    pub fn manifest_requests(&self) -> usize {
        self.state.manifest_requests.load(Ordering::SeqCst)
    }

    /// Lets held blob bodies ([`TapMode::HoldBlobs`]) continue.
    pub fn release(&self) {
        self.state.release.send_replace(true);
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    axum::extract::State(state): axum::extract::State<Arc<TapState>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let mut outgoing = state
        .client
        .request(method.clone(), format!("{}{path}", state.target));
    for (name, value) in request.headers() {
        if name != "host" {
            outgoing = outgoing.header(name, value);
        }
    }
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let answer = outgoing.body(body).send().await.expect("tap forwards");
    let status = answer.status();
    let is_blob = path.contains("/blobs/sha256:") && method == reqwest::Method::GET;
    let is_manifest = path.contains("/manifests/");
    if is_blob && status.is_success() {
        state.blob_gets.fetch_add(1, Ordering::SeqCst);
    }
    if is_manifest {
        state.manifest_requests.fetch_add(1, Ordering::SeqCst);
    }
    let mode = *state.mode.lock().expect("mode");
    let mut builder = axum::http::Response::builder().status(status.as_u16());
    for (name, value) in answer.headers() {
        builder = builder.header(name, value);
    }
    let length = answer.content_length().unwrap_or(0) as usize;
    let body = if is_blob && status.is_success() && mode != TapMode::Faithful {
        let bytes = answer.bytes().await.expect("blob body");
        misbehave(&state, mode, bytes, length).await
    } else if is_manifest && method == reqwest::Method::GET && mode == TapMode::CorruptManifests {
        let mut bytes = answer.bytes().await.expect("manifest body").to_vec();
        if let Some(index) = bytes.iter().position(|b| *b == b'2') {
            bytes[index] = b'3';
        }
        axum::body::Body::from(bytes)
    } else {
        axum::body::Body::from_stream(answer.bytes_stream())
    };
    builder.body(body).expect("response")
}

async fn misbehave(
    state: &Arc<TapState>,
    mode: TapMode,
    bytes: Bytes,
    length: usize,
) -> axum::body::Body {
    let half = length / 2;
    match mode {
        TapMode::CorruptBlobs => {
            let mut bytes = bytes.to_vec();
            if let Some(first) = bytes.first_mut() {
                *first ^= 0xff;
            }
            axum::body::Body::from(bytes)
        }
        TapMode::BreakBlobs => {
            let first = bytes.slice(..half);
            let stream = futures::stream::iter(vec![
                Ok(first),
                Err(std::io::Error::other("the tap breaks the connection")),
            ]);
            axum::body::Body::from_stream(stream)
        }
        TapMode::HoldBlobs => {
            let first = bytes.slice(..half);
            let rest = bytes.slice(half..);
            let mut released_flag = state.release.subscribe();
            let released = async move {
                let _ = released_flag.wait_for(|released| *released).await;
                Ok::<_, std::io::Error>(rest)
            };
            let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(first) })
                .chain(futures::stream::once(released));
            axum::body::Body::from_stream(stream)
        }
        TapMode::Faithful | TapMode::CorruptManifests => axum::body::Body::from(bytes),
    }
}

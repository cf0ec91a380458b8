//! Faults (issue 16 §4): what clients see when a backend or a replica fails
//! in the middle of a push, and that nothing partial or corrupt is ever
//! served.
//!
//! - S3 stalls (moto SIGSTOPped: connections accepted, nothing answers) in
//!   the middle of a chunk and during a manifest PUT, then goes on with its
//!   data: 503 with `Retry-After`, nothing visible, and the same push
//!   completes from where the gateway says it stood.
//! - S3 goes down (moto killed: connections refused) and comes back empty
//!   (moto keeps everything in memory): prompt 503s, no lost object served
//!   as anything but missing, and the push, repeated, succeeds.
//! - A replica behind haproxy is SIGKILLed during 12 concurrent chunked
//!   pushes (see `replica_kill`).
//!
//! These tests start their own moto so that they can stop it; the gateway
//! uses the suite's database (SQLite, or PostgreSQL under with-postgres).
//! Nothing here waits for time to pass: every wait polls for a state with
//! a generous deadline. A stalled S3 is given up on by the gateway's S3
//! client after `storage.read_timeout`, set to 10 s here, so those requests
//! take that long to answer.

mod replica_kill;

use bytes::Bytes;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use integration_tests::fixtures::{self, OCI_MANIFEST};
use integration_tests::moto::Moto;
use integration_tests::upload::UploadSession;
use integration_tests::{
    GatewayProcess, assert_oci_error, push_blob_to, sha256_digest, wait_until,
};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

/// Size of the chunks clients PATCH here.
const CHUNK: usize = 1 << 20;

/// A gateway process storing its blobs in a moto of its own.
struct S3Gateway {
    // Dropped in this order: the gateway before its S3.
    gateway: GatewayProcess,
    moto: Moto,
    prefix: String,
    _data: TempDir,
}

impl S3Gateway {
    async fn start() -> Self {
        let moto = Moto::start().await;
        let data = TempDir::new().unwrap();
        let prefix = integration_tests::database::unique_name("faults");
        let database = integration_tests::database::database_for_test(data.path()).await;
        let mut env = moto.storage_env(&prefix);
        env.push(("WKG_GATEWAY_DATABASE__URL".into(), database));
        // Bodies are held open on purpose here; no minimum rate.
        env.push(("WKG_GATEWAY_UPLOADS__BODY_MIN_RATE".into(), "0".into()));
        // A stalled S3 is given up on after this (30 s by default): a
        // healthy moto on loopback that sends nothing for 10 s is hung.
        env.push(("WKG_GATEWAY_STORAGE__READ_TIMEOUT".into(), "10s".into()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let gateway = GatewayProcess::start(BIN, data.path(), &env);
        Self {
            gateway,
            moto,
            prefix,
            _data: data,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.base)
    }

    /// Waits until the gateway has a staged write open in S3: a chunk's
    /// body is streaming into the bucket.
    async fn wait_for_staged_write(&self) {
        let prefix = format!("{}/uploads/", self.prefix);
        wait_until("a staged write to begin", || async {
            (self.moto.multipart_uploads(&prefix).await > 0).then_some(())
        })
        .await;
    }
}

/// A request body whose first bytes are sent now and the rest through the
/// returned sender, when the test says.
fn held_body(
    first: &[u8],
) -> (
    reqwest::Body,
    UnboundedSender<Result<Bytes, std::io::Error>>,
) {
    let (sender, receiver) = unbounded();
    sender
        .unbounded_send(Ok(Bytes::copy_from_slice(first)))
        .unwrap();
    (reqwest::Body::wrap_stream(receiver), sender)
}

/// 503, `Retry-After` in whole seconds, the JSON envelope, and a message
/// naming the storage.
async fn assert_storage_unavailable(response: reqwest::Response) {
    let retry_after = response.headers().get("retry-after").cloned();
    let body = assert_oci_error(response, StatusCode::SERVICE_UNAVAILABLE, "INTERNAL_ERROR").await;
    assert!(
        retry_after
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1),
        "Retry-After {retry_after:?}; body {body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("storage"), "{body}");
}

/// A client that opens a new connection per request. A request the gateway
/// refuses before reading its whole body (S3 failed mid-chunk) ends that
/// connection, as HTTP allows; a pooled client may then send the next
/// request on it just as it closes. These tests are about the answers, so
/// they do not reuse connections.
fn unpooled_client() -> Client {
    integration_tests::install_crypto();
    Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("http client")
}

/// Polls `/readyz` at `base` until it answers 200.
async fn wait_ready(client: &Client, base: &str) {
    wait_until(&format!("{base} to become ready"), || async {
        let answer = client.get(format!("{base}/readyz")).send().await;
        answer
            .is_ok_and(|r| r.status() == StatusCode::OK)
            .then_some(())
    })
    .await;
}

async fn get(client: &Client, url: &str) -> (StatusCode, Bytes) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status();
    (status, response.bytes().await.expect("body"))
}

/// A Wasm package's config and manifest for `wasm`.
fn package(wasm: &[u8], created: &str) -> (Vec<u8>, Vec<u8>) {
    let config = fixtures::wasm_config(wasm, created);
    let manifest = fixtures::wasm_manifest(
        &sha256_digest(&config),
        config.len(),
        &sha256_digest(wasm),
        wasm.len(),
        None,
    );
    (config, manifest)
}

async fn put_manifest(
    client: &Client,
    base: &str,
    repo: &str,
    tag: &str,
    manifest: &[u8],
) -> reqwest::Response {
    client
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.to_vec())
        .send()
        .await
        .expect("PUT manifest")
}

/// The manifest `reference` of `repo` is served byte-exact.
async fn assert_manifest(
    client: &Client,
    base: &str,
    repo: &str,
    reference: &str,
    manifest: &[u8],
) {
    let (status, bytes) = get(client, &format!("{base}/v2/{repo}/manifests/{reference}")).await;
    assert_eq!(status, StatusCode::OK, "manifest {repo}:{reference}");
    assert!(
        bytes.as_ref() == manifest,
        "manifest {repo}:{reference} differs"
    );
}

/// The blob is served byte-exact.
async fn assert_blob(client: &Client, base: &str, repo: &str, content: &[u8]) {
    let digest = sha256_digest(content);
    let (status, bytes) = get(client, &format!("{base}/v2/{repo}/blobs/{digest}")).await;
    assert_eq!(status, StatusCode::OK, "blob {digest} of {repo}");
    assert!(bytes.as_ref() == content, "blob {digest} of {repo} differs");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_stalling_mid_chunk_gives_503_and_the_upload_resumes_where_it_stood() {
    let s3 = S3Gateway::start().await;
    let client = unpooled_client();
    let repo = "faults/stall";
    let content = fixtures::pseudo_random(3 * CHUNK, 61);
    let digest = sha256_digest(&content);
    let session = UploadSession::start(&client, &s3.gateway.base, repo).await;
    let url = session.url();
    let first = session.patch(0, &content[..CHUNK]).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);

    // Half of the second chunk is in when S3 stops answering.
    let (body, rest) = held_body(&content[CHUNK..CHUNK + CHUNK / 2]);
    let request = client
        .patch(&url)
        .header("content-range", format!("{CHUNK}-{}", 2 * CHUNK - 1))
        .body(body);
    let request = tokio::spawn(request.send());
    s3.wait_for_staged_write().await;
    s3.moto.pause();
    rest.unbounded_send(Ok(Bytes::copy_from_slice(
        &content[CHUNK + CHUNK / 2..2 * CHUNK],
    )))
    .unwrap();
    drop(rest);
    let response = request.await.unwrap().expect("the gateway answers");
    assert_storage_unavailable(response).await;

    // The failed chunk left nothing: the session stands after the first,
    // and no blob is visible.
    assert_eq!(session.committed().await, CHUNK);
    let blob = s3.url(&format!("/v2/{repo}/blobs/{digest}"));
    assert_oci_error(
        client.get(&blob).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "BLOB_UNKNOWN",
    )
    .await;

    s3.moto.resume();
    wait_ready(&client, &s3.gateway.base).await;
    session.complete(&content, CHUNK).await;
    assert_blob(&client, &s3.gateway.base, repo, &content).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_stalling_during_a_manifest_put_gives_503_and_tags_nothing() {
    let s3 = S3Gateway::start().await;
    let client = unpooled_client();
    let base = s3.gateway.base.clone();
    let repo = "faults/manifest";
    let wasm = fixtures::component();
    let (config, manifest) = package(&wasm, "2025-01-01T00:00:00Z");
    push_blob_to(&client, &base, repo, &config).await;
    push_blob_to(&client, &base, repo, &wasm).await;

    // Manifests live in the database; a Wasm package's PUT reads its config
    // and layer from S3 to check them, and that is where it stalls.
    s3.moto.pause();
    let response = put_manifest(&client, &base, repo, "1.0.0", &manifest).await;
    assert_storage_unavailable(response).await;
    for reference in ["1.0.0".to_string(), sha256_digest(&manifest)] {
        let response = client
            .get(format!("{base}/v2/{repo}/manifests/{reference}"))
            .send()
            .await
            .unwrap();
        assert_oci_error(response, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
    let tags = client
        .get(format!("{base}/v2/{repo}/tags/list"))
        .send()
        .await
        .unwrap();
    if tags.status() == StatusCode::OK {
        let tags: Value = tags.json().await.unwrap();
        assert!(
            !tags["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "1.0.0")),
            "{tags}"
        );
    } else {
        assert_oci_error(tags, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
    }

    s3.moto.resume();
    wait_ready(&client, &base).await;
    let response = put_manifest(&client, &base, repo, "1.0.0", &manifest).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_manifest(&client, &base, repo, "1.0.0", &manifest).await;
    assert_blob(&client, &base, repo, &wasm).await;
    assert_blob(&client, &base, repo, &config).await;
}

/// A blob stored before S3 failed: served byte-exact (the gateway keeps
/// small blobs it has read in memory), or else answered with `otherwise`,
/// never with other bytes.
async fn assert_exact_or(
    client: &Client,
    base: &str,
    repo: &str,
    content: &[u8],
    otherwise: StatusCode,
) {
    let digest = sha256_digest(content);
    let (status, bytes) = get(client, &format!("{base}/v2/{repo}/blobs/{digest}")).await;
    if status == StatusCode::OK {
        assert!(
            bytes.as_ref() == content,
            "blob {digest} served with other bytes"
        );
    } else {
        assert_eq!(status, otherwise, "blob {digest}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_down_gives_prompt_503s_and_the_push_succeeds_again_once_it_is_back() {
    let mut s3 = S3Gateway::start().await;
    let client = unpooled_client();
    let base = s3.gateway.base.clone();
    let repo = "faults/down";
    let wasm = fixtures::component();
    let (config, manifest) = package(&wasm, "2025-01-01T00:00:00Z");
    push_blob_to(&client, &base, repo, &config).await;
    push_blob_to(&client, &base, repo, &wasm).await;
    let put = put_manifest(&client, &base, repo, "1.0.0", &manifest).await;
    assert_eq!(put.status(), StatusCode::CREATED);
    // When S3 dies, version 1.0.1 has its config pushed (never read yet)
    // and version 2.0.0 is uploading its layer in chunks.
    let (config1, manifest1) = package(&wasm, "2025-01-15T00:00:00Z");
    push_blob_to(&client, &base, repo, &config1).await;
    let wasm2 = fixtures::large_component(3 * CHUNK);
    let (config2, manifest2) = package(&wasm2, "2025-02-02T00:00:00Z");
    let session = UploadSession::start(&client, &base, repo).await;
    let first = session.patch(0, &wasm2[..CHUNK]).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);

    s3.moto.stop();
    let chunk = session.patch(CHUNK, &wasm2[CHUNK..2 * CHUNK]).await;
    assert_storage_unavailable(chunk).await;
    let digest = sha256_digest(&config2);
    let blob = client
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={digest}"))
        .body(config2.clone())
        .send()
        .await
        .unwrap();
    assert_storage_unavailable(blob).await;
    let response = put_manifest(&client, &base, repo, "1.0.1", &manifest1).await;
    assert_storage_unavailable(response).await;
    let unread = client
        .get(format!(
            "{base}/v2/{repo}/blobs/{}",
            sha256_digest(&config1)
        ))
        .send()
        .await
        .unwrap();
    assert_storage_unavailable(unread).await;
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_ne!(ready["checks"]["storage"], "ok", "{ready}");
    assert_eq!(ready["checks"]["database"], "ok", "{ready}");
    // What the database holds is still served, and nothing half-pushed is.
    assert_manifest(&client, &base, repo, "1.0.0", &manifest).await;
    assert_exact_or(&client, &base, repo, &wasm, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(session.committed().await, CHUNK);
    let tag = client
        .get(format!("{base}/v2/{repo}/manifests/1.0.1"))
        .send()
        .await
        .unwrap();
    assert_oci_error(tag, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;

    // A new, empty moto on the same port: everything stored in S3 is gone.
    s3.moto.restart().await;
    wait_ready(&client, &base).await;
    for lost in [&wasm, &config, &config1] {
        assert_exact_or(&client, &base, repo, lost, StatusCode::NOT_FOUND).await;
    }
    // The session's first chunk went with it: completing the session must
    // not make a blob of the bytes that remain.
    let stale = client
        .put(format!(
            "{}?digest={}",
            session.url(),
            sha256_digest(&wasm2)
        ))
        .header("content-range", format!("{CHUNK}-{}", wasm2.len() - 1))
        .body(wasm2[CHUNK..].to_vec())
        .send()
        .await
        .unwrap();
    assert!(
        stale.status().is_client_error(),
        "completing a session whose staged bytes were lost: {}",
        stale.status()
    );
    let unmade = client
        .head(format!("{base}/v2/{repo}/blobs/{}", sha256_digest(&wasm2)))
        .send()
        .await
        .unwrap();
    assert_eq!(unmade.status(), StatusCode::NOT_FOUND);

    // The push again, from the start: every blob uploaded again.
    for blob in [&config, &wasm, &config1, &config2] {
        push_blob_to(&client, &base, repo, blob).await;
    }
    let session = UploadSession::start(&client, &base, repo).await;
    let first = session.patch(0, &wasm2[..CHUNK]).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    session.complete(&wasm2, CHUNK).await;
    for (tag, manifest) in [("1.0.1", &manifest1), ("2.0.0", &manifest2)] {
        let put = put_manifest(&client, &base, repo, tag, manifest).await;
        let status = put.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            put.text().await.unwrap_or_default()
        );
        assert_manifest(&client, &base, repo, tag, manifest).await;
    }
    for blob in [&config, &wasm, &config1, &config2, &wasm2] {
        assert_blob(&client, &base, repo, blob).await;
    }
}

//! Two replicas on PostgreSQL + S3 behind haproxy; one is SIGKILLed while
//! 12 clients are each in the middle of a chunk. The survivor finishes
//! every interrupted upload from the offset it reports, every committed
//! manifest reads back byte-exact, and nothing corrupt is served.
//!
//! The backends are the suite's under tests/scripts/with-postgres and
//! with-s3; without them the test starts a PostgreSQL cluster and a moto of
//! its own, so it runs (and can fail) in the plain pass too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use integration_tests::fixtures::{self, OCI_MANIFEST};
use integration_tests::haproxy::Haproxy;
use integration_tests::moto::Moto;
use integration_tests::postgres::PrivateCluster;
use integration_tests::upload::{UploadSession, committed_of};
use integration_tests::{
    DEADLINE, GatewayProcess, counter, http_client, push_blob_to, sha256_digest, wait_until,
};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use tokio::sync::watch;

use super::{BIN, CHUNK, assert_blob, assert_manifest, held_body};

const PUSHERS: usize = 12;
const CHUNKS: usize = 4;

/// PostgreSQL and S3: the suite's, or private ones kept alive here.
struct Backends {
    env: Vec<(String, String)>,
    _cluster: Option<PrivateCluster>,
    _moto: Option<Moto>,
}

impl Backends {
    async fn start(data: &std::path::Path) -> Self {
        use integration_tests::{database, storage};
        let mut env = Vec::new();
        let mut cluster = None;
        let database = match std::env::var(database::SERVER_ENV) {
            Ok(server) if !server.is_empty() => database::database_for_test(data).await,
            _ => cluster.insert(PrivateCluster::start()).url(),
        };
        env.push(("WKG_GATEWAY_DATABASE__URL".to_string(), database));
        let mut moto = None;
        let settings = storage::storage_for_test();
        if settings.is_empty() {
            let moto = moto.insert(Moto::start().await);
            env.extend(moto.storage_env(&database::unique_name("replicas")));
        } else {
            env.extend(settings.into_iter().map(|(key, value)| {
                (
                    format!("WKG_GATEWAY_STORAGE__{}", key.to_ascii_uppercase()),
                    value,
                )
            }));
        }
        // Bodies are held open on purpose while the replica is killed.
        env.push(("WKG_GATEWAY_UPLOADS__BODY_MIN_RATE".into(), "0".into()));
        Self {
            env,
            _cluster: cluster,
            _moto: moto,
        }
    }
}

/// Sends the request `make` builds until the answer is not one a dying
/// replica causes (a transport error, 502, 503, 504).
async fn send_retrying(make: impl Fn() -> RequestBuilder) -> Response {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let failure = match make().send().await {
            Ok(response)
                if !matches!(
                    response.status(),
                    StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ) =>
            {
                return response;
            }
            Ok(response) => response.status().to_string(),
            Err(error) => error.to_string(),
        };
        assert!(Instant::now() < deadline, "still failing: {failure}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One client's push: the blob it uploads in chunks, and what it tagged.
struct Pushed {
    repo: String,
    layer: Vec<u8>,
    config: Vec<u8>,
    early: Vec<u8>,
    early_layer: Vec<u8>,
    manifest: Vec<u8>,
    interrupted: bool,
}

/// Pushes a small artifact (committed before the kill), then a layer in
/// [`CHUNKS`] chunks whose second one is held half-sent until `go`, then
/// finishes from the offset the registry reports, and tags it.
///
/// `holding` counts the pushers that have sent their held chunk: from then
/// on it is the only upload that pusher has in flight.
async fn push(
    client: Client,
    lb: String,
    n: usize,
    holding: Arc<AtomicUsize>,
    mut go: watch::Receiver<bool>,
) -> Pushed {
    let repo = format!("faults/kill{n}");
    let early_layer = fixtures::pseudo_random(64 * 1024, 100 + n as u64);
    let config = format!(r#"{{"pusher":{n}}}"#).into_bytes();
    let config_digest = push_blob_to(&client, &lb, &repo, &config).await;
    let early_digest = push_blob_to(&client, &lb, &repo, &early_layer).await;
    let early = fixtures::artifact_manifest(
        &config_digest,
        config.len(),
        &early_digest,
        early_layer.len(),
        None,
    );
    let put = manifest_put(&client, &lb, &repo, "early", &early)
        .send()
        .await;
    assert_eq!(put.unwrap().status(), StatusCode::CREATED);

    let layer = fixtures::pseudo_random(CHUNKS * CHUNK, 200 + n as u64);
    let session = UploadSession::start(&client, &lb, &repo).await;
    let url = session.url();
    let first = session.patch(0, &layer[..CHUNK]).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let (body, rest) = held_body(&layer[CHUNK..CHUNK + CHUNK / 2]);
    let held = client
        .patch(&url)
        .header("content-range", format!("{CHUNK}-{}", 2 * CHUNK - 1))
        .body(body)
        .send();
    let held = tokio::spawn(held);
    holding.fetch_add(1, Ordering::SeqCst);
    go.wait_for(|go| *go).await.unwrap();
    // The receiver is gone when the replica died with the request.
    let _ = rest.unbounded_send(Ok(Bytes::copy_from_slice(
        &layer[CHUNK + CHUNK / 2..2 * CHUNK],
    )));
    drop(rest);
    let interrupted = !matches!(held.await.unwrap(), Ok(r) if r.status() == StatusCode::ACCEPTED);

    resume(&client, &url, &layer).await;
    let layer_digest = sha256_digest(&layer);
    let manifest = fixtures::artifact_manifest(
        &config_digest,
        config.len(),
        &layer_digest,
        layer.len(),
        None,
    );
    let put = send_retrying(|| manifest_put(&client, &lb, &repo, "v1", &manifest)).await;
    assert_eq!(put.status(), StatusCode::CREATED);
    Pushed {
        repo,
        layer,
        config,
        early,
        early_layer,
        manifest,
        interrupted,
    }
}

fn manifest_put(
    client: &Client,
    lb: &str,
    repo: &str,
    tag: &str,
    manifest: &[u8],
) -> RequestBuilder {
    client
        .put(format!("{lb}/v2/{repo}/manifests/{tag}"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.to_vec())
}

/// Continues an upload from the offset its session reports, as a client
/// that lost an answer does, and completes it.
async fn resume(client: &Client, url: &str, content: &[u8]) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(
            Instant::now() < deadline,
            "the upload at {url} did not finish"
        );
        let status = send_retrying(|| client.get(url)).await;
        assert_eq!(status.status(), StatusCode::NO_CONTENT, "upload status");
        let offset = committed_of(status.headers()["range"].to_str().unwrap());
        if offset == content.len() {
            break;
        }
        let end = (offset + CHUNK).min(content.len());
        let response = send_retrying(|| {
            client
                .patch(url)
                .header("content-range", format!("{offset}-{}", end - 1))
                .body(content[offset..end].to_vec())
        })
        .await;
        // 416: a PATCH whose answer was lost had landed; ask again.
        assert!(
            matches!(
                response.status(),
                StatusCode::ACCEPTED | StatusCode::RANGE_NOT_SATISFIABLE
            ),
            "PATCH from {offset}: {}",
            response.status()
        );
    }
    let digest = sha256_digest(content);
    let put = send_retrying(|| client.put(format!("{url}?digest={digest}"))).await;
    if put.status() != StatusCode::CREATED {
        // Completed by an attempt whose answer was lost: then the blob is there.
        assert_eq!(put.status(), StatusCode::NOT_FOUND, "completing {url}");
        let blob = url.split("/blobs/uploads/").next().unwrap();
        let head = send_retrying(|| client.head(format!("{blob}/blobs/{digest}"))).await;
        assert_eq!(
            head.status(),
            StatusCode::OK,
            "blob {digest} after completion"
        );
    }
}

async fn uploads_in_progress(client: &Client, base: &str) -> u64 {
    counter(client, base, "wkg_gateway_uploads_in_progress")
        .await
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_push_leaves_every_upload_to_the_survivor() {
    let data = tempfile::TempDir::new().unwrap();
    let backends = Backends::start(data.path()).await;
    let env: Vec<(&str, &str)> = backends
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut victim = GatewayProcess::start(BIN, data.path(), &env);
    let survivor = victim.start_replica();
    let lb = Haproxy::start(&[victim.port, survivor.port]).await;
    let client = http_client();

    let (go, wait) = watch::channel(false);
    let holding = Arc::new(AtomicUsize::new(0));
    let pushes: Vec<_> = (0..PUSHERS)
        .map(|n| {
            let pushed = push(
                client.clone(),
                lb.base.clone(),
                n,
                holding.clone(),
                wait.clone(),
            );
            tokio::spawn(pushed)
        })
        .collect();
    // Every client is in the middle of its second chunk, on one replica or
    // the other (once all have sent it, those are the only uploads in
    // flight, so the gauges count exactly them): kill one.
    let on_victim = wait_until("every pusher's held chunk to be in flight", || async {
        let on_victim = uploads_in_progress(&client, &victim.base).await;
        let on_survivor = uploads_in_progress(&client, &survivor.base).await;
        (holding.load(Ordering::SeqCst) == PUSHERS && (on_victim + on_survivor) as usize == PUSHERS)
            .then_some(on_victim)
    })
    .await;
    assert!(on_victim > 0, "round robin sent no chunk to the victim");
    victim.signal("KILL");
    victim.wait_exit(Duration::from_secs(30));
    go.send(true).unwrap();

    let mut pushed = Vec::new();
    for push in pushes {
        pushed.push(push.await.expect("pusher"));
    }
    let interrupted = pushed.iter().filter(|p| p.interrupted).count();
    assert_eq!(
        interrupted as u64, on_victim,
        "every chunk the victim was receiving, and only those, was cut off"
    );

    for base in [&lb.base, &survivor.base] {
        for p in &pushed {
            assert_manifest(&client, base, &p.repo, "early", &p.early).await;
            assert_manifest(&client, base, &p.repo, "v1", &p.manifest).await;
            assert_manifest(
                &client,
                base,
                &p.repo,
                &sha256_digest(&p.manifest),
                &p.manifest,
            )
            .await;
            for blob in [&p.layer, &p.config, &p.early_layer] {
                assert_blob(&client, base, &p.repo, blob).await;
            }
        }
    }
    drop(lb);
    drop(survivor);
}

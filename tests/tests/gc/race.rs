//! Online GC raced against pushers: a manifest answered 201 keeps every
//! blob it refers to, whatever the timing (see `maintenance::gc` for the
//! protocol this checks).
//!
//! Two gateway replicas share one database and blob store (SQLite + disk
//! by default, PostgreSQL + S3 under tests/scripts/with-*). `[gc] grace` is
//! one second, and `wkg-gateway gc` runs in a loop as a separate process
//! while six clients push through both replicas, mixing every way a push
//! comes to rely on a blob that GC may be removing at that moment: fresh
//! uploads, uploads of bytes already stored for another repository,
//! cross-repository mounts, and docker's "HEAD the blob, skip the upload,
//! PUT the manifest" over links old enough to be collected. Afterwards every
//! accepted manifest and its blobs are read back byte-exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use integration_tests::fixtures::{self, OCI_MANIFEST};
use integration_tests::{GatewayProcess, http_client, push_blob_to, sha256_digest};
use reqwest::{Client, StatusCode};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");
const PUSHERS: u64 = 6;
const MANIFESTS_PER_PUSHER: u64 = 20;
/// Garbage links per repository, so each GC pass over a repository takes
/// long enough for pushes to land in the middle of it.
const GARBAGE_PER_REPOSITORY: u64 = 100;

/// A manifest the registry accepted, with the bytes of what it refers to.
struct Accepted {
    repository: String,
    tag: String,
    manifest: Vec<u8>,
    blobs: Vec<Vec<u8>>,
}

/// xorshift: the same pushes in the same order on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Mounts `bytes` from `from` or, when the registry declines (GC removed
/// the source link meanwhile), uploads them.
async fn mount_or_push(client: &Client, base: &str, repo: &str, from: &str, bytes: &[u8]) {
    let digest = sha256_digest(bytes);
    let response = client
        .post(format!(
            "{base}/v2/{repo}/blobs/uploads/?mount={digest}&from={from}"
        ))
        .send()
        .await
        .unwrap();
    match response.status() {
        StatusCode::CREATED => {}
        StatusCode::ACCEPTED => {
            push_blob_to(client, base, repo, bytes).await;
        }
        other => panic!(
            "mount into {repo}: {other} {}",
            response.text().await.unwrap_or_default()
        ),
    }
}

/// docker's re-push: HEAD the blob and upload it only if it is missing.
async fn head_or_push(client: &Client, base: &str, repo: &str, bytes: &[u8]) {
    let digest = sha256_digest(bytes);
    let head = client
        .head(format!("{base}/v2/{repo}/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    match head.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => {
            push_blob_to(client, base, repo, bytes).await;
        }
        other => panic!("HEAD blob in {repo}: {other}"),
    }
}

fn garbage(pusher: u64, n: u64) -> Vec<u8> {
    format!("garbage {pusher} {n}").into_bytes()
}

/// Bytes pushed to `common` at the start and never referenced there, so GC
/// removes their links and blobs while pushers rely on the same bytes.
fn shared_layer(n: u64) -> Vec<u8> {
    fixtures::pseudo_random(2_000 + n as usize, 1_000 + n)
}

/// One pusher: each manifest's layer comes one of four ways, then (but
/// after a HEAD) a pause of up to 2.5 s, then the manifest PUT (through
/// either replica).
async fn pusher(
    client: Client,
    bases: [String; 2],
    pusher: u64,
    accepted: Arc<std::sync::Mutex<Vec<Accepted>>>,
) {
    let repo = format!("race/p{pusher}");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (pusher + 1));
    let prepushed: Vec<Vec<u8>> = (0..MANIFESTS_PER_PUSHER)
        .map(|n| format!("prepushed layer {pusher} {n}").into_bytes())
        .collect();
    for n in 0..GARBAGE_PER_REPOSITORY {
        push_blob_to(&client, &bases[0], &repo, &garbage(pusher, n)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await; // past the 1 s grace
    for n in 0..MANIFESTS_PER_PUSHER {
        let base = &bases[rng.below(2) as usize];
        let config = format!("{{\"pusher\":{pusher},\"n\":{n}}}").into_bytes();
        push_blob_to(&client, base, &repo, &config).await;
        let way = rng.below(4);
        let layer = match way {
            0 => {
                let layer = fixtures::pseudo_random(3_000, pusher * 1_000 + n);
                push_blob_to(&client, base, &repo, &layer).await;
                layer
            }
            1 => {
                let layer = shared_layer(rng.below(4));
                push_blob_to(&client, base, &repo, &layer).await;
                layer
            }
            2 => {
                let layer = shared_layer(rng.below(4));
                mount_or_push(&client, base, &repo, "race/common", &layer).await;
                layer
            }
            _ => {
                // Pushed, left until its link is about as old as the
                // grace, then found by HEAD and used without uploading.
                let layer = prepushed[n as usize].clone();
                push_blob_to(&client, base, &repo, &layer).await;
                tokio::time::sleep(Duration::from_millis(900 + rng.below(500))).await;
                head_or_push(&client, base, &repo, &layer).await;
                layer
            }
        };
        if !matches!(way, 3) {
            tokio::time::sleep(Duration::from_millis(rng.below(2_500))).await;
        }
        let manifest = fixtures::artifact_manifest(
            &sha256_digest(&config),
            config.len(),
            &sha256_digest(&layer),
            layer.len(),
            None,
        );
        let tag = format!("v{n}");
        // A push that raced a deletion is refused, naming the blob; like a
        // client, push what is missing again and retry at once.
        let mut attempts = 0;
        loop {
            let put = client
                .put(format!(
                    "{}/v2/{repo}/manifests/{tag}",
                    bases[rng.below(2) as usize]
                ))
                .header("content-type", OCI_MANIFEST)
                .body(manifest.clone())
                .send()
                .await
                .unwrap();
            let status = put.status();
            let body = put.text().await.unwrap_or_default();
            match status {
                StatusCode::CREATED => {
                    accepted.lock().unwrap().push(Accepted {
                        repository: repo.clone(),
                        tag,
                        manifest,
                        blobs: vec![config, layer],
                    });
                    break;
                }
                StatusCode::BAD_REQUEST if body.contains("MANIFEST_BLOB_UNKNOWN") => {
                    attempts += 1;
                    assert!(
                        attempts < 5,
                        "{repo}:{tag} refused {attempts} times: {body}"
                    );
                    for blob in [&config, &layer] {
                        head_or_push(&client, base, &repo, blob).await;
                    }
                }
                other => panic!("manifest PUT {repo}:{tag} answered {other}: {body}"),
            }
        }
        // Fresh garbage, so every GC pass has links to remove.
        push_blob_to(&client, base, &repo, &garbage(pusher, 1_000 + n)).await;
    }
}

/// One `wkg-gateway gc` run, which must exit 0.
fn gc_once(env: &[(String, String)], run: usize) {
    let output = std::process::Command::new(BIN)
        .arg("gc")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("WKG_GATEWAY_GC__GRACE", "1s")
        .output()
        .expect("run wkg-gateway gc");
    assert!(
        output.status.success(),
        "gc run {run} failed while pushes went on: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `wkg-gateway gc` until told to stop.
fn gc_loop(env: Vec<(String, String)>, stop: Arc<AtomicBool>, runs: Arc<AtomicUsize>) {
    while !stop.load(Ordering::SeqCst) {
        gc_once(&env, runs.fetch_add(1, Ordering::SeqCst));
    }
}

async fn get_bytes(client: &Client, url: &str) -> (StatusCode, Vec<u8>) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_in_a_loop_never_loses_a_blob_of_an_accepted_manifest() {
    let data = TempDir::new().unwrap();
    let grace = [("WKG_GATEWAY_GC__GRACE", "1s")];
    let a = GatewayProcess::start_on_test_backends(BIN, data.path(), &grace).await;
    let b = a.start_replica();
    let client = http_client();
    for n in 0..4 {
        push_blob_to(&client, &a.base, "race/common", &shared_layer(n)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    let collector = {
        let (env, stop, runs) = (a.env(), stop.clone(), runs.clone());
        std::thread::spawn(move || gc_loop(env, stop, runs))
    };
    let accepted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|p| {
            tokio::spawn(pusher(
                client.clone(),
                [a.base.clone(), b.base.clone()],
                p,
                accepted.clone(),
            ))
        })
        .collect();
    let mut failure = None;
    for push in pushers {
        if let Err(error) = push.await {
            failure.get_or_insert(error);
        }
    }
    stop.store(true, Ordering::SeqCst);
    let gc_result = collector.join();
    if let Some(error) = failure {
        std::panic::resume_unwind(error.into_panic());
    }
    if let Err(panic) = gc_result {
        std::panic::resume_unwind(panic);
    }
    assert!(
        runs.load(Ordering::SeqCst) >= 2,
        "gc ran only {} times during the pushes",
        runs.load(Ordering::SeqCst)
    );

    // Collect what is garbage now (mark, then delete past the grace), so
    // a lost link or blob shows below.
    for run in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let env = a.env();
        tokio::task::spawn_blocking(move || gc_once(&env, run))
            .await
            .unwrap();
    }

    let accepted = std::mem::take(&mut *accepted.lock().unwrap());
    assert!(
        accepted.len() as u64 >= PUSHERS * MANIFESTS_PER_PUSHER / 2,
        "only {} manifests accepted",
        accepted.len()
    );
    let mut lost = Vec::new();
    for manifest in &accepted {
        for base in [&a.base, &b.base] {
            let url = format!(
                "{base}/v2/{}/manifests/{}",
                manifest.repository, manifest.tag
            );
            let (status, body) = get_bytes(&client, &url).await;
            if status != StatusCode::OK || body != manifest.manifest {
                lost.push(format!("{url}: {status}"));
            }
            for blob in &manifest.blobs {
                let url = format!(
                    "{base}/v2/{}/blobs/{}",
                    manifest.repository,
                    sha256_digest(blob)
                );
                let (status, body) = get_bytes(&client, &url).await;
                if status != StatusCode::OK || &body != blob {
                    lost.push(format!("{url}: {status}"));
                }
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} accepted manifests lost content:\n{}",
        lost.len(),
        accepted.len(),
        lost.join("\n")
    );
    drop(b);
}

/// Rows of the `blobs` table: what GC has not finished deleting.
async fn blob_rows(pool: &sqlx::AnyPool) -> i64 {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM blobs")
        .fetch_one(pool)
        .await
        .unwrap();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_collector_killed_mid_run_is_finished_by_the_next_and_spares_live_content() {
    let data = TempDir::new().unwrap();
    let grace = [("WKG_GATEWAY_GC__GRACE", "1s")];
    let gateway = GatewayProcess::start_on_test_backends(BIN, data.path(), &grace).await;
    let client = http_client();
    let mut live = Vec::new();
    for n in 0..3u64 {
        let config = format!("{{\"live\":{n}}}").into_bytes();
        let layer = fixtures::pseudo_random(5_000, 70 + 2 * n);
        push_blob_to(&client, &gateway.base, "killed/live", &config).await;
        push_blob_to(&client, &gateway.base, "killed/live", &layer).await;
        let manifest = fixtures::artifact_manifest(
            &sha256_digest(&config),
            config.len(),
            &sha256_digest(&layer),
            layer.len(),
            None,
        );
        let put = client
            .put(format!("{}/v2/killed/live/manifests/v{n}", gateway.base))
            .header("content-type", OCI_MANIFEST)
            .body(manifest.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
        live.push((format!("v{n}"), manifest, vec![config, layer]));
    }
    const GARBAGE: i64 = 600;
    for n in 0..GARBAGE {
        push_blob_to(
            &client,
            &gateway.base,
            "killed/junk",
            &garbage(99, n as u64),
        )
        .await;
    }
    // One run unlinks and marks the garbage; the next, past the grace,
    // deletes it: that one is killed once it has begun.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let env = gateway.env();
    let first = env.clone();
    tokio::task::spawn_blocking(move || gc_once(&first, 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    sqlx::any::install_default_drivers();
    let url = env
        .iter()
        .find(|(k, _)| k == "WKG_GATEWAY_DATABASE__URL")
        .map(|(_, v)| v.clone())
        .unwrap();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let before = blob_rows(&pool).await;
    assert!(before >= GARBAGE, "{before} blob rows");
    let mut collector = std::process::Command::new(BIN)
        .arg("gc")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("WKG_GATEWAY_GC__GRACE", "1s")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while blob_rows(&pool).await == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gc deleted nothing in 120 s"
        );
        if collector.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    collector.kill().unwrap();
    let killed = collector.wait().unwrap();
    let left = blob_rows(&pool).await;
    eprintln!("collector killed ({killed}) with {left} of {before} blob rows left");

    // The next run waits out the dead collector's lease, finishes what it
    // began and completes.
    let next = env.clone();
    tokio::task::spawn_blocking(move || gc_once(&next, 1))
        .await
        .unwrap();
    assert_eq!(
        blob_rows(&pool).await,
        6,
        "only the live blobs are left after the next run"
    );
    let (deleting,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM blobs WHERE gc_deleting_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(deleting, 0);
    for (tag, manifest, blobs) in &live {
        let url = format!("{}/v2/killed/live/manifests/{tag}", gateway.base);
        assert_eq!(
            get_bytes(&client, &url).await,
            (StatusCode::OK, manifest.clone())
        );
        for blob in blobs {
            let url = format!(
                "{}/v2/killed/live/blobs/{}",
                gateway.base,
                sha256_digest(blob)
            );
            assert_eq!(
                get_bytes(&client, &url).await,
                (StatusCode::OK, blob.clone())
            );
        }
    }
    // Garbage bytes pushed again are stored anew, whole.
    let again = garbage(99, 7);
    push_blob_to(&client, &gateway.base, "killed/again", &again).await;
    let url = format!(
        "{}/v2/killed/again/blobs/{}",
        gateway.base,
        sha256_digest(&again)
    );
    assert_eq!(get_bytes(&client, &url).await, (StatusCode::OK, again));
    pool.close().await;
}

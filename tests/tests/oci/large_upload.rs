//! A 1 GiB blob streamed through the gateway: memory stays bounded.

use bytes::Bytes;
use futures::StreamExt;
use integration_tests::{GatewayProcess, fixtures, http_client};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");
const GIB: usize = 1024 * 1024 * 1024;
const PIECE: usize = 1024 * 1024;
/// Generous for a streaming server, far below the blob's size.
const PEAK_RSS_LIMIT: u64 = 192 * 1024 * 1024;

/// 1 GiB made of 1 MiB pieces that differ (a counter in each), generated
/// on the fly.
fn body_stream() -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let base = fixtures::pseudo_random(PIECE, 99);
    futures::stream::iter(0..GIB / PIECE).map(move |i| {
        let mut piece = base.clone();
        piece[..8].copy_from_slice(&(i as u64).to_le_bytes());
        Ok(Bytes::from(piece))
    })
}

fn expected_digest() -> String {
    let mut hasher = Sha256::new();
    let base = fixtures::pseudo_random(PIECE, 99);
    for i in 0..GIB / PIECE {
        let mut piece = base.clone();
        piece[..8].copy_from_slice(&(i as u64).to_le_bytes());
        hasher.update(&piece);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[tokio::test(flavor = "multi_thread")]
async fn one_gib_streamed_upload_keeps_memory_bounded() {
    let data = TempDir::new().unwrap();
    let gateway = GatewayProcess::start(BIN, data.path(), &[]);
    let client = http_client();
    let digest = tokio::task::spawn_blocking(expected_digest).await.unwrap();

    // Monolithic: one POST with the whole stream.
    let response = client
        .post(format!(
            "{}/v2/big/blobs/uploads/?digest={digest}",
            gateway.base
        ))
        .body(reqwest::Body::wrap_stream(body_stream()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap()
    );

    // Session: one streamed PATCH, then PUT.
    let start = client
        .post(format!("{}/v2/big2/blobs/uploads/", gateway.base))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let patch = client
        .patch(format!("{}{location}", gateway.base))
        .body(reqwest::Body::wrap_stream(body_stream()))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::ACCEPTED);
    assert_eq!(patch.headers()["range"], format!("0-{}", GIB - 1).as_str());
    let put = client
        .put(format!("{}{location}?digest={digest}", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "{}",
        put.text().await.unwrap()
    );

    // Reading it back streams too.
    let get = client
        .get(format!("{}/v2/big2/blobs/{digest}", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.headers()["content-length"], GIB.to_string().as_str());
    let mut stream = get.bytes_stream();
    let mut hasher = Sha256::new();
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        received += chunk.len();
        hasher.update(&chunk);
    }
    assert_eq!(received, GIB);
    assert_eq!(format!("sha256:{}", hex::encode(hasher.finalize())), digest);

    let peak = gateway.peak_rss();
    eprintln!("gateway peak RSS: {} MiB", peak / (1024 * 1024));
    assert!(
        peak < PEAK_RSS_LIMIT,
        "gateway peak RSS {} MiB for a 1 GiB blob",
        peak / (1024 * 1024)
    );
}

//! The database goes away and comes back: the gateway answers 503 with a
//! retry hint (never a hang, never a panic), readiness reports it, nothing
//! stored is lost, and it recovers by itself.

use integration_tests::postgres::PrivateCluster;
use integration_tests::{GatewayProcess, http_client, sha256_digest, wait_until};
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

#[tokio::test(flavor = "multi_thread")]
async fn postgres_outage_gives_503_then_recovers() {
    let cluster = PrivateCluster::start();
    let data = TempDir::new().unwrap();
    let url = cluster.url();
    let gateway = GatewayProcess::start(
        BIN,
        data.path(),
        &[("WKG_GATEWAY_DATABASE__URL", url.as_str())],
    );
    let client = http_client();
    let content = b"survives the outage".to_vec();
    let digest = sha256_digest(&content);
    let push = client
        .post(format!(
            "{}/v2/outage/blobs/uploads/?digest={digest}",
            gateway.base
        ))
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::CREATED);
    let ready = client
        .get(format!("{}/readyz", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    cluster.pause();

    let response = client
        .get(format!("{}/v2/outage/blobs/{digest}", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("database"),
        "{body}"
    );
    let ready = client
        .get(format!("{}/readyz", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_ne!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["storage"], "ok");

    cluster.resume();
    let recovered = wait_until("the gateway to serve again", || async {
        let response = client
            .get(format!("{}/v2/outage/blobs/{digest}", gateway.base))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            Some(response.bytes().await.unwrap())
        } else {
            None
        }
    })
    .await;
    assert_eq!(recovered.as_ref(), content.as_slice());
    let ready = client
        .get(format!("{}/readyz", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

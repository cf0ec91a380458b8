//! What only a real process shows: uploads that survive restarts and a
//! SIGKILL mid-PATCH, graceful shutdown, start-up config errors, and the
//! purge of abandoned uploads.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use integration_tests::upload::UploadSession;
use integration_tests::{
    GatewayProcess, fixtures, http_client, sha256_digest, wait_for_gauge, wait_until,
};
use reqwest::{Client, StatusCode};
use tempfile::TempDir;
use wkg_gateway::storage::StorageKey;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");

/// Request bodies the gateway is streaming into storage right now.
const IN_PROGRESS: &str = "wkg_gateway_uploads_in_progress";

async fn finish_and_verify(
    client: &Client,
    base: &str,
    location: &str,
    repo: &str,
    content: &[u8],
) {
    let digest = sha256_digest(content);
    let put = UploadSession::at(client, base, location)
        .finish(&digest)
        .await;
    assert_eq!(
        put.status(),
        StatusCode::CREATED,
        "{}",
        put.text().await.unwrap()
    );
    let get = client
        .get(format!("{base}/v2/{repo}/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert!(
        get.bytes().await.unwrap().as_ref() == content,
        "blob content after resume"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_upload_resumes_after_graceful_restart() {
    let data = TempDir::new().unwrap();
    let client = http_client();
    let content = fixtures::pseudo_random(3 * 1024 * 1024, 11);
    let gateway = GatewayProcess::start(BIN, data.path(), &[]);
    let location = UploadSession::start(&client, &gateway.base, "resume/graceful")
        .await
        .location;
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .patch(0, &content[..1_000_000])
            .await
            .status(),
        StatusCode::ACCEPTED
    );

    let gateway = gateway.restart();
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .range()
            .await,
        "0-999999"
    );
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .patch(1_000_000, &content[1_000_000..])
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    finish_and_verify(
        &client,
        &gateway.base,
        &location,
        "resume/graceful",
        &content,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_upload_resumes_after_sigkill_during_patch() {
    let data = TempDir::new().unwrap();
    let client = http_client();
    let content = fixtures::pseudo_random(4 * 1024 * 1024, 12);
    let gateway = GatewayProcess::start(BIN, data.path(), &[]);
    let location = UploadSession::start(&client, &gateway.base, "resume/killed")
        .await
        .location;
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .patch(0, &content[..2_000_000])
            .await
            .status(),
        StatusCode::ACCEPTED
    );

    // A PATCH that sends half its bytes, then hangs until the gateway dies.
    let (_hold, held) = tokio::sync::oneshot::channel::<()>();
    let first_half = Bytes::copy_from_slice(&content[2_000_000..3_000_000]);
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(first_half) })
        .chain(futures::stream::once(async move {
            let _ = held.await;
            Err(std::io::Error::other("never sent"))
        }))
        .boxed();
    let url = format!("{}{location}", gateway.base);
    let last_byte = content.len() - 1;
    let hanging = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .patch(url)
                .header("content-range", format!("2000000-{last_byte}"))
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        }
    });
    // Killed while the gateway is receiving that PATCH.
    wait_for_gauge(&client, &gateway.base, IN_PROGRESS, 1).await;
    let gateway = gateway.kill_and_restart();
    assert!(
        hanging.await.unwrap().is_err(),
        "the interrupted PATCH cannot have succeeded"
    );

    // Only the bytes acknowledged before the kill count.
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .range()
            .await,
        "0-1999999"
    );
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .patch(2_000_000, &content[2_000_000..])
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    finish_and_verify(&client, &gateway.base, &location, "resume/killed", &content).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_in_flight_requests_finish() {
    let data = TempDir::new().unwrap();
    let client = http_client();
    let mut gateway = GatewayProcess::start(BIN, data.path(), &[]);
    let location = UploadSession::start(&client, &gateway.base, "shutdown")
        .await
        .location;

    // A PATCH whose second half is sent only after SIGTERM arrives.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let body = futures::stream::once(async {
        Ok::<_, std::io::Error>(Bytes::from_static(b"first half, "))
    })
    .chain(futures::stream::once(async move {
        let _ = released.await;
        Ok(Bytes::from_static(b"second half"))
    }))
    .boxed();
    let url = format!("{}{location}", gateway.base);
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .patch(url)
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        }
    });
    wait_for_gauge(&client, &gateway.base, IN_PROGRESS, 1).await;
    gateway.signal("TERM");
    wait_until("the gateway to begin shutting down", || async {
        gateway.log_text().contains("shutting down").then_some(())
    })
    .await;
    release.send(()).unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["range"], "0-22");
    let status = gateway.wait_exit(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        gateway.log_text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_outliving_the_grace_period_are_cut_off() {
    let data = TempDir::new().unwrap();
    let client = http_client();
    let mut gateway = GatewayProcess::start(
        BIN,
        data.path(),
        &[("WKG_GATEWAY_SERVER__SHUTDOWN_GRACE", "1s")],
    );
    let location = UploadSession::start(&client, &gateway.base, "grace")
        .await
        .location;
    // A body that never finishes.
    let (_never, never) = tokio::sync::oneshot::channel::<()>();
    let body =
        futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"partial")) })
            .chain(futures::stream::once(async move {
                let _ = never.await;
                Ok(Bytes::new())
            }))
            .boxed();
    let url = format!("{}{location}", gateway.base);
    let stuck = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .patch(url)
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        }
    });
    wait_for_gauge(&client, &gateway.base, IN_PROGRESS, 1).await;
    gateway.signal("TERM");
    let status = gateway.wait_exit(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        gateway.log_text()
    );
    assert!(
        gateway.log_text().contains("grace period over"),
        "{}",
        gateway.log_text()
    );
    assert!(
        stuck.await.unwrap().is_err(),
        "the stuck request was cut off"
    );

    // Nothing of the cut-off chunk became part of the upload.
    let gateway = GatewayProcess::start(BIN, data.path(), &[]);
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .range()
            .await,
        "0-0"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_gateway_exits_on_sigterm_and_sigint() {
    for signal in ["TERM", "INT"] {
        let data = TempDir::new().unwrap();
        let mut gateway = GatewayProcess::start(BIN, data.path(), &[]);
        gateway.signal(signal);
        let status = gateway.wait_exit(Duration::from_secs(10));
        assert!(status.success(), "SIG{signal}: {status}");
        assert!(
            gateway.log_text().contains("wkg-gateway stopped"),
            "{}",
            gateway.log_text()
        );
    }
}

#[test]
fn invalid_config_fails_at_start_naming_the_key() {
    let data = TempDir::new().unwrap();
    let config = data.path().join("gateway.toml");
    /// (config file, extra environment, key the error must name)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        ("listen = \"not an address\"\n", &[], "`listen`"),
        (
            "[uploads]\nmax_age = \"forever\"\n",
            &[],
            "`uploads.max_age`",
        ),
        ("listen = \"0.0.0.0:8080\"\n", &[], "`public_url`"),
        (
            "",
            &[("WKG_GATEWAY_DATABASE__URL", "mysql://db")],
            "`database.url`",
        ),
    ];
    for (toml, env, key) in cases {
        std::fs::write(&config, toml).unwrap();
        let output = std::process::Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .env("WKG_GATEWAY_DATA_DIR", data.path())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{toml}: {stderr}");
        assert!(
            stderr.contains(key),
            "{toml}: stderr should name {key}: {stderr}"
        );
    }
    let output = std::process::Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/gw.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/gw.toml"));

    // An unreachable database is a clear start-up error that hides the password.
    let output = std::process::Command::new(BIN)
        .arg("serve")
        .env("WKG_GATEWAY_DATA_DIR", data.path())
        .env(
            "WKG_GATEWAY_DATABASE__URL",
            "postgres://wkg:hunter2@127.0.0.1:1/wkg",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the database") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    assert!(stderr.contains("REDACTED"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn abandoned_uploads_are_purged() {
    let data = TempDir::new().unwrap();
    let client = http_client();
    // Sessions live an hour, which no test outlasts; this one is made old
    // in the database instead, so how fast the machine is cannot matter.
    let gateway = GatewayProcess::start(
        BIN,
        data.path(),
        &[
            ("WKG_GATEWAY_UPLOADS__MAX_AGE", "1h"),
            ("WKG_GATEWAY_UPLOADS__PURGE_INTERVAL", "200ms"),
        ],
    );
    let location = UploadSession::start(&client, &gateway.base, "purge")
        .await
        .location;
    assert_eq!(
        UploadSession::at(&client, &gateway.base, &location)
            .patch(0, b"staged bytes")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let upload_id: uuid::Uuid = location.rsplit('/').next().unwrap().parse().unwrap();
    let storage = gateway.storage();
    let staged = StorageKey::Upload(upload_id);
    assert_eq!(
        storage.list(staged).await.unwrap().len(),
        1,
        "chunk staged in storage"
    );
    // A fresh session survives purge runs.
    assert_eq!(
        upload_status(&client, &gateway.base, &location).await,
        StatusCode::NO_CONTENT
    );

    sqlx::any::install_default_drivers();
    let database = format!("sqlite://{}", data.path().join("gateway.db").display());
    let pool = sqlx::AnyPool::connect(&database).await.unwrap();
    sqlx::query("UPDATE uploads SET created_at = 0, updated_at = 0 WHERE id = $1")
        .bind(upload_id.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    wait_until("the abandoned session to be purged", || async {
        let status = upload_status(&client, &gateway.base, &location).await;
        (status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    assert_eq!(
        storage.list(staged).await.unwrap(),
        Vec::<String>::new(),
        "staged bytes removed"
    );
}

async fn upload_status(client: &Client, base: &str, location: &str) -> StatusCode {
    client
        .get(format!("{base}{location}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_command_reports_readiness() {
    let data = TempDir::new().unwrap();
    let gateway = GatewayProcess::start(BIN, data.path(), &[]);
    let base = gateway.base.clone();
    let ready = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["healthcheck", "--url", &base])
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(ready.success());
    drop(gateway);
    let down = std::process::Command::new(BIN)
        .args(["healthcheck", "--url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("no answer"));
}

/// `[auth] mode = "none"` on an address other machines can reach is refused
/// at start, naming the setting that allows it; with that setting the
/// gateway starts.
#[tokio::test(flavor = "multi_thread")]
async fn open_auth_on_a_public_address_needs_allow_anonymous_write() {
    let data = TempDir::new().unwrap();
    let config = data.path().join("gateway.toml");
    let base_toml = "listen = \"0.0.0.0:0\"\npublic_url = \"http://registry.test\"\n\
                     [auth]\nmode = \"none\"\n";
    std::fs::write(&config, base_toml).unwrap();
    let output = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("WKG_GATEWAY_DATA_DIR", data.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("allow_anonymous_write") && stderr.contains("mode = \"token\""),
        "the refusal names both ways out: {stderr}"
    );
    assert!(!stderr.contains("wkg-gateway is serving"), "{stderr}");

    // Explicitly allowed: it starts (on 0.0.0.0, any free port) and serves.
    std::fs::write(
        &config,
        format!("{base_toml}allow_anonymous_write = true\n"),
    )
    .unwrap();
    let log_path = data.path().join("open.log");
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("WKG_GATEWAY_DATA_DIR", data.path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut port = None;
    for _ in 0..3000 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "exited with {status}: {}",
                std::fs::read_to_string(&log_path).unwrap()
            );
        }
        let log = std::fs::read_to_string(&log_path).unwrap();
        port = log
            .lines()
            .find(|l| l.contains("wkg-gateway is serving"))
            .and_then(|l| l.split("listen=0.0.0.0:").nth(1))
            .and_then(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u16>()
                    .ok()
            });
        if port.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let Some(port) = port else {
        let _ = child.kill();
        panic!(
            "no serving line: {}",
            std::fs::read_to_string(&log_path).unwrap()
        );
    };
    let answer = http_client()
        .get(format!("http://127.0.0.1:{port}/v2/"))
        .send()
        .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answer.unwrap().status(), StatusCode::OK);
}

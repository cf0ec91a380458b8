//! What bounds uploads: the concurrency cap, open sessions per client, the
//! minimum body rate; and the privacy of everything they write to disk.

use integration_tests::{TestApp, assert_oci_error, sha256_digest};
use reqwest::StatusCode;

use super::{patch, start};

#[tokio::test(flavor = "multi_thread")]
async fn uploads_beyond_the_concurrency_cap_get_429() {
    use futures::StreamExt;
    let app = TestApp::spawn_with("[uploads]\nmax_concurrent = 1\n").await;
    let location = start(&app, "busy").await;
    // One upload holds the only slot until released.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let body = futures::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"first"))
    })
    .chain(futures::stream::once(async move {
        let _ = released.await;
        Ok(bytes::Bytes::from_static(b" and last"))
    }))
    .boxed();
    let holding = tokio::spawn({
        let client = app.client.clone();
        let url = app.url(&location);
        async move {
            client
                .patch(url)
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    // Wait until the holder streams (it holds the slot), then try another.
    // This gateway's own slots, not the process-wide gauge other tests move.
    wait_for_free_slots(&app, 0).await;
    let digest = sha256_digest(b"second");
    let refused = app
        .client
        .post(app.url(&format!("/v2/busy/blobs/uploads/?digest={digest}")))
        .body("second")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    assert_oci_error(refused, StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS").await;
    release.send(()).unwrap();
    assert_eq!(holding.await.unwrap(), StatusCode::ACCEPTED);
    // With the slot free again, uploads go through.
    app.push_blob("busy", b"third").await;
}

/// Polls (generously) until this gateway has `free` upload slots free.
async fn wait_for_free_slots(app: &TestApp, free: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.app.registry.free_upload_slots() != free {
        assert!(
            std::time::Instant::now() < deadline,
            "upload slots free: {} (want {free})",
            app.app.registry.free_upload_slots()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// POSTs a new upload session with extra headers and returns the response.
async fn start_with(app: &TestApp, repo: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/v2/{repo}/blobs/uploads/")));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Asserts the answer to one session too many, and returns its message.
async fn assert_too_many_sessions(response: reqwest::Response) -> String {
    assert!(response.headers().contains_key("retry-after"));
    let body = assert_oci_error(response, StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS").await;
    let message = body["errors"][0]["message"].as_str().unwrap().to_string();
    for part in ["finish", "cancel", "uploads.max_sessions_per_client"] {
        assert!(message.contains(part), "{message}");
    }
    message
}

/// One client holds at most `max_sessions_per_client` open sessions;
/// cancelled, finished and expired ones stop counting.
#[tokio::test]
async fn open_sessions_per_client_are_bounded_and_freed_when_they_end() {
    let app = TestApp::spawn_with("[uploads]\nmax_sessions_per_client = 3\n").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(start(&app, "limited").await);
    }
    let message = assert_too_many_sessions(start_with(&app, "limited", &[]).await).await;
    assert!(message.contains('3'), "{message}");
    // Other repositories do not help: the limit is the client's.
    assert_too_many_sessions(start_with(&app, "elsewhere", &[]).await).await;
    // A monolithic upload opens no session and still works.
    app.push_blob("limited", b"monolithic").await;

    // Cancelled: frees one.
    let cancelled = app
        .client
        .delete(app.url(&open.pop().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    open.push(start(&app, "limited").await);
    assert_too_many_sessions(start_with(&app, "limited", &[]).await).await;

    // Finished: frees one.
    let location = open.pop().unwrap();
    let digest = sha256_digest(b"finished");
    let separator = if location.contains('?') { '&' } else { '?' };
    let finished = app
        .client
        .put(app.url(&format!("{location}{separator}digest={digest}")))
        .body("finished")
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), StatusCode::CREATED);
    open.push(start(&app, "limited").await);
    assert_too_many_sessions(start_with(&app, "limited", &[]).await).await;

    // Expired (untouched for longer than uploads.max_age, not yet purged):
    // made so by moving its last use back a day rather than waiting.
    let id = open[0].rsplit('/').next().unwrap().to_string();
    let expired =
        sqlx::query("UPDATE uploads SET updated_at = updated_at - 86400001 WHERE id = $1")
            .bind(&id)
            .execute(app.app.db.pool())
            .await
            .unwrap();
    assert_eq!(expired.rows_affected(), 1);
    start(&app, "limited").await;
    assert_too_many_sessions(start_with(&app, "limited", &[]).await).await;
}

/// Concurrent openings by one client cannot race past the limit: the
/// count and the insert take turns per client in the database.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_session_openings_stop_exactly_at_the_limit() {
    let app = TestApp::spawn_with("[uploads]\nmax_sessions_per_client = 4\n").await;
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/v2/race/blobs/uploads/");
            tokio::spawn(async move { client.post(url).send().await.unwrap().status() })
        })
        .collect();
    let mut accepted = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 4);
}

/// Anonymous clients count by address, IPv6 by /64 (here through a
/// trusted proxy's X-Forwarded-For).
#[tokio::test]
async fn anonymous_clients_count_by_address_and_ipv6_by_64() {
    let app = TestApp::spawn_with(
        "[uploads]\nmax_sessions_per_client = 2\n[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n",
    )
    .await;
    let from = |address: &'static str| [("x-forwarded-for", address)];
    for address in ["2001:db8:0:1::1", "2001:db8:0:1:ffff::2"] {
        let response = start_with(&app, "anon", &from(address)).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    // A third address in the same /64 is the same client.
    assert_too_many_sessions(start_with(&app, "anon", &from("2001:db8:0:1::3")).await).await;
    // Another /64 and an IPv4 client are not.
    for address in ["2001:db8:0:2::1", "192.0.2.7"] {
        let response = start_with(&app, "anon", &from(address)).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{address}");
    }
}

/// Authenticated callers count per user, whatever their address.
#[tokio::test]
async fn authenticated_callers_count_per_user() {
    use integration_tests::auth::basic;
    let app = TestApp::spawn_token_mode("\n[uploads]\nmax_sessions_per_client = 2").await;
    for user in ["ann", "bob"] {
        app.add_user(user, Some("a-long-password-1")).await;
        app.grant(user, "shared/*", "pull,push").await;
    }
    let ann = basic("ann", "a-long-password-1");
    let bob = basic("bob", "a-long-password-1");
    for _ in 0..2 {
        let response = start_with(&app, "shared/repo", &[("authorization", &ann)]).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    assert_too_many_sessions(start_with(&app, "shared/repo", &[("authorization", &ann)]).await)
        .await;
    // Same address, another user: a limit of its own.
    for _ in 0..2 {
        let response = start_with(&app, "shared/repo", &[("authorization", &bob)]).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
}

/// A body that trickles below `uploads.body_min_rate` is ended with a
/// clear error and frees the only upload slot, so others proceed; the
/// session itself stays usable from its committed offset.
#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_body_is_cut_and_frees_its_slot() {
    use futures::StreamExt;
    let app = TestApp::spawn_with(
        "[uploads]\nmax_concurrent = 1\nbody_min_rate = \"1MiB\"\nbody_rate_window = \"1s\"\n",
    )
    .await;
    let location = start(&app, "trickle").await;
    // One byte every 20 ms, forever: far below 1 MiB per second, yet
    // never silent long enough for uploads.body_idle_timeout.
    let trickle = futures::stream::unfold((), |()| async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x")), ()))
    })
    .boxed();
    let slow = tokio::spawn({
        let client = app.client.clone();
        let url = app.url(&location);
        async move {
            client
                .patch(url)
                .body(reqwest::Body::wrap_stream(trickle))
                .send()
                .await
        }
    });
    let response = tokio::time::timeout(std::time::Duration::from_secs(120), slow)
        .await
        .expect("the server ends a trickling body")
        .unwrap()
        .expect("an answer, not a broken connection");
    let body = assert_oci_error(response, StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("uploads.body_min_rate"), "{message}");
    wait_for_free_slots(&app, 1).await;
    // Another upload gets the slot.
    app.push_blob("trickle", b"after the trickle").await;
    // The session kept what it had committed (nothing) and resumes.
    let status = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(status.headers()["range"], "0-0");
    let resumed = patch(&app, &location, Some("0-4"), b"hello").await;
    assert_eq!(resumed.status(), StatusCode::ACCEPTED);
}

/// Modes of everything under `dir` but the test harness's log files.
fn modes_under(dir: &std::path::Path, found: &mut Vec<(std::path::PathBuf, u32)>) {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::metadata(&path).unwrap();
        if path.extension().is_some_and(|e| e == "log") {
            continue;
        }
        found.push((path.clone(), meta.permissions().mode() & 0o777));
        if meta.is_dir() {
            modes_under(&path, found);
        }
    }
}

/// Everything the gateway creates under data_dir (database, WAL files,
/// signing key, blobs, staged chunks and their directories) is private,
/// even when it is started with umask 000.
#[tokio::test(flavor = "multi_thread")]
async fn blobs_staged_chunks_and_the_database_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");
    let data = tempfile::TempDir::new().unwrap();
    let bin = tempfile::TempDir::new().unwrap();
    let wrapper = bin.path().join("gateway");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\numask 000\nexec {BIN} \"$@\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let gateway = integration_tests::GatewayProcess::start(
        wrapper.to_str().unwrap(),
        data.path(),
        &[
            ("WKG_GATEWAY_AUTH__MODE", "token"),
            (
                "WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD",
                "modes-admin-password",
            ),
        ],
    );
    let client = integration_tests::http_client();
    let url = |path: &str| format!("{}{path}", gateway.base);
    let send = |request: reqwest::RequestBuilder| async move {
        request
            .basic_auth("admin", Some("modes-admin-password"))
            .send()
            .await
            .unwrap()
    };
    // A blob pushed whole, one joined from two chunks, and one chunk staged.
    let whole = b"a blob pushed whole";
    let digest = sha256_digest(whole);
    let pushed = send(
        client
            .post(url(&format!(
                "/v2/acme/modes/blobs/uploads/?digest={digest}"
            )))
            .body(whole.to_vec()),
    )
    .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let mut locations = Vec::new();
    for _ in 0..2 {
        let started = send(client.post(url("/v2/acme/modes/blobs/uploads/"))).await;
        assert_eq!(started.status(), StatusCode::ACCEPTED);
        locations.push(started.headers()["location"].to_str().unwrap().to_string());
    }
    for (location, start, chunk) in [
        (&locations[0], 0, "first, "),
        (&locations[0], 7, "second"),
        (&locations[1], 0, "staged"),
    ] {
        let range = format!("{start}-{}", start + chunk.len() - 1);
        let patched = send(
            client
                .patch(url(location))
                .header("content-range", range)
                .body(chunk),
        )
        .await;
        assert_eq!(patched.status(), StatusCode::ACCEPTED);
    }
    let joined = sha256_digest(b"first, second");
    let finished = send(client.put(url(&format!("{}?digest={joined}", locations[0])))).await;
    assert_eq!(finished.status(), StatusCode::CREATED);

    let mut found = Vec::new();
    modes_under(data.path(), &mut found);
    let names = [
        "gateway.db",
        "gateway.db-wal",
        "gateway.db-shm",
        "signing-key.pem",
        "blobs",
        digest.trim_start_matches("sha256:"),
        joined.trim_start_matches("sha256:"),
    ];
    for name in names {
        assert!(
            found.iter().any(|(path, _)| path.ends_with(name)),
            "{name} exists: {found:?}"
        );
    }
    assert!(
        found
            .iter()
            .any(|(path, _)| path.to_string_lossy().contains("/uploads/")),
        "a staged chunk: {found:?}"
    );
    for (path, mode) in &found {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }
}

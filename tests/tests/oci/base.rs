//! `/v2/` and the answers for anything that is not an endpoint, or names
//! what cannot exist.
//!
//! Where the cases of the OCI distribution-spec conformance suite (v1.1,
//! ginkgo; pull, push, content discovery and management enabled) are
//! covered, by file and test:
//!
//! - Pull / Setup, Pull manifests (HEAD and GET by tag, by digest, of a
//!   manifest pushed only by digest, of `.INVALID_MANIFEST_NAME`), Error
//!   codes, Teardown: `oci::manifests::suite_pull_manifests_by_tag_and_digest`;
//!   invalid references in general (and proxied):
//!   `oci::base::references_that_cannot_exist_are_unknown_to_reads_and_deletes`,
//!   `oci::base::proxied_namespaces_answer_impossible_references_without_asking_upstream`.
//! - Pull blobs (HEAD and GET, existing and nonexistent):
//!   `oci::blobs::monolithic_post_then_head_get_and_ranges`,
//!   `oci::blobs::blob_errors_and_delete`.
//! - Push / Blob Upload Streamed: `oci::uploads::streamed_patches_without_content_range`.
//! - Push / Blob Upload Monolithic (nonexistent GET, POST with digest, POST
//!   then PUT, Locations): `oci::blobs::suite_monolithic_uploads_answer_with_locations`,
//!   `oci::blobs::monolithic_put_after_post_and_sha512`, `oci::blobs::blob_errors_and_delete`.
//! - Push / Blob Upload Chunked (416 out of order and on retry, stale
//!   session GET, second chunk, bodiless PUT): `oci::uploads::suite_chunked_upload_sequence`,
//!   `oci::uploads::out_of_order_chunk_is_416_and_upload_continues`,
//!   `oci::uploads::chunked_upload_with_both_content_range_forms`.
//! - Push / Cross-Repository Blob Mount (with `from`: 201 and its Location;
//!   without `from` or of a missing blob: 202 and a session):
//!   `oci::uploads::cross_repository_mount`.
//! - Push / Manifest Upload (four tags, no layers, GET by digest):
//!   `oci::manifests::suite_manifest_upload_with_tags_and_without_layers`,
//!   `oci::manifests::push_pull_by_tag_and_digest_byte_exact`; its GET of
//!   `.INVALID_MANIFEST_NAME` as under Pull.
//! - Content Discovery / listing tags (`n`, `last`):
//!   `oci::listing::tags_are_sorted_and_paginated`.
//! - Content Discovery / listing references (empty list for an unknown
//!   digest, referrers pushed before and after their subject, an index
//!   referrer, annotations, `artifactType` filter and `OCI-Filters-Applied`,
//!   a subject never pushed, teardown):
//!   `oci::listing::suite_referrers_before_after_and_without_their_subject`,
//!   `oci::listing::referrers_list_and_filter`.
//! - Content Management / Manifest delete (tag, then digest, then 404s and
//!   a shorter tag list): `oci::manifests::delete_by_tag_and_by_digest`.
//! - Content Management / Blob delete (202, then 404), and teardowns that
//!   delete blobs before their manifest: `oci::blobs::blob_errors_and_delete`,
//!   `oci::blobs::blobs_deleted_before_the_manifest_that_uses_them`.

use integration_tests::upstream::Tap;
use integration_tests::{TestApp, assert_oci_error, fixtures};
use reqwest::StatusCode;

#[tokio::test]
async fn api_version_check() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/v2/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let head = app.client.head(app.url("/v2/")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let bare = app.client.get(app.url("/v2")).send().await.unwrap();
    assert_oci_error(bare, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_oci_errors() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/v2/repo/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
    let response = app
        .client
        .post(app.url("/v2/repo/tags/list"))
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let response = app
        .client
        .patch(app.url("/v2/repo/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let response = app.client.get(app.url("/elsewhere")).send().await.unwrap();
    assert_oci_error(response, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
}

#[tokio::test]
async fn malformed_requests_never_get_5xx() {
    let app = TestApp::spawn().await;
    let cases: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::GET, "/v2/UPPER/tags/list".into()),
        (reqwest::Method::GET, "/v2/a%2Fb/tags/list".into()),
        (reqwest::Method::GET, "/v2/a/blobs/sha256:zz".into()),
        (reqwest::Method::GET, "/v2/a/blobs/md5:abc".into()),
        (reqwest::Method::GET, "/v2/a/manifests/..bad".into()),
        (reqwest::Method::GET, "/v2/a/manifests/sha256:".into()),
        (reqwest::Method::GET, "/v2/a/tags/list?n=-1".into()),
        (reqwest::Method::GET, "/v2/a/tags/list?n=abc".into()),
        (reqwest::Method::GET, "/v2/_catalog?n=x".into()),
        (
            reqwest::Method::GET,
            "/v2/a/blobs/uploads/not-a-uuid".into(),
        ),
        (
            reqwest::Method::PATCH,
            "/v2/a/blobs/uploads/00000000-0000-0000-0000-000000000000".into(),
        ),
        (
            reqwest::Method::PUT,
            "/v2/a/blobs/uploads/zzz?digest=sha256:1".into(),
        ),
        (
            reqwest::Method::POST,
            "/v2/a/blobs/uploads/?digest=nope".into(),
        ),
        (reqwest::Method::GET, "/v2/a/referrers/bad".into()),
        (reqwest::Method::DELETE, "/v2/a/blobs/sha256:1".into()),
        (
            reqwest::Method::GET,
            format!("/v2/{}/tags/list", "a".repeat(300)),
        ),
        (reqwest::Method::GET, "/v2//tags/list".into()),
    ];
    for (method, path) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{method} {path} gave {status}");
        let body: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            body["errors"][0]["code"].is_string(),
            "{method} {path}: {body}"
        );
    }
}

#[tokio::test]
async fn clients_over_the_rate_limit_get_429() {
    let app = TestApp::spawn_with("[server]\nrate_limit = \"5/s\"\n").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            app.client
                .get(app.url("/v2/"))
                .send()
                .await
                .unwrap()
                .status(),
        );
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let refused = app
        .client
        .get(app.url("/v2/_catalog"))
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    assert_oci_error(refused, StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS").await;
    // Probes are never limited.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Without the setting there is no limit.
    let open = TestApp::spawn().await;
    for _ in 0..30 {
        assert_eq!(
            open.client
                .get(open.url("/v2/"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
}

/// DNS rebinding: a web page whose name points at 127.0.0.1 must not drive
/// an unauthenticated loopback gateway.
#[tokio::test]
async fn open_loopback_gateway_answers_only_its_own_host_names() {
    let app = TestApp::spawn_with("public_url = \"http://registry.test:5000\"").await;
    let blob = b"pushed by a rebinding page";
    let digest = integration_tests::sha256_digest(blob);
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
    ] {
        let response = app
            .client
            .post(app.url(&format!("/v2/rebind/blobs/uploads/?digest={digest}")))
            .header("host", host)
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        let body = assert_oci_error(response, StatusCode::MISDIRECTED_REQUEST, "DENIED").await;
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("public_url"), "{message}");
        assert_eq!(body["errors"][0]["detail"]["host"], host, "{body}");
    }
    let stored = app
        .client
        .head(app.url(&format!("/v2/rebind/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), StatusCode::NOT_FOUND, "nothing was pushed");
    for host in [
        "localhost:1234",
        "127.0.0.2",
        "[::1]:80",
        "registry.test",
        "registry.test:5000",
    ] {
        let response = app
            .client
            .get(app.url("/v2/"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "Host {host}");
    }

    // Token mode needs credentials a rebinding page lacks: Host is not checked.
    let token = TestApp::spawn_token_mode("").await;
    let response = token
        .client
        .get(token.url("/v2/"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

/// A manifest reference that is neither a valid tag nor a supported digest
/// names nothing: reads and deletes answer 404 MANIFEST_UNKNOWN (the suite's
/// "nonexistent manifest" is `.INVALID_MANIFEST_NAME`), while a push to it,
/// which would create it, is refused with 400.
#[tokio::test]
async fn references_that_cannot_exist_are_unknown_to_reads_and_deletes() {
    let app = TestApp::spawn().await;
    let (_, manifest) = app.push_artifact("repo", "v1", b"layer").await;
    let (too_long, huge) = ("a".repeat(129), "x".repeat(10_000));
    let short_hex = format!("sha256:{}", "a".repeat(63));
    let cases = [
        (".INVALID_MANIFEST_NAME", "MANIFEST_INVALID"),
        ("-leading-dash", "MANIFEST_INVALID"),
        (too_long.as_str(), "MANIFEST_INVALID"),
        (huge.as_str(), "MANIFEST_INVALID"),
        ("sha256:totallywrong", "DIGEST_INVALID"),
        (short_hex.as_str(), "DIGEST_INVALID"),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", "DIGEST_INVALID"),
        ("sha256:", "DIGEST_INVALID"),
    ];
    for (reference, push_code) in cases {
        let url = app.url(&format!("/v2/repo/manifests/{reference}"));
        let shown = &reference[..reference.len().min(40)];
        let get = app.client.get(&url).send().await.unwrap();
        let body = assert_oci_error(get, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.len() < 1024, "{shown}: {} bytes", message.len());
        let head = app.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND, "HEAD {shown}");
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {shown}");
        let delete = app.client.delete(&url).send().await.unwrap();
        assert_oci_error(delete, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
        let put = app
            .put_manifest("repo", reference, fixtures::OCI_MANIFEST, &manifest)
            .await;
        assert_oci_error(put, StatusCode::BAD_REQUEST, push_code).await;
    }
    // The repository name is still checked first.
    let response = app
        .client
        .get(app.url("/v2/UPPER/manifests/.INVALID_MANIFEST_NAME"))
        .send()
        .await
        .unwrap();
    assert_oci_error(response, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
    // Nothing was deleted or created along the way.
    let tags: serde_json::Value = app
        .client
        .get(app.url("/v2/repo/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
}

/// The same in a proxied namespace, where the upstream is not even asked:
/// no registry can hold such a reference.
#[tokio::test]
async fn proxied_namespaces_answer_impossible_references_without_asking_upstream() {
    let upstream = TestApp::spawn().await;
    let (digest, _) = upstream.push_artifact("acme/app", "v1", b"upstream").await;
    let tap = Tap::start(&upstream.authority).await;
    let gateway = TestApp::spawn_with(&format!(
        "[[upstream]]\nnamespaces = [\"acme\"]\n\
         oci = {{ registry = \"{}\", protocol = \"http\" }}\n",
        tap.authority
    ))
    .await;
    for reference in [".INVALID_MANIFEST_NAME", "sha256:totallywrong"] {
        let url = gateway.url(&format!("/v2/acme/app/manifests/{reference}"));
        let get = gateway.client.get(&url).send().await.unwrap();
        assert_oci_error(get, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
        let head = gateway.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND, "HEAD {reference}");
    }
    assert_eq!(tap.manifest_requests(), 0, "the upstream was asked");
    // The upstream is there: a real tag comes through it.
    let get = gateway
        .client
        .get(gateway.url("/v2/acme/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()["docker-content-digest"], digest.as_str());
    assert!(tap.manifest_requests() > 0);
}

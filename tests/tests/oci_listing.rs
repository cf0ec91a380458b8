//! Tags, catalog and referrers.

use integration_tests::fixtures::{self, OCI_INDEX, OCI_MANIFEST};
use integration_tests::{TestApp, assert_error, sha256_digest};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn get_json(app: &TestApp, path: &str) -> (Option<String>, Value) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_string());
    (link, response.json().await.unwrap())
}

#[tokio::test]
async fn tags_are_sorted_and_paginated() {
    let app = TestApp::spawn().await;
    let (_, manifest) = app.push_artifact("repo", "b", b"layer").await;
    for tag in ["a", "C", "1.0.0", "z", "b-2"] {
        assert_eq!(
            app.put_manifest("repo", tag, OCI_MANIFEST, &manifest)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let all = ["1.0.0", "C", "a", "b", "b-2", "z"];
    let (link, body) = get_json(&app, "/v2/repo/tags/list").await;
    assert_eq!(link, None);
    assert_eq!(body, json!({ "name": "repo", "tags": all }));

    let (link, body) = get_json(&app, "/v2/repo/tags/list?n=4").await;
    assert_eq!(body["tags"], json!(&all[..4]));
    assert_eq!(
        link.as_deref(),
        Some("</v2/repo/tags/list?n=4&last=b>; rel=\"next\"")
    );
    let (link, body) = get_json(&app, "/v2/repo/tags/list?n=4&last=b").await;
    assert_eq!(body["tags"], json!(&all[4..]));
    assert_eq!(link, None, "no Link on the last page");
    let (link, body) = get_json(&app, "/v2/repo/tags/list?n=6").await;
    assert_eq!(body["tags"], json!(all));
    assert_eq!(link, None);
    let (link, body) = get_json(&app, "/v2/repo/tags/list?n=0").await;
    assert_eq!(body["tags"], json!([]));
    assert_eq!(link, None);
    let (_, body) = get_json(&app, "/v2/repo/tags/list?last=b-2").await;
    assert_eq!(body["tags"], json!(["z"]));

    let unknown = app
        .client
        .get(app.url("/v2/nothing/here/tags/list"))
        .send()
        .await
        .unwrap();
    assert_error(unknown, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
}

#[tokio::test]
async fn catalog_lists_repositories_with_pagination() {
    let app = TestApp::spawn().await;
    for repo in ["b/one", "a", "c/d/e"] {
        app.push_artifact(repo, "v1", repo.as_bytes()).await;
    }
    let (link, body) = get_json(&app, "/v2/_catalog").await;
    assert_eq!(link, None);
    assert_eq!(body, json!({ "repositories": ["a", "b/one", "c/d/e"] }));
    let (link, body) = get_json(&app, "/v2/_catalog?n=2").await;
    assert_eq!(body["repositories"], json!(["a", "b/one"]));
    assert_eq!(
        link.as_deref(),
        Some("</v2/_catalog?n=2&last=b/one>; rel=\"next\"")
    );
    let (link, body) = get_json(&app, "/v2/_catalog?n=2&last=b/one").await;
    assert_eq!(body["repositories"], json!(["c/d/e"]));
    assert_eq!(link, None);
}

#[tokio::test]
async fn referrers_list_and_filter() {
    let app = TestApp::spawn().await;
    let (subject, subject_bytes) = app.push_artifact("repo", "v1", b"the component").await;
    let empty = app.push_blob("repo", b"{}").await;
    let sig_layer = app.push_blob("repo", b"signature").await;

    // A referrer with artifactType and annotations.
    let signature = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2 },
        "layers": [{ "mediaType": "application/octet-stream", "digest": sig_layer, "size": 9 }],
        "subject": { "mediaType": OCI_MANIFEST, "digest": subject, "size": subject_bytes.len() },
        "annotations": { "org.example.signed-by": "ci" }
    }))
    .unwrap();
    let put = app
        .put_manifest("repo", &sha256_digest(&signature), OCI_MANIFEST, &signature)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(put.headers()["oci-subject"], subject.as_str());

    // A referrer without artifactType: its config media type stands in.
    let sbom = fixtures::artifact_manifest(
        &empty,
        2,
        &sig_layer,
        9,
        Some((&subject, subject_bytes.len())),
    );
    assert_eq!(
        app.put_manifest("repo", "sbom", OCI_MANIFEST, &sbom)
            .await
            .status(),
        StatusCode::CREATED
    );

    let response = app
        .client
        .get(app.url(&format!("/v2/repo/referrers/{subject}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], OCI_INDEX);
    assert!(!response.headers().contains_key("oci-filters-applied"));
    let index: Value = response.json().await.unwrap();
    assert_eq!(index["mediaType"], OCI_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let sig = entries
        .iter()
        .find(|e| e["digest"] == sha256_digest(&signature))
        .unwrap();
    assert_eq!(sig["artifactType"], "application/vnd.example.signature");
    assert_eq!(sig["annotations"]["org.example.signed-by"], "ci");
    assert_eq!(sig["size"], signature.len());
    assert_eq!(sig["mediaType"], OCI_MANIFEST);
    let other = entries
        .iter()
        .find(|e| e["digest"] == sha256_digest(&sbom))
        .unwrap();
    assert_eq!(other["artifactType"], fixtures::ARTIFACT_CONFIG);

    let response = app
        .client
        .get(app.url(&format!(
            "/v2/repo/referrers/{subject}?artifactType=application/vnd.example.signature"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["oci-filters-applied"], "artifactType");
    let index: Value = response.json().await.unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);

    // Unknown subjects have an empty list; bad digests are an error.
    let (_, index) = get_json(
        &app,
        &format!("/v2/repo/referrers/{}", sha256_digest(b"nothing")),
    )
    .await;
    assert_eq!(index["manifests"], json!([]));
    let bad = app
        .client
        .get(app.url("/v2/repo/referrers/sha256:nope"))
        .send()
        .await
        .unwrap();
    assert_error(bad, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
}

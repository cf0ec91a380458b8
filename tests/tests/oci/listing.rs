//! Tags, catalog and referrers.

use integration_tests::fixtures::{self, OCI_INDEX, OCI_MANIFEST};
use integration_tests::{TestApp, assert_oci_error, sha256_digest};
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
    assert_oci_error(unknown, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
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
    assert_oci_error(bad, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
}

const EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";
const ANNOTATION: &str = "org.opencontainers.conformance.test";

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({ "mediaType": media_type, "digest": sha256_digest(bytes), "size": bytes.len() })
}

/// A referrer of `subject` as the suite builds them: `artifactType` either
/// set, or left to the config's media type.
fn referrer(artifact_type: Option<&str>, config: Value, layer: Value, subject: &Value) -> Value {
    let mut manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": config, "layers": [layer], "subject": subject
    });
    if let Some(artifact_type) = artifact_type {
        manifest["artifactType"] = json!(artifact_type);
    }
    manifest
}

/// PUTs `manifest` by its digest and checks the `OCI-Subject` answer.
async fn put_referrer(app: &TestApp, repo: &str, manifest: &Value, subject: &str) -> String {
    let media_type = manifest["mediaType"].as_str().unwrap();
    let bytes = serde_json::to_vec_pretty(manifest).unwrap();
    let digest = sha256_digest(&bytes);
    let put = app.put_manifest(repo, &digest, media_type, &bytes).await;
    assert_eq!(put.status(), StatusCode::CREATED, "{manifest}");
    assert_eq!(put.headers()["oci-subject"], subject);
    digest
}

/// Suite "Content Discovery (listing references)": referrers pushed before
/// their subject exists, an index among them, one for a subject never
/// pushed; the list, the `artifactType` filter, and the teardown.
#[tokio::test]
async fn suite_referrers_before_after_and_without_their_subject() {
    let app = TestApp::spawn().await;
    let repo = "conformance/discovery";
    let (type_a, type_b) = (
        "application/vnd.nhl.peanut.butter.bagel",
        "application/vnd.nba.strawberry.jam.croissant",
    );
    let (blob_a, blob_b) = (b"NHL Peanut Butter".as_slice(), b"NBA Jam".as_slice());
    let (config, layer) = (br#"{"author":"discovery"}"#.as_slice(), b"tar".as_slice());
    let subject_bytes = fixtures::artifact_manifest(
        &sha256_digest(config),
        config.len(),
        &sha256_digest(layer),
        layer.len(),
        None,
    );
    let subject = sha256_digest(&subject_bytes);
    let subject_descriptor = descriptor(OCI_MANIFEST, &subject_bytes);
    let empty = app.push_blob(repo, b"{}").await;
    assert_eq!(
        empty,
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    app.push_blob(repo, blob_a).await;

    // Before the subject is pushed: two manifests and an index.
    let empty_config = descriptor(EMPTY_JSON, b"{}");
    let mut expected = std::collections::BTreeMap::new();
    let mut a_config = referrer(
        None,
        descriptor(type_a, blob_a),
        empty_config.clone(),
        &subject_descriptor,
    );
    a_config["annotations"] = json!({ ANNOTATION: "test config a" });
    let mut a_layer = referrer(
        Some(type_a),
        empty_config.clone(),
        descriptor(type_a, blob_a),
        &subject_descriptor,
    );
    a_layer["annotations"] = json!({ ANNOTATION: "test layer a" });
    let mut children = Vec::new();
    for (manifest, note) in [(&a_config, "test config a"), (&a_layer, "test layer a")] {
        let digest = put_referrer(&app, repo, manifest, &subject).await;
        let bytes = serde_json::to_vec_pretty(manifest).unwrap();
        children.push(descriptor(OCI_MANIFEST, &bytes));
        expected.insert(digest, (type_a, note));
    }
    let index = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.food.stand",
        "manifests": children, "subject": subject_descriptor,
        "annotations": { ANNOTATION: "test index" }
    });
    let digest = put_referrer(&app, repo, &index, &subject).await;
    expected.insert(digest, ("application/vnd.food.stand", "test index"));

    // The subject, then two more referrers.
    app.push_blob(repo, config).await;
    app.push_blob(repo, layer).await;
    let put = app
        .put_manifest(repo, "tagtest0", OCI_MANIFEST, &subject_bytes)
        .await;
    assert_eq!(put.status(), StatusCode::CREATED);
    app.push_blob(repo, blob_b).await;
    let mut b_config = referrer(
        None,
        descriptor(type_b, blob_b),
        empty_config.clone(),
        &subject_descriptor,
    );
    b_config["annotations"] = json!({ ANNOTATION: "test config b" });
    let mut b_layer = referrer(
        Some(type_b),
        empty_config.clone(),
        descriptor(type_b, blob_b),
        &subject_descriptor,
    );
    b_layer["annotations"] = json!({ ANNOTATION: "test layer b" });
    for (manifest, note) in [(&b_config, "test config b"), (&b_layer, "test layer b")] {
        let digest = put_referrer(&app, repo, manifest, &subject).await;
        expected.insert(digest, (type_b, note));
    }
    // A referrer of a manifest that is never pushed.
    let absent = fixtures::artifact_manifest(&empty, 2, &sha256_digest(blob_b), 7, None);
    let absent_digest = sha256_digest(&absent);
    let c_layer = referrer(
        Some(type_b),
        empty_config,
        descriptor(type_b, blob_b),
        &descriptor(OCI_MANIFEST, &absent),
    );
    let c_digest = put_referrer(&app, repo, &c_layer, &absent_digest).await;

    let referrers = |query: &str| {
        let url = app.url(&format!("/v2/{repo}/referrers/{subject}{query}"));
        app.client.get(url).send()
    };
    let response = referrers("").await.unwrap();
    assert_eq!(response.headers()["content-type"], OCI_INDEX);
    let listed: Value = response.json().await.unwrap();
    let listed = listed["manifests"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 5, "{listed:?}");
    for entry in &listed {
        let (artifact_type, note) = expected[entry["digest"].as_str().unwrap()];
        assert_eq!(entry["artifactType"], artifact_type, "{entry}");
        assert_eq!(entry["annotations"], json!({ ANNOTATION: note }), "{entry}");
    }
    let response = referrers(&format!("?artifactType={type_a}")).await.unwrap();
    assert_eq!(response.headers()["oci-filters-applied"], "artifactType");
    let filtered: Value = response.json().await.unwrap();
    let mut notes: Vec<&str> = filtered["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["annotations"][ANNOTATION].as_str().unwrap())
        .collect();
    notes.sort_unstable();
    assert_eq!(notes, ["test config a", "test layer a"]);
    let (_, missing) = get_json(&app, &format!("/v2/{repo}/referrers/{absent_digest}")).await;
    assert_eq!(missing["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(missing["manifests"][0]["digest"], c_digest.as_str());

    // Teardown, manifests first; the tag is gone with its manifest.
    let mut references: Vec<String> = expected.keys().cloned().collect();
    references.extend([subject.clone(), "tagtest0".into(), c_digest]);
    for reference in &references {
        let url = app.url(&format!("/v2/{repo}/manifests/{reference}"));
        let status = app.client.delete(url).send().await.unwrap().status();
        let want = if reference == "tagtest0" { 404 } else { 202 };
        assert_eq!(status.as_u16(), want, "DELETE {reference}");
    }
    for blob in [config, layer, blob_a, blob_b, b"{}"] {
        let url = app.url(&format!("/v2/{repo}/blobs/{}", sha256_digest(blob)));
        let status = app.client.delete(url).send().await.unwrap().status();
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (_, after) = get_json(&app, &format!("/v2/{repo}/referrers/{subject}")).await;
    assert_eq!(after["manifests"], json!([]));
}

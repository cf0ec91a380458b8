//! `storage.redirect_blob_downloads`: blob GETs answered with a 307 to a
//! presigned object-store URL. On S3 (tests/scripts/with-s3) the redirect
//! is followed and checked byte for byte; on local disk the option is
//! refused at start, since there is no URL to redirect to.

use integration_tests::{TestApp, fixtures, storage};
use reqwest::StatusCode;
use wkg_gateway::Config;

#[tokio::test]
async fn blob_downloads_redirect_to_presigned_urls() {
    if storage::storage_for_test().is_empty() {
        let error =
            Config::from_toml_str("[storage]\nredirect_blob_downloads = true\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("storage.redirect_blob_downloads"),
            "{error}"
        );
        return;
    }
    let app = TestApp::spawn_with_storage_extra("redirect_blob_downloads = true\n").await;
    let content = fixtures::pseudo_random(100_000, 31);
    let digest = app.push_blob("redirected", &content).await;
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_follow
        .get(app.url(&format!("/v2/redirected/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(response.headers()["docker-content-digest"], digest.as_str());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    // Clients follow the redirect to the store itself.
    let followed = app
        .client
        .get(app.url(&format!("/v2/redirected/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
    assert!(followed.bytes().await.unwrap().as_ref() == content.as_slice());
    // HEAD is still answered by the gateway.
    let head = app
        .client
        .head(app.url(&format!("/v2/redirected/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "100000");
}

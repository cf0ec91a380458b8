//! Trusted publishers under `/api/v1/admin/publishers`: what is stored, what
//! is refused, who may manage them, and that removing one ends every token
//! its robot holds.

use integration_tests::{TestApp, assert_oci_error, get_json};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GITHUB: &str = "https://token.actions.githubusercontent.com";

fn github_publisher() -> Value {
    json!({
        "issuer": GITHUB,
        "claims": {
            "repository": "octo/app",
            "repository_owner_id": "123",
            "workflow": "release.yml",
            "environment": "prod"
        },
        "pattern": "acme/*",
        "actions": ["pull", "push"]
    })
}

#[tokio::test]
async fn admins_add_list_and_remove_publishers_and_removal_ends_their_tokens() {
    let mut app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.add_user("alice", Some("alice-password")).await;
    app.grant("alice", "acme/*", "pull,push").await;
    app.authenticate_client_as("root", "root-password");
    let admin = app.client.clone();
    let publishers = app.url("/api/v1/admin/publishers");

    let response = admin
        .post(&publishers)
        .json(&github_publisher())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = response.json().await.unwrap();
    let id = stored["id"].as_str().unwrap().to_owned();
    assert_eq!(stored["provider"], "github", "inferred: {stored}");
    assert_eq!(stored["claims"], github_publisher()["claims"]);
    assert_eq!(stored["pattern"], "acme/*");
    assert_eq!(stored["actions"], json!(["pull", "push"]));
    assert_eq!(stored["audience"], Value::Null);
    let robot = format!("publisher-{id}");
    assert_eq!(stored["robot"], robot.as_str());

    let listed: Value = get_json(&admin, &publishers).await;
    assert_eq!(
        listed["publishers"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    assert_eq!(listed["publishers"][0]["id"], id.as_str());

    // The robot exists with exactly the publisher's grant.
    let users: Value = get_json(&admin, app.url("/api/v1/admin/users")).await;
    let entry = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == robot.as_str())
        .unwrap_or_else(|| panic!("no robot in {users}"))
        .clone();
    assert_eq!(entry["kind"], "robot");
    assert_eq!(
        entry["grants"],
        json!([{"pattern": "acme/*", "actions": ["pull", "push"]}])
    );

    // A token of the robot pushes until the publisher is removed.
    let token = app.create_token(&robot, None, &[]).await;
    let push = |token: String| {
        let url = app.url("/v2/acme/app/blobs/uploads/");
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(push(token.clone()).await, StatusCode::ACCEPTED);

    // Only admins manage publishers.
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let response = reqwest::Client::new()
            .request(method.clone(), &publishers)
            .basic_auth("alice", Some("alice-password"))
            .json(&github_publisher())
            .send()
            .await
            .unwrap();
        assert_oci_error(response, StatusCode::FORBIDDEN, "DENIED").await;
    }

    let removed = admin
        .delete(format!("{publishers}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(push(token).await, StatusCode::UNAUTHORIZED);
    let listed: Value = get_json(&admin, &publishers).await;
    assert_eq!(listed["publishers"], json!([]));
    let again = admin
        .delete(format!("{publishers}/{id}"))
        .send()
        .await
        .unwrap();
    assert_oci_error(again, StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN").await;

    // Both changes are in the audit log.
    let audit: Value = get_json(&admin, app.url("/api/v1/admin/audit?limit=100")).await;
    let entries = audit["entries"].as_array().unwrap();
    let changes = entries
        .iter()
        .filter(|e| {
            e["actor"] == "root"
                && e["action"] == "admin"
                && e["outcome"] == "allowed"
                && e["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("publishers")
        })
        .count();
    assert!(changes >= 2, "{audit}");
}

#[tokio::test]
async fn publishers_that_would_trust_too_much_are_refused() {
    let mut app = TestApp::spawn_token_mode("").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.authenticate_client_as("root", "root-password");
    let publishers = app.url("/api/v1/admin/publishers");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = github_publisher();
        change(&mut body);
        body
    };
    for (body, needle) in [
        (
            with(&|b| b["issuer"] = json!("http://idp.example.com")),
            "plain http",
        ),
        (
            with(&|b| b["actions"] = json!(["pull", "admin"])),
            "never admin",
        ),
        (
            with(&|b| b["claims"] = json!({"workflow": "release.yml"})),
            "must check",
        ),
        (
            with(&|b| b["claims"]["repositry"] = json!("octo/app")),
            "not checked",
        ),
        (
            with(&|b| b["claims"]["repository_owner_id"] = json!("octo")),
            "numeric id",
        ),
        (
            with(&|b| b["provider"] = json!("bitbucket")),
            "github, gitlab, generic",
        ),
        (
            with(&|b| {
                b["issuer"] = json!("https://idp.example.com");
                b["claims"] = json!({});
            }),
            "at least one claim",
        ),
        (with(&|b| b["pattern"] = json!("no spaces here")), ""),
    ] {
        let response = app
            .client
            .post(&publishers)
            .json(&body)
            .send()
            .await
            .unwrap();
        let error = assert_oci_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
        let message = error["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
        assert!(message.len() < 600, "bounded: {message}");
    }
    let response = app
        .client
        .post(&publishers)
        .json(&with(&|b| b["surprise"] = json!(true)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let listed: Value = get_json(&app.client, &publishers).await;
    assert_eq!(
        listed["publishers"],
        json!([]),
        "nothing refused was stored"
    );
    // A generic issuer on loopback with an explicit audience is fine.
    let response = app
        .client
        .post(&publishers)
        .json(&json!({
            "issuer": "http://127.0.0.1:4000",
            "audience": "wkg-ci",
            "claims": {"sub": "repo:octo/app:ref:refs/heads/main"},
            "pattern": "acme/app",
            "actions": ["push"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["provider"], "generic");
    assert_eq!(stored["audience"], "wkg-ci");
}

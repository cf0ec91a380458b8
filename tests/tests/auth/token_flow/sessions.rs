//! How long a login lasts, over real HTTP: refreshing never extends it,
//! "sign out everywhere" (`DELETE /api/v1/sessions`) ends every session
//! and refresh token of a password login, and personal access tokens have
//! a bounded lifetime.

use integration_tests::auth::{basic, bearer, claims_of, token_field};
use integration_tests::caller::Caller;
use integration_tests::{TestApp, assert_oci_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PULL: &str = "/v2/acme/app/tags/list";

async fn seeded(extra: &str) -> TestApp {
    TestApp::builder()
        .token_mode()
        .auth(extra)
        .user("alice", "alice-password")
        .grant("alice", "acme/*", "pull,push")
        .spawn()
        .await
}

async fn status(app: &TestApp, method: Method, path: &str, authorization: &str) -> StatusCode {
    app.send_as(method, path, authorization).await.status()
}

/// `POST /v2/token` with a refresh token and `access_type=offline`: a new
/// access token and a new refresh token.
async fn refresh_offline(app: &TestApp, refresh: &str) -> Value {
    let response = integration_tests::http_client()
        .post(app.url("/v2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "repository:acme/app:pull"),
            ("access_type", "offline"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn refreshing_never_outlives_the_login_it_came_from() {
    // Access tokens would live longer than the refresh token: each one
    // minted from a refresh must still end when the login does.
    let app = seeded("token_ttl = \"2h\"\nrefresh_token_ttl = \"10m\"").await;
    let login = app
        .mint(Some(&basic("alice", "alice-password")), &[], true)
        .await;
    let first_refresh = token_field(login, "refresh_token").await;
    let login_ends = claims_of(&first_refresh)["exp"].as_u64().unwrap();
    // Let the clock pass the login's second, so a refresh that restarted
    // the lifetime would show in `exp` (seconds).
    let issued = claims_of(&first_refresh)["iat"].as_u64().unwrap();
    while wkg_gateway::auth::jwt::now_secs() <= issued {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let mut refresh = first_refresh;
    for round in 0..3 {
        let body = refresh_offline(&app, &refresh).await;
        let access = body["access_token"].as_str().unwrap();
        let rolled = body["refresh_token"].as_str().unwrap().to_string();
        assert!(
            claims_of(access)["exp"].as_u64().unwrap() <= login_ends,
            "round {round}: an access token outlives the login"
        );
        assert!(
            claims_of(&rolled)["exp"].as_u64().unwrap() <= login_ends,
            "round {round}: a rolled refresh token extends the login"
        );
        assert_eq!(status(&app, Method::GET, PULL, &bearer(access)).await, 404);
        refresh = rolled;
    }
    // A password login itself starts a full new one.
    let again = app
        .mint(Some(&basic("alice", "alice-password")), &[], true)
        .await;
    let fresh = token_field(again, "token").await;
    assert!(claims_of(&fresh)["exp"].as_u64().unwrap() > login_ends);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_a_password_login() {
    let app = seeded("").await;
    let password = basic("alice", "alice-password");
    let login = |scopes: &'static [&'static str]| {
        let app = &app;
        let password = password.clone();
        async move {
            let response = app.mint(Some(&password), scopes, true).await;
            let body: Value = response.json().await.unwrap();
            (
                body["token"].as_str().unwrap().to_string(),
                body["refresh_token"].as_str().unwrap().to_string(),
            )
        }
    };
    let (laptop_jwt, laptop_refresh) = login(&["repository:acme/app:pull"]).await;
    let (phone_jwt, _) = login(&["repository:acme/app:pull"]).await;
    let personal = app.create_token("alice", None, &[]).await;
    let narrowed = app.create_token("alice", None, &["acme/app=pull"]).await;
    let from_personal = token_field(
        app.mint(
            Some(&bearer(&personal)),
            &["repository:acme/app:pull"],
            false,
        )
        .await,
        "token",
    )
    .await;
    assert_eq!(
        status(&app, Method::GET, PULL, &bearer(&laptop_jwt)).await,
        404
    );

    // Access tokens, and JWTs minted from them, cannot sign their owner out.
    for credential in [bearer(&narrowed), bearer(&personal), bearer(&from_personal)] {
        let refused = app
            .send_as(Method::DELETE, "/api/v1/sessions", &credential)
            .await;
        let body = assert_oci_error(refused, StatusCode::FORBIDDEN, "DENIED").await;
        assert!(body.to_string().contains("/api/v1/tokens"), "{body}");
    }
    assert_eq!(
        status(&app, Method::GET, PULL, &bearer(&laptop_jwt)).await,
        404
    );
    // Anonymous callers are asked to log in.
    let anonymous = integration_tests::http_client()
        .delete(app.url("/api/v1/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The phone's session signs out everywhere, itself included.
    assert_eq!(
        status(
            &app,
            Method::DELETE,
            "/api/v1/sessions",
            &bearer(&phone_jwt)
        )
        .await,
        StatusCode::NO_CONTENT
    );
    for jwt in [&laptop_jwt, &phone_jwt] {
        assert_eq!(status(&app, Method::GET, PULL, &bearer(jwt)).await, 401);
    }
    let refreshed = app.refresh_with(&laptop_refresh, &[]).await;
    assert_oci_error(refreshed, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // Access tokens stay, and so does the password, which starts anew.
    assert_eq!(
        status(&app, Method::GET, PULL, &bearer(&personal)).await,
        404
    );
    assert_eq!(
        status(&app, Method::GET, PULL, &bearer(&from_personal)).await,
        404
    );
    let (new_jwt, _) = login(&["repository:acme/app:pull"]).await;
    assert_eq!(
        status(&app, Method::GET, PULL, &bearer(&new_jwt)).await,
        404
    );
    // The password itself may sign out everywhere too.
    assert_eq!(
        status(&app, Method::DELETE, "/api/v1/sessions", &password).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(&app, Method::GET, PULL, &bearer(&new_jwt)).await,
        401
    );
}

#[tokio::test]
async fn personal_tokens_live_no_longer_than_the_registry_allows() {
    let app = seeded("max_personal_token_ttl = \"10d\"").await;
    let create = |ttl: Option<&'static str>| {
        let app = &app;
        async move {
            let mut body = json!({ "description": "ci" });
            if let Some(ttl) = ttl {
                body["ttl"] = json!(ttl);
            }
            integration_tests::http_client()
                .post(app.url("/api/v1/tokens"))
                .basic_auth("alice", Some("alice-password"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let day_ms = 24 * 3600 * 1000;
    for too_long in ["11d", "999999d"] {
        let refused = create(Some(too_long)).await;
        let body = assert_oci_error(refused, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
        assert!(
            body.to_string()
                .contains("at most 10d here (auth.max_personal_token_ttl)"),
            "{body}"
        );
    }
    for (ttl, days) in [(Some("10d"), 10), (Some("1d"), 1), (None, 10)] {
        let created = create(ttl).await;
        assert_eq!(created.status(), StatusCode::CREATED, "{ttl:?}");
        let token: Value = created.json().await.unwrap();
        let lifetime =
            token["expires_at"].as_i64().unwrap() - token["created_at"].as_i64().unwrap();
        // Rounded: created_at and expires_at are read a moment apart.
        assert_eq!((lifetime + day_ms / 2) / day_ms, days, "{ttl:?}: {token}");
    }
    // Administrators' tokens (robots) are not bound by it.
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    let robot = integration_tests::http_client()
        .post(app.url("/api/v1/admin/tokens"))
        .basic_auth("root", Some("root-password"))
        .json(&json!({ "user": "alice", "description": "robot", "ttl": "400d" }))
        .send()
        .await
        .unwrap();
    assert_eq!(robot.status(), StatusCode::CREATED);
}

/// An open registry (`auth.mode = "none"`) has no users, so the per-user
/// operations are refused as such, 403 with a message that says so, not
/// called malformed; credentials sent anyway change nothing.
#[tokio::test]
async fn per_user_operations_are_refused_on_an_open_registry() {
    let app = TestApp::spawn().await;
    let anonymous = app.as_caller(&Caller::Anonymous);
    let alice = app.as_caller(&Caller::basic("alice", "alice-password"));
    let replies = [
        anonymous.get("/api/v1/tokens").await,
        anonymous.post_json("/api/v1/tokens", &json!({})).await,
        alice
            .post_json("/api/v1/tokens", &json!({ "description": "ci" }))
            .await,
        anonymous.delete("/api/v1/tokens/tok_1").await,
        anonymous.delete("/api/v1/sessions").await,
    ];
    for reply in replies {
        let body = reply.assert_oci_error(StatusCode::FORBIDDEN, "DENIED");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("auth.mode = \"none\""), "{message}");
    }
}

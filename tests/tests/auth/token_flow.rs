//! The Docker token flow over real HTTP: challenges, `/v2/token` (GET and
//! the OAuth2 POST form), refresh tokens, insufficient scopes, the JWKS,
//! key rotation, the token endpoint with auth off, and chains of minted
//! credentials: none widens its source, and ending a source ends them all.

use integration_tests::auth::{basic, bearer, claims_of, token_field};
use integration_tests::{TestApp, assert_oci_error};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long a login lasts: refresh caps, sign out everywhere, token TTLs.
mod sessions;

async fn seeded() -> TestApp {
    TestApp::builder()
        .token_mode()
        .user("dev", "dev-password")
        .grant("dev", "acme/*", "pull,push")
        .spawn()
        .await
}

#[tokio::test]
async fn challenge_then_token_then_access() {
    let app = seeded().await;
    let client = integration_tests::http_client();
    let base = client.get(app.url("/v2/")).send().await.unwrap();
    assert_eq!(base.status(), StatusCode::UNAUTHORIZED);
    let www = base.headers()["www-authenticate"].to_str().unwrap();
    let realm = format!("{}/v2/token", app.base);
    assert_eq!(
        www,
        format!("Bearer realm=\"{realm}\",service=\"{}\"", app.authority)
    );
    // Several scope parameters, the service the challenge named.
    let response = client
        .get(&realm)
        .query(&[
            ("service", app.authority.as_str()),
            ("scope", "repository:acme/app:pull"),
            ("scope", "repository:acme/lib:push"),
            ("scope", "repository:other/x:pull"),
        ])
        .basic_auth("dev", Some("dev-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"], body["access_token"]);
    assert!(body["expires_in"].as_u64().unwrap() == 900);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    let token = body["token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["iss"], app.base);
    assert_eq!(claims["aud"], app.authority);
    assert_eq!(claims["sub"], "dev");
    for claim in ["exp", "iat", "nbf"] {
        assert!(claims[claim].is_u64(), "{claim}");
    }
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert_eq!(
        claims["access"],
        json!([
            {"type": "repository", "name": "acme/app", "actions": ["pull"]},
            {"type": "repository", "name": "acme/lib", "actions": ["push"]},
        ])
    );
    let ok = client
        .get(app.url("/v2/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // Basic credentials straight on /v2/ work too.
    let direct = client
        .get(app.url("/v2/"))
        .header("authorization", basic("dev", "dev-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_credentials_never_downgrade_to_anonymous() {
    let app = seeded().await;
    let client = integration_tests::http_client();
    for (user, password) in [("dev", "wrong"), ("nobody", "whatever"), ("dev", "")] {
        let response = client
            .get(app.url("/v2/token"))
            .query(&[("scope", "repository:acme/app:pull")])
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{user}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    }
    // Whatever `service` says, the token is for this registry only.
    let other_service: Value = client
        .get(app.url("/v2/token"))
        .query(&[("service", "elsewhere.example")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = claims_of(other_service["token"].as_str().unwrap());
    assert_eq!(claims["aud"], app.authority);
}

#[tokio::test]
async fn oauth2_form_with_refresh_tokens() {
    let app = seeded().await;
    let client = integration_tests::http_client();
    let response = client
        .post(app.url("/v2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "dev"),
            ("password", "dev-password"),
            (
                "scope",
                "repository:acme/app:pull,push repository:acme/lib:pull",
            ),
            ("service", app.authority.as_str()),
            ("client_id", "test"),
            ("access_type", "offline"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let access = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(access["access"].as_array().unwrap().len(), 2);
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    // A refresh token is not an access token.
    let misuse = client
        .get(app.url("/v2/acme/app/tags/list"))
        .bearer_auth(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(misuse.status(), StatusCode::UNAUTHORIZED);
    let refreshed = client
        .post(app.url("/v2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("scope", "repository:acme/app:pull"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["access"],
        json!([{"type": "repository", "name": "acme/app", "actions": ["pull"]}])
    );
    // Once the user is gone, the refresh token is worthless.
    wkg_gateway::auth::admin::remove_user(&app.app.db, "dev")
        .await
        .unwrap();
    let after = client
        .post(app.url("/v2/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let unsupported = client
        .post(app.url("/v2/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_token_without_a_scope_gets_a_403_insufficient_scope_challenge() {
    let app = seeded().await;
    let client = integration_tests::http_client();
    let pull_only = app
        .token_for(Some(("dev", "dev-password")), &["repository:acme/app:pull"])
        .await;
    let push = client
        .post(app.url("/v2/acme/app/blobs/uploads/"))
        .bearer_auth(&pull_only)
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::FORBIDDEN);
    let www = push.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        www.contains("scope=\"repository:acme/app:pull,push\"")
            && www.contains("error=\"insufficient_scope\""),
        "{www}"
    );
    let body: Value = push.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    // Asking again with the scope from the challenge works.
    let push_token = app
        .token_for(
            Some(("dev", "dev-password")),
            &["repository:acme/app:pull,push"],
        )
        .await;
    let push = client
        .post(app.url("/v2/acme/app/blobs/uploads/"))
        .bearer_auth(&push_token)
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn jwks_verifies_tokens_and_rotation_keeps_old_tokens_valid() {
    let data = tempfile::tempdir().unwrap();
    let old_key = data.path().join("old.pem");
    let new_key = data.path().join("new.pem");
    let shared = "public_url = \"http://registry.test\"";
    let first = TestApp::spawn_with(&format!(
        "{shared}\n[auth]\nmode = \"token\"\nanonymous_pull = [\"acme/*\"]\nsigning_key_file = {:?}\n",
        old_key.display().to_string()
    ))
    .await;
    // Anonymous pull tokens: each gateway here has a database of its own,
    // and a user's token is valid only where that user exists.
    let token = first.token_for(None, &["repository:acme/app:pull"]).await;
    let jwks: JwkSet = integration_tests::http_client()
        .get(first.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("the token's key is published");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["registry.test"]);
    validation.set_issuer(&["http://registry.test"]);
    jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("a third party verifies the token with the JWKS");

    // Rotate: a new signing key, the old one kept for verification.
    let second = TestApp::spawn_with(&format!(
        "{shared}\n[auth]\nmode = \"token\"\nanonymous_pull = [\"acme/*\"]\nsigning_key_file = {:?}\nprevious_signing_key_files = [{:?}]\n",
        new_key.display().to_string(),
        old_key.display().to_string()
    ))
    .await;
    let jwks: JwkSet = integration_tests::http_client()
        .get(second.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let new_token = second.token_for(None, &[]).await;
    assert_ne!(
        jsonwebtoken::decode_header(&new_token)
            .unwrap()
            .kid
            .unwrap(),
        kid,
        "new tokens are signed with the new key"
    );
    // The old token still opens what it names (404: the repo is empty).
    let pulled = integration_tests::http_client()
        .get(second.url("/v2/acme/app/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::NOT_FOUND);
    // A gateway that dropped the old key refuses it.
    let third = TestApp::spawn_with(&format!(
        "{shared}\n[auth]\nmode = \"token\"\nanonymous_pull = [\"acme/*\"]\nsigning_key_file = {:?}\n",
        new_key.display().to_string()
    ))
    .await;
    let refused = integration_tests::http_client()
        .get(third.url("/v2/acme/app/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_auth_off_the_token_endpoint_grants_what_is_asked() {
    let app = TestApp::spawn().await;
    let token = app
        .token_for(None, &["repository:any/thing:pull,push,delete"])
        .await;
    assert_eq!(
        claims_of(&token)["access"],
        json!([{"type": "repository", "name": "any/thing", "actions": ["pull", "push", "delete"]}])
    );
    // Tokens (even garbage) are ignored: everything is open.
    let response = integration_tests::http_client()
        .post(app.url("/v2/any/thing/blobs/uploads/"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn repeated_failed_logins_close_the_door_for_a_while() {
    // A door closed for an hour: nothing here depends on how fast it runs.
    let app = TestApp::spawn_token_mode("login_backoff = \"1h\"").await;
    app.add_user("dev", Some("dev-password")).await;
    app.add_user("other", Some("other-password")).await;
    let client = integration_tests::http_client();
    let attempt = |user: &'static str, password: &'static str| {
        client
            .get(app.url("/v2/token"))
            .basic_auth(user, Some(password))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("dev", "guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password is refused at once, with a time to wait.
    let refused = attempt("dev", "dev-password").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too many failed logins"),
        "{body}"
    );
    // Other users are not affected.
    assert_eq!(
        attempt("other", "other-password").await.unwrap().status(),
        StatusCode::OK
    );
}

/// A throwaway ECDSA P-256 key made with
/// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
const P256_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5fRp37UjvRmkLkGm
2i0YDad+AET3ulEm4c5mV85mY/ChRANCAAR4LTja0OSR7iaWETv8mpXUGfbq7Tk3
Lpne16VToTioyJBUltDpeKdM2QD7z1pYwt+z8wdJa/rPxn6KlcN547KF
-----END PRIVATE KEY-----
";

#[tokio::test]
async fn an_es256_signing_key_works_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let key_file = data.path().join("ec-signing-key.pem");
    std::fs::write(&key_file, P256_KEY).unwrap();
    let app = TestApp::spawn_with(&format!(
        "[auth]\nmode = \"token\"\nsigning_key_file = {:?}\n",
        key_file.display().to_string()
    ))
    .await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "acme/*", "pull,push").await;
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        P256_KEY,
        "the given key is used, not replaced"
    );

    let client = integration_tests::http_client();
    let token = app
        .token_for(
            Some(("dev", "dev-password")),
            &["repository:acme/app:pull,push"],
        )
        .await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let kid = header.kid.expect("kid");

    // The JWKS lists the EC key, and a third party verifies with it.
    let jwks: Value = client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "EC", "{jwks}");
    assert_eq!(keys[0]["crv"], "P-256", "{jwks}");
    assert_eq!(keys[0]["kid"], kid.as_str(), "{jwks}");
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[app.authority.as_str()]);
    validation.set_issuer(&[app.base.as_str()]);
    let verified = jsonwebtoken::decode::<Value>(
        &token,
        &DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap(),
        &validation,
    )
    .expect("the token verifies with the published EC key");
    assert_eq!(verified.claims["sub"], "dev");

    // The gateway accepts its ES256 tokens for what they list, nothing more.
    let pull = client
        .get(app.url("/v2/acme/app/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), StatusCode::NOT_FOUND, "allowed: empty repo");
    let push = client
        .post(app.url("/v2/acme/app/blobs/uploads/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::ACCEPTED);
    let other = client
        .get(app.url("/v2/acme/other/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    // An edited payload breaks the ECDSA signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = claims_of(&token);
    claims["access"][0]["name"] = json!("acme/other");
    let edited = format!(
        "{}.{}.{}",
        parts[0],
        {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
        },
        parts[2]
    );
    let forged = client
        .get(app.url("/v2/acme/other/tags/list"))
        .bearer_auth(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

/// alice (`acme/*` pull,push; `secret/*` pull,push,delete) and root (admin),
/// with a component in `acme/app` and in `secret/app`.
async fn two_namespaces() -> TestApp {
    let app = TestApp::token_mode_with_packages("", &["acme/app", "secret/app"]).await;
    app.add_user("alice", Some("alice-password")).await;
    app.grant("alice", "acme/*", "pull,push").await;
    app.grant("alice", "secret/*", "pull,push,delete").await;
    app
}

async fn status_of(app: &TestApp, method: Method, path: &str, authorization: &str) -> StatusCode {
    app.send_as(method, path, authorization).await.status()
}

#[tokio::test]
async fn a_narrowed_token_never_widens_through_what_it_mints() {
    let app = two_namespaces().await;
    let narrowed = app.create_token("alice", None, &["acme/app=pull"]).await;
    let pull_secret = "/v2/secret/app/manifests/1.0.0";

    // (a) The catalog scope does not bring the owner's other pull grants.
    let jwt = token_field(
        app.mint(
            Some(&basic("alice", &narrowed)),
            &["registry:catalog:*", "repository:secret/app:pull"],
            false,
        )
        .await,
        "token",
    )
    .await;
    assert_eq!(
        claims_of(&jwt)["access"],
        json!([{"type": "registry", "name": "catalog", "actions": ["*"]}]),
        "nothing on secret/app was granted"
    );
    let pulled = app.send_as(Method::GET, pull_secret, &bearer(&jwt)).await;
    assert_oci_error(pulled, StatusCode::FORBIDDEN, "DENIED").await;
    let catalog: Value = app
        .send_as(Method::GET, "/v2/_catalog", &bearer(&jwt))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["repositories"], json!(["acme/app"]));
    assert_eq!(
        status_of(
            &app,
            Method::GET,
            "/v2/acme/app/manifests/1.0.0",
            &bearer(&jwt)
        )
        .await,
        StatusCode::OK
    );

    // (b) A JWT is no credential at the token endpoint, offline or not.
    for offline in [false, true] {
        let traded = app
            .mint(
                Some(&bearer(&jwt)),
                &["repository:secret/app:pull"],
                offline,
            )
            .await;
        assert_oci_error(traded, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }

    // A refresh token from the narrowed token keeps its restriction.
    let refresh = token_field(
        app.mint(Some(&basic("alice", &narrowed)), &[], true).await,
        "refresh_token",
    )
    .await;
    let wide = token_field(
        app.refresh_with(&refresh, &["repository:secret/app:pull,push,delete"])
            .await,
        "token",
    )
    .await;
    assert_eq!(claims_of(&wide)["access"], json!([]));
    for (method, path) in [
        (Method::GET, pull_secret.to_string()),
        (Method::POST, "/v2/secret/app/blobs/uploads/".to_string()),
        (
            Method::DELETE,
            format!("/v2/secret/app/manifests/sha256:{}", "0".repeat(64)),
        ),
    ] {
        assert_eq!(
            status_of(&app, method, &path, &bearer(&wide)).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // An admin's narrowed token does not reach the admin API either way.
    let admin_narrowed = app.create_token("root", None, &["acme/app=pull"]).await;
    let refresh = token_field(
        app.mint(Some(&basic("root", &admin_narrowed)), &[], true)
            .await,
        "refresh_token",
    )
    .await;
    let admin_jwt = token_field(
        app.refresh_with(&refresh, &["repository:*:admin"]).await,
        "token",
    )
    .await;
    for authorization in [bearer(&admin_jwt), bearer(&admin_narrowed)] {
        let listed = app
            .send_as(Method::GET, "/api/v1/admin/users", &authorization)
            .await;
        assert_oci_error(listed, StatusCode::FORBIDDEN, "DENIED").await;
    }
}

#[tokio::test]
async fn revocation_reaches_every_token_minted_from_a_credential() {
    let app = two_namespaces().await;
    let root = basic("root", "root-password");
    let pull = "/v2/acme/app/manifests/1.0.0";
    let mint_jwt_and_refresh = |password: &'static str| {
        let app = &app;
        async move {
            let response = app
                .mint(
                    Some(&basic("alice", password)),
                    &["repository:acme/app:pull,push"],
                    true,
                )
                .await;
            let body: Value = response.json().await.unwrap();
            (
                body["token"].as_str().unwrap().to_string(),
                body["refresh_token"].as_str().unwrap().to_string(),
            )
        }
    };

    // A revoked access token ends its JWTs and refresh tokens.
    let (token_id, token) = app.create_token_with_id("alice", None, &[]).await;
    let from_token = token_field(
        app.mint(Some(&bearer(&token)), &["repository:acme/app:pull"], true)
            .await,
        "token",
    )
    .await;
    let refresh_from_token = token_field(
        app.mint(Some(&bearer(&token)), &[], true).await,
        "refresh_token",
    )
    .await;
    assert_eq!(
        status_of(&app, Method::GET, pull, &bearer(&from_token)).await,
        200
    );
    let revoked = app
        .send_as(
            Method::DELETE,
            &format!("/api/v1/admin/tokens/{token_id}"),
            &root,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_of(&app, Method::GET, pull, &bearer(&from_token)).await,
        401
    );
    let refreshed = app.refresh_with(&refresh_from_token, &[]).await;
    assert_oci_error(refreshed, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // A removed grant ends at once, in a JWT that names it too.
    let (jwt, _) = mint_jwt_and_refresh("alice-password").await;
    let dropped = app
        .send_as(
            Method::DELETE,
            "/api/v1/admin/users/alice/grants?pattern=acme/*",
            &root,
        )
        .await;
    assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, Method::GET, pull, &bearer(&jwt)).await, 403);
    app.grant("alice", "acme/*", "pull,push").await;
    assert_eq!(status_of(&app, Method::GET, pull, &bearer(&jwt)).await, 200);

    // A password change ends the JWTs and refresh tokens of earlier logins.
    let (jwt, refresh) = mint_jwt_and_refresh("alice-password").await;
    let changed = put_password(&app, &root, "alice", "new-alice-password").await;
    assert_eq!(changed, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, Method::GET, pull, &bearer(&jwt)).await, 401);
    let refreshed = app
        .refresh_with(&refresh, &["repository:acme/app:pull"])
        .await;
    assert_oci_error(refreshed, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(
        status_of(&app, Method::GET, pull, &basic("alice", "alice-password")).await,
        401
    );
    assert_eq!(
        status_of(
            &app,
            Method::GET,
            pull,
            &basic("alice", "new-alice-password")
        )
        .await,
        200
    );

    // Removal ends everything, and re-creating the name brings none back.
    let (jwt, refresh) = mint_jwt_and_refresh("new-alice-password").await;
    let removed = app
        .send_as(Method::DELETE, "/api/v1/admin/users/alice", &root)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, Method::GET, pull, &bearer(&jwt)).await, 401);
    assert_oci_error(
        app.refresh_with(&refresh, &[]).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    app.add_user("alice", Some("new-alice-password")).await;
    app.grant("alice", "acme/*", "pull,push").await;
    assert_eq!(status_of(&app, Method::GET, pull, &bearer(&jwt)).await, 401);
    assert_oci_error(
        app.refresh_with(&refresh, &["repository:acme/app:pull"])
            .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    // The JWT could not have renewed itself meanwhile either.
    assert_oci_error(
        app.mint(Some(&bearer(&jwt)), &["repository:acme/app:pull"], false)
            .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
}

async fn put_password(app: &TestApp, admin: &str, user: &str, password: &str) -> StatusCode {
    integration_tests::http_client()
        .put(app.url(&format!("/api/v1/admin/users/{user}/password")))
        .header("authorization", admin)
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn password_changes_are_checked_and_audited() {
    let app = two_namespaces().await;
    let root = basic("root", "root-password");
    assert_eq!(
        put_password(&app, &root, "nobody", "long-enough-password").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put_password(&app, &root, "alice", "short").await,
        StatusCode::BAD_REQUEST
    );
    // Only admins change others' passwords.
    assert_eq!(
        put_password(
            &app,
            &basic("alice", "alice-password"),
            "root",
            "taken-over!"
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put_password(&app, &root, "alice", "another-password").await,
        StatusCode::NO_CONTENT
    );
    let audit: Value = app
        .send_as(Method::GET, "/api/v1/admin/audit", &root)
        .await
        .json()
        .await
        .unwrap();
    let text = audit.to_string();
    assert!(
        text.contains("/api/v1/admin/users/alice/password"),
        "{text}"
    );
    assert!(
        !text.contains("another-password"),
        "the password is not logged"
    );
}

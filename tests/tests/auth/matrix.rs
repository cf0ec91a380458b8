//! Token auth over real HTTP: every kind of caller against every kind of
//! operation, with the status and error code each cell must produce.

use std::time::Duration;

use integration_tests::auth::basic;
use integration_tests::{TestApp, fixtures};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Pull,
    Push,
    Delete,
    Catalog,
    TagList,
    PackageApi,
    AdminApi,
}

const OPS: [Op; 7] = [
    Op::Pull,
    Op::Push,
    Op::Delete,
    Op::Catalog,
    Op::TagList,
    Op::PackageApi,
    Op::AdminApi,
];

/// What a cell expects: allowed (the handler's own answer), 401, or 403.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Ok,
    Unauthorized,
    Denied,
    /// After five failed logins for a user from one address: 401 saying so,
    /// without checking the password.
    Throttled,
}
use Expect::{Denied, Ok as Allowed, Throttled, Unauthorized};

async fn perform(app: &TestApp, op: Op, repo: &str, auth: Option<&str>) -> reqwest::Response {
    let (method, path) = match op {
        Op::Pull => (Method::GET, format!("/v2/{repo}/manifests/1.0.0")),
        Op::Push => (Method::POST, format!("/v2/{repo}/blobs/uploads/")),
        // Deleting a digest that is not there: allowed callers get 404.
        Op::Delete => (
            Method::DELETE,
            format!("/v2/{repo}/manifests/sha256:{}", "0".repeat(64)),
        ),
        Op::Catalog => (Method::GET, "/v2/_catalog".to_string()),
        Op::TagList => (Method::GET, format!("/v2/{repo}/tags/list")),
        Op::PackageApi => (Method::GET, format!("/api/v1/packages/{repo}")),
        Op::AdminApi => (Method::GET, "/api/v1/admin/users".to_string()),
    };
    let mut request = integration_tests::http_client().request(method, app.url(&path));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.expect("request")
}

async fn check(app: &TestApp, who: &str, auth: Option<&str>, repo: &str, expected: [Expect; 7]) {
    for (op, expect) in OPS.into_iter().zip(expected) {
        let response = perform(app, op, repo, auth).await;
        let status = response.status();
        let www = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["errors"][0]["code"].as_str().unwrap_or("").to_string();
        let cell = format!("{who} {op:?} {repo}: {status} {body}");
        match expect {
            Unauthorized => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{cell}");
                assert_eq!(code, "UNAUTHORIZED", "{cell}");
                let www = www.unwrap_or_else(|| panic!("{cell}: no challenge"));
                assert!(www.starts_with("Bearer realm=\""), "{cell}: {www}");
            }
            Denied => {
                assert_eq!(status, StatusCode::FORBIDDEN, "{cell}");
                assert_eq!(code, "DENIED", "{cell}");
            }
            Throttled => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{cell}");
                assert_eq!(code, "UNAUTHORIZED", "{cell}");
                assert!(
                    body["errors"][0]["message"]
                        .as_str()
                        .unwrap()
                        .contains("too many failed logins"),
                    "{cell}"
                );
            }
            Allowed => {
                let expected = match op {
                    Op::Push => StatusCode::ACCEPTED,
                    Op::Delete => StatusCode::NOT_FOUND,
                    _ => StatusCode::OK,
                };
                assert_eq!(status, expected, "{cell}");
                if op == Op::Catalog {
                    let listed: Vec<&str> = body["repositories"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap())
                        .collect();
                    assert!(listed.contains(&"acme/app"), "{cell}: {listed:?}");
                    assert!(
                        !listed.contains(&"secret/vault") || who.starts_with("admin"),
                        "{cell}: {listed:?} shows a repository the caller may not pull"
                    );
                }
            }
        }
    }
}

/// Signs claims with any PEM key (the gateway's own, or another).
fn sign(pem: &[u8], kid: &str, claims: &Value) -> String {
    let key = EncodingKey::from_ed_pem(pem).expect("ed25519 pem");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn every_caller_against_every_operation() {
    // The door stays closed for the whole test once five guesses failed, so
    // the throttled cells do not depend on how fast the others ran.
    let mut app = TestApp::spawn_token_mode("login_backoff = \"1h\"").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "acme/*", "pull,push").await;
    app.add_user("ci", None).await;
    app.grant("ci", "acme/*", "pull,push,delete").await;
    app.authenticate_client_as("root", "root-password");
    for repo in ["acme/app", "secret/vault"] {
        let (response, _) = app
            .publish_wasm(
                repo,
                "1.0.0",
                &fixtures::component(),
                "2024-01-01T00:00:00Z",
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    let robot = app.create_token("ci", None, &[]).await;
    let expired = app
        .create_token("ci", Some(Duration::from_millis(1)), &[])
        .await;
    let (revoked_id, revoked) = app.create_token_with_id("ci", None, &[]).await;
    wkg_gateway::auth::admin::revoke_token(&app.app.db, &revoked_id)
        .await
        .unwrap();
    let dev_jwt = app
        .token_for(
            Some(("dev", "dev-password")),
            &["repository:acme/app:pull,push,delete"],
        )
        .await;
    let jwt_claims = integration_tests::auth::claims_of(&dev_jwt);
    assert_eq!(
        jwt_claims["access"],
        json!([{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}]),
        "the token holds what was asked and granted, nothing more"
    );

    // Forgeries.
    let kid = jsonwebtoken::decode_header(&dev_jwt).unwrap().kid.unwrap();
    let own_key = std::fs::read(app.data.path().join("signing-key.pem")).unwrap();
    let other_key = wkg_gateway::auth::keys::generate_ed25519_pem().unwrap();
    let mut everything = jwt_claims.clone();
    everything["access"] = json!([{"type": "repository", "name": "secret/vault", "actions": ["pull", "push", "delete"]}]);
    let other_signed = sign(other_key.as_bytes(), &kid, &everything);
    let parts: Vec<&str> = dev_jwt.split('.').collect();
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let edited = format!("{}.{}.{}", parts[0], b64(&everything), parts[2]);
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
        b64(&everything)
    );
    let mut stale = jwt_claims.clone();
    stale["exp"] = json!(now() - 3600);
    stale["iat"] = json!(now() - 7200);
    stale["nbf"] = json!(now() - 7200);
    let expired_jwt = sign(&own_key, &kid, &stale);
    // Signed by the gateway's own key, but valid only from an hour on
    // (beyond any clock-skew leeway).
    let mut early = jwt_claims.clone();
    early["iat"] = json!(now());
    early["nbf"] = json!(now() + 3600);
    early["exp"] = json!(now() + 7200);
    let not_yet_valid_jwt = sign(&own_key, &kid, &early);
    let mut foreign_aud = jwt_claims.clone();
    foreign_aud["aud"] = json!("another-registry.example");
    let wrong_audience = sign(&own_key, &kid, &foreign_aud);

    let bearer = |t: &str| format!("Bearer {t}");
    use Expect::*;
    //          Pull     Push     Delete   Catalog  TagList  Package  Admin
    check(&app, "anonymous", None, "acme/app", [Unauthorized; 7]).await;
    check(
        &app,
        "admin",
        Some(&basic("root", "root-password")),
        "acme/app",
        [
            Allowed, Allowed, Allowed, Allowed, Allowed, Allowed, Allowed,
        ],
    )
    .await;
    check(
        &app,
        "user",
        Some(&basic("dev", "dev-password")),
        "acme/app",
        [Allowed, Allowed, Denied, Allowed, Allowed, Allowed, Denied],
    )
    .await;
    check(
        &app,
        "user-wrong-namespace",
        Some(&basic("dev", "dev-password")),
        "secret/vault",
        [Denied, Denied, Denied, Allowed, Denied, Denied, Denied],
    )
    .await;
    check(
        &app,
        "user-wrong-password",
        Some(&basic("dev", "nope")),
        "acme/app",
        [
            Unauthorized,
            Unauthorized,
            Unauthorized,
            Unauthorized,
            Unauthorized,
            Throttled,
            Throttled,
        ],
    )
    .await;
    check(
        &app,
        "user-jwt",
        Some(&bearer(&dev_jwt)),
        "acme/app",
        [Allowed, Allowed, Denied, Allowed, Allowed, Allowed, Denied],
    )
    .await;
    check(
        &app,
        "robot-bearer",
        Some(&bearer(&robot)),
        "acme/app",
        [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed, Denied],
    )
    .await;
    check(
        &app,
        "robot-basic",
        Some(&basic("ci", &robot)),
        "acme/app",
        [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed, Denied],
    )
    .await;
    check(
        &app,
        "robot-basic-other-user",
        Some(&basic("dev", &robot)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
    check(
        &app,
        "robot-wrong-namespace",
        Some(&bearer(&robot)),
        "secret/vault",
        [Denied, Denied, Denied, Allowed, Denied, Denied, Denied],
    )
    .await;
    check(
        &app,
        "expired-token",
        Some(&bearer(&expired)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
    check(
        &app,
        "revoked-token",
        Some(&bearer(&revoked)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
    check(
        &app,
        "expired-jwt",
        Some(&bearer(&expired_jwt)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
    check(
        &app,
        "not-yet-valid-jwt",
        Some(&bearer(&not_yet_valid_jwt)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
    check(
        &app,
        "jwt-other-audience",
        Some(&bearer(&wrong_audience)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
    for (who, forged) in [
        ("forged-other-key", &other_signed),
        ("forged-edited", &edited),
        ("forged-alg-none", &alg_none),
    ] {
        check(
            &app,
            who,
            Some(&bearer(forged)),
            "secret/vault",
            [Unauthorized; 7],
        )
        .await;
    }
    // Credentials minted from others, and what ending their source does.
    let narrowed = app.create_token("ci", None, &["acme/app=pull"]).await;
    let wide_scopes = [
        "repository:acme/app:pull,push,delete",
        "repository:secret/vault:pull,push,delete",
        "registry:catalog:*",
    ];
    let from_narrowed = integration_tests::auth::token_field(
        app.mint(Some(&bearer(&narrowed)), &wide_scopes, false)
            .await,
        "token",
    )
    .await;
    let narrowed_refresh = integration_tests::auth::token_field(
        app.mint(Some(&basic("ci", &narrowed)), &[], true).await,
        "refresh_token",
    )
    .await;
    let refreshed_narrowed = integration_tests::auth::token_field(
        app.refresh_with(&narrowed_refresh, &wide_scopes).await,
        "token",
    )
    .await;
    let narrowed_row = [Allowed, Denied, Denied, Allowed, Allowed, Allowed, Denied];
    let narrowed_elsewhere = [Denied, Denied, Denied, Allowed, Denied, Denied, Denied];
    for (who, credential) in [
        ("token-narrowed-to-one-repository", bearer(&narrowed)),
        ("jwt-from-narrowed-token", bearer(&from_narrowed)),
        (
            "jwt-refreshed-from-narrowed-token",
            bearer(&refreshed_narrowed),
        ),
    ] {
        check(&app, who, Some(&credential), "acme/app", narrowed_row).await;
        check(
            &app,
            who,
            Some(&credential),
            "secret/vault",
            narrowed_elsewhere,
        )
        .await;
    }
    let user_jwt = |user: &'static str| {
        let app = &app;
        async move {
            app.token_for(
                Some((user, "long-password")),
                &["repository:acme/app:pull,push", "registry:catalog:*"],
            )
            .await
        }
    };
    let root = basic("root", "root-password");
    app.add_user("gone", Some("long-password")).await;
    app.grant("gone", "acme/*", "pull,push").await;
    let removed_jwt = user_jwt("gone").await;
    app.add_user("again", Some("long-password")).await;
    app.grant("again", "acme/*", "pull,push").await;
    let recreated_jwt = user_jwt("again").await;
    for user in ["gone", "again"] {
        let removed = app
            .send_as(
                Method::DELETE,
                &format!("/api/v1/admin/users/{user}"),
                &root,
            )
            .await;
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    }
    app.add_user("again", Some("long-password")).await;
    app.grant("again", "acme/*", "pull,push").await;
    let (token_id, token) = app.create_token_with_id("ci", None, &[]).await;
    let revoked_tokens_jwt = integration_tests::auth::token_field(
        app.mint(Some(&bearer(&token)), &wide_scopes, false).await,
        "token",
    )
    .await;
    wkg_gateway::auth::admin::revoke_token(&app.app.db, &token_id)
        .await
        .unwrap();
    for (who, jwt) in [
        ("jwt-of-removed-user", &removed_jwt),
        ("jwt-of-re-created-user", &recreated_jwt),
        ("jwt-of-revoked-token", &revoked_tokens_jwt),
    ] {
        check(&app, who, Some(&bearer(jwt)), "acme/app", [Unauthorized; 7]).await;
    }

    let unknown = "wkg_".to_string() + &"A".repeat(43);
    check(
        &app,
        "unknown-token",
        Some(&bearer(&unknown)),
        "acme/app",
        [Unauthorized; 7],
    )
    .await;
}

#[tokio::test]
async fn anonymous_pull_patterns_open_public_namespaces_only() {
    let mut app = TestApp::spawn_token_mode("anonymous_pull = [\"public/*\"]").await;
    app.add_user("root", Some("root-password")).await;
    app.grant("root", "*", "admin").await;
    app.authenticate_client_as("root", "root-password");
    for repo in ["public/lib", "acme/app"] {
        let (response, _) = app
            .publish_wasm(
                repo,
                "1.0.0",
                &fixtures::component(),
                "2024-01-01T00:00:00Z",
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let anon = integration_tests::http_client();
    let pull = anon
        .get(app.url("/v2/public/lib/manifests/1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), StatusCode::OK);
    let push = anon
        .post(app.url("/v2/public/lib/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::UNAUTHORIZED);
    let www = push.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        www.contains("scope=\"repository:public/lib:pull,push\""),
        "{www}"
    );
    let private = anon
        .get(app.url("/v2/acme/app/manifests/1.0.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), StatusCode::UNAUTHORIZED);
    // The package list shows anonymous callers the public packages only.
    let list: Value = anon
        .get(app.url("/api/v1/packages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["public:lib"]);
    // An anonymous token carries only what anonymous callers may do.
    let token = app
        .token_for(
            None,
            &[
                "repository:public/lib:pull,push",
                "repository:acme/app:pull",
            ],
        )
        .await;
    let claims = integration_tests::auth::claims_of(&token);
    assert_eq!(claims["sub"], "anonymous");
    assert_eq!(
        claims["access"],
        json!([{"type": "repository", "name": "public/lib", "actions": ["pull"]}])
    );
}

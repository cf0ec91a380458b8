//! Token auth rules over real HTTP beyond the matrix: what refusals say,
//! exact-repository grants, listings filtered to what the caller may pull,
//! and wrong credentials where anonymous callers may pull.

use std::collections::BTreeSet;

use integration_tests::auth::basic;
use integration_tests::{TestApp, assert_oci_error};
use reqwest::StatusCode;
use serde_json::Value;

/// A token-mode gateway with `root` (admin) authenticating `app.client`,
/// and these repositories published.
async fn with_packages(extra: &str, repositories: &[&str]) -> TestApp {
    TestApp::token_mode_with_packages(extra, repositories).await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = integration_tests::http_client().request(method, app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, path: &str, authorization: Option<&str>) -> reqwest::Response {
    send(app, reqwest::Method::GET, path, authorization).await
}

async fn push(app: &TestApp, repo: &str, authorization: &str) -> reqwest::Response {
    send(
        app,
        reqwest::Method::POST,
        &format!("/v2/{repo}/blobs/uploads/"),
        Some(authorization),
    )
    .await
}

/// The first error's message of a refusal with this status and code.
async fn message(response: reqwest::Response, status: StatusCode, code: &str) -> String {
    let body = assert_oci_error(response, status, code).await;
    body["errors"][0]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn refusals_say_what_is_missing_and_how_to_get_it() {
    let app = with_packages("", &["acme/app"]).await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "acme/*", "pull").await;
    let dev = basic("dev", "dev-password");

    let anonymous = message(
        get(&app, "/v2/acme/app/manifests/1.0.0", None).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_eq!(
        anonymous,
        "authentication required to pull acme/app; log in (e.g. `wkg login`, \
         `oras login`, `skopeo login`) or send an access token"
    );

    let denied = message(
        push(&app, "acme/app", &dev).await,
        StatusCode::FORBIDDEN,
        "DENIED",
    )
    .await;
    assert_eq!(
        denied,
        "dev may not push acme/app; an admin can grant it with \
         `wkg-gateway admin grant dev acme/app push`"
    );

    let not_admin = message(
        get(&app, "/api/v1/admin/users", Some(&dev)).await,
        StatusCode::FORBIDDEN,
        "DENIED",
    )
    .await;
    assert_eq!(
        not_admin,
        "dev is not an administrator (needs the admin action on `*`)"
    );

    let anonymous_admin = message(
        get(&app, "/api/v1/admin/audit", None).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert!(
        anonymous_admin.starts_with("authentication required for the admin API; log in"),
        "{anonymous_admin}"
    );

    let wrong_password = message(
        get(
            &app,
            "/v2/acme/app/manifests/1.0.0",
            Some(&basic("dev", "not-the-password")),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert!(
        wrong_password.starts_with("wrong user name or password for \"dev\""),
        "{wrong_password}"
    );
    assert!(
        !wrong_password.contains("not-the-password"),
        "{wrong_password}"
    );

    let (id, token) = app.create_token_with_id("dev", None, &[]).await;
    wkg_gateway::auth::admin::revoke_token(&app.app.db, &id)
        .await
        .unwrap();
    let revoked = message(
        get(
            &app,
            "/v2/acme/app/tags/list",
            Some(&format!("Bearer {token}")),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert!(
        revoked.starts_with(&format!(
            "access token {id} has been revoked; ask an admin for a new one"
        )),
        "{revoked}"
    );

    // A token that lacks a scope its holder could get says where to get it.
    let pull_only = app
        .token_for(
            Some(("root", "root-password")),
            &["repository:acme/app:pull"],
        )
        .await;
    let insufficient = message(
        push(&app, "acme/app", &format!("Bearer {pull_only}")).await,
        StatusCode::FORBIDDEN,
        "DENIED",
    )
    .await;
    assert_eq!(
        insufficient,
        "the token does not include push access to acme/app; \
         get a token for the scope in WWW-Authenticate"
    );
}

#[tokio::test]
async fn an_exact_repository_grant_opens_that_repository_only() {
    let app = with_packages("", &["acme/greet", "acme/other", "acme/greeter"]).await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "acme/greet", "pull,push").await;
    let dev = basic("dev", "dev-password");

    let pull = get(&app, "/v2/acme/greet/manifests/1.0.0", Some(&dev)).await;
    assert_eq!(pull.status(), StatusCode::OK);
    let api = get(&app, "/api/v1/packages/acme/greet", Some(&dev)).await;
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(
        push(&app, "acme/greet", &dev).await.status(),
        StatusCode::ACCEPTED
    );
    for other in ["acme/other", "acme/greeter"] {
        assert_oci_error(
            get(&app, &format!("/v2/{other}/manifests/1.0.0"), Some(&dev)).await,
            StatusCode::FORBIDDEN,
            "DENIED",
        )
        .await;
        assert_oci_error(
            push(&app, other, &dev).await,
            StatusCode::FORBIDDEN,
            "DENIED",
        )
        .await;
        assert_oci_error(
            get(&app, &format!("/api/v1/packages/{other}"), Some(&dev)).await,
            StatusCode::FORBIDDEN,
            "DENIED",
        )
        .await;
    }
    // A token for the namespace holds only the granted repository.
    let token = app
        .token_for(
            Some(("dev", "dev-password")),
            &[
                "repository:acme/greet:pull,push",
                "repository:acme/other:pull,push",
            ],
        )
        .await;
    assert_eq!(
        integration_tests::auth::claims_of(&token)["access"],
        serde_json::json!([
            {"type": "repository", "name": "acme/greet", "actions": ["pull", "push"]}
        ])
    );
    let catalog: Value = get(&app, "/v2/_catalog", Some(&dev))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["repositories"], serde_json::json!(["acme/greet"]));
}

/// The package names `/api/v1/packages` lists for this caller.
async fn listed(app: &TestApp, authorization: Option<&str>) -> BTreeSet<String> {
    let response = get(app, "/api/v1/packages", authorization).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap().to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn a_signed_in_user_lists_only_the_packages_they_may_pull() {
    let app = with_packages(
        "anonymous_pull = [\"public/*\"]",
        &[
            "acme/app",
            "acme/lib",
            "team/tool",
            "secret/vault",
            "public/kit",
        ],
    )
    .await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "acme/*", "pull").await;
    app.grant("dev", "team/tool", "push").await;
    app.add_user("pusher", Some("pusher-password")).await;
    app.grant("pusher", "secret/vault", "push").await;

    let dev = basic("dev", "dev-password");
    assert_eq!(
        listed(&app, Some(&dev)).await,
        set(&["acme:app", "acme:lib", "public:kit"]),
        "push without pull does not list team/tool"
    );
    // The same through a JWT from the token flow.
    let jwt = app
        .token_for(Some(("dev", "dev-password")), &["registry:catalog:*"])
        .await;
    assert_eq!(
        listed(&app, Some(&format!("Bearer {jwt}"))).await,
        set(&["acme:app", "acme:lib", "public:kit"])
    );
    // And through an access token narrowed to one repository.
    let narrow = app.create_token("dev", None, &["acme/lib=pull"]).await;
    assert_eq!(
        listed(&app, Some(&format!("Bearer {narrow}"))).await,
        set(&["acme:lib"]),
        "a token's scopes narrow the listing too"
    );
    assert_eq!(
        listed(&app, Some(&basic("pusher", "pusher-password"))).await,
        set(&["public:kit"])
    );
    assert_eq!(listed(&app, None).await, set(&["public:kit"]));
    assert_eq!(
        listed(&app, Some(&basic("root", "root-password"))).await,
        set(&[
            "acme:app",
            "acme:lib",
            "team:tool",
            "secret:vault",
            "public:kit"
        ])
    );
}

#[tokio::test]
async fn wrong_credentials_get_401_even_where_anonymous_may_pull() {
    let app = with_packages("anonymous_pull = [\"public/*\"]", &["public/lib"]).await;
    app.add_user("dev", Some("dev-password")).await;
    // Anonymous callers may pull here...
    assert_eq!(
        get(&app, "/v2/public/lib/manifests/1.0.0", None)
            .await
            .status(),
        StatusCode::OK
    );
    // ...but credentials that are presented must be right: never a
    // downgrade to anonymous access.
    let wrong = [
        basic("dev", "wrong-password"),
        basic("no-such-user", "whatever-password"),
        format!("Bearer wkg_{}", "B".repeat(43)),
        "Bearer not.a.jwt".to_string(),
    ];
    for authorization in &wrong {
        for path in [
            "/v2/public/lib/manifests/1.0.0",
            "/v2/public/lib/tags/list",
            "/api/v1/packages/public/lib",
            "/api/v1/packages",
        ] {
            let response = get(&app, path, Some(authorization)).await;
            assert!(
                response.headers().contains_key("www-authenticate"),
                "{path}: a challenge to log in again"
            );
            assert_oci_error(response, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        }
    }
    // The token endpoint refuses them too instead of issuing an anonymous token.
    let token = integration_tests::http_client()
        .get(app.url("/v2/token"))
        .query(&[("scope", "repository:public/lib:pull")])
        .basic_auth("no-such-user", Some("whatever-password"))
        .send()
        .await
        .unwrap();
    assert_oci_error(token, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn challenges_never_echo_what_the_client_put_in_the_path() {
    let app = with_packages("", &[]).await;
    let realm = format!("Bearer realm=\"{}/v2/token\"", app.base);
    for path in [
        "/v2/x%22,realm=%22https:%2F%2Fevil.example%2Ftoken%22,service=%22x/manifests/1",
        "/v2/x%22,realm=%22https://evil.example/token%22,a=%22/manifests/1",
        "/v2/x%5C%22/tags/list",
        "/v2/Acme/App/manifests/1",
    ] {
        let response = get(&app, path, None).await;
        let status = response.status();
        assert!(status.is_client_error(), "{path}: {status}");
        if let Some(www) = response.headers().get("www-authenticate") {
            let www = www.to_str().unwrap();
            assert!(www.starts_with(&realm), "{path}: {www}");
            assert_eq!(www.matches("realm=").count(), 1, "{path}: {www}");
            assert!(
                !www.contains("evil") && !www.contains("scope="),
                "{path}: {www}"
            );
        }
    }
    // Names nobody validated yet are echoed no longer than a valid one.
    app.add_user("reader", Some("reader-password")).await;
    let huge = format!("/v2/{}/manifests/1", "a".repeat(60_000));
    for authorization in [None, Some(basic("reader", "reader-password"))] {
        let response = get(&app, &huge, authorization.as_deref()).await;
        assert!(response.status().is_client_error());
        let text = response.text().await.unwrap();
        assert!(text.len() < 1024, "{} bytes echoed", text.len());
    }
    // A valid repository still gets its scope named.
    let response = get(&app, "/v2/acme/app/manifests/1", None).await;
    let www = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(www.contains(",scope=\"repository:acme/app:pull\""), "{www}");
}

/// The first error's message, whatever the status.
async fn any_message(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let text = body["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (status, text)
}

#[tokio::test]
async fn parallel_guesses_are_checked_one_per_opening() {
    let app = with_packages("login_backoff = \"1h\"\npassword_queue = 64", &[]).await;
    app.add_user("alice", Some("alice-password")).await;
    let guesses = (0..64).map(|i| {
        let app = &app;
        async move {
            let credentials = basic("alice", &format!("guess-{i}"));
            any_message(get(app, "/v2/", Some(&credentials)).await).await
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|(_, m)| m.contains("wrong user name or password"))
        .count();
    let throttled = answers
        .iter()
        .filter(|(_, m)| m.contains("too many failed logins for this user"))
        .count();
    assert_eq!(checked, 5, "{answers:?}");
    assert_eq!(throttled, 59, "{answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn user_names_are_capped_and_an_address_has_a_budget() {
    let app = with_packages(
        "failed_logins_per_address = 3\nfailed_login_window = \"1h\"",
        &[],
    )
    .await;
    app.add_user("alice", Some("alice-password")).await;
    // Names no user can have cost nothing and are not echoed whole.
    for name in ["x".repeat(390_000), "a".repeat(65), "bad name/x".into()] {
        let (status, text) = any_message(
            integration_tests::http_client()
                .get(app.url("/v2/"))
                .basic_auth(&name, Some("pw"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status.as_u16() == 431,
            "{status}"
        );
        assert!(text.len() < 200, "{text}");
    }
    // A spray of valid names from one address runs out of budget.
    for user in ["u1", "u2", "u3"] {
        let (status, _) =
            any_message(get(&app, "/v2/", Some(&basic(user, "pw-guess"))).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let refused = get(&app, "/v2/", Some(&basic("u4", "pw-guess"))).await;
    assert!(refused.headers().contains_key("retry-after"));
    let text = message(refused, StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS").await;
    assert!(text.contains("from this address"), "{text}");
    // Access tokens are never throttled.
    let token = app.create_token("alice", None, &[]).await;
    let response = get(&app, "/v2/", Some(&format!("Bearer {token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Guesses of one password spread over many addresses (a botnet, or
/// addresses named through a trusted proxy) share the user's budget.
#[tokio::test]
async fn a_user_has_a_failed_login_budget_across_addresses() {
    let app = with_packages(
        "failed_logins_per_user = 4\nfailed_login_window = \"1h\"\n[server]\ntrusted_proxies = [\"127.0.0.1\"]",
        &[],
    )
    .await;
    app.add_user("alice", Some("alice-password")).await;
    let from = |n: u8, credentials: String| {
        integration_tests::http_client()
            .get(app.url("/v2/"))
            .header("authorization", credentials)
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .send()
    };
    for n in 1..=4 {
        let guess = from(n, basic("alice", &format!("guess-{n}")))
            .await
            .unwrap();
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED, "guess {n}");
    }
    // A fifth address gets no verification for alice, even with her
    // password: the budget is the user's, whoever asks.
    let refused = from(5, basic("alice", "guess-5")).await.unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    let text = message(refused, StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS").await;
    assert!(
        text.contains("too many failed logins for this user"),
        "{text}"
    );
    let with_password = from(6, basic("alice", "alice-password")).await.unwrap();
    assert_eq!(with_password.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other users from the same addresses, and alice's access tokens, go on.
    app.add_user("bob", Some("bob-password")).await;
    let bob = from(5, basic("bob", "bob-password")).await.unwrap();
    assert_eq!(bob.status(), StatusCode::OK);
    let token = app.create_token("alice", None, &[]).await;
    let alice_token = from(7, format!("Bearer {token}")).await.unwrap();
    assert_eq!(alice_token.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_guesser_at_the_same_address_cannot_lock_out_a_signed_in_user() {
    let app = with_packages("login_backoff = \"1h\"", &[]).await;
    app.add_user("alice", Some("alice-password")).await;
    let alice = basic("alice", "alice-password");
    assert_eq!(
        get(&app, "/v2/", Some(&alice)).await.status(),
        StatusCode::OK
    );
    for i in 0..8 {
        let guess = basic("alice", &format!("guess-{i}"));
        assert_eq!(
            get(&app, "/v2/", Some(&guess)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The door is closed for guesses, but alice's proven password works.
    let (_, text) = any_message(get(&app, "/v2/", Some(&basic("alice", "guess-9"))).await).await;
    assert!(text.contains("too many failed logins"), "{text}");
    assert_eq!(
        get(&app, "/v2/", Some(&alice)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn password_checks_beyond_the_queue_get_503_never_more_memory() {
    let app = with_packages(
        "password_verifications = 1\npassword_queue = 8\nfailed_logins_per_address = 100000",
        &[],
    )
    .await;
    let token = app.create_token("root", None, &[]).await;
    let bad_logins = (0..48).map(|i| {
        let app = &app;
        async move {
            let response = get(app, "/v2/", Some(&basic(&format!("nobody{i}"), "pw"))).await;
            let status = response.status();
            let retry = response.headers().contains_key("retry-after");
            let body: Value = response.json().await.unwrap();
            (
                status,
                retry,
                body["errors"][0]["code"].as_str().unwrap().to_string(),
            )
        }
    });
    let pulls = (0..4).map(|_| {
        let app = &app;
        let token = &token;
        async move {
            get(app, "/v2/_catalog", Some(&format!("Bearer {token}")))
                .await
                .status()
        }
    });
    let (answers, pulled) = tokio::join!(
        futures::future::join_all(bad_logins),
        futures::future::join_all(pulls)
    );
    for (status, retry, code) in &answers {
        match status.as_u16() {
            401 => assert_eq!(code, "UNAUTHORIZED"),
            503 => assert!(*retry && code == "TOOMANYREQUESTS", "{answers:?}"),
            other => panic!("{other}: {answers:?}"),
        }
    }
    assert!(pulled.iter().all(|s| *s == StatusCode::OK), "{pulled:?}");
}

/// A burst of unknown user names right after start-up, before anything
/// made the dummy hash unknown users are checked against: one Argon2 hash
/// (about 19 MiB) may run per verification slot, never one per request.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_unknown_users_at_start_up_stays_within_the_verification_slots() {
    let data = tempfile::TempDir::new().unwrap();
    let gateway = integration_tests::GatewayProcess::start_on_test_backends(
        env!("CARGO_BIN_EXE_wkg-gateway-test-server"),
        data.path(),
        &[
            ("WKG_GATEWAY_AUTH__MODE", "token"),
            ("WKG_GATEWAY_AUTH__PASSWORD_VERIFICATIONS", "2"),
            ("WKG_GATEWAY_AUTH__PASSWORD_QUEUE", "8"),
            ("WKG_GATEWAY_AUTH__FAILED_LOGINS_PER_ADDRESS", "100000"),
        ],
    )
    .await;
    let client = integration_tests::http_client();
    let before = gateway.peak_rss();
    let guesses = (0..96).map(|i| {
        let request = client
            .get(format!("{}/v2/", gateway.base))
            .header("authorization", basic(&format!("stranger{i}"), "pw"));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(guesses).await;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    let grown = gateway.peak_rss().saturating_sub(before);
    assert!(
        grown < 300 * 1024 * 1024,
        "peak RSS grew by {} MiB during 96 unknown-user logins",
        grown / (1024 * 1024)
    );
}

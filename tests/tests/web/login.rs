//! The package browser on a private registry (`[auth] mode = "token"`):
//! pages show only what the reader may pull, a package one may not pull is
//! a 404, sign-in sets a short-lived HttpOnly SameSite=Strict cookie, and
//! forms without the right CSRF token are refused.

use crate::web::support::page;
use integration_tests::TestApp;
use reqwest::redirect::Policy;
use reqwest::{Client, Response};

/// A browser-like client: no automatic redirects, cookies kept by hand
/// (the harness's reqwest has no cookie store).
struct Browser {
    client: Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new() -> Self {
        integration_tests::install_crypto();
        Self {
            client: Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the response's cookies (an empty value or `Max-Age=0` deletes).
    fn remember(&mut self, response: &Response) -> Vec<String> {
        let set: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("cookie text").to_string())
            .collect();
        for line in &set {
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() && !line.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        set
    }

    async fn get(&mut self, url: &str) -> (u16, String) {
        let response = self
            .client
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.remember(&response);
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn post<V: serde::Serialize>(
        &mut self,
        url: &str,
        form: &[(&str, V)],
    ) -> (Response, Vec<String>) {
        let response = self
            .client
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("POST");
        let set = self.remember(&response);
        (response, set)
    }
}

/// The CSRF token in a page's forms.
fn csrf_field(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("csrf field") + 19;
    html[start..start + 64].to_string()
}

/// `acme/*` public; `secret/vault` and `tools/lint` private; alice may
/// pull `secret/*`.
async fn private_registry() -> TestApp {
    crate::web::support::private_registry(&["acme/*"]).await
}

#[tokio::test]
async fn private_packages_appear_only_after_sign_in() {
    let app = private_registry().await;
    let mut browser = Browser::new();

    // Anonymous: the public packages, a sign-in link, and 404s for the rest.
    let (status, home) = browser.get(&app.url("/")).await;
    assert_eq!(status, 200);
    assert!(home.contains("acme:hello") && home.contains(r#"<a href="/login">Sign in</a>"#));
    assert!(
        !home.contains("secret:vault") && !home.contains("tools:lint"),
        "{home}"
    );
    assert!(
        !home.contains("/search?namespace=secret"),
        "namespaces leak nothing"
    );
    for path in ["/packages/secret/vault", "/packages/secret/vault/1.0.0"] {
        let (status, body) = browser.get(&app.url(path)).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("or you may not see it"), "{body}");
    }
    let (_, search) = browser.get(&app.url("/search?q=vault")).await;
    assert!(search.contains("No packages match"), "{search}");

    // Sign in, coming back to the private package.
    let (status, form) = browser.get(&app.url("/login")).await;
    assert_eq!(status, 200);
    assert!(form.contains(r#"<label for="password">Password or access token</label>"#));
    let csrf = csrf_field(&form);
    let (response, set) = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("next", "/packages/secret/vault"),
                ("username", "alice"),
                ("password", "alice-password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/packages/secret/vault");
    let session = set
        .iter()
        .find(|c| c.starts_with("wkg-session=") && !c.starts_with("wkg-session=;"))
        .expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=900"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain-http registry: {session}"
    );
    let jwt = session["wkg-session=".len()..].split(';').next().unwrap();
    let claims = integration_tests::auth::claims_of(jwt);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["access"][0]["name"], "catalog");

    let (status, vault) = browser.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 200, "{vault}");
    assert!(
        vault.contains("Keeps secrets") && vault.contains("Signed in as <strong>alice</strong>")
    );
    let (_, home) = browser.get(&app.url("/")).await;
    assert!(
        home.contains("secret:vault") && !home.contains("tools:lint"),
        "{home}"
    );
    let (status, _) = browser.get(&app.url("/packages/tools/lint")).await;
    assert_eq!(status, 404, "alice may not pull tools/*");

    // Sign out: the cookie is cleared and the package is hidden again.
    let csrf = csrf_field(&vault);
    let (response, set) = browser
        .post(&app.url("/logout"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(response.status(), 303);
    assert!(
        set.iter()
            .any(|c| c.starts_with("wkg-session=;") && c.contains("Max-Age=0")),
        "{set:?}"
    );
    let (status, _) = browser.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 404);

    // The signed-out session's token is dead, not only forgotten: a copy
    // of the cookie taken before opens neither the page nor the API.
    let mut thief = Browser::new();
    thief
        .cookies
        .push(("wkg-session".to_string(), jwt.to_string()));
    let (status, _) = thief.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 404);
    let pulled = integration_tests::http_client()
        .get(app.url("/v2/secret/vault/tags/list"))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    integration_tests::assert_oci_error(pulled, reqwest::StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
        .await;
}

#[tokio::test]
async fn sign_in_refuses_wrong_secrets_and_forged_forms() {
    let app = private_registry().await;
    let mut browser = Browser::new();
    let (_, form) = browser.get(&app.url("/login")).await;
    let csrf = csrf_field(&form);

    let (response, set) = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
    assert!(set.iter().all(|c| !c.starts_with("wkg-session=")));
    let body = response.text().await.unwrap();
    assert!(
        body.contains(r#"role="alert">Wrong user name, password or access token"#),
        "{body}"
    );
    assert!(
        body.contains(r#"value="alice""#),
        "the user name stays filled in"
    );

    // A post whose CSRF field does not match the cookie, or without the
    // cookie (another site's form), is refused before the password is read.
    let forged = [
        ("csrf", "0".repeat(64)),
        ("username", "alice".into()),
        ("password", "alice-password".into()),
    ];
    let (response, set) = browser.post(&app.url("/login"), &forged).await;
    assert_eq!(response.status(), 403);
    assert!(set.iter().all(|c| !c.starts_with("wkg-session=")));
    let mut stranger = Browser::new();
    let with_token = [
        ("csrf", csrf.clone()),
        ("username", "alice".into()),
        ("password", "alice-password".into()),
    ];
    let (response, _) = stranger.post(&app.url("/login"), &with_token).await;
    assert_eq!(response.status(), 403, "no CSRF cookie");
    let (response, _) = browser
        .post(
            &app.url("/login"),
            &[("csrf", csrf.as_str()), ("username", "alice")],
        )
        .await;
    assert_eq!(response.status(), 401, "missing password");

    // Signed in, a forged sign-out is refused and the session stays.
    let (response, _) = browser.post(&app.url("/login"), &with_token).await;
    assert_eq!(response.status(), 303);
    let (response, _) = browser.post(&app.url("/logout"), &[("csrf", "nope")]).await;
    assert_eq!(response.status(), 403);
    let (status, _) = browser.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 200, "still signed in");

    // A session token that no longer verifies reads as anonymous and is cleared.
    browser.cookies.retain(|(k, _)| k != "wkg-session");
    browser
        .cookies
        .push(("wkg-session".into(), "not.a.jwt".into()));
    let response = browser
        .client
        .get(app.url("/packages/secret/vault"))
        .header("cookie", browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let cleared = browser.remember(&response);
    assert!(
        cleared.iter().any(|c| c.starts_with("wkg-session=;")),
        "{cleared:?}"
    );
}

#[tokio::test]
async fn access_tokens_sign_in_unless_narrowed() {
    let app = private_registry().await;
    let full = app.create_token("alice", None, &[]).await;
    let narrow = app
        .create_token("alice", None, &["secret/other=pull"])
        .await;
    let mut browser = Browser::new();
    let (_, form) = browser.get(&app.url("/login")).await;
    let csrf = csrf_field(&form);
    let (response, _) = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", narrow.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("limited to some repositories")
    );
    let (response, _) = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", full.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, _) = browser.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn https_registries_get_secure_host_only_cookies() {
    let app = TestApp::spawn_with(
        "public_url = \"https://registry.example.com\"\n[auth]\nmode = \"token\"\n",
    )
    .await;
    app.add_user("alice", Some("alice-password")).await;
    let mut browser = Browser::new();
    let (status, form) = browser.get(&app.url("/login")).await;
    assert_eq!(status, 200);
    assert!(browser.cookies.iter().any(|(k, _)| k == "__Host-wkg-csrf"));
    let csrf = csrf_field(&form);
    let (response, set) = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-wkg-session="))
        .expect("session cookie");
    assert!(
        session.contains("; Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    // The page test helper works on token-mode gateways too (anonymous).
    let home = page(&app.client, &app.url("/"), 200).await;
    assert!(home.contains("Sign in"));
}

/// Signs `browser` in as alice with `secret` (her password or a token).
async fn sign_in(app: &TestApp, browser: &mut Browser, secret: &str) {
    let (_, form) = browser.get(&app.url("/login")).await;
    let csrf = csrf_field(&form);
    let (response, _) = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", secret),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "sign-in with {secret:?}");
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_password_session() {
    let app = private_registry().await;
    let (mut laptop, mut phone) = (Browser::new(), Browser::new());
    sign_in(&app, &mut laptop, "alice-password").await;
    sign_in(&app, &mut phone, "alice-password").await;
    let token = app.create_token("alice", None, &[]).await;
    let mut robot = Browser::new();
    sign_in(&app, &mut robot, &token).await;

    // A session from an access token is not offered the button, and its
    // post of the field signs out only itself.
    let (_, robot_page) = robot.get(&app.url("/packages/secret/vault")).await;
    assert!(!robot_page.contains("Sign out everywhere"), "{robot_page}");
    let csrf = csrf_field(&robot_page);
    let (response, _) = robot
        .post(
            &app.url("/logout"),
            &[("csrf", csrf.as_str()), ("everywhere", "1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (status, _) = laptop.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 200, "the laptop is still signed in");

    let (_, page) = phone.get(&app.url("/packages/secret/vault")).await;
    assert!(page.contains("Sign out everywhere"), "{page}");
    let csrf = csrf_field(&page);
    let (response, _) = phone
        .post(
            &app.url("/logout"),
            &[("csrf", csrf.as_str()), ("everywhere", "1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    for (name, browser) in [("phone", &mut phone), ("laptop", &mut laptop)] {
        let (status, _) = browser.get(&app.url("/packages/secret/vault")).await;
        assert_eq!(status, 404, "{name} is signed out");
    }
    // The password signs in again, and the access token still works.
    sign_in(&app, &mut laptop, "alice-password").await;
    let (status, _) = laptop.get(&app.url("/packages/secret/vault")).await;
    assert_eq!(status, 200);
    let pulled = integration_tests::http_client()
        .get(app.url("/v2/secret/vault/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), 200);
}

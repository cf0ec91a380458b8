//! Helpers for gateways in `[auth] mode = "token"`: users, grants and
//! tokens made through the same admin operations the CLI uses, and
//! credentials as clients send them.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;
use wkg_gateway::auth::admin;

use crate::TestApp;

impl TestApp {
    /// A gateway with token auth; `extra` adds lines to `[auth]`.
    pub async fn spawn_token_mode(extra: &str) -> Self {
        Self::spawn_with(&format!("[auth]\nmode = \"token\"\n{extra}\n")).await
    }

    /// A token-mode gateway (`extra` in `[auth]`) with `root` (admin on
    /// `*`, password `root-password`) authenticating `self.client`, and a
    /// component published as `1.0.0` in each of `repositories`.
    pub async fn token_mode_with_packages(extra: &str, repositories: &[&str]) -> Self {
        let mut app = Self::spawn_token_mode(extra).await;
        app.add_user("root", Some("root-password")).await;
        app.grant("root", "*", "admin").await;
        app.authenticate_client_as("root", "root-password");
        for repo in repositories {
            let (response, _) = app
                .publish_wasm(
                    repo,
                    "1.0.0",
                    &crate::fixtures::component(),
                    "2024-01-01T00:00:00Z",
                )
                .await;
            assert_eq!(response.status(), 201, "publish {repo}");
        }
        app
    }

    /// Adds a user (a robot when `password` is `None`).
    pub async fn add_user(&self, name: &str, password: Option<&str>) {
        admin::add_user(&self.app.db, name, password.map(str::to_string))
            .await
            .expect("add user");
    }

    pub async fn grant(&self, name: &str, pattern: &str, actions: &str) {
        admin::grant(&self.app.db, name, pattern, actions)
            .await
            .expect("grant");
    }

    /// Creates an access token and returns its secret.
    pub async fn create_token(&self, user: &str, ttl: Option<Duration>, scopes: &[&str]) -> String {
        self.create_token_with_id(user, ttl, scopes).await.1
    }

    /// Creates an access token and returns its id and secret.
    pub async fn create_token_with_id(
        &self,
        user: &str,
        ttl: Option<Duration>,
        scopes: &[&str],
    ) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let rules = admin::parse_scopes(&scopes).expect("scopes");
        let created = admin::create_token(&self.app.db, user, "test", ttl, &rules)
            .await
            .expect("create token");
        (created.token.id, created.secret)
    }

    /// Makes `self.client` send these Basic credentials on every request
    /// (so the harness's push helpers work against a token-mode gateway).
    pub fn authenticate_client_as(&mut self, user: &str, password: &str) {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&basic(user, password)).expect("header"),
        );
        crate::install_crypto();
        self.client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client");
    }

    /// A token from `GET /v2/token` for `scopes`, with Basic credentials
    /// when given.
    pub async fn token_for(&self, credentials: Option<(&str, &str)>, scopes: &[&str]) -> String {
        let mut request = crate::http_client().get(self.url("/v2/token"));
        for scope in scopes {
            request = request.query(&[("scope", scope)]);
        }
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.expect("token request");
        assert_eq!(response.status(), 200, "token request failed");
        let body: Value = response.json().await.expect("token json");
        body["token"].as_str().expect("token").to_string()
    }
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The claims of a JWT, unverified (for assertions).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

impl TestApp {
    /// `GET /v2/token` with an `Authorization` header (or none), the given
    /// scopes, and `offline_token=true` when `offline`.
    pub async fn mint(
        &self,
        authorization: Option<&str>,
        scopes: &[&str],
        offline: bool,
    ) -> reqwest::Response {
        let mut request = crate::http_client().get(self.url("/v2/token"));
        for scope in scopes {
            request = request.query(&[("scope", scope)]);
        }
        if offline {
            request = request.query(&[("offline_token", "true")]);
        }
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        request.send().await.expect("token request")
    }

    /// `POST /v2/token` with `grant_type=refresh_token` for `scopes`.
    pub async fn refresh_with(&self, refresh_token: &str, scopes: &[&str]) -> reqwest::Response {
        let scope = scopes.join(" ");
        crate::http_client()
            .post(self.url("/v2/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("scope", scope.as_str()),
                ("service", self.authority.as_str()),
            ])
            .send()
            .await
            .expect("refresh request")
    }

    /// A `method` request to `path` with an `Authorization` header.
    pub async fn send_as(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: &str,
    ) -> reqwest::Response {
        crate::http_client()
            .request(method, self.url(path))
            .header(AUTHORIZATION, authorization)
            .send()
            .await
            .expect("request")
    }
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The `field` of a successful token answer.
pub async fn token_field(response: reqwest::Response, field: &str) -> String {
    assert_eq!(response.status(), 200, "token request failed");
    let body: Value = response.json().await.expect("token json");
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        .to_string()
}

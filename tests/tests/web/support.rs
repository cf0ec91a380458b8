//! A registry seeded for the web page tests (`web::*`, `external::browser`,
//! `external::crawl`): WIT packages with a dependency between them,
//! components with full metadata and imports, a yanked version, a
//! pre-release, two namespaces.

use integration_tests::TestApp;
use reqwest::StatusCode;
use wasm_metadata::{
    AddMetadata, AddMetadataField, Authors, Description, Homepage, Licenses, Source,
};

/// `acme:types`, the dependency of `acme:greet`.
pub const TYPES_WIT: &str = "package acme:types@1.0.0;\n\n\
    /// Names of people.\n\
    interface names {\n  type name = string;\n}\n";

/// `acme:greet` at `version`: an interface using `acme:types`, and a world.
pub fn greet_wit(version: &str) -> String {
    format!(
        "package acme:greet@{version};\n\n\
         /// Greets people.\n\
         interface greeter {{\n  use acme:types/names@1.0.0.{{name}};\n\n\
         \x20 record options {{\n    loud: bool,\n    times: u32,\n  }}\n\n\
         \x20 greet: func(who: name, opts: options) -> string;\n}}\n\n\
         world hello {{\n  export greeter;\n}}\n\n\
         package acme:types@1.0.0 {{\n  interface names {{\n    type name = string;\n  }}\n}}\n"
    )
}

/// A component that imports `acme:greet/greeter` and exports `run`, with
/// every metadata field set.
pub fn hello_component(description: &str) -> Vec<u8> {
    let wasm = wat::parse_str(
        r#"(component
             (import "acme:greet/greeter@1.0.0" (instance (export "hi" (func))))
             (core module $m (func (export "run") (result i32) i32.const 42))
             (core instance $i (instantiate $m))
             (func (export "run") (result s32) (canon lift (core func $i "run"))))"#,
    )
    .expect("valid component text");
    with_metadata(&wasm, description, "Apache-2.0 OR MIT", "hello")
}

/// `wasm` with the metadata `wkg` or `cargo component` embed: description,
/// licenses, authors, and source and homepage URLs named after `project`.
pub fn with_metadata(wasm: &[u8], description: &str, licenses: &str, project: &str) -> Vec<u8> {
    let mut add = AddMetadata::default();
    add.description = AddMetadataField::Set(Description::new(description.to_string()));
    add.licenses = AddMetadataField::Set(Licenses::new(licenses).expect("SPDX"));
    add.authors = AddMetadataField::Set(Authors::new("Ada <ada@example.com>"));
    let source = format!("https://example.com/acme/{project}");
    add.source = AddMetadataField::Set(Source::new(&source).expect("URL"));
    let homepage = format!("https://example.com/{project}");
    add.homepage = AddMetadataField::Set(Homepage::new(&homepage).expect("URL"));
    add.to_wasm(wasm).expect("metadata added")
}

pub async fn publish(app: &TestApp, repo: &str, version: &str, wasm: &[u8]) {
    let (response, _) = app
        .publish_wasm(repo, version, wasm, "2026-11-01T00:00:00Z")
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "publish {repo}:{version}: {}",
        response.text().await.unwrap_or_default()
    );
}

/// A token-mode gateway with the standard content, where only `public`
/// (patterns such as `acme/*`) may be pulled anonymously: `publisher` may
/// push anywhere and signs the harness client in, `secret/vault` is a
/// private package, and `alice` (`alice-password`) may pull `secret/*`.
pub async fn private_registry(public: &[&str]) -> TestApp {
    let public: Vec<String> = public.iter().map(|p| format!("{p:?}")).collect();
    let app = TestApp::builder()
        .auth(&format!("anonymous_pull = [{}]", public.join(", ")))
        .user("publisher", "publisher-pw")
        .grant("publisher", "*", "push")
        .client_as("publisher", "publisher-pw")
        .user("alice", "alice-password")
        .grant("alice", "secret/*", "pull")
        .spawn()
        .await;
    seed(&app).await;
    let vault = integration_tests::fixtures::component_with_metadata("Keeps secrets", "MIT");
    publish(&app, "secret/vault", "1.0.0", &vault).await;
    app
}

/// Publishes the standard content (oldest first) and yanks
/// `acme:greet@0.9.0`. `app.client` must be allowed to push.
pub async fn seed(app: &TestApp) {
    use integration_tests::fixtures::{component_with_metadata, wit_package};
    publish(app, "acme/types", "1.0.0", &wit_package(TYPES_WIT)).await;
    for version in ["0.9.0", "1.0.0", "1.1.0-rc.1"] {
        let wit = with_metadata(
            &wit_package(&greet_wit(version)),
            "Greets people, loudly or politely",
            "Apache-2.0",
            "greet",
        );
        publish(app, "acme/greet", version, &wit).await;
    }
    publish(
        app,
        "tools/lint",
        "0.1.0",
        &component_with_metadata("Lints WIT files", "MIT"),
    )
    .await;
    publish(app, "acme/hello", "1.0.0", &hello_component("Says hello")).await;
    publish(
        app,
        "acme/hello",
        "1.2.0",
        &hello_component("Says hello, politely"),
    )
    .await;
    let yank = app
        .client
        .post(app.url("/api/v1/packages/acme/greet/0.9.0/yank"))
        .send()
        .await
        .expect("yank");
    assert_eq!(yank.status(), StatusCode::OK, "yank");
}

/// A page's body, asserting its status and that it is HTML.
pub async fn page(client: &reqwest::Client, url: &str, status: u16) -> String {
    let response = client.get(url).send().await.expect("page request");
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.expect("page body");
    assert_eq!(actual, status, "GET {url}: {body}");
    assert_eq!(content_type, "text/html; charset=utf-8", "GET {url}");
    body
}

//! The package API: what the gateway indexed from pushed Wasm packages.

use integration_tests::{TestApp, assert_oci_error, fixtures, sha256_digest};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WIT: &str = r#"
package example:greeter@0.2.0;

/// Says hello.
interface greet {
    hello: func(name: string) -> string;
}

world greeter {
    export greet;
}
"#;

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn publish(app: &TestApp, repo: &str, version: &str, wasm: &[u8]) {
    let (response, _) = app
        .publish_wasm(repo, version, wasm, "2026-11-24T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{repo}:{version}");
}

#[tokio::test]
async fn versions_metadata_wit_and_content() {
    let app = TestApp::spawn().await;
    let component = fixtures::component_with_metadata("A friendly component", "Apache-2.0");
    for version in ["0.1.0", "0.2.0", "1.0.0-rc.1", "0.10.0"] {
        publish(&app, "demo/hello", version, &component).await;
    }
    let wit = fixtures::wit_package(WIT);
    publish(&app, "example/greeter", "0.2.0", &wit).await;

    let package = get_json(&app, "/api/v1/packages/demo/hello").await;
    assert_eq!(package["package"], "demo:hello");
    let versions: Vec<&str> = package["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["1.0.0-rc.1", "0.10.0", "0.2.0", "0.1.0"],
        "newest first by semver"
    );
    assert_eq!(package["latest"], "1.0.0-rc.1");
    assert_eq!(package["latestStable"], "0.10.0");
    assert_eq!(
        package["versions"][0]["description"],
        "A friendly component"
    );

    let detail = get_json(&app, "/api/v1/packages/demo/hello/0.2.0").await;
    assert_eq!(detail["kind"], "component");
    assert_eq!(detail["size"], component.len());
    assert_eq!(detail["layerDigest"], sha256_digest(&component));
    assert_eq!(detail["metadata"]["description"], "A friendly component");
    assert_eq!(detail["metadata"]["licenses"], "Apache-2.0");
    assert_eq!(
        detail["annotations"]["org.opencontainers.image.version"],
        "1.0.0"
    );
    assert_eq!(detail["yanked"], false);
    assert!(detail["publishedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(detail["wit"]["exports"], json!(["run"]));

    let content = app
        .client
        .get(app.url("/api/v1/packages/demo/hello/0.2.0/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.headers()["content-type"], "application/wasm");
    assert_eq!(
        content.bytes().await.unwrap().as_ref(),
        component.as_slice()
    );

    let detail = get_json(&app, "/api/v1/packages/example/greeter/0.2.0").await;
    assert_eq!(detail["kind"], "wit");
    assert_eq!(detail["wit"]["package"], "example:greeter@0.2.0");
    assert_eq!(detail["wit"]["worlds"], json!(["greeter"]));
    assert_eq!(detail["wit"]["interfaces"], json!(["greet"]));
    let text = app
        .client
        .get(app.url("/api/v1/packages/example/greeter/0.2.0/wit"))
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::OK);
    let text = text.text().await.unwrap();
    assert!(
        text.contains("package example:greeter@0.2.0")
            && text.contains("hello: func(name: string) -> string"),
        "{text}"
    );
}

#[tokio::test]
async fn list_search_and_paginate() {
    let app = TestApp::spawn().await;
    publish(
        &app,
        "acme/alpha",
        "1.0.0",
        &fixtures::component_with_metadata("Parses TOML", "MIT"),
    )
    .await;
    publish(&app, "acme/beta", "1.0.0", &fixtures::component()).await;
    publish(
        &app,
        "example/greeter",
        "0.2.0",
        &fixtures::wit_package(WIT),
    )
    .await;
    publish(&app, "zeta/omega", "0.1.0", &fixtures::component()).await;
    // Plain OCI content and repositories that are not ns/name are not packages.
    app.push_artifact("acme/plain", "1.0.0", b"not wasm").await;
    publish(&app, "too/many/parts", "1.0.0", &fixtures::component()).await;

    let all = get_json(&app, "/api/v1/packages").await;
    let names: Vec<&str> = all["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["acme:alpha", "acme:beta", "example:greeter", "zeta:omega"]
    );
    assert_eq!(all["nextCursor"], Value::Null);

    let page = get_json(&app, "/api/v1/packages?limit=3").await;
    assert_eq!(page["packages"].as_array().unwrap().len(), 3);
    assert_eq!(page["nextCursor"], "example:greeter");
    let rest = get_json(&app, "/api/v1/packages?limit=3&cursor=example:greeter").await;
    assert_eq!(rest["packages"][0]["package"], "zeta:omega");
    assert_eq!(rest["nextCursor"], Value::Null);

    let in_acme = get_json(&app, "/api/v1/packages?namespace=acme").await;
    assert_eq!(in_acme["packages"].as_array().unwrap().len(), 2);
    for (q, expected) in [
        ("toml", "acme:alpha"),
        ("GREET", "example:greeter"),
        ("omeg", "zeta:omega"),
    ] {
        let found = get_json(&app, &format!("/api/v1/packages?q={q}")).await;
        let names: Vec<&str> = found["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["package"].as_str().unwrap())
            .collect();
        assert_eq!(names, [expected], "q={q}");
    }
    let none = get_json(&app, "/api/v1/packages?q=%25").await;
    assert_eq!(none["packages"], json!([]), "LIKE wildcards are literal");

    for bad in [
        "limit=0",
        "limit=100000",
        "namespace=Bad_NS",
        "cursor=nonsense",
        "limit=x",
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/packages?{bad}")))
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == StatusCode::BAD_REQUEST,
            "{bad}: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn resolve_and_yank() {
    let app = TestApp::spawn().await;
    for version in ["0.2.0", "0.2.5", "0.3.0", "1.0.0"] {
        publish(&app, "acme/lib", version, &fixtures::component()).await;
    }
    assert_eq!(
        get_json(&app, "/api/v1/packages/acme/lib/resolve?req=%5E0.2").await["version"],
        "0.2.5"
    );
    assert_eq!(
        get_json(&app, "/api/v1/packages/acme/lib/resolve").await["version"],
        "1.0.0"
    );

    let yank = app
        .client
        .post(app.url("/api/v1/packages/acme/lib/0.2.5/yank"))
        .send()
        .await
        .unwrap();
    assert_eq!(yank.status(), StatusCode::OK);
    assert_eq!(yank.json::<Value>().await.unwrap()["yanked"], true);
    assert_eq!(
        get_json(&app, "/api/v1/packages/acme/lib/resolve?req=%5E0.2").await["version"],
        "0.2.0"
    );
    // Still downloadable by exact version.
    let content = app
        .client
        .get(app.url("/api/v1/packages/acme/lib/0.2.5/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    let yank = app
        .client
        .post(app.url("/api/v1/packages/acme/lib/1.0.0/yank"))
        .send()
        .await
        .unwrap();
    assert_eq!(yank.status(), StatusCode::OK);
    assert_eq!(
        get_json(&app, "/api/v1/packages/acme/lib").await["latest"],
        "0.3.0"
    );
    let unyank = app
        .client
        .post(app.url("/api/v1/packages/acme/lib/1.0.0/unyank"))
        .send()
        .await
        .unwrap();
    assert_eq!(unyank.json::<Value>().await.unwrap()["yanked"], false);
    assert_eq!(
        get_json(&app, "/api/v1/packages/acme/lib").await["latest"],
        "1.0.0"
    );

    let none = app
        .client
        .get(app.url("/api/v1/packages/acme/lib/resolve?req=%5E9"))
        .send()
        .await
        .unwrap();
    assert_oci_error(none, StatusCode::NOT_FOUND, "VERSION_UNKNOWN").await;
    let bad = app
        .client
        .get(app.url("/api/v1/packages/acme/lib/resolve?req=banana"))
        .send()
        .await
        .unwrap();
    assert_oci_error(bad, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
}

#[tokio::test]
async fn unknown_and_invalid_names() {
    let app = TestApp::spawn().await;
    publish(&app, "acme/lib", "0.1.0", &fixtures::component()).await;
    let cases = [
        (
            "/api/v1/packages/acme/nothing",
            StatusCode::NOT_FOUND,
            "PACKAGE_UNKNOWN",
        ),
        (
            "/api/v1/packages/acme/lib/9.9.9",
            StatusCode::NOT_FOUND,
            "VERSION_UNKNOWN",
        ),
        (
            "/api/v1/packages/acme/lib/9.9.9/wit",
            StatusCode::NOT_FOUND,
            "VERSION_UNKNOWN",
        ),
        (
            "/api/v1/packages/acme/lib/9.9.9/content",
            StatusCode::NOT_FOUND,
            "VERSION_UNKNOWN",
        ),
        (
            "/api/v1/packages/acme/lib/latest",
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        ),
        (
            "/api/v1/packages/Acme/lib",
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
        ),
        (
            "/api/v1/packages/acme/lib_x/0.1.0",
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
        ),
        (
            "/api/v1/packages/acme/nothing/resolve",
            StatusCode::NOT_FOUND,
            "PACKAGE_UNKNOWN",
        ),
    ];
    for (path, status, code) in cases {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_oci_error(response, status, code).await;
    }
    let module = wat::parse_str("(module)").unwrap();
    publish(&app, "acme/module", "0.1.0", &module).await;
    let wit = app
        .client
        .get(app.url("/api/v1/packages/acme/module/0.1.0/wit"))
        .send()
        .await
        .unwrap();
    assert_oci_error(wit, StatusCode::NOT_FOUND, "WIT_UNAVAILABLE").await;
    assert_eq!(
        get_json(&app, "/api/v1/packages/acme/module/0.1.0").await["kind"],
        "module"
    );

    let yank = app
        .client
        .post(app.url("/api/v1/packages/acme/lib/9.9.9/yank"))
        .send()
        .await
        .unwrap();
    assert_oci_error(yank, StatusCode::NOT_FOUND, "VERSION_UNKNOWN").await;
    let put = app
        .client
        .put(app.url("/api/v1/packages/acme/lib"))
        .send()
        .await
        .unwrap();
    assert_oci_error(put, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
}

#[tokio::test]
async fn the_namespace_prefix_maps_packages_to_repositories() {
    let app = TestApp::spawn_with("[registry]\nnamespace_prefix = \"wasm/\"\n").await;
    publish(&app, "wasm/acme/lib", "1.0.0", &fixtures::component()).await;
    // Without the prefix, the repository is not a package of this registry.
    publish(&app, "acme/other", "1.0.0", &fixtures::component()).await;

    let detail = get_json(&app, "/api/v1/packages/acme/lib/1.0.0").await;
    assert_eq!(detail["repository"], "wasm/acme/lib");
    let listed = get_json(&app, "/api/v1/packages").await;
    let names: Vec<&str> = listed["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme:lib"]);
    let other = app
        .client
        .get(app.url("/api/v1/packages/acme/other"))
        .send()
        .await
        .unwrap();
    assert_oci_error(other, StatusCode::NOT_FOUND, "PACKAGE_UNKNOWN").await;
}

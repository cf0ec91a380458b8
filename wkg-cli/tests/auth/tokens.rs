//! Credentials end to end: the Docker token flow against a registry on loopback that
//! challenges every request, with credentials from config.toml or Docker's config.json.

use std::sync::{Arc, Mutex};

use crate::common::{Env, ok, run};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use integration_tests::{fixtures, sha256_digest};

const TOKEN: &str = "tok-123";
/// base64 of `alice:s3cret`.
const BASIC: &str = "Basic YWxpY2U6czNjcmV0";

struct Registry {
    realm: String,
    wasm: Vec<u8>,
    config: Vec<u8>,
    /// (query, Authorization) of every token request.
    token_requests: Mutex<Vec<(String, String)>>,
}

type Shared = State<Arc<Registry>>;

impl Registry {
    /// A 401 with a Bearer challenge, unless the request carries the token.
    fn denied(&self, headers: &HeaderMap) -> Option<Response> {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if auth == Some(&format!("Bearer {TOKEN}")) {
            return None;
        }
        let challenge = format!("Bearer realm=\"{}\",service=\"fake-registry\"", self.realm);
        Some(
            (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#,
        )
            .into_response(),
        )
    }
}

async fn token(
    State(registry): Shared,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    registry
        .token_requests
        .lock()
        .unwrap()
        .push((query, auth.clone()));
    if auth != BASIC {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    axum::Json(serde_json::json!({ "token": TOKEN })).into_response()
}

async fn v2(State(registry): Shared, headers: HeaderMap) -> Response {
    registry
        .denied(&headers)
        .unwrap_or_else(|| "{}".into_response())
}

async fn tags(State(registry): Shared, headers: HeaderMap) -> Response {
    if let Some(denied) = registry.denied(&headers) {
        return denied;
    }
    axum::Json(serde_json::json!({"name": "acme/locked", "tags": ["1.0.0"]})).into_response()
}

async fn manifest(State(registry): Shared, headers: HeaderMap) -> Response {
    if let Some(denied) = registry.denied(&headers) {
        return denied;
    }
    let body = fixtures::wasm_manifest(
        &sha256_digest(&registry.config),
        registry.config.len(),
        &sha256_digest(&registry.wasm),
        registry.wasm.len(),
        None,
    );
    ([(header::CONTENT_TYPE, fixtures::OCI_MANIFEST)], body).into_response()
}

async fn blob(
    State(registry): Shared,
    axum::extract::Path(digest): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = registry.denied(&headers) {
        return denied;
    }
    if digest == sha256_digest(&registry.wasm) {
        registry.wasm.clone().into_response()
    } else {
        registry.config.clone().into_response()
    }
}

async fn serve() -> (String, Arc<Registry>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let registry = Arc::new(Registry {
        realm: format!("http://{addr}/token"),
        wasm: fixtures::component_with_metadata("Locked", "MIT"),
        config: br#"{"architecture":"wasm"}"#.to_vec(),
        token_requests: Mutex::default(),
    });
    let app = axum::Router::new()
        .route("/token", axum::routing::get(token))
        .route("/v2/", axum::routing::get(v2))
        .route("/v2/acme/locked/tags/list", axum::routing::get(tags))
        .route(
            "/v2/acme/locked/manifests/{reference}",
            axum::routing::get(manifest),
        )
        .route("/v2/acme/locked/blobs/{digest}", axum::routing::get(blob))
        .with_state(registry.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr.to_string(), registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_credentials_go_through_the_token_flow() {
    let (authority, registry) = serve().await;
    let env = Env::with_registry(&authority);

    // Without credentials: denied, with a hint of where to put them.
    let (output, _, stderr) = run(env.wkg().args(["get", "acme:locked@1.0.0"])).await;
    assert!(!output.status.success());
    assert!(stderr.contains("denied access"), "{stderr}");

    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!("{config}auth = {{ username = \"alice\", password = \"s3cret\" }}\n"),
    )
    .unwrap();
    ok(env
        .wkg()
        .args(["get", "acme:locked@1.0.0", "-o", "locked.wasm"]))
    .await;
    assert_eq!(
        std::fs::read(env.path("locked.wasm")).unwrap(),
        registry.wasm
    );

    let requests = registry.token_requests.lock().unwrap().clone();
    let (query, auth) = requests.last().expect("a token request");
    assert_eq!(auth, BASIC);
    assert!(
        query.contains("scope=repository:acme/locked:pull"),
        "{query}"
    );
    assert!(query.contains("service=fake-registry"), "{query}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_config_credentials_are_used() {
    let (authority, registry) = serve().await;
    let env = Env::with_registry(&authority);
    let docker = env.dir.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{authority}":{{"auth":"YWxpY2U6czNjcmV0"}}}}}}"#),
    )
    .unwrap();

    ok(env.wkg().env("DOCKER_CONFIG", &docker).args([
        "get",
        "acme:locked@1.0.0",
        "-o",
        "locked.wasm",
    ]))
    .await;
    assert_eq!(
        std::fs::read(env.path("locked.wasm")).unwrap(),
        registry.wasm
    );

    // `wkg oci pull` reads the same Docker credentials (it ignores config.toml).
    let reference = format!("{authority}/acme/locked:1.0.0");
    ok(env.bare_wkg().env("DOCKER_CONFIG", &docker).args([
        "oci",
        "pull",
        &reference,
        "--insecure",
        &authority,
        "-o",
        "pulled.wasm",
    ]))
    .await;
    assert_eq!(
        std::fs::read(env.path("pulled.wasm")).unwrap(),
        registry.wasm
    );

    // And -u/-p win over nothing at all.
    ok(env.bare_wkg().args([
        "oci",
        "pull",
        &reference,
        "--insecure",
        &authority,
        "-o",
        "pulled2.wasm",
        "-u",
        "alice",
        "-p",
        "s3cret",
    ]))
    .await;
    assert_eq!(
        std::fs::read(env.path("pulled2.wasm")).unwrap(),
        registry.wasm
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_credential_helpers_are_asked() {
    use std::os::unix::fs::PermissionsExt as _;

    let (authority, registry) = serve().await;
    let env = Env::with_registry(&authority);
    let docker = env.dir.path().join("docker");
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    // A helper that answers for exactly this host, and records that it was asked.
    let asked = env.dir.path().join("helper-asked");
    let helper = bin.join("docker-credential-fake");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\necho \"$host\" > {asked:?}\n\
             [ \"$host\" = \"{authority}\" ] || exit 1\n\
             echo '{{\"ServerURL\":\"{authority}\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"credHelpers":{{"{authority}":"fake"}}}}"#),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    ok(env
        .wkg()
        .env("DOCKER_CONFIG", &docker)
        .env("PATH", path)
        .args(["get", "acme:locked@1.0.0", "-o", "helped.wasm"]))
    .await;
    assert_eq!(
        std::fs::read(env.path("helped.wasm")).unwrap(),
        registry.wasm
    );
    assert_eq!(
        std::fs::read_to_string(&asked).unwrap().trim(),
        authority,
        "the helper was asked for this host"
    );
    let requests = registry.token_requests.lock().unwrap().clone();
    assert_eq!(requests.last().unwrap().1, BASIC);
}

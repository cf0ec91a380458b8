//! `GET /.well-known/wasm-pkg/registry.json`: how `wkg` discovers that this
//! host is an OCI registry and which namespace prefix it uses.
//!
//! Only the current format is served. Upstream wkg reads every top-level key
//! other than `preferredProtocol` as a protocol object, so any member added
//! here must be a JSON object or wkg silently ignores the whole document.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::oci::set;
use crate::digest::{Algorithm, Digest};
use crate::state::AppState;

/// How long clients and proxies may reuse the document.
const MAX_AGE_SECONDS: u32 = 300;

pub use crate::names::registry_authority;

pub async fn registry_json(State(app): State<AppState>, request: HeaderMap) -> Response {
    let body = json!({
        "preferredProtocol": "oci",
        "oci": {
            "registry": registry_authority(&app.public_url),
            "namespacePrefix": app.config.registry.namespace_prefix,
        }
    })
    .to_string();
    let etag = format!(
        "\"{}\"",
        &Digest::of(Algorithm::Sha256, body.as_bytes()).hex()[..32]
    );
    let mut headers = HeaderMap::new();
    set(
        &mut headers,
        header::CACHE_CONTROL,
        format!("public, max-age={MAX_AGE_SECONDS}"),
    );
    set(&mut headers, header::ETAG, &etag);
    if if_none_match(&request, &etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    set(&mut headers, header::CONTENT_TYPE, "application/json");
    (StatusCode::OK, headers, body).into_response()
}

/// `GET /.well-known/jwks.json`: the public keys that verify this
/// gateway's tokens (current and previous signing keys), for replicas and
/// other services.
pub async fn jwks(State(app): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(app.auth.keys().jwks()),
    )
        .into_response()
}

/// Whether `If-None-Match` names this entity tag (weak comparison, lists, `*`).
fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            value.split(',').map(str::trim).any(|candidate| {
                candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            registry_authority(&url("http://127.0.0.1:8080/")),
            "127.0.0.1:8080"
        );
        assert_eq!(
            registry_authority(&url("https://r.example.com/")),
            "r.example.com"
        );
        assert_eq!(
            registry_authority(&url("https://r.example.com:443/")),
            "r.example.com"
        );
        assert_eq!(registry_authority(&url("http://[::1]:5000/")), "[::1]:5000");
    }

    #[test]
    fn conditional_requests() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, "\"a\", W/\"b\"".parse().unwrap());
        assert!(if_none_match(&headers, "\"b\""));
        assert!(!if_none_match(&headers, "\"c\""));
        headers.insert(header::IF_NONE_MATCH, "*".parse().unwrap());
        assert!(if_none_match(&headers, "\"c\""));
    }
}

//! `GET /static/style.css`: the one stylesheet, compiled into the binary.
//!
//! Pages link it as `/static/style.css?v=<hash of its text>`, so a browser
//! may keep it for a year (`immutable`): a new build with a changed
//! stylesheet links a new URL. Requests without the current hash (old
//! pages, hand-typed URLs) get a short lifetime instead, and an `ETag` for
//! cheap revalidation.

use std::sync::LazyLock;

use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

pub const CSS: &str = include_str!("style.css");

/// The first 16 hex digits of the stylesheet's SHA-256.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(CSS.as_bytes());
    hex::encode(&digest[..8])
});

/// The stylesheet's URL, with the cache-busting hash.
pub fn href() -> String {
    format!("/static/style.css?v={}", *VERSION)
}

pub async fn stylesheet(headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let etag = format!("\"{}\"", *VERSION);
    let current = query.is_some_and(|q| q == format!("v={}", *VERSION));
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        CSS.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_link_carries_the_content_hash() {
        let href = super::href();
        assert!(href.starts_with("/static/style.css?v="));
        assert_eq!(href.len(), "/static/style.css?v=".len() + 16);
    }
}

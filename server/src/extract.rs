//! Request plumbing: the OCI path rewrite that lets multi-segment repository
//! names reach typed routes, and extractors that reject with [`ApiError`].

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{Request, Uri};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// OCI URLs put a repository name of any number of `/`-separated segments
/// before the endpoint (`/v2/a/b/c/manifests/v1`). Routers match one segment
/// per parameter, so before routing the name is folded into one
/// percent-encoded segment (`/v2/a%2Fb%2Fc/manifests/v1`); the `Path`
/// extractor decodes it again. Paths that match no endpoint pass unchanged.
pub fn rewrite_oci_path<B>(mut request: Request<B>) -> Request<B> {
    if let Some(rewritten) = fold_repository_name(request.uri().path()) {
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{rewritten}?{query}"),
            None => rewritten,
        };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

fn fold_repository_name(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v2/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    // How many trailing segments form the endpoint.
    let endpoint_len = if n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads" {
        3 // blobs/uploads/<id or empty>
    } else if n >= 3
        && (matches!(segments[n - 2], "blobs" | "manifests" | "referrers")
            || (segments[n - 2] == "tags" && segments[n - 1] == "list"))
    {
        2 // blobs/<digest>, blobs/uploads, manifests/<ref>, referrers/<digest>, tags/list
    } else {
        return None;
    };
    let name = segments[..n - endpoint_len].join("/");
    if name.is_empty() {
        return None;
    }
    let encoded = name.replace('%', "%25").replace('/', "%2F");
    let mut endpoint = segments[n - endpoint_len..].join("/");
    if endpoint == "blobs/uploads" {
        endpoint.push('/');
    }
    Some(format!("/v2/{encoded}/{endpoint}"))
}

/// `Path` that rejects with the OCI error envelope.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|e| {
                ApiError::bad_request(ErrorCode::NameInvalid, format!("invalid path: {e}"))
            })
    }
}

/// `Query` that rejects with the OCI error envelope.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| {
                ApiError::bad_request(
                    ErrorCode::Unsupported,
                    format!("invalid query parameters: {}", e.body_text()),
                )
            })
    }
}

/// A small JSON request body (admin API) that rejects with the error
/// envelope (`INVALID_PARAMETER`), read with a 64 KiB limit.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
            .await
            .map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::InvalidParameter,
                    "the request body is not readable or larger than 64 KiB",
                )
            })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            ApiError::bad_request(
                ErrorCode::InvalidParameter,
                format!("the request body is not the expected JSON: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fold_repository_name as fold;

    #[test]
    fn folds_names() {
        assert_eq!(
            fold("/v2/a/b/manifests/v1").as_deref(),
            Some("/v2/a%2Fb/manifests/v1")
        );
        assert_eq!(
            fold("/v2/a/blobs/sha256:x").as_deref(),
            Some("/v2/a/blobs/sha256:x")
        );
        assert_eq!(
            fold("/v2/a/b/blobs/uploads/").as_deref(),
            Some("/v2/a%2Fb/blobs/uploads/")
        );
        assert_eq!(
            fold("/v2/a/blobs/uploads").as_deref(),
            Some("/v2/a/blobs/uploads/")
        );
        assert_eq!(
            fold("/v2/a/blobs/uploads/id").as_deref(),
            Some("/v2/a/blobs/uploads/id")
        );
        assert_eq!(
            fold("/v2/x/blobs/uploads/blobs/d").as_deref(),
            Some("/v2/x%2Fblobs%2Fuploads/blobs/d")
        );
        assert_eq!(fold("/v2/a/tags/list").as_deref(), Some("/v2/a/tags/list"));
        assert_eq!(
            fold("/v2/a/referrers/d").as_deref(),
            Some("/v2/a/referrers/d")
        );
        assert_eq!(
            fold("/v2/a%2Fb/tags/list").as_deref(),
            Some("/v2/a%252Fb/tags/list")
        );
        assert_eq!(fold("/v2/"), None);
        assert_eq!(fold("/v2/_catalog"), None);
        assert_eq!(fold("/v2/manifests/x"), None);
    }
}

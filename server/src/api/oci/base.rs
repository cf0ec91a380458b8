//! `GET /v2/` and the answers for unknown endpoints and methods.

use axum::Json;
use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorCode};

/// The API version check every OCI client starts with.
pub async fn check() -> Json<Value> {
    Json(json!({}))
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(
        ErrorCode::Unsupported,
        format!(
            "{method} {} is not an endpoint of this registry",
            uri.path()
        ),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Unsupported,
        format!("{method} is not supported on {}", uri.path()),
    )
}

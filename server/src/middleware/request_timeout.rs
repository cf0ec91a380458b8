//! A time limit on every request that does not stream a body in: a stuck
//! database or a client dripping a manifest cannot hold a connection and
//! its resources forever. Blob upload requests are exempt (they may
//! legitimately take hours for large blobs); their bodies have an idle
//! timeout instead (`uploads.body_idle_timeout`). Responses that stream out
//! (blob downloads) are limited only until their headers are ready.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Routes whose request bodies stream into storage.
const STREAMING_UPLOADS: [&str; 2] = ["/v2/{name}/blobs/uploads/", "/v2/{name}/blobs/uploads/{id}"];

pub async fn enforce(
    State(app): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let streaming = matched
        .as_ref()
        .is_some_and(|m| STREAMING_UPLOADS.contains(&m.as_str()));
    let Some(limit) = app.config.server.request_timeout.filter(|_| !streaming) else {
        return next.run(request).await;
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            crate::metrics::global().backend_error("timeout");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::InternalError,
                format!(
                    "the request did not complete within {} (a slow request body or a busy \
                     registry); retry, and send bodies promptly",
                    humantime::format_duration(limit)
                ),
            )
            .with_header(header::RETRY_AFTER, "1")
            .into_response()
        }
    }
}

//! `GET /metrics`: Prometheus text exposition.
//!
//! Served on the main listener without authentication by default. With
//! `[metrics] listen` it moves to a listener of its own (and the main one
//! answers 404, as for any unknown path); with `[metrics] token_file`
//! scrapers must send `Authorization: Bearer <token>` wherever it is
//! served, or get 401 `UNAUTHORIZED`.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// `/metrics` on the main listener.
pub async fn render(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if app.config.metrics.listen.is_some() {
        return crate::api::oci::base::not_found(method, uri)
            .await
            .into_response();
    }
    exposition(&app, &headers)
}

/// `/metrics` on the `[metrics] listen` listener.
pub async fn render_dedicated(State(app): State<AppState>, headers: HeaderMap) -> Response {
    exposition(&app, &headers)
}

fn exposition(app: &AppState, headers: &HeaderMap) -> Response {
    if let Some(token) = &app.metrics_token
        && !token.accepts(headers)
    {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "metrics need the Bearer token of `[metrics] token_file`: \
             send `Authorization: Bearer <token>`",
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::global().render(),
    )
        .into_response()
}

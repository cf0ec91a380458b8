//! `GET /metrics`: Prometheus text exposition.

use axum::http::header;
use axum::response::IntoResponse;

pub async fn render() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::global().render(),
    )
}

//! One log line and one set of metric updates per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::client_addr::client_of;
use crate::metrics::{RequestLabels, RouteLabels, global};
use crate::state::AppState;

fn content_length(headers: &axum::http::HeaderMap) -> u64 {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Logs method, route, status, duration, bytes, request id, client address
/// and scheme (both as a trusted proxy forwarded them; never
/// headers or bodies, so never secrets), and feeds the metrics.
pub async fn log_and_measure(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let client = client_of(&request, &app.config.server.trusted_proxies).map(|ip| ip.to_string());
    let scheme = crate::client_addr::scheme_of(
        &request,
        &app.config.server.trusted_proxies,
        app.config.tls.is_some(),
    );
    // The log keeps the method as sent; metrics use bounded labels.
    let method = request.method().to_string();
    let method_label = crate::metrics::method_label(request.method());
    let route = crate::metrics::route_label(request.extensions().get::<MatchedPath>());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes_in = content_length(request.headers());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let bytes_out = if method == "HEAD" {
        0
    } else {
        content_length(response.headers())
    };

    let metrics = global();
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method_label.to_string(),
            route: route.clone(),
            status,
        })
        .inc();
    metrics
        .request_duration
        .get_or_create(&RouteLabels {
            method: method_label.to_string(),
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    metrics.bytes_received.inc_by(bytes_in);
    metrics.bytes_sent.inc_by(bytes_out);
    tracing::info!(
        target: "wkg_gateway::access",
        %method,
        %route,
        status,
        duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        bytes_in,
        bytes_out,
        request_id = %request_id,
        client = client.as_deref().unwrap_or("-"),
        scheme,
        "request"
    );
    response
}

//! Optional per-client rate limit (`[server] rate_limit = "50/s"`): a token
//! bucket per client address (after `trusted_proxies`), answering 429
//! `TOOMANYREQUESTS` with `Retry-After` when a client goes faster. Off by
//! default. Kept in memory per replica: with several replicas the limit
//! applies per replica, which is the usual trade-off for a cheap guard.

/// Middleware: 429 for clients over the configured rate (probes exempt).
pub async fn enforce(
    axum::extract::State(app): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let exempt = matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics");
    if let (Some(limiter), false) = (&app.rate_limiter, exempt)
        && let Some(client) =
            crate::client_addr::client_of(&request, &app.config.server.trusted_proxies)
        && let Err(wait) = limiter.check(client)
    {
        let seconds = wait.as_secs().max(1).to_string();
        return crate::error::ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            crate::error::ErrorCode::TooManyRequests,
            format!("too many requests from {client}; slow down and retry in {seconds} s"),
        )
        .with_header(axum::http::header::RETRY_AFTER, &seconds)
        .into_response();
    }
    next.run(request).await
}

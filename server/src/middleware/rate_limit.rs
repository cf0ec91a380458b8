//! Optional per-client rate limit (`[server] rate_limit = "50/s"`): a token
//! bucket per client address (after `trusted_proxies`), answering 429
//! `TOOMANYREQUESTS` with `Retry-After` when a client goes faster. Off by
//! default. Kept in memory per replica: with several replicas the limit
//! applies per replica, which is the usual trade-off for a cheap guard.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Rate;

/// Buckets kept before idle ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 100_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            burst: rate.per_second.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client`, or says how long until one is free.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            let burst = self.burst;
            let rate = self.rate.per_second;
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * self.rate.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.rate.per_second,
            ))
        }
    }
}

/// Middleware: 429 for clients over the configured rate (probes exempt).
pub async fn enforce(
    axum::extract::State(app): axum::extract::State<crate::app::AppState>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_limit_each_client() {
        let limiter = RateLimiter::new("3/s".parse().unwrap());
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limiter.check(b).is_ok(), "clients have their own buckets");
    }
}

//! Prometheus metrics: what a platform team graphs and alerts on.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template (`/v2/{name}/blobs/{digest}`), never the raw path,
    /// so label cardinality stays bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    /// `database` or `storage`.
    pub backend: String,
}

/// Every metric the gateway exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<RouteLabels, Histogram>,
    pub bytes_received: Counter<u64, AtomicU64>,
    pub bytes_sent: Counter<u64, AtomicU64>,
    pub uploads_in_progress: Gauge,
    pub backend_errors: Family<BackendLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let request_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.5, 14))
        });
        let bytes_received = Counter::<u64, AtomicU64>::default();
        let bytes_sent = Counter::<u64, AtomicU64>::default();
        let uploads_in_progress = Gauge::default();
        let backend_errors = Family::<BackendLabels, Counter>::default();
        let mut registry = Registry::with_prefix("wkg_gateway");
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response headers",
            request_duration.clone(),
        );
        registry.register(
            "http_received_bytes",
            "Request body bytes received",
            bytes_received.clone(),
        );
        registry.register(
            "http_sent_bytes",
            "Response body bytes sent (by Content-Length)",
            bytes_sent.clone(),
        );
        registry.register(
            "uploads_in_progress",
            "Request bodies being streamed into storage right now",
            uploads_in_progress.clone(),
        );
        registry.register(
            "backend_errors",
            "Failed database or storage operations",
            backend_errors.clone(),
        );
        Self {
            registry,
            requests,
            request_duration,
            bytes_received,
            bytes_sent,
            uploads_in_progress,
            backend_errors,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn backend_error(&self, backend: &str) {
        self.backend_errors
            .get_or_create(&BackendLabels {
                backend: backend.to_string(),
            })
            .inc();
    }
}

/// Process-wide handle, so error conversions can count without state.
pub fn global() -> &'static Metrics {
    static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);
    &METRICS
}

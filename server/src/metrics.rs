//! Prometheus metrics: what a platform team graphs and alerts on.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The label of a request method: the methods of RFC 9110 and `PATCH` by
/// name, anything else `other`. Clients choose the method freely (any
/// token), so using it as it came would let them grow `/metrics` without
/// bound, one series per invented method.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The label of a matched route: its template, or `unmatched` for every
/// path no route matched, so unknown paths share one series.
pub fn route_label(matched: Option<&axum::extract::MatchedPath>) -> String {
    matched.map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string())
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// See [`method_label`].
    pub method: String,
    /// The route template (`/v2/{name}/blobs/{digest}`), never the raw path,
    /// so label cardinality stays bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// See [`method_label`].
    pub method: String,
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabels {
    /// `database` or `storage`.
    pub backend: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamRequestLabels {
    /// The `[[upstream]]` entry's name (its registry).
    pub upstream: String,
    /// `manifest`, `tag`, `tags` or `blob`.
    pub operation: String,
    /// `ok`, `not_found` or `error`.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamCacheLabels {
    pub upstream: String,
    /// `manifest` or `blob`.
    pub kind: String,
    /// `hit` (served from the cache without asking), `miss` (fetched),
    /// `stale` (served from the cache because the upstream failed).
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `hit` (answered from memory) or `miss` (read from the database or
    /// the blob store).
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LookupCacheLabels {
    /// `manifest` (by tag or digest) or `blob` (a repository's blob).
    pub lookup: String,
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub upstream: String,
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
    pub upstream_requests: Family<UpstreamRequestLabels, Counter>,
    pub upstream_cache: Family<UpstreamCacheLabels, Counter>,
    pub upstream_fetched_bytes: Family<UpstreamLabels, Counter>,
    pub upstream_version_conflicts: Family<UpstreamLabels, Counter>,
    pub lookup_cache: Family<LookupCacheLabels, Counter>,
    pub blob_cache: Family<CacheLabels, Counter>,
    /// Refused requests not written to the audit log one by one, because
    /// their source went over `[audit] refusals_per_source`.
    pub audit_refusals_unrecorded: Counter,
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
        let upstream_requests = Family::<UpstreamRequestLabels, Counter>::default();
        let upstream_cache = Family::<UpstreamCacheLabels, Counter>::default();
        let upstream_fetched_bytes = Family::<UpstreamLabels, Counter>::default();
        let upstream_version_conflicts = Family::<UpstreamLabels, Counter>::default();
        let lookup_cache = Family::<LookupCacheLabels, Counter>::default();
        let blob_cache = Family::<CacheLabels, Counter>::default();
        let audit_refusals_unrecorded = Counter::default();
        let mut registry = Registry::with_prefix("wkg_gateway");
        registry.register(
            "audit_refusals_unrecorded",
            "Refused requests counted instead of audited: their source exceeded [audit] refusals_per_source",
            audit_refusals_unrecorded.clone(),
        );
        registry.register(
            "blob_cache",
            "Reads of small blobs by whether the in-memory blob cache answered",
            blob_cache.clone(),
        );
        registry.register(
            "lookup_cache",
            "Manifest and blob lookups by whether the in-process cache answered (SQLite only)",
            lookup_cache.clone(),
        );
        registry.register(
            "upstream_requests",
            "Requests the pull-through proxy sent to upstream registries",
            upstream_requests.clone(),
        );
        registry.register(
            "upstream_cache",
            "Proxied manifest and blob lookups by cache result",
            upstream_cache.clone(),
        );
        registry.register(
            "upstream_fetched_bytes",
            "Blob bytes downloaded from upstream registries",
            upstream_fetched_bytes.clone(),
        );
        registry.register(
            "upstream_version_conflicts",
            "Cached package versions an upstream re-pointed to other content (ignored)",
            upstream_version_conflicts.clone(),
        );
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
            upstream_requests,
            upstream_cache,
            upstream_fetched_bytes,
            upstream_version_conflicts,
            lookup_cache,
            blob_cache,
            audit_refusals_unrecorded,
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

    /// Counts a proxied lookup: `kind` `manifest`/`blob`, `result` `hit`/`miss`/`stale`.
    pub fn upstream_cache(&self, upstream: &str, kind: &str, result: &str) {
        self.upstream_cache
            .get_or_create(&UpstreamCacheLabels {
                upstream: upstream.to_string(),
                kind: kind.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// The counter of cached database lookups of one kind with `result`
    /// `hit` or `miss`.
    pub fn lookup_cache(&self, lookup: &str, result: &str) -> Counter {
        self.lookup_cache
            .get_or_create(&LookupCacheLabels {
                lookup: lookup.to_string(),
                result: result.to_string(),
            })
            .clone()
    }

    /// The counter of blob cache lookups with `result` `hit` or `miss`.
    pub fn blob_cache(&self, result: &str) -> Counter {
        self.blob_cache
            .get_or_create(&CacheLabels {
                result: result.to_string(),
            })
            .clone()
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

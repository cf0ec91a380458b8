//! Every route of the gateway, in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::api::oci::{base, blobs, catalog, manifests, referrers, tags, uploads};
use crate::api::well_known;
use crate::app::AppState;
use crate::extract::rewrite_oci_path;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The gateway's HTTP service. Tests serve exactly this.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route(
            "/.well-known/wasm-pkg/registry.json",
            get(well_known::registry_json),
        )
        .route("/v2/", get(base::check))
        .route("/v2/_catalog", get(catalog::list))
        .route(
            "/v2/{name}/blobs/{digest}",
            get(blobs::get).head(blobs::head).delete(blobs::delete),
        )
        .route("/v2/{name}/blobs/uploads/", post(uploads::start))
        .route(
            "/v2/{name}/blobs/uploads/{id}",
            get(uploads::status)
                .patch(uploads::append)
                .put(uploads::finish)
                .delete(uploads::cancel),
        )
        .route(
            "/v2/{name}/manifests/{reference}",
            get(manifests::get)
                .head(manifests::head)
                .put(manifests::put)
                .delete(manifests::delete),
        )
        .route("/v2/{name}/tags/list", get(tags::list))
        .route("/v2/{name}/referrers/{digest}", get(referrers::list))
        .method_not_allowed_fallback(base::method_not_allowed)
        .fallback(base::not_found)
        // Bodies are streamed (blobs) or read with their own limit (manifests).
        .layer(DefaultBodyLimit::disable())
        .with_state(state);

    // The name fold must happen before routing, so it wraps the router.
    let rewritten = ServiceBuilder::new()
        .map_request(rewrite_oci_path)
        .service(routes);
    Router::new().fallback_service(rewritten).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
            }))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("docker-distribution-api-version"),
                HeaderValue::from_static("registry/2.0"),
            )),
    )
}

//! Every route of the gateway, in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{MethodRouter, delete, get, post, put};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::api::admin::{
    audit, publishers as admin_publishers, tokens as admin_tokens, users as admin_users,
};
use crate::api::oci::{base, blobs, catalog, manifests, referrers, tags, uploads};
use crate::api::packages::{list as package_list, versions as package_versions, yank};
use crate::api::{health, metrics, sessions, token, tokens, well_known};
use crate::extract::rewrite_oci_path;
use crate::state::AppState;
use crate::web;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route: its path template (the syntax openapi.yaml uses too) and
/// its handlers.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        (
            "/.well-known/wasm-pkg/registry.json",
            get(well_known::registry_json),
        ),
        ("/.well-known/jwks.json", get(well_known::jwks)),
        ("/healthz", get(health::live)),
        ("/readyz", get(health::ready)),
        ("/metrics", get(metrics::render)),
        ("/api/v1/packages", get(package_list::list)),
        (
            "/api/v1/packages/{namespace}/{name}",
            get(package_versions::package),
        ),
        (
            "/api/v1/packages/{namespace}/{name}/resolve",
            get(package_versions::resolve),
        ),
        (
            "/api/v1/packages/{namespace}/{name}/{version}",
            get(package_versions::version),
        ),
        (
            "/api/v1/packages/{namespace}/{name}/{version}/wit",
            get(package_versions::wit),
        ),
        (
            "/api/v1/packages/{namespace}/{name}/{version}/content",
            get(package_versions::content),
        ),
        (
            "/api/v1/packages/{namespace}/{name}/{version}/yank",
            post(yank::yank),
        ),
        (
            "/api/v1/packages/{namespace}/{name}/{version}/unyank",
            post(yank::unyank),
        ),
        (
            "/api/v1/admin/users",
            get(admin_users::list).post(admin_users::create),
        ),
        ("/api/v1/admin/users/{user}", delete(admin_users::remove)),
        (
            "/api/v1/admin/users/{user}/password",
            put(admin_users::set_password),
        ),
        (
            "/api/v1/admin/users/{user}/grants",
            get(admin_users::grants)
                .post(admin_users::grant)
                .delete(admin_users::revoke),
        ),
        (
            "/api/v1/admin/tokens",
            get(admin_tokens::list).post(admin_tokens::create),
        ),
        ("/api/v1/admin/tokens/{id}", delete(admin_tokens::revoke)),
        (
            "/api/v1/admin/publishers",
            get(admin_publishers::list).post(admin_publishers::create),
        ),
        (
            "/api/v1/admin/publishers/{id}",
            delete(admin_publishers::remove),
        ),
        ("/api/v1/admin/audit", get(audit::list)),
        ("/api/v1/tokens", get(tokens::list).post(tokens::create)),
        ("/api/v1/tokens/{id}", delete(tokens::revoke)),
        ("/api/v1/sessions", delete(sessions::end_all)),
        ("/v2/", get(base::check)),
        ("/v2/token", get(token::get).post(token::post)),
        ("/v2/_catalog", get(catalog::list)),
        (
            "/v2/{name}/blobs/{digest}",
            get(blobs::get).head(blobs::head).delete(blobs::delete),
        ),
        ("/v2/{name}/blobs/uploads/", post(uploads::start)),
        (
            "/v2/{name}/blobs/uploads/{id}",
            get(uploads::status)
                .patch(uploads::append)
                .put(uploads::finish)
                .delete(uploads::cancel),
        ),
        (
            "/v2/{name}/manifests/{reference}",
            get(manifests::get)
                .head(manifests::head)
                .put(manifests::put)
                .delete(manifests::delete),
        ),
        ("/v2/{name}/tags/list", get(tags::list)),
        ("/v2/{name}/referrers/{digest}", get(referrers::list)),
        // The package browser (web::PAGE_ROUTES): HTML for people.
        ("/", get(web::home::show)),
        ("/search", get(web::search::show)),
        ("/packages/{namespace}/{name}", get(web::package::show)),
        (
            "/packages/{namespace}/{name}/{version}",
            get(web::version::show),
        ),
        ("/login", get(web::login::form).post(web::login::submit)),
        ("/logout", post(web::login::logout)),
        ("/static/style.css", get(web::style::stylesheet)),
    ]
}

/// The gateway's HTTP service. Tests serve exactly this.
pub fn router(state: AppState) -> Router {
    let routes = routes()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        .method_not_allowed_fallback(base::method_not_allowed)
        .fallback(base::not_found)
        // Bodies are streamed (blobs) or read with their own limit (manifests).
        .layer(DefaultBodyLimit::disable())
        // Inside the router, so the matched route template is known; the
        // auth check runs inside the rate limit, so floods of bad logins
        // are limited too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::request_timeout::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::auth::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::rate_limit::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::host_check::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::access::log_and_measure,
        ))
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

/// The `[metrics] listen` listener's service: `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render_dedicated))
        .method_not_allowed_fallback(base::method_not_allowed)
        .fallback(base::not_found)
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every route of the router has a deliberate requirement: anything
    /// under `/v2/` or `/api/` that falls through to `Public` must be listed
    /// here, so a new route cannot be left open by accident.
    #[test]
    fn every_route_is_classified() {
        const PUBLIC_API: [&str; 1] = ["/v2/token"];
        for (template, _) in super::routes() {
            let guarded = template.starts_with("/v2/") || template.starts_with("/api/");
            for method in [
                axum::http::Method::GET,
                axum::http::Method::PUT,
                axum::http::Method::DELETE,
                axum::http::Method::POST,
            ] {
                let req = crate::auth::policy::requirement(Some(template), &method, &[], "");
                if guarded && !PUBLIC_API.contains(&template) {
                    assert_ne!(
                        req,
                        crate::auth::policy::Requirement::Public,
                        "{method} {template}"
                    );
                }
            }
        }
    }

    /// openapi.yaml and the router must list the same paths, except the
    /// per-repository OCI endpoints, which the OCI Distribution Spec defines.
    #[test]
    fn openapi_documents_every_route_and_nothing_else() {
        let spec = include_str!("../../openapi.yaml");
        let documented: BTreeSet<&str> = spec
            .lines()
            .skip_while(|line| *line != "paths:")
            .take_while(|line| *line != "components:")
            .filter_map(|line| line.strip_prefix("  ")?.strip_suffix(':'))
            .filter(|path| path.starts_with('/'))
            .collect();
        let served: BTreeSet<&str> = super::routes()
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| !path.starts_with("/v2/{name}/"))
            // The package browser's HTML pages are not part of the API.
            .filter(|path| !crate::web::PAGE_ROUTES.contains(path))
            .collect();
        assert_eq!(documented, served, "openapi.yaml paths vs router paths");
    }
}

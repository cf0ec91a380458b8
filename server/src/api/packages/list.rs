//! `GET /api/v1/packages`: list and search packages, a page at a time.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{description, latest};
use crate::auth::listing::visible_page;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;
use crate::middleware::auth::{caller_of, may_pull};
use crate::packages::naming::{self, is_kebab_case, is_label};
use crate::state::AppState;

/// Longest `cursor` (openapi.yaml says the same): the `ns:name` of a
/// repository name that fits 255 characters.
const MAX_CURSOR_LEN: usize = 255;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    namespace: Option<String>,
    limit: Option<u32>,
    /// Opaque: the `nextCursor` of the previous page (`ns:name`).
    cursor: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
    extensions: axum::http::Extensions,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if let Some(namespace) = query.namespace.as_deref().filter(|ns| !is_label(ns)) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("namespace {namespace:?} is not a package namespace (lowercase kebab-case)"),
        ));
    }
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            text.split_once(':')
                .filter(|(ns, name)| {
                    text.len() <= MAX_CURSOR_LEN && is_kebab_case(ns) && is_kebab_case(name)
                })
                .ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::InvalidParameter,
                        "cursor must be a nextCursor value from a previous page",
                    )
                })?,
        ),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let caller = caller_of(&extensions);
    let prefix = &app.config.registry.namespace_prefix;
    let (names, next) = visible_page(
        limit as usize,
        cursor.map(|(ns, name)| (ns.to_string(), name.to_string())),
        |after, batch| {
            let db = app.db.clone();
            let namespace = query.namespace.clone();
            let q = q.map(str::to_string);
            async move {
                let after = after.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str()));
                db.list_packages(namespace.as_deref(), q.as_deref(), after, batch)
                    .await
            }
        },
        |(namespace, name)| may_pull(&app, &caller, &naming::repository(prefix, namespace, name)),
    )
    .await?;
    let next_cursor = next.map(|(ns, name)| format!("{ns}:{name}"));
    let mut packages = Vec::with_capacity(names.len());
    for (namespace, name) in names {
        let versions = app.db.package_versions(&namespace, &name).await?;
        let newest = latest(&versions, false);
        packages.push(json!({
            "package": format!("{namespace}:{name}"),
            "namespace": namespace,
            "name": name,
            "latest": newest.map(|v| v.version.clone()),
            "description": newest.and_then(description),
            "versionCount": versions.len(),
        }));
    }
    Ok(Json(
        json!({ "packages": packages, "nextCursor": next_cursor }),
    ))
}

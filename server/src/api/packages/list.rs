//! `GET /api/v1/packages`: list and search packages, a page at a time.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{description, latest};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;
use crate::packages::naming::is_label;

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
                .filter(|(ns, name)| is_label(ns) && is_label(name))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::InvalidParameter,
                        "cursor must be a nextCursor value from a previous page",
                    )
                })?,
        ),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let mut names = app
        .db
        .list_packages(query.namespace.as_deref(), q, cursor, i64::from(limit) + 1)
        .await?;
    let next_cursor = if names.len() > limit as usize {
        names.truncate(limit as usize);
        names.last().map(|(ns, name)| format!("{ns}:{name}"))
    } else {
        None
    };
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

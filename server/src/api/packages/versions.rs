//! One package and its versions: `GET /api/v1/packages/{ns}/{name}`,
//! `.../{version}`, `.../{version}/wit`, `.../{version}/content` and
//! `.../resolve?req=`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    detail, highest, index_on_miss, latest, package_name, package_unknown, sort_newest_first,
    summary, version_param, version_unknown,
};
use crate::api::oci::set;
use crate::db::IndexedVersion;
use crate::digest::Digest;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::packages::naming;
use crate::state::AppState;

pub async fn package(
    State(app): State<AppState>,
    ApiPath((namespace, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    package_name(&namespace, &name)?;
    let mut versions = live_versions(&app, &namespace, &name).await?;
    sort_newest_first(&mut versions);
    Ok(Json(json!({
        "package": format!("{namespace}:{name}"),
        "namespace": namespace,
        "name": name,
        "latest": latest(&versions, false).map(|v| v.version.clone()),
        "latestStable": latest(&versions, true).map(|v| v.version.clone()),
        "versions": versions.iter().map(summary).collect::<Vec<_>>(),
    })))
}

/// All live versions, indexing the repository first if nothing is indexed.
async fn live_versions(
    app: &AppState,
    namespace: &str,
    name: &str,
) -> ApiResult<Vec<IndexedVersion>> {
    let versions = app.db.package_versions(namespace, name).await?;
    if !versions.is_empty() {
        return Ok(versions);
    }
    if index_on_miss(app, namespace, name).await? {
        let versions = app.db.package_versions(namespace, name).await?;
        if !versions.is_empty() {
            return Ok(versions);
        }
    }
    Err(package_unknown(namespace, name))
}

async fn find(
    app: &AppState,
    namespace: &str,
    name: &str,
    version: &str,
) -> ApiResult<IndexedVersion> {
    package_name(namespace, name)?;
    version_param(version)?;
    if let Some(found) = app.db.package_version(namespace, name, version).await? {
        return Ok(found);
    }
    if index_on_miss(app, namespace, name).await?
        && let Some(found) = app.db.package_version(namespace, name, version).await?
    {
        return Ok(found);
    }
    Err(version_unknown(namespace, name, version))
}

pub async fn version(
    State(app): State<AppState>,
    ApiPath((namespace, name, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(detail(
        &find(&app, &namespace, &name, &version).await?,
    )))
}

pub async fn wit(
    State(app): State<AppState>,
    ApiPath((namespace, name, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    find(&app, &namespace, &name, &version).await?;
    let Some(text) = app.db.package_wit(&namespace, &name, &version).await? else {
        return Err(ApiError::not_found(
            ErrorCode::WitUnavailable,
            format!(
                "{namespace}:{name}@{version} has no WIT: it is a core module, or too large to inspect"
            ),
        ));
    };
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

pub async fn content(
    State(app): State<AppState>,
    ApiPath((namespace, name, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let found = find(&app, &namespace, &name, &version).await?;
    let digest: Digest = found.layer_digest.parse()?;
    // Served only through the layer's link into the version's own
    // repository (the index is never a way to read another one's blobs).
    let Some(size) = app
        .db
        .blob_size_in(&found.repository, &found.layer_digest)
        .await?
    else {
        return Err(version_unknown(&namespace, &name, &version));
    };
    let read = app.storage.read_blob(&digest, size, None).await?;
    let mut headers = HeaderMap::new();
    set(&mut headers, header::CONTENT_TYPE, "application/wasm");
    set(&mut headers, header::CONTENT_LENGTH, size.to_string());
    set(&mut headers, header::ETAG, format!("\"{digest}\""));
    set(
        &mut headers,
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{namespace}_{name}@{version}.wasm\""),
    );
    Ok((StatusCode::OK, headers, Body::from_stream(read.stream)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ResolveQuery {
    req: Option<String>,
}

pub async fn resolve(
    State(app): State<AppState>,
    ApiPath((namespace, name)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ResolveQuery>,
) -> ApiResult<Json<Value>> {
    package_name(&namespace, &name)?;
    let versions = live_versions(&app, &namespace, &name).await?;
    let text = query
        .req
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "*".to_string());
    if !naming::is_requirement(&text) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("{text:?} is not a semver requirement like ^0.2 or >=1.2, <2"),
        ));
    }
    let requirement = semver::VersionReq::parse(&text).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("{text:?} is not a semver requirement like ^0.2: {e}"),
        )
    })?;
    let best = highest(&versions, |version| requirement.matches(version));
    match best {
        Some(version) => Ok(Json(detail(version))),
        None => Err(ApiError::not_found(
            ErrorCode::VersionUnknown,
            format!("no published, non-yanked version of {namespace}:{name} matches {text}"),
        )),
    }
}

//! `POST /api/v1/packages/{ns}/{name}/{version}/yank` and `/unyank`: a
//! yanked version stays downloadable by exact version but is skipped by
//! `resolve` and "latest".

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::{detail, package_name, version_param, version_unknown};
use crate::error::ApiResult;
use crate::extract::ApiPath;
use crate::state::AppState;

async fn set(
    app: &AppState,
    namespace: &str,
    name: &str,
    version: &str,
    yanked: bool,
) -> ApiResult<Json<Value>> {
    package_name(namespace, name)?;
    version_param(version)?;
    if !app.db.set_yanked(namespace, name, version, yanked).await? {
        return Err(version_unknown(namespace, name, version));
    }
    let found = app.db.package_version(namespace, name, version).await?;
    found
        .map(|v| Json(detail(&v)))
        .ok_or_else(|| version_unknown(namespace, name, version))
}

pub async fn yank(
    State(app): State<AppState>,
    ApiPath((namespace, name, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    set(&app, &namespace, &name, &version, true).await
}

pub async fn unyank(
    State(app): State<AppState>,
    ApiPath((namespace, name, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    set(&app, &namespace, &name, &version, false).await
}

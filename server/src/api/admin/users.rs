//! `/api/v1/admin/users[/{user}[/grants]]`: people and robots, and what
//! they may do.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::admin;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub async fn list(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "users": admin::list_users(&app.db).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    /// Absent: a robot account that authenticates with tokens only.
    password: Option<String>,
}

pub async fn create(
    State(app): State<AppState>,
    ApiJson(user): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin::add_user(&app.db, &user.name, user.password).await?;
    Ok((StatusCode::CREATED, Json(json!({ "name": user.name }))))
}

pub async fn remove(
    State(app): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<StatusCode> {
    admin::remove_user(&app.db, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    password: String,
}

/// `PUT /api/v1/admin/users/{user}/password`: ends the user's earlier
/// password sessions (see [`admin::set_password`]).
pub async fn set_password(
    State(app): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<NewPassword>,
) -> ApiResult<StatusCode> {
    admin::set_password(&app.db, &user, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn grants(
    State(app): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let users = admin::list_users(&app.db).await?;
    let found = users.into_iter().find(|u| u.name == user).ok_or_else(|| {
        ApiError::not_found(ErrorCode::ResourceUnknown, format!("no user {user:?}"))
    })?;
    Ok(Json(json!({ "grants": found.grants })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    pattern: String,
    actions: Vec<String>,
}

pub async fn grant(
    State(app): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(grant): ApiJson<NewGrant>,
) -> ApiResult<Json<Value>> {
    let rule = admin::grant(&app.db, &user, &grant.pattern, &grant.actions.join(",")).await?;
    Ok(Json(json!({
        "pattern": rule.pattern.as_str(),
        "actions": rule.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
pub struct GrantQuery {
    pattern: Option<String>,
}

pub async fn revoke(
    State(app): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiQuery(query): ApiQuery<GrantQuery>,
) -> ApiResult<StatusCode> {
    let pattern = query.pattern.ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidParameter,
            "say which grant to remove with ?pattern=",
        )
    })?;
    admin::revoke_grant(&app.db, &user, &pattern).await?;
    Ok(StatusCode::NO_CONTENT)
}

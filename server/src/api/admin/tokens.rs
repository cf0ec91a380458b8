//! `/api/v1/admin/tokens[/{id}]`: personal and robot access tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::admin;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListQuery {
    user: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let tokens = admin::list_tokens(&app.db, query.user.as_deref()).await?;
    Ok(Json(json!({ "tokens": tokens })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    user: String,
    #[serde(default)]
    description: String,
    /// A duration like `30d`; absent: never expires.
    ttl: Option<String>,
    /// `PATTERN=ACTIONS` entries narrowing the owner's grants.
    #[serde(default)]
    scopes: Vec<String>,
}

pub async fn create(
    State(app): State<AppState>,
    ApiJson(token): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<admin::CreatedToken>)> {
    let ttl = token.ttl.as_deref().map(admin::parse_ttl).transpose()?;
    let scopes = admin::parse_scopes(&token.scopes)?;
    let created =
        admin::create_token(&app.db, &token.user, &token.description, ttl, &scopes).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn revoke(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    admin::revoke_token(&app.db, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

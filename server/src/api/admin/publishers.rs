//! `/api/v1/admin/publishers[/{id}]`: trusted publishers, the CI workflows
//! that may exchange an OIDC identity token for an access token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::publishers::{self, PublisherSpec, PublisherView};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub async fn list(State(app): State<AppState>) -> ApiResult<Json<Value>> {
    let publishers = publishers::list_publishers(&app.db).await?;
    Ok(Json(json!({ "publishers": publishers })))
}

pub async fn create(
    State(app): State<AppState>,
    ApiJson(spec): ApiJson<PublisherSpec>,
) -> ApiResult<(StatusCode, Json<PublisherView>)> {
    let stored = publishers::add_publisher(&app.db, spec).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

pub async fn remove(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    publishers::remove_publisher(&app.db, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /v2/_catalog` with `n`/`last` pagination.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Page, set};
use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::ApiQuery;

pub async fn list(
    State(app): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Response> {
    let mut repositories = app
        .db
        .list_repositories(page.last.as_deref(), page.fetch_limit())
        .await?;
    let link = page.finish(&mut repositories, "/v2/_catalog");
    let mut headers = HeaderMap::new();
    if let Some(link) = link {
        set(&mut headers, header::LINK, link);
    }
    Ok((headers, Json(json!({ "repositories": repositories }))).into_response())
}

//! `GET /v2/<name>/tags/list` with `n`/`last` pagination.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Page, repo, set};
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery};
use crate::registry::content::Content;
use crate::state::AppState;

pub async fn list(
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let served = app
        .repositories
        .content(&repo)
        .tags(&repo, page.last.as_deref(), page.fetch_limit())
        .await?;
    let mut tags = served.value;
    let link = page.finish(&mut tags, &format!("/v2/{repo}/tags/list"));
    let mut headers = HeaderMap::new();
    if let Some(link) = link {
        set(&mut headers, header::LINK, link);
    }
    if let Some(warning) = served.stale {
        set(&mut headers, header::WARNING, warning);
    }
    Ok((
        headers,
        Json(json!({ "name": repo.as_str(), "tags": tags })),
    )
        .into_response())
}

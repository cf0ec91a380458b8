//! `GET /v2/<name>/tags/list` with `n`/`last` pagination.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Page, repo, set};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub async fn list(
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    if let Some(upstream) = app.proxy.upstream_for(repo.as_str()) {
        let Some((all, warning)) = crate::proxy::tags::merged(&app.proxy, upstream, &repo).await?
        else {
            return Err(ApiError::not_found(
                ErrorCode::NameUnknown,
                format!(
                    "repository {repo} is neither cached here nor known to upstream registry {}",
                    upstream.name()
                ),
            ));
        };
        let mut tags: Vec<String> = all
            .into_iter()
            .filter(|t| page.last.as_deref().is_none_or(|last| t.as_str() > last))
            .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
            .collect();
        let link = page.finish(&mut tags, &format!("/v2/{repo}/tags/list"));
        let mut headers = HeaderMap::new();
        if let Some(link) = link {
            set(&mut headers, header::LINK, link);
        }
        if let Some(warning) = warning {
            set(&mut headers, header::WARNING, warning);
        }
        return Ok((
            headers,
            Json(json!({ "name": repo.as_str(), "tags": tags })),
        )
            .into_response());
    }
    if !app.db.repository_exists(repo.as_str()).await? {
        return Err(ApiError::not_found(
            ErrorCode::NameUnknown,
            format!("repository {repo} does not exist"),
        ));
    }
    let mut tags = app
        .db
        .list_tags(repo.as_str(), page.last.as_deref(), page.fetch_limit())
        .await?;
    let link = page.finish(&mut tags, &format!("/v2/{repo}/tags/list"));
    let mut headers = HeaderMap::new();
    if let Some(link) = link {
        set(&mut headers, header::LINK, link);
    }
    Ok((
        headers,
        Json(json!({ "name": repo.as_str(), "tags": tags })),
    )
        .into_response())
}

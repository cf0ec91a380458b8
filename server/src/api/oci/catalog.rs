//! `GET /v2/_catalog` with `n`/`last` pagination, listing only the
//! repositories the caller may pull.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Page, set};
use crate::auth::listing::visible_page;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::middleware::auth::{caller_of, may_pull};
use crate::state::AppState;

pub async fn list(
    State(app): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
    extensions: axum::http::Extensions,
) -> ApiResult<Response> {
    let caller = caller_of(&extensions);
    let limit = page.n.map_or(usize::MAX, |n| n as usize);
    let (repositories, next) = visible_page(
        limit,
        page.last.clone(),
        |after, batch| {
            let db = app.db.clone();
            async move { db.list_repositories(after.as_deref(), batch).await }
        },
        |repository| may_pull(&app, &caller, repository),
    )
    .await?;
    let mut headers = HeaderMap::new();
    if let (Some(n), Some(last)) = (page.n, next) {
        set(
            &mut headers,
            header::LINK,
            format!("</v2/_catalog?n={n}&last={last}>; rel=\"next\""),
        );
    }
    Ok((headers, Json(json!({ "repositories": repositories }))).into_response())
}

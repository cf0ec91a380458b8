//! `GET /api/v1/admin/audit`: the audit log, newest first, paged by id.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct AuditQuery {
    /// At most this many entries (1 to 1000, default 100).
    limit: Option<i64>,
    /// Only entries with a smaller id (the `next_before` of the last page).
    before: Option<i64>,
}

pub async fn list(
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("limit must be between 1 and 1000, not {limit}"),
        ));
    }
    if query.before.is_some_and(|before| before < 1) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            "before must be an entry id (1 or more)",
        ));
    }
    let entries = app.db.audit_entries(query.before, limit).await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(
        json!({ "entries": entries, "next_before": next_before }),
    ))
}

//! `/api/v1/tokens[/{id}]`: personal access tokens, self-service.
//!
//! A signed-in user creates tokens for themselves (`wkg login` does this);
//! a token carries its owner's grants, optionally narrowed by scopes, so it
//! can never do more than its owner. Creating one needs the password (HTTP
//! Basic), so a leaked token cannot mint longer-lived ones. Listing and
//! revoking work with any credentials of the owner.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Via, admin};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiPath};
use crate::middleware::auth::caller_of;
use crate::state::AppState;

/// Personal tokens expire after this unless asked otherwise (or after
/// `auth.max_personal_token_ttl`, when that is shorter).
const DEFAULT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The caller's user name. With `auth.mode = "none"` there are no users:
/// the request is well formed but can never succeed here, so it is refused
/// (403, the one status the contract gives it) rather than called invalid.
fn owner(extensions: &Extensions) -> ApiResult<String> {
    caller_of(extensions)
        .user
        .clone()
        .ok_or_else(|| ApiError::no_users("personal tokens"))
}

pub async fn list(State(app): State<AppState>, extensions: Extensions) -> ApiResult<Json<Value>> {
    let user = owner(&extensions)?;
    let tokens = admin::list_tokens(&app.db, Some(&user)).await?;
    // The token this request came with, so a client can revoke its own
    // login without having kept the id.
    let current = match &caller_of(&extensions).via {
        Via::AccessToken(id) => Some(id.clone()),
        _ => None,
    };
    Ok(Json(json!({ "tokens": tokens, "current": current })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[serde(default)]
    description: String,
    /// A duration like `30d` (the default).
    ttl: Option<String>,
    /// `PATTERN=ACTIONS` entries narrowing the owner's grants.
    #[serde(default)]
    scopes: Vec<String>,
}

pub async fn create(
    State(app): State<AppState>,
    extensions: Extensions,
    ApiJson(token): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<admin::CreatedToken>)> {
    let user = owner(&extensions)?;
    if caller_of(&extensions).via != Via::Password {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Denied,
            "creating a token needs your password (HTTP Basic), not another token",
        ));
    }
    // A personal token always expires, within the registry's bound, so a
    // leaked one does not outlive a departure; robots that need longer get
    // their tokens from an administrator.
    let max = app.config.auth.max_personal_token_ttl;
    let ttl = match token.ttl.as_deref() {
        None => DEFAULT_TTL.min(max),
        Some(text) => admin::parse_ttl(text)?,
    };
    if ttl > max {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!(
                "a personal token may live at most {} here (auth.max_personal_token_ttl); \
                 ask for a shorter ttl, or ask an administrator for a longer-lived token",
                shown_duration(max)
            ),
        ));
    }
    let scopes = admin::parse_scopes(&token.scopes)?;
    let created =
        admin::create_token(&app.db, &user, &token.description, Some(ttl), &scopes).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `365d` rather than humantime's `11months 30days 3h 50m 24s`.
fn shown_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds.is_multiple_of(86_400) {
        format!("{}d", seconds / 86_400)
    } else {
        humantime::format_duration(duration).to_string()
    }
}

pub async fn revoke(
    State(app): State<AppState>,
    extensions: Extensions,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let user = owner(&extensions)?;
    let mine = app
        .db
        .access_token(&id)
        .await?
        .is_some_and(|token| token.user_name == user);
    if !mine {
        return Err(ApiError::not_found(
            ErrorCode::ResourceUnknown,
            format!(
                "you have no token with id {:?}",
                crate::names::bounded(&id, 64)
            ),
        ));
    }
    admin::revoke_token(&app.db, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

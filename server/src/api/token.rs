//! `/v2/token`: the Docker token endpoint.
//!
//! `GET ?service=..&scope=..` (any number of `scope`s) with HTTP Basic
//! credentials, a Bearer access token, or nothing (anonymous; never a JWT,
//! which would renew itself forever), and the
//! OAuth2 `POST` form (`grant_type=password` or `refresh_token`) that
//! docker-style clients use. The token grants what was asked, intersected
//! with what the caller holds; wrong credentials are a 401, never a quiet
//! downgrade to anonymous. With auth off it grants whatever is asked.
//!
//! The `service` parameter is accepted whatever it says: the token's `aud`
//! is always this registry's service, so a token asked for another service
//! is simply useless there.

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::{AuthError, Caller, Scope};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// Form bodies are a few hundred bytes; refuse anything silly.
const MAX_FORM: usize = 64 * 1024;

pub async fn get(State(app): State<AppState>, request: Request) -> ApiResult<Response> {
    let query = request.uri().query().unwrap_or_default().to_string();
    let fields = form_fields(query.as_bytes());
    let client = crate::client_addr::client_of(&request, &app.config.server.trusted_proxies);
    let caller = app
        .auth
        .authenticate_to_mint(&app.db, request.headers(), client)
        .await
        .map_err(credentials_error)?;
    let offline = field(&fields, "offline_token").is_some_and(|v| v == "true");
    respond(&app, &caller, &scopes(&fields), offline)
}

pub async fn post(State(app): State<AppState>, request: Request) -> ApiResult<Response> {
    let client = crate::client_addr::client_of(&request, &app.config.server.trusted_proxies);
    let body = axum::body::to_bytes(request.into_body(), MAX_FORM)
        .await
        .map_err(|_| {
            ApiError::bad_request(
                ErrorCode::Unsupported,
                "the token request body is larger than 64 KiB",
            )
        })?;
    let fields = form_fields(&body);
    let caller = match field(&fields, "grant_type").as_deref() {
        Some("password") => {
            let user = field(&fields, "username").unwrap_or_default();
            let password = field(&fields, "password").unwrap_or_default();
            if app.auth.mode == crate::config::AuthMode::None {
                Caller::everything()
            } else {
                app.auth
                    .login(&app.db, &user, &password, client)
                    .await
                    .map_err(credentials_error)?
            }
        }
        Some("refresh_token") => {
            let token = field(&fields, "refresh_token").unwrap_or_default();
            if app.auth.mode == crate::config::AuthMode::None {
                Caller::everything()
            } else {
                app.auth
                    .refresh(&app.db, &token)
                    .await
                    .map_err(credentials_error)?
            }
        }
        other => {
            return Err(ApiError::bad_request(
                ErrorCode::Unsupported,
                format!(
                    "grant_type {:?} is not supported; use \"password\" or \"refresh_token\"",
                    crate::names::bounded(other.unwrap_or_default(), 64)
                ),
            ));
        }
    };
    let offline = field(&fields, "access_type").is_some_and(|v| v == "offline");
    respond(&app, &caller, &scopes(&fields), offline)
}

fn respond(
    app: &AppState,
    caller: &Caller,
    scopes: &[Scope],
    offline: bool,
) -> ApiResult<Response> {
    let access = app.auth.grant_scopes(caller, scopes);
    let granted: Vec<String> = access
        .iter()
        .map(|e| format!("{}:{}:{}", e.kind, e.name, e.actions.join(",")))
        .collect();
    let (token, claims) = app
        .auth
        .issue_access_token(caller, access)
        .map_err(ApiError::internal)?;
    let issued_at = SystemTime::UNIX_EPOCH + Duration::from_secs(claims.iat);
    let mut body = json!({
        "token": token,
        "access_token": token,
        "expires_in": claims.exp - claims.iat,
        "issued_at": humantime::format_rfc3339_seconds(issued_at).to_string(),
        "scope": granted.join(" "),
    });
    if offline && caller.user.is_some() {
        body["refresh_token"] = json!(
            app.auth
                .issue_refresh_token(caller)
                .map_err(ApiError::internal)?
        );
    }
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response())
}

fn credentials_error(error: AuthError) -> ApiError {
    match error {
        AuthError::Database(e) => e.into(),
        AuthError::Throttled(wait) => ApiError::throttled(wait),
        AuthError::AddressThrottled(wait) => ApiError::address_throttled(wait),
        AuthError::AccountThrottled(wait) => ApiError::account_throttled(wait),
        AuthError::Busy => ApiError::logins_busy(),
        AuthError::Credentials(message) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            format!("{message}; check the user name and password or access token"),
        )
        .with_header(header::WWW_AUTHENTICATE, "Basic realm=\"wkg-gateway\""),
    }
}

fn form_fields(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field(fields: &[(String, String)], key: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// Every `scope` field; one field may hold several, separated by spaces
/// (the OAuth2 form).
fn scopes(fields: &[(String, String)]) -> Vec<Scope> {
    fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' '))
        .filter_map(Scope::parse)
        .collect()
}

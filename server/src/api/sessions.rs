//! `/api/v1/sessions`: "sign out everywhere", self-service.
//!
//! `DELETE` ends every web session, JWT and refresh token that came from a
//! password login of the caller, on every device and replica, by giving
//! the user a new credential epoch (what a password change does, keeping
//! the password). Personal access tokens are separate credentials and stay
//! valid: list and revoke them under `/api/v1/tokens`.
//!
//! Only the password, or a session that came from it, may do this: an
//! access token (perhaps narrowed to one repository for a CI job) cannot
//! sign its owner out.

use axum::extract::State;
use axum::http::{Extensions, StatusCode};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::middleware::auth::caller_of;
use crate::state::AppState;

pub async fn end_all(State(app): State<AppState>, extensions: Extensions) -> ApiResult<StatusCode> {
    let caller = caller_of(&extensions);
    let Some(user) = caller.user.clone() else {
        return Err(ApiError::no_users("sessions"));
    };
    if !caller.from_password_login() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Denied,
            "signing out everywhere needs your password (HTTP Basic) or a session from it, \
             not an access token; revoke access tokens under /api/v1/tokens",
        ));
    }
    if !app.db.bump_credential_epoch(&user).await? {
        // Removed between authentication and now: nothing is left to end.
        return Err(ApiError::not_found(
            ErrorCode::ResourceUnknown,
            "this user no longer exists",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /login` (the form), `POST /login` (sign in) and `POST /logout`, for
//! registries with `[auth] mode = "token"`. With auth off there is nobody to
//! sign in as, and these pages are a 404.
//!
//! Signing in takes a user name with a password or an access token, checks
//! them like every other login (throttled, see [`Auth::login`]), and stores
//! a JWT for the catalog scope in the session cookie ([`super::session`]).
//! A wrong password re-renders the form with a 401; a form without the
//! right CSRF token is a 403 with a fresh form.
//!
//! [`Auth::login`]: crate::auth::Auth::login

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::logout_form;
use super::session::Session;
use super::{Page, PageError, html_response, respond};
use crate::auth::{AuthError, Scope, Via};
use crate::state::AppState;

/// Sign-in forms are a few hundred bytes.
const MAX_FORM: usize = 16 * 1024;

pub async fn form(
    State(app): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    if !session.sign_in {
        return respond(&app, &session, Err(sign_in_off()));
    }
    let next = field(query.as_deref().unwrap_or_default().as_bytes(), "next");
    let page = login_page(&session, StatusCode::OK, None, "", &safe_next(&next));
    html_response(&app, &session, page)
}

pub async fn submit(State(app): State<AppState>, mut session: Session, body: Body) -> Response {
    if !session.sign_in {
        return respond(&app, &session, Err(sign_in_off()));
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        let page = login_page(
            &session,
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("The form was too large."),
            "",
            "/",
        );
        return html_response(&app, &session, page);
    };
    let user = field(&bytes, "username");
    let user = user.trim();
    let secret = field(&bytes, "password");
    let next = safe_next(&field(&bytes, "next"));
    if !session.csrf_matches(&field(&bytes, "csrf")) {
        let message = "This form expired or came from another site. Please sign in again.";
        let page = login_page(&session, StatusCode::FORBIDDEN, Some(message), user, &next);
        return html_response(&app, &session, page);
    }
    if user.is_empty() || secret.is_empty() {
        let message = "Enter your user name, and your password or an access token.";
        let page = login_page(
            &session,
            StatusCode::UNAUTHORIZED,
            Some(message),
            user,
            &next,
        );
        return html_response(&app, &session, page);
    }
    let refused = |session: &Session, message: &str| {
        let page = login_page(
            session,
            StatusCode::UNAUTHORIZED,
            Some(message),
            user,
            &next,
        );
        html_response(&app, session, page)
    };
    let caller = match app.auth.login(&app.db, user, &secret, session.client).await {
        Ok(caller) => caller,
        Err(AuthError::Credentials(_)) => {
            return refused(
                &session,
                "Wrong user name, password or access token. Check them and try again.",
            );
        }
        Err(AuthError::AddressThrottled(wait)) => {
            let message = format!(
                "Too many failed sign-ins from your address. Wait {} seconds and try again.",
                wait.as_secs().max(1)
            );
            return refused(&session, &message);
        }
        Err(AuthError::Busy) => {
            return refused(
                &session,
                "The registry is checking many passwords right now. Try again in a moment.",
            );
        }
        Err(AuthError::Throttled(wait) | AuthError::AccountThrottled(wait)) => {
            let message = format!(
                "Too many failed sign-ins for this user. Wait {} seconds and try again.",
                wait.as_secs().max(1)
            );
            return refused(&session, &message);
        }
        Err(AuthError::Database(error)) => return respond(&app, &session, Err(error.into())),
    };
    // The session cookie carries the user's pull grants; an access token
    // narrowed to some repositories must not widen into all of them.
    if let Via::AccessToken(id) = &caller.via {
        match app.db.access_token(id).await {
            Ok(Some(row)) if row.scopes.trim().is_empty() => {}
            Ok(_) => {
                return refused(
                    &session,
                    "This access token is limited to some repositories, so it cannot open a \
                     browser session. Sign in with your password or an unrestricted token.",
                );
            }
            Err(error) => return respond(&app, &session, Err(error.into())),
        }
    }
    let catalog = Scope {
        kind: "registry".into(),
        name: "catalog".into(),
        actions: vec!["*".into()],
    };
    let access = app.auth.grant_scopes(&caller, &[catalog]);
    let (jwt, claims) = match app.auth.issue_access_token(&caller, access) {
        Ok(issued) => issued,
        Err(error) => {
            let error = crate::error::ApiError::internal(error);
            return respond(&app, &session, Err(PageError::from(error)));
        }
    };
    session.begin(&jwt, claims.exp.saturating_sub(claims.iat));
    see_other(&session, &next)
}

pub async fn logout(State(app): State<AppState>, mut session: Session, body: Body) -> Response {
    if !session.sign_in {
        return respond(&app, &session, Err(sign_in_off()));
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .unwrap_or_default();
    if !session.csrf_matches(&field(&bytes, "csrf")) {
        let page = Page {
            status: StatusCode::FORBIDDEN,
            title: "Sign out".into(),
            body: html! {
                h1 { "Sign out" }
                p.alert role="alert" { "This form expired or came from another site, so you are still signed in." }
                @if session.user().is_some() { (logout_form(&session)) }
            },
        };
        return html_response(&app, &session, page);
    }
    // "Everywhere" gives the user a new credential epoch, which ends every
    // session and refresh token of their password logins, this one too.
    if field(&bytes, "everywhere") == "1"
        && session.caller.from_password_login()
        && let Some(user) = session.user()
        && let Err(error) = app.db.bump_credential_epoch(user).await
    {
        return respond(&app, &session, Err(error.into()));
    }
    // Signing out ends the session's token itself, not only the cookie: a
    // copy of the cookie taken earlier stops working too.
    if let Some(token) = session.token()
        && let Err(error) = app.auth.end_session(&app.db, &token).await
    {
        return respond(&app, &session, Err(error.into()));
    }
    session.end();
    see_other(&session, "/")
}

fn sign_in_off() -> PageError {
    PageError::NotFound("This registry does not use sign-in: everyone sees every package.".into())
}

/// `303 See Other` to a page of ours, with the session's cookies.
fn see_other(session: &Session, location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    response.headers_mut().insert(header::LOCATION, value);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    session.set_cookies(response.headers_mut());
    response
}

/// Where to go after signing in: a path on this site, else the home page
/// (never another site: `//evil.example` and `/\evil` are refused).
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local && next.len() < 2048 {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// The first value of `name` in a urlencoded form or query.
fn field(form: &[u8], name: &str) -> String {
    url::form_urlencoded::parse(form)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn login_page(
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
    user: &str,
    next: &str,
) -> Page {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(user) = session.user() {
            p.notice { "You are signed in as " strong { (user) } ". Sign in again to switch users." }
        }
        div.form-card {
            @if let Some(error) = error {
                p.alert #login-error role="alert" { (error) }
            }
            form action="/login" method="post" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="username" { "User name" }
                    input #username type="text" name="username" value=(user) required
                        autocomplete="username" autocapitalize="none" spellcheck="false";
                }
                div.field {
                    label for="password" { "Password or access token" }
                    input #password type="password" name="password" required autocomplete="current-password"
                        aria-describedby="password-hint";
                    span.hint #password-hint { "An access token (wkg_…) works in place of a password." }
                }
                button type="submit" { "Sign in" }
            }
        }
        p.hint { "The browser session lasts as long as a registry token; sign in again when it ends." }
    };
    Page {
        status,
        title: "Sign in".into(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/packages/acme/x"), "/packages/acme/x");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }

    #[test]
    fn form_fields_decode() {
        assert_eq!(field(b"a=1&username=ann+b%40x&a=2", "username"), "ann b@x");
        assert_eq!(field(b"", "username"), "");
    }
}

//! Who is reading a page, from the session cookie, and the CSRF token of
//! its forms.
//!
//! The session cookie holds a short-lived JWT from [`Auth`] with the
//! `registry:catalog:*` scope, which makes its holder's current pull
//! grants apply to listings: so a page shows what the reader may pull now,
//! and a revoked grant disappears at once. Signing out ends the token
//! itself (its `jti` is recorded as revoked), so a copied cookie dies too. The cookie is `HttpOnly` and
//! `SameSite=Strict` (and `Secure`, with the `__Host-` prefix, when the
//! registry is served over https), and lives as long as the token.
//!
//! Forms that change state (sign in, sign out) carry a random token that
//! must match the CSRF cookie (double submit): another site cannot read the
//! cookie to forge the field, and `SameSite=Strict` keeps the browser from
//! sending it along with a cross-site post in the first place.
//!
//! [`Auth`]: crate::auth::Auth

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::auth::{AuthError, Caller};
use crate::client_addr::{Peer, client_from_headers};
use crate::config::AuthMode;
use crate::middleware::auth::may_pull;
use crate::packages::naming;
use crate::state::{App, AppState};

const SESSION: &str = "wkg-session";
const CSRF: &str = "wkg-csrf";

/// The reader of a page.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Arc<Caller>,
    /// Whether the registry has sign-in at all (`[auth] mode = "token"`).
    pub sign_in: bool,
    /// The token the page's forms must echo.
    pub csrf: String,
    /// Whether `csrf` came from the request's cookie (rather than being
    /// made for this answer): only then can a form post match it.
    csrf_from_cookie: bool,
    /// The client address (login throttling).
    pub client: Option<IpAddr>,
    secure: bool,
    /// Cookies to send with the answer.
    outgoing: Vec<String>,
    /// The session cookie's token, as sent (sign-out ends it).
    token: Option<String>,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Infallible> {
        let client = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|ConnectInfo(Peer(peer))| {
                client_from_headers(*peer, &parts.headers, &app.config.server.trusted_proxies)
            });
        Ok(Session::load(app, &parts.headers, client).await)
    }
}

impl Session {
    /// Reads the cookies. A session that no longer verifies (expired,
    /// signed by a retired key) is dropped and its cookie cleared; a
    /// database failure reads as anonymous for this request only.
    pub async fn load(app: &App, headers: &HeaderMap, client: Option<IpAddr>) -> Self {
        let secure = app.public_url.scheme() == "https";
        let mut session = Session {
            caller: Arc::new(Caller::everything()),
            sign_in: app.auth.mode == AuthMode::Token,
            csrf: String::new(),
            csrf_from_cookie: false,
            client,
            secure,
            outgoing: Vec::new(),
            token: None,
        };
        // Only sign-in and sign-out post forms: with auth off there is no
        // form to protect and no cookie to set.
        if session.sign_in {
            match cookie(headers, &session.name(CSRF)) {
                Some(token) if is_csrf_token(token) => {
                    session.csrf = token.to_string();
                    session.csrf_from_cookie = true;
                }
                _ => session.renew_csrf(),
            }
        }
        let jwt = cookie(headers, &session.name(SESSION)).map(str::to_string);
        session.token.clone_from(&jwt);
        let mut auth_headers = HeaderMap::new();
        if let Some(jwt) = &jwt {
            // Anything that is not a header value cannot verify either.
            let value = HeaderValue::from_str(&format!("Bearer {jwt}"))
                .unwrap_or(HeaderValue::from_static("Bearer -"));
            auth_headers.insert(header::AUTHORIZATION, value);
        }
        session.caller = match app.auth.authenticate(&app.db, &auth_headers, client).await {
            Ok(caller) => caller,
            Err(
                AuthError::Credentials(_)
                | AuthError::Throttled(_)
                | AuthError::AddressThrottled(_)
                | AuthError::AccountThrottled(_)
                | AuthError::Busy,
            ) => {
                session.end();
                app.auth
                    .authenticate(&app.db, &HeaderMap::new(), client)
                    .await
                    .unwrap_or_else(|_| Arc::new(Caller::nobody()))
            }
            Err(AuthError::Database(error)) => {
                tracing::warn!(%error, "cannot check the session; reading as anonymous");
                Arc::new(Caller::nobody())
            }
        };
        session
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&str> {
        if self.sign_in {
            self.caller.user.as_deref()
        } else {
            None
        }
    }

    /// The session cookie's token, if one was sent.
    pub fn token(&self) -> Option<String> {
        self.token.clone()
    }

    /// Whether the reader may see package `ns:name`: whether they may pull it.
    pub fn may_see(&self, app: &AppState, namespace: &str, name: &str) -> bool {
        let repository = naming::repository(&app.config.registry.namespace_prefix, namespace, name);
        may_pull(app, &self.caller, &repository)
    }

    /// Whether a form's CSRF field matches the cookie (in constant time).
    pub fn csrf_matches(&self, field: &str) -> bool {
        self.csrf_from_cookie && constant_time_eq(self.csrf.as_bytes(), field.as_bytes())
    }

    /// Starts a session with a signed token that lives `max_age` seconds.
    pub fn begin(&mut self, jwt: &str, max_age: u64) {
        let cookie = self.cookie(SESSION, jwt, max_age);
        self.outgoing.push(cookie);
        // A fresh form token for the new session.
        self.renew_csrf();
    }

    /// Ends the session (sign out, or a token that no longer verifies).
    pub fn end(&mut self) {
        let cookie = self.cookie(SESSION, "", 0);
        self.outgoing.push(cookie);
    }

    /// Adds the cookies this answer sets.
    pub fn set_cookies(&self, headers: &mut HeaderMap) {
        for cookie in &self.outgoing {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
    }

    fn renew_csrf(&mut self) {
        let mut bytes = [0u8; 32];
        if getrandom::fill(&mut bytes).is_err() {
            // No randomness: a token nobody can match refuses every form
            // rather than accepting a guessable one.
            self.csrf = String::from("unavailable");
            return;
        }
        self.csrf = hex::encode(bytes);
        self.csrf_from_cookie = false;
        // A session cookie (no Max-Age): the form token lasts the browser session.
        let cookie = self.cookie(CSRF, &self.csrf.clone(), u64::MAX);
        self.outgoing.push(cookie);
    }

    /// A cookie's name: with the `__Host-` prefix over https, which
    /// browsers only accept with `Secure`, `Path=/` and no `Domain`, so a
    /// sibling subdomain cannot plant one.
    fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// `Set-Cookie` text; `max_age` `u64::MAX` means "until the browser closes".
    fn cookie(&self, base: &str, value: &str, max_age: u64) -> String {
        let mut text = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Strict",
            self.name(base)
        );
        if max_age != u64::MAX {
            text.push_str(&format!("; Max-Age={max_age}"));
        }
        if self.secure {
            text.push_str("; Secure");
        }
        text
    }
}

/// The value of cookie `name` from the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

fn is_csrf_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares without stopping at the first difference, so timing does not
/// tell an attacker how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; wkg-csrf=x"));
        headers.append(header::COOKIE, HeaderValue::from_static("wkg-session=jwt"));
        assert_eq!(cookie(&headers, "wkg-csrf"), Some("x"));
        assert_eq!(cookie(&headers, "wkg-session"), Some("jwt"));
        assert_eq!(cookie(&headers, "session"), None);
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(is_csrf_token(&"a".repeat(64)));
        assert!(!is_csrf_token(&"g".repeat(64)));
    }
}

//! The one middleware that authenticates and authorizes every request, and
//! writes the audit trail.
//!
//! Refusals follow the Docker token protocol: a caller without (valid)
//! credentials gets 401 `UNAUTHORIZED` with a
//! `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge; a
//! known caller without the right gets 403 `DENIED`, since logging in again
//! would not help. A JWT that lacks a scope its holder could get is a 403
//! `DENIED` carrying a challenge with `error="insufficient_scope"` and the
//! scope (RFC 6750 §3.1), which clients answer with a wider token.
//!
//! Audited: every refused push, delete or admin request, and every
//! successful one except the steps of a blob upload (the manifest `PUT`
//! that completes a push is the record of it). Refusals from one source
//! are recorded one by one only up to `[audit] refusals_per_source` per
//! window, then counted (see `crate::audit_limit`), and every row keeps at
//! most 1 KiB of client-supplied text (`db::audit::MAX_CLIENT_TEXT`). A push
//! or delete naming a repository that cannot exist is answered 400
//! `NAME_INVALID` before authentication and not audited: it can change
//! nothing, and its name is whatever the client chose to send.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::audit_limit::Summary;
use crate::auth::pattern::Action;
use crate::auth::policy::{Requirement, requirement};
use crate::auth::{AuthError, Caller, Via};
use crate::config::AuthMode;
use crate::db::NewAuditEntry;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub async fn enforce(
    State(app): State<AppState>,
    matched: Option<MatchedPath>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut request: Request,
    next: Next,
) -> Response {
    if app.auth.mode == AuthMode::None {
        request
            .extensions_mut()
            .insert(Arc::new(Caller::everything()));
        return next.run(request).await;
    }
    let params: Vec<(String, String)> = params
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let method = request.method().clone();
    let required = requirement(
        matched.as_ref().map(MatchedPath::as_str),
        &method,
        &params,
        &app.config.registry.namespace_prefix,
    );
    if required == Requirement::Public {
        return next.run(request).await;
    }
    if let Some(refusal) = invalid_name(&required) {
        return drain_then(request, refusal).await;
    }
    let client = crate::client_addr::client_of(&request, &app.config.server.trusted_proxies);
    let caller = match app
        .auth
        .authenticate(&app.db, request.headers(), client)
        .await
    {
        Ok(caller) => caller,
        Err(AuthError::Database(e)) => return ApiError::from(e).into_response(),
        Err(AuthError::Throttled(wait)) => {
            let refusal = ApiError::throttled(wait)
                .with_header(
                    header::WWW_AUTHENTICATE,
                    &app.auth.challenge(required.scope().as_deref(), false),
                )
                .into_response();
            let detail = format!("{method} {}", client_path(request.uri().path()));
            audit(&app, &required, None, client, detail, refusal.status()).await;
            return drain_then(request, refusal).await;
        }
        Err(
            error @ (AuthError::AddressThrottled(_)
            | AuthError::AccountThrottled(_)
            | AuthError::Busy),
        ) => {
            let refusal = match error {
                AuthError::AddressThrottled(wait) => ApiError::address_throttled(wait),
                AuthError::AccountThrottled(wait) => ApiError::account_throttled(wait),
                _ => ApiError::logins_busy(),
            }
            .into_response();
            let detail = format!("{method} {}", client_path(request.uri().path()));
            audit(&app, &required, None, client, detail, refusal.status()).await;
            return drain_then(request, refusal).await;
        }
        Err(AuthError::Credentials(message)) => {
            let refusal = challenge(&app, &required, message);
            let detail = format!("{method} {}", client_path(request.uri().path()));
            audit(&app, &required, None, client, detail, refusal.status()).await;
            return drain_then(request, refusal).await;
        }
    };
    if let Err(refusal) = authorize(&app, &caller, &required).await {
        let detail = format!("{method} {}", client_path(request.uri().path()));
        audit(
            &app,
            &required,
            Some(&caller),
            client,
            detail,
            refusal.status(),
        )
        .await;
        return drain_then(request, refusal).await;
    }
    let uri_path = client_path(request.uri().path());
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    let upload_step = matches!(
        matched.as_ref().map(MatchedPath::as_str),
        Some("/v2/{name}/blobs/uploads/" | "/v2/{name}/blobs/uploads/{id}")
    );
    let read = matches!(method, Method::GET | Method::HEAD);
    if !upload_step && !read && required.audited_action().is_some() {
        record(
            &app,
            &required,
            caller.name(),
            client,
            response.status(),
            format!("{method} {uri_path}"),
        )
        .await;
    }
    response
}

/// The request path as the client sent it, for the audit trail: before
/// routing, [`crate::extract::rewrite_oci_path`] folds a multi-segment
/// repository name into one segment (`/` as `%2F`, `%` as `%25`); this
/// unfolds it again.
fn client_path(path: &str) -> String {
    let Some((name, endpoint)) = path
        .strip_prefix("/v2/")
        .and_then(|rest| rest.split_once('/'))
    else {
        return path.to_string();
    };
    let mut unfolded = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%2F") {
            unfolded.push('/');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%25") {
            unfolded.push('%');
            rest = after;
        } else {
            unfolded.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    format!("/v2/{unfolded}/{endpoint}")
}

/// The answer to an audited request whose repository name is invalid (the
/// handler would refuse it the same way, after authentication).
fn invalid_name(required: &Requirement) -> Option<Response> {
    let Requirement::Repository { repository, .. } = required else {
        return None;
    };
    required.audited_action()?;
    let error = crate::names::RepoName::parse(repository).err()?;
    Some(ApiError::bad_request(ErrorCode::NameInvalid, error.to_string()).into_response())
}

/// Reads a small unread request body before answering a refusal, so the
/// client's keep-alive connection stays usable (a connection left with an
/// unread body is closed, which clients may only notice on their next
/// request). Large or slow bodies are not waited for.
async fn drain_then(request: Request, refusal: Response) -> Response {
    const SMALL: u64 = 64 * 1024;
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > 0 && len <= SMALL);
    if small {
        let body = axum::body::to_bytes(request.into_body(), SMALL as usize);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), body).await;
    }
    refusal
}

/// Checks an authenticated caller against what the route needs.
async fn authorize(
    app: &AppState,
    caller: &Caller,
    required: &Requirement,
) -> Result<(), Response> {
    let anonymous = caller.user.is_none();
    match required {
        Requirement::Public => Ok(()),
        Requirement::Authenticated | Requirement::Listing { .. } if !anonymous => Ok(()),
        Requirement::Listing {
            challenge_anonymous: false,
        } => Ok(()),
        Requirement::Authenticated | Requirement::Listing { .. } => {
            // A JWT for an anonymous caller is a login too (public pulls).
            if caller.via == Via::Jwt {
                Ok(())
            } else {
                Err(challenge(app, required, "authentication required".into()))
            }
        }
        Requirement::Repository { repository, action } => {
            let path = app.auth.package_path(repository);
            if caller.may(*action, path) {
                return Ok(());
            }
            let verb = action.as_str();
            // Pull routes reach here with names nobody validated yet: echo
            // no more of them than a valid name could be.
            let repository = crate::names::bounded(repository, crate::names::MAX_NAME_LEN);
            let shown_path = crate::names::bounded(path, crate::names::MAX_NAME_LEN);
            if anonymous {
                return Err(challenge(
                    app,
                    required,
                    format!("authentication required to {verb} {repository}"),
                ));
            }
            // A JWT lacking a scope its holder could get: 403 with a
            // challenge naming the scope (RFC 6750 `insufficient_scope`),
            // which clients answer by fetching a wider token.
            if caller.via == Via::Jwt && caller.user.is_some() && caller.could_get(*action, path) {
                return Err(insufficient_scope(
                    app,
                    required,
                    format!(
                        "the token does not include {verb} access to {repository}; \
                         get a token for the scope in WWW-Authenticate"
                    ),
                ));
            }
            Err(denied(format!(
                "{} may not {verb} {repository}; an admin can grant it with \
                 `wkg-gateway admin grant {} {shown_path} {verb}`",
                caller.name(),
                caller.name(),
            )))
        }
        Requirement::User if !anonymous => Ok(()),
        Requirement::User => Err(challenge(
            app,
            required,
            "personal tokens belong to a user: log in".into(),
        )),
        Requirement::Admin if caller.is_admin() => Ok(()),
        Requirement::Admin if anonymous => Err(challenge(
            app,
            required,
            "authentication required for the admin API".into(),
        )),
        Requirement::Admin => Err(denied(format!(
            "{} is not an administrator (needs the admin action on `*`)",
            caller.name()
        ))),
    }
}

fn challenge(app: &AppState, required: &Requirement, message: String) -> Response {
    let scope = required.scope();
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, format!(
        "{message}; log in (e.g. `wkg login`, `oras login`, `skopeo login`) or send an access token"
    ))
    .with_header(
        header::WWW_AUTHENTICATE,
        &app.auth.challenge(scope.as_deref(), false),
    )
    .into_response()
}

fn insufficient_scope(app: &AppState, required: &Requirement, message: String) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Denied, message)
        .with_header(
            header::WWW_AUTHENTICATE,
            &app.auth.challenge(required.scope().as_deref(), true),
        )
        .into_response()
}

fn denied(message: String) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Denied, message).into_response()
}

/// Audits a refused request, when its requirement is audited and its
/// source is within `[audit] refusals_per_source` (see `audit_limit`).
async fn audit(
    app: &AppState,
    required: &Requirement,
    caller: Option<&Caller>,
    client: Option<IpAddr>,
    detail: String,
    status: StatusCode,
) {
    if required.audited_action().is_none() {
        return;
    }
    let admission = app.audit_refusals.admit(client);
    for summary in admission.summaries {
        record_summary(app, client, summary).await;
    }
    if admission.record {
        let actor = caller.map(Caller::name).unwrap_or("unauthenticated");
        record(app, required, actor, client, status, detail).await;
    }
}

/// A `system:audit` row about refusals from `client` not recorded one by
/// one.
async fn record_summary(app: &AppState, client: Option<IpAddr>, summary: Summary) {
    let client = client.map(|ip| ip.to_string()).unwrap_or_default();
    let detail = match summary {
        Summary::Suppressing { limit, window } => format!(
            "more than {limit} refused requests from {client} within {}: further ones in \
             this window are counted (wkg_gateway_audit_refusals_unrecorded_total), \
             not recorded one by one",
            humantime::format_duration(window)
        ),
        Summary::Unrecorded { count, since } => format!(
            "{count} refused requests from {client} were not recorded one by one in the \
             window that began at {}",
            humantime::format_rfc3339_seconds(since)
        ),
    };
    let entry = NewAuditEntry {
        actor: "system:audit",
        client: &client,
        action: "refusals",
        target: &client,
        outcome: "denied",
        status: 0,
        detail: &detail,
    };
    if let Err(error) = app.db.append_audit(entry).await {
        tracing::error!(%error, "cannot write the audit log");
    }
}

async fn record(
    app: &AppState,
    required: &Requirement,
    actor: &str,
    client: Option<IpAddr>,
    status: StatusCode,
    detail: String,
) {
    let Some(action) = required.audited_action() else {
        return;
    };
    let target = match required {
        Requirement::Repository { repository, .. } => repository.clone(),
        _ => detail
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string(),
    };
    let outcome = if status.is_success() || status.is_redirection() {
        "allowed"
    } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        "denied"
    } else {
        "failed"
    };
    let client = client.map(|ip| ip.to_string()).unwrap_or_default();
    let entry = NewAuditEntry {
        actor,
        client: &client,
        action,
        target: &target,
        outcome,
        status: status.as_u16(),
        detail: &detail,
    };
    if let Err(error) = app.db.append_audit(entry).await {
        tracing::error!(%error, action, target, "cannot write the audit log");
    }
}

/// The caller a handler runs for (set by [`enforce`]); one who may do
/// nothing if the middleware did not run (fail closed).
pub fn caller_of(extensions: &axum::http::Extensions) -> Arc<Caller> {
    extensions
        .get::<Arc<Caller>>()
        .cloned()
        .unwrap_or_else(|| Arc::new(Caller::nobody()))
}

/// Whether `caller` may pull the repository `repository` (full OCI name).
pub fn may_pull(app: &AppState, caller: &Caller, repository: &str) -> bool {
    caller.may(Action::Pull, app.auth.package_path(repository))
}

#[cfg(test)]
mod tests {
    use super::client_path;

    #[test]
    fn audit_paths_read_as_the_client_sent_them() {
        assert_eq!(
            client_path("/v2/acme%2Fapp/manifests/sha256:00"),
            "/v2/acme/app/manifests/sha256:00"
        );
        assert_eq!(
            client_path("/v2/a%2Fb%2Fc/blobs/uploads/"),
            "/v2/a/b/c/blobs/uploads/"
        );
        assert_eq!(client_path("/v2/x%252F/tags/list"), "/v2/x%2F/tags/list");
        assert_eq!(client_path("/api/v1/admin/users"), "/api/v1/admin/users");
        assert_eq!(client_path("/v2/"), "/v2/");
    }
}

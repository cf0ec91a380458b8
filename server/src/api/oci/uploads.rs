//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (new session, monolithic
//! upload, or cross-repository mount) and `GET`/`PATCH`/`PUT`/`DELETE` on a
//! session's URL.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, digest, repo, set};
use crate::db::UploadRow;
use crate::digest::Digest;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery};
use crate::names::RepoName;
use crate::registry::upload_limits::{UploadOwner, open_session};
use crate::registry::uploads::{
    append_chunk, discard_session, find_session, finish_session, range_header, store_monolithic,
    upload_location,
};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    digest: Option<String>,
    mount: Option<String>,
    from: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FinishQuery {
    digest: Option<String>,
}

fn session_response(status: StatusCode, repo: &RepoName, id: Uuid, committed: u64) -> Response {
    let mut headers = HeaderMap::new();
    set(&mut headers, header::LOCATION, upload_location(repo, id));
    set(&mut headers, header::RANGE, range_header(committed));
    set(&mut headers, DOCKER_UPLOAD_UUID, id.to_string());
    set(&mut headers, header::CONTENT_LENGTH, "0");
    (status, headers).into_response()
}

fn blob_created(repo: &RepoName, digest: &Digest) -> Response {
    let mut headers = HeaderMap::new();
    set(
        &mut headers,
        header::LOCATION,
        format!("/v2/{repo}/blobs/{digest}"),
    );
    set(&mut headers, DOCKER_CONTENT_DIGEST, digest.to_string());
    set(&mut headers, header::CONTENT_LENGTH, "0");
    (StatusCode::CREATED, headers).into_response()
}

pub async fn start(
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<StartQuery>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Body,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    app.repositories.check_push(&repo)?;
    // Mounting reads from `from`: only for callers who may pull it there.
    let caller = crate::middleware::auth::caller_of(&extensions);
    let from = query
        .from
        .as_deref()
        .filter(|from| crate::middleware::auth::may_pull(&app, &caller, from));
    if let Some(mount) = &query.mount
        && let Some(mounted) = try_mount(&app, &repo, mount, from).await?
    {
        return Ok(blob_created(&repo, &mounted));
    }
    if let Some(text) = &query.digest {
        let digest = digest(text)?;
        store_monolithic(&app.registry, &repo, &digest, body).await?;
        return Ok(blob_created(&repo, &digest));
    }
    let owner = UploadOwner::of(
        caller.user.as_deref(),
        client_address(&app, &extensions, &headers),
    );
    let id = open_session(&app.registry, &repo, &owner).await?;
    Ok(session_response(StatusCode::ACCEPTED, &repo, id, 0))
}

/// The client's address as everything else sees it (after
/// `server.trusted_proxies`); `None` without connection info.
fn client_address(
    app: &AppState,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> Option<std::net::IpAddr> {
    let axum::extract::ConnectInfo(crate::client_addr::Peer(peer)) =
        extensions.get::<axum::extract::ConnectInfo<crate::client_addr::Peer>>()?;
    Some(crate::client_addr::client_from_headers(
        *peer,
        headers,
        &app.config.server.trusted_proxies,
    ))
}

/// Links `digest` from `from` into `repo` when `from` has it. Anything that
/// prevents the mount (bad digest, unknown source, a source the caller may
/// not pull, a blob `from` does not hold, wherever else it is stored) falls
/// back to a normal upload, as the spec asks, so the answer never tells what
/// another repository holds.
async fn try_mount(
    app: &AppState,
    repo: &RepoName,
    mount: &str,
    from: Option<&str>,
) -> ApiResult<Option<Digest>> {
    let (Ok(digest), Some(Ok(from))) = (mount.parse::<Digest>(), from.map(RepoName::parse)) else {
        return Ok(None);
    };
    // One transaction checks `from`'s link and adds `repo`'s, so a blob
    // unlinked from `from` meanwhile is not mounted.
    Ok(app
        .db
        .mount_blob(repo.as_str(), from.as_str(), &digest.to_string())
        .await?
        .then_some(digest))
}

pub async fn status(
    State(app): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let session = find_session(&app.registry, &repo, &id).await?;
    Ok(session_response(
        StatusCode::NO_CONTENT,
        &repo,
        session.id,
        session.committed,
    ))
}

pub async fn append(
    State(app): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let session = find_session(&app.registry, &repo, &id).await?;
    let committed = stage_body(&app, &repo, &session, &headers, body).await?;
    Ok(session_response(
        StatusCode::ACCEPTED,
        &repo,
        session.id,
        committed,
    ))
}

pub async fn finish(
    State(app): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<FinishQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let session = find_session(&app.registry, &repo, &id).await?;
    let Some(text) = query.digest else {
        return Err(ApiError::bad_request(
            ErrorCode::DigestInvalid,
            "completing an upload needs ?digest=<algorithm>:<hex> of the whole blob",
        ));
    };
    let digest = digest(&text)?;
    let committed = stage_body(&app, &repo, &session, &headers, body).await?;
    let session = UploadRow {
        committed,
        ..session
    };
    finish_session(&app.registry, &repo, &session, &digest).await?;
    Ok(blob_created(&repo, &digest))
}

pub async fn cancel(
    State(app): State<AppState>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let session = find_session(&app.registry, &repo, &id).await?;
    discard_session(&app.registry, session.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Stages a request body as the session's next chunk, honouring an optional
/// `Content-Range` (`start-end` or `bytes=start-end`).
async fn stage_body(
    app: &AppState,
    repo: &RepoName,
    session: &UploadRow,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<u64> {
    let content_length = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(ErrorCode::SizeInvalid, "Content-Length is not a number")
                })?,
        ),
    };
    let (start, expected) = match headers.get(header::CONTENT_RANGE) {
        None => (session.committed, None),
        Some(value) => {
            let (start, end) = value
                .to_str()
                .ok()
                .and_then(parse_content_range)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::BlobUploadInvalid,
                        "Content-Range must be <start>-<end> (inclusive byte offsets)",
                    )
                })?;
            let length = end - start + 1;
            if content_length.is_some_and(|cl| cl != length) {
                return Err(ApiError::bad_request(
                    ErrorCode::SizeInvalid,
                    format!(
                        "Content-Range covers {length} bytes but Content-Length says {}",
                        content_length.unwrap_or_default()
                    ),
                ));
            }
            (start, Some(length))
        }
    };
    if content_length == Some(0) && expected.is_none() {
        return Ok(session.committed);
    }
    Ok(append_chunk(&app.registry, repo, session, start, expected, body).await?)
}

/// `start-end`, `bytes=start-end` or `bytes start-end/total`, with end ≥ start.
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let value = value.trim();
    let value = value
        .strip_prefix("bytes=")
        .or_else(|| value.strip_prefix("bytes "))
        .unwrap_or(value);
    let value = value.split('/').next()?;
    let (start, end) = value.split_once('-')?;
    let (start, end) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    (end >= start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("0-99"), Some((0, 99)));
        assert_eq!(parse_content_range("bytes=100-199"), Some((100, 199)));
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, 9)));
        assert_eq!(parse_content_range("9-5"), None);
        assert_eq!(parse_content_range("x-5"), None);
        assert_eq!(parse_content_range(""), None);
    }
}

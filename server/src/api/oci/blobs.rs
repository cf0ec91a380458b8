//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`, with byte ranges.

use std::ops::Range;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{DOCKER_CONTENT_DIGEST, digest, repo, set};
use crate::digest::Digest;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::registry::content::{Blob, Content, Want};
use crate::state::AppState;
use crate::storage::StorageKey;

/// The blob a request names, as far as `want` needs it.
async fn read(
    app: &AppState,
    name: &str,
    digest_text: &str,
    want: Want,
) -> ApiResult<(Digest, Blob)> {
    let repo = repo(name)?;
    let digest = digest(digest_text)?;
    let blob = app
        .repositories
        .content(&repo)
        .blob(&repo, &digest, want)
        .await?;
    Ok((digest, blob))
}

/// Headers of a blob arriving from elsewhere, whose length may be unknown.
fn streaming_headers(digest: &Digest, length: Option<u64>) -> HeaderMap {
    let mut headers = blob_headers(digest, length.unwrap_or_default());
    if length.is_none() {
        headers.remove(header::CONTENT_LENGTH);
    }
    headers
}

fn blob_headers(digest: &Digest, length: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    set(&mut headers, header::CONTENT_LENGTH, length.to_string());
    set(
        &mut headers,
        header::CONTENT_TYPE,
        "application/octet-stream",
    );
    set(&mut headers, DOCKER_CONTENT_DIGEST, digest.to_string());
    set(&mut headers, header::ACCEPT_RANGES, "bytes");
    set(&mut headers, header::ETAG, format!("\"{digest}\""));
    set(
        &mut headers,
        header::CACHE_CONTROL,
        "max-age=31536000, immutable",
    );
    headers
}

pub async fn head(
    State(app): State<AppState>,
    ApiPath((name, digest)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (digest, blob) = read(&app, &name, &digest, Want::Size).await?;
    let headers = match blob {
        Blob::Stored(size) => blob_headers(&digest, size),
        Blob::Streaming { length, .. } => streaming_headers(&digest, length),
    };
    Ok((StatusCode::OK, headers).into_response())
}

pub async fn get(
    State(app): State<AppState>,
    ApiPath((name, digest)): ApiPath<(String, String)>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    // A whole blob may stream as it arrives from an upstream; a range is
    // served from the stored blob.
    let want = match request_headers.contains_key(header::RANGE) {
        true => Want::Stored,
        false => Want::Bytes,
    };
    let (digest, blob) = read(&app, &name, &digest, want).await?;
    let size = match blob {
        Blob::Stored(size) => size,
        Blob::Streaming { length, body } => {
            let headers = streaming_headers(&digest, length);
            return Ok((StatusCode::OK, headers, Body::from_stream(body)).into_response());
        }
    };
    if app.config.storage.redirect_blob_downloads
        && let Some(url) = app.storage.presigned_get(StorageKey::Blob(&digest)).await?
    {
        let mut headers = HeaderMap::new();
        set(&mut headers, header::LOCATION, url.as_str());
        set(&mut headers, DOCKER_CONTENT_DIGEST, digest.to_string());
        set(&mut headers, header::CONTENT_LENGTH, "0");
        return Ok((StatusCode::TEMPORARY_REDIRECT, headers).into_response());
    }
    let requested = request_headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let range = match requested {
        Some(RangeRequest::Unsatisfiable) => {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorCode::Unsupported,
                format!("the requested range is outside the blob's {size} bytes"),
            )
            .with_header(header::CONTENT_RANGE, &format!("bytes */{size}")));
        }
        Some(RangeRequest::Satisfiable(range)) => Some(range),
        Some(RangeRequest::Ignored) | None => None,
    };
    let read = app.storage.read_blob(&digest, size, range.clone()).await?;
    let body = Body::from_stream(read.stream);
    Ok(match range {
        Some(range) => {
            let mut headers = blob_headers(&digest, range.end - range.start);
            set(
                &mut headers,
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", range.start, range.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, headers, body).into_response()
        }
        None => (StatusCode::OK, blob_headers(&digest, size), body).into_response(),
    })
}

pub async fn delete(
    State(app): State<AppState>,
    ApiPath((name, digest)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let digest = super::digest(&digest)?;
    if app
        .db
        .unlink_blob(repo.as_str(), &digest.to_string())
        .await?
    {
        let mut headers = HeaderMap::new();
        set(&mut headers, DOCKER_CONTENT_DIGEST, digest.to_string());
        Ok((StatusCode::ACCEPTED, headers).into_response())
    } else {
        Err(crate::registry::Error::BlobUnknown { repo, digest }.into())
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    Satisfiable(Range<u64>),
    Unsatisfiable,
    /// Malformed or multi-range: served as a whole (RFC 9110 allows ignoring).
    Ignored,
}

/// Parses a single `bytes=` range against an object of `size` bytes.
fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let (start, end) = (start.trim(), end.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let range = match (start.is_empty(), end.is_empty()) {
        (true, true) => return RangeRequest::Ignored,
        (true, false) => match parse(end) {
            Some(0) => return RangeRequest::Unsatisfiable,
            Some(suffix) => size.saturating_sub(suffix)..size,
            None => return RangeRequest::Ignored,
        },
        (false, _) => {
            let Some(first) = parse(start) else {
                return RangeRequest::Ignored;
            };
            let last = if end.is_empty() {
                size.saturating_sub(1)
            } else {
                match parse(end) {
                    Some(last) if last >= first => last.min(size.saturating_sub(1)),
                    _ => return RangeRequest::Ignored,
                }
            };
            if first >= size {
                return RangeRequest::Unsatisfiable;
            }
            first..last + 1
        }
    };
    if range.is_empty() {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Satisfiable(range)
    }
}

#[cfg(test)]
mod tests {
    use super::{RangeRequest::*, parse_range};

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Satisfiable(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Satisfiable(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Satisfiable(90..100));
        assert_eq!(parse_range("bytes=-1000", 100), Satisfiable(0..100));
        assert_eq!(parse_range("bytes=50-1000", 100), Satisfiable(50..100));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 100), Ignored);
        assert_eq!(parse_range("bytes=0-1,3-4", 100), Ignored);
        assert_eq!(parse_range("items=0-1", 100), Ignored);
        assert_eq!(parse_range("bytes=x-1", 100), Ignored);
    }
}

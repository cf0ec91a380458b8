//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`, with byte ranges.

use std::ops::Range;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use std::sync::Arc;

use super::{DOCKER_CONTENT_DIGEST, digest, repo, set};
use crate::digest::Digest;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::metrics::global;
use crate::names::RepoName;
use crate::proxy::Upstream;
use crate::proxy::flight::BlobFetch;
use crate::state::AppState;
use crate::storage::StorageKey;

/// Where a requested blob is.
enum Located {
    /// In the local store, with its size.
    Here(u64),
    /// Not cached, in a proxied namespace: ask its upstream.
    Upstream(Arc<Upstream>),
}

async fn locate(
    app: &AppState,
    name: &str,
    digest_text: &str,
) -> ApiResult<(RepoName, Digest, Located)> {
    let repo = repo(name)?;
    let digest = digest(digest_text)?;
    if let Some(size) = app
        .db
        .blob_size_in(repo.as_str(), &digest.to_string())
        .await?
    {
        return Ok((repo, digest, Located::Here(size)));
    }
    match app.proxy.upstream_for(repo.as_str()) {
        Some(upstream) => Ok((repo, digest, Located::Upstream(Arc::clone(upstream)))),
        None => Err(unknown(&repo, &digest, None)),
    }
}

fn unknown(repo: &RepoName, digest: &Digest, upstream: Option<&Upstream>) -> ApiError {
    let message = match upstream {
        None => format!("blob {digest} is not in repository {repo}"),
        Some(upstream) => format!(
            "blob {digest} is neither cached in repository {repo} nor at upstream registry {}",
            upstream.name()
        ),
    };
    ApiError::not_found(ErrorCode::BlobUnknown, message)
}

/// Size of a blob, fetching it from the upstream first when it is not cached.
async fn size_here(
    app: &AppState,
    repo: &RepoName,
    digest: &Digest,
    located: Located,
) -> ApiResult<u64> {
    match located {
        Located::Here(size) => Ok(size),
        Located::Upstream(upstream) => {
            let stored = app
                .proxy
                .fetch_blob_to_store(&upstream, repo.as_str(), digest)
                .await?;
            let size = if stored {
                app.db
                    .blob_size_in(repo.as_str(), &digest.to_string())
                    .await?
            } else {
                None
            };
            size.ok_or_else(|| unknown(repo, digest, Some(&upstream)))
        }
    }
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
    let (repo, digest, located) = locate(&app, &name, &digest).await?;
    if let Located::Upstream(upstream) = &located {
        global().upstream_cache(upstream.name(), "blob", "miss");
        let fetch = app
            .proxy
            .fetch_blob(upstream, repo.as_str(), &digest)
            .await?;
        match fetch {
            BlobFetch::Streaming {
                length: Some(length),
                ..
            } => return Ok((StatusCode::OK, blob_headers(&digest, length)).into_response()),
            BlobFetch::Missing => return Err(unknown(&repo, &digest, Some(upstream))),
            BlobFetch::Streaming { length: None, .. } | BlobFetch::Local => {}
        }
    }
    let size = size_here(&app, &repo, &digest, located).await?;
    Ok((StatusCode::OK, blob_headers(&digest, size)).into_response())
}

pub async fn get(
    State(app): State<AppState>,
    ApiPath((name, digest)): ApiPath<(String, String)>,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let (repo, digest, located) = locate(&app, &name, &digest).await?;
    if let Located::Upstream(upstream) = &located {
        global().upstream_cache(upstream.name(), "blob", "miss");
    } else if let Some(upstream) = app.proxy.upstream_for(repo.as_str()) {
        global().upstream_cache(upstream.name(), "blob", "hit");
    }
    // A whole uncached blob streams to the client as it arrives from the
    // upstream; a range of one is served once it is cached.
    if let Located::Upstream(upstream) = &located
        && !request_headers.contains_key(header::RANGE)
    {
        let fetch = app
            .proxy
            .fetch_blob(upstream, repo.as_str(), &digest)
            .await?;
        match fetch {
            BlobFetch::Streaming { length, body } => {
                let mut headers = blob_headers(&digest, length.unwrap_or_default());
                if length.is_none() {
                    headers.remove(header::CONTENT_LENGTH);
                }
                return Ok((StatusCode::OK, headers, Body::from_stream(body)).into_response());
            }
            BlobFetch::Missing => return Err(unknown(&repo, &digest, Some(upstream))),
            BlobFetch::Local => {}
        }
    }
    let size = size_here(&app, &repo, &digest, located).await?;
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
        Err(ApiError::not_found(
            ErrorCode::BlobUnknown,
            format!("blob {digest} is not in repository {repo}"),
        ))
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

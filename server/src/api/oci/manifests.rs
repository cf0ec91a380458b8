//! `PUT`/`GET`/`HEAD`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{DOCKER_CONTENT_DIGEST, OCI_SUBJECT, repo, set};
use crate::db::ManifestRecord;
use crate::digest::{Algorithm, Digest};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::names::{Reference, RepoName};
use crate::packages::publish::{Manifest, Origin, store_manifest};
use crate::registry::content::Content;
use crate::registry::manifests::MAX_MANIFEST_BYTES;
use crate::state::AppState;

/// The reference of a read (`GET`, `HEAD`) or a `DELETE`.
///
/// A reference that is neither a valid tag nor a supported digest cannot
/// have anything stored under it, so these requests get the answer to the
/// question they ask, "no such manifest": 404 `MANIFEST_UNKNOWN`, not a 400.
/// The OCI conformance suite requires it (its "nonexistent manifest" is
/// `.INVALID_MANIFEST_NAME`) and distribution answers the same. Only `PUT`,
/// which would create the reference, refuses a malformed one with 400. In
/// proxied namespaces the upstream is not asked either: it cannot hold
/// such a reference any more than we can.
fn existing_reference(repo: &RepoName, text: &str) -> ApiResult<Reference> {
    Reference::parse(text).map_err(|_| {
        // Longest valid reference: a sha512 digest.
        let shown = crate::names::bounded(text, 135);
        ApiError::not_found(
            ErrorCode::ManifestUnknown,
            format!(
                "manifest {shown:?} is not in repository {repo}: a reference is a tag \
                 ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}) or a sha256 or sha512 digest, so \
                 nothing can be stored under this one"
            ),
        )
    })
}

fn manifest_headers(record: &ManifestRecord) -> HeaderMap {
    let mut headers = HeaderMap::new();
    set(&mut headers, header::CONTENT_TYPE, &record.media_type);
    set(
        &mut headers,
        header::CONTENT_LENGTH,
        record.content.len().to_string(),
    );
    set(&mut headers, DOCKER_CONTENT_DIGEST, &record.digest);
    set(&mut headers, header::ETAG, format!("\"{}\"", record.digest));
    headers
}

/// The manifest to serve and its headers (with a `Warning` header when
/// a cached tag could not be re-checked with an upstream).
async fn lookup(
    app: &AppState,
    name: &str,
    reference: &str,
) -> ApiResult<(ManifestRecord, HeaderMap)> {
    let repo = repo(name)?;
    let reference = existing_reference(&repo, reference)?;
    let served = app
        .repositories
        .content(&repo)
        .manifest(&repo, &reference)
        .await?;
    let mut headers = manifest_headers(&served.value);
    if let Some(warning) = &served.stale {
        set(&mut headers, header::WARNING, warning);
    }
    Ok((served.value, headers))
}

pub async fn head(
    State(app): State<AppState>,
    ApiPath((name, reference)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (_, headers) = lookup(&app, &name, &reference).await?;
    Ok((StatusCode::OK, headers).into_response())
}

pub async fn get(
    State(app): State<AppState>,
    ApiPath((name, reference)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (record, headers) = lookup(&app, &name, &reference).await?;
    Ok((StatusCode::OK, headers, record.content).into_response())
}

pub async fn put(
    State(app): State<AppState>,
    ApiPath((name, reference)): ApiPath<(String, String)>,
    request_headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let reference = Reference::parse(&reference)?;
    app.repositories.check_push(&repo)?;
    let content = read_limited(&request_headers, body).await?;
    let digest = match &reference {
        Reference::Digest(expected) => {
            let computed = Digest::of(expected.algorithm(), &content);
            if &computed != expected {
                return Err(ApiError::bad_request(
                    ErrorCode::DigestInvalid,
                    format!("the manifest's digest is {computed}, not {expected} as in the URL"),
                ));
            }
            computed
        }
        Reference::Tag(_) => Digest::of(Algorithm::Sha256, &content),
    };
    let content_type = request_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let tag = match &reference {
        Reference::Tag(tag) => Some(tag.as_str()),
        Reference::Digest(_) => None,
    };
    let manifest = Manifest {
        digest: &digest,
        content: &content,
        content_type,
    };
    let stored = store_manifest(&app.packages, &repo, manifest, tag, Origin::Push).await?;
    let digest_text = stored.record.digest;

    let mut headers = HeaderMap::new();
    set(
        &mut headers,
        header::LOCATION,
        format!("/v2/{repo}/manifests/{digest_text}"),
    );
    set(&mut headers, DOCKER_CONTENT_DIGEST, &digest_text);
    set(&mut headers, header::CONTENT_LENGTH, "0");
    if let Some(subject) = &stored.facts.subject {
        set(&mut headers, OCI_SUBJECT, subject);
    }
    Ok((StatusCode::CREATED, headers).into_response())
}

/// Reads a manifest body, refusing anything over [`MAX_MANIFEST_BYTES`]
/// without reading more than that.
async fn read_limited(headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::SizeInvalid,
            format!("manifests are limited to {MAX_MANIFEST_BYTES} bytes"),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > MAX_MANIFEST_BYTES as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut content = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                ErrorCode::ManifestInvalid,
                format!("reading the manifest failed: {e}"),
            )
        })?;
        if content.len() + chunk.len() > MAX_MANIFEST_BYTES {
            return Err(too_large());
        }
        content.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(content))
}

pub async fn delete(
    State(app): State<AppState>,
    ApiPath((name, reference)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let reference = existing_reference(&repo, &reference)?;
    let deleted = match &reference {
        Reference::Digest(digest) => {
            app.db
                .delete_manifest(repo.as_str(), &digest.to_string())
                .await?
        }
        Reference::Tag(tag) => app.db.delete_tag(repo.as_str(), tag.as_str()).await?,
    };
    if deleted {
        Ok(StatusCode::ACCEPTED.into_response())
    } else {
        Err(ApiError::not_found(
            ErrorCode::ManifestUnknown,
            format!("manifest {reference} is not in repository {repo}"),
        ))
    }
}

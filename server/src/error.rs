//! The one place where errors become HTTP responses.
//!
//! Every error leaves the gateway in the envelope
//! `{"errors":[{"code","message","detail"}]}`. Under `/v2/` the codes are the
//! OCI Distribution error table's ([`ErrorCode`]). Internal failures are
//! logged in full and answered with a generic message.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::digest::DigestError;
use crate::names::NameError;

/// The error codes of the OCI Distribution Spec, plus one for 5xx answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    /// Package API (`/api/`): no such package.
    PackageUnknown,
    /// Package API: no such version of a package.
    VersionUnknown,
    /// Package API: a query or path parameter is malformed.
    InvalidParameter,
    /// Package API: the package has no WIT (core modules, unindexed content).
    WitUnavailable,
    /// Admin API: no such user, grant or token.
    ResourceUnknown,
    /// Admin API: the user already exists.
    AlreadyExists,
    /// Only ever sent with a 5xx status.
    InternalError,
    /// The upstream registry of a proxied namespace failed, and nothing
    /// cached could answer (502, 503 or 504).
    UpstreamUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::PackageUnknown => "PACKAGE_UNKNOWN",
            ErrorCode::VersionUnknown => "VERSION_UNKNOWN",
            ErrorCode::InvalidParameter => "INVALID_PARAMETER",
            ErrorCode::WitUnavailable => "WIT_UNAVAILABLE",
            ErrorCode::ResourceUnknown => "RESOURCE_UNKNOWN",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
        }
    }
}

/// An error on its way to the client (boxed: errors are rare, results common).
#[derive(Debug)]
pub struct ApiError(Box<ErrorParts>);

#[derive(Debug)]
struct ErrorParts {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    detail: Option<serde_json::Value>,
    headers: HeaderMap,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorParts {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: HeaderMap::new(),
        }))
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.0.detail = Some(detail);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.0.headers.insert(name, value);
        }
        self
    }

    /// The message the client will read.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// Too many failed logins for one user from one client (see
    /// `auth::throttle`): authentication did not happen, so 401, with
    /// `Retry-After` saying when to try again.
    pub fn throttled(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs().max(1).to_string();
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            format!(
                "too many failed logins for this user from this address; retry in {seconds} s \
                 with the right credentials"
            ),
        )
        .with_header(axum::http::header::RETRY_AFTER, &seconds)
    }

    /// Too many failed logins from one address, whatever the user (see
    /// `auth::throttle`): 429 with `Retry-After`.
    pub fn address_throttled(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs().max(1).to_string();
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
            format!(
                "too many failed logins from this address; retry in {seconds} s, or use an \
                 access token"
            ),
        )
        .with_header(axum::http::header::RETRY_AFTER, &seconds)
    }

    /// Too many failed logins for one user from all addresses together (see
    /// `auth::throttle`): 429 with `Retry-After`.
    pub fn account_throttled(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs().max(1).to_string();
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
            format!(
                "too many failed logins for this user lately, from any address; retry in \
                 {seconds} s, or use an access token"
            ),
        )
        .with_header(axum::http::header::RETRY_AFTER, &seconds)
    }

    /// A per-user API (`what`: personal tokens, sessions) on a registry
    /// with `auth.mode = "none"`, which has no users: 403, since the request
    /// is well formed but cannot succeed on this registry.
    pub fn no_users(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Denied,
            format!(
                "{what} belong to users, and this registry runs with authentication off \
                 (auth.mode = \"none\"), so it has none and needs none: use it without credentials"
            ),
        )
    }

    /// Every password verification slot is taken and the queue is full
    /// (see `auth::password`): 503 with `Retry-After`.
    pub fn logins_busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TooManyRequests,
            "too many password checks at once; retry in a second, or use an access token, \
             which needs none",
        )
        .with_header(axum::http::header::RETRY_AFTER, "1")
    }

    /// A failure that is ours, not the client's: logged here, generic outside.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "internal error");
        crate::metrics::global().backend_error("internal");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "the registry hit an internal error; retry, and report it to the operator if it persists",
        )
    }

    /// A backend (`"database"`, `"storage"`) is unreachable or failing:
    /// retrying later may help, and `Retry-After` says when.
    pub fn unavailable(backend: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(backend, error = %error, "backend unavailable");
        crate::metrics::global().backend_error(backend);
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::InternalError,
            format!("the registry's {backend} is temporarily unavailable; retry shortly"),
        )
        .with_header(axum::http::header::RETRY_AFTER, "5")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ErrorParts {
            status,
            code,
            message,
            detail,
            headers,
        } = *self.0;
        let mut error = json!({ "code": code.as_str(), "message": message });
        if let Some(detail) = detail {
            error["detail"] = detail;
        }
        let mut response = (status, axum::Json(json!({ "errors": [error] }))).into_response();
        response.headers_mut().extend(headers);
        response
    }
}

impl From<NameError> for ApiError {
    fn from(error: NameError) -> Self {
        match error {
            NameError::Digest(e) => e.into(),
            NameError::Tag(_) => {
                ApiError::bad_request(ErrorCode::ManifestInvalid, error.to_string())
                    .with_detail(json!({ "reason": "invalid tag" }))
            }
            NameError::Repository(_) | NameError::RepositoryTooLong => {
                ApiError::bad_request(ErrorCode::NameInvalid, error.to_string())
            }
        }
    }
}

impl From<DigestError> for ApiError {
    fn from(error: DigestError) -> Self {
        ApiError::bad_request(ErrorCode::DigestInvalid, error.to_string())
    }
}

impl From<crate::db::Error> for ApiError {
    fn from(error: crate::db::Error) -> Self {
        if let crate::db::Error::BlobBeingDeleted(digest) = &error {
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TooManyRequests,
                format!(
                    "blob {digest} is being removed by garbage collection; retry the push in a few seconds"
                ),
            )
            .with_header(axum::http::header::RETRY_AFTER, "5");
        }
        if error.is_unavailable() {
            ApiError::unavailable("database", error)
        } else {
            ApiError::internal(error)
        }
    }
}

impl From<crate::auth::admin::AdminError> for ApiError {
    fn from(error: crate::auth::admin::AdminError) -> Self {
        use crate::auth::admin::AdminError;
        match error {
            AdminError::Invalid(m) => ApiError::bad_request(ErrorCode::InvalidParameter, m),
            AdminError::NotFound(m) => ApiError::not_found(ErrorCode::ResourceUnknown, m),
            AdminError::Exists(m) => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::AlreadyExists, m)
            }
            AdminError::Database(e) => e.into(),
            AdminError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl From<crate::storage::Error> for ApiError {
    fn from(error: crate::storage::Error) -> Self {
        match error {
            crate::storage::Error::BodyStalled(_) | crate::storage::Error::Body(_) => {
                ApiError::bad_request(ErrorCode::BlobUploadInvalid, error.to_string())
            }
            crate::storage::Error::NotFound(_) => ApiError::not_found(
                ErrorCode::BlobUnknown,
                "blob content is missing from storage",
            ),
            crate::storage::Error::Backend(_) => ApiError::unavailable("storage", error),
        }
    }
}

impl From<crate::registry::Error> for ApiError {
    fn from(error: crate::registry::Error) -> Self {
        use crate::registry::Error;
        use crate::registry::uploads::{range_header, upload_location};
        use axum::http::header;
        let message = error.to_string();
        match error {
            Error::NotAnUploadId(_) | Error::UploadUnknown(_) => {
                ApiError::not_found(ErrorCode::BlobUploadUnknown, message)
            }
            Error::ChunkOutOfOrder {
                repo,
                id,
                committed,
                start,
            } => ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorCode::BlobUploadInvalid,
                message,
            )
            .with_detail(json!({ "committed": committed, "start": start }))
            .with_header(header::LOCATION, &upload_location(&repo, id))
            .with_header(header::RANGE, &range_header(committed))
            .with_header(
                HeaderName::from_static("docker-upload-uuid"),
                &id.to_string(),
            ),
            Error::ManifestUnknown { .. } => {
                ApiError::not_found(ErrorCode::ManifestUnknown, message)
            }
            Error::BlobUnknown { .. } => ApiError::not_found(ErrorCode::BlobUnknown, message),
            Error::RepositoryUnknown(_) => ApiError::not_found(ErrorCode::NameUnknown, message),
            Error::SizeMismatch { .. } => ApiError::bad_request(ErrorCode::SizeInvalid, message),
            Error::DigestMismatch { expected, computed } => {
                ApiError::bad_request(ErrorCode::DigestInvalid, message).with_detail(
                    json!({ "expected": expected.to_string(), "computed": computed.to_string() }),
                )
            }
            Error::TooManySessions { .. } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                message,
            )
            .with_header(header::RETRY_AFTER, "30"),
            Error::UploadsBusy => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                message,
            )
            .with_header(header::RETRY_AFTER, "2"),
            Error::ManifestInvalid(_) => ApiError::bad_request(ErrorCode::ManifestInvalid, message),
            Error::Inconsistent(_) => ApiError::internal(message),
            Error::Database(error) => error.into(),
            Error::Storage(error) => error.into(),
        }
    }
}

impl From<crate::packages::Error> for ApiError {
    fn from(error: crate::packages::Error) -> Self {
        use crate::packages::Error;
        let message = error.to_string();
        match error {
            Error::Invalid(_) => ApiError::bad_request(ErrorCode::ManifestInvalid, message),
            Error::ContentUnknown { missing, .. } => {
                ApiError::bad_request(ErrorCode::ManifestBlobUnknown, message)
                    .with_detail(json!({ "missing": missing }))
            }
            Error::VersionTaken { conflict, .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Denied, message).with_detail(json!({
                    "version": conflict.version,
                    "layerDigest": conflict.layer_digest,
                    "manifestDigest": conflict.manifest_digest,
                    "deleted": conflict.deleted,
                }))
            }
            Error::ValidationBusy | Error::IndexingBusy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TooManyRequests,
                message,
            )
            .with_header(axum::http::header::RETRY_AFTER, "2"),
            Error::Digest(error) => error.into(),
            Error::Registry(error) => error.into(),
            Error::Database(error) => error.into(),
            Error::Storage(error) => error.into(),
        }
    }
}

impl From<crate::proxy::Error> for ApiError {
    fn from(error: crate::proxy::Error) -> Self {
        use crate::proxy::Error;
        match error {
            Error::Upstream(error) => error.into(),
            Error::Registry(error) => error.into(),
            Error::Packages(error) => error.into(),
            Error::Database(error) => error.into(),
            Error::ManifestUnknown { .. } => {
                ApiError::not_found(ErrorCode::ManifestUnknown, error.to_string())
            }
            Error::BlobUnknown { .. } => {
                ApiError::not_found(ErrorCode::BlobUnknown, error.to_string())
            }
            Error::RepositoryUnknown { .. } => {
                ApiError::not_found(ErrorCode::NameUnknown, error.to_string())
            }
            Error::PushDenied { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Denied, error.to_string())
            }
        }
    }
}

impl From<crate::proxy::UpstreamError> for ApiError {
    fn from(error: crate::proxy::UpstreamError) -> Self {
        use crate::proxy::UpstreamError as Error;
        let upstream = match &error {
            Error::Unreachable { upstream, .. }
            | Error::Timeout { upstream, .. }
            | Error::Resting { upstream, .. }
            | Error::Refused { upstream, .. }
            | Error::Failed { upstream, .. }
            | Error::Corrupt { upstream, .. }
            | Error::BrokenOff { upstream, .. } => upstream.clone(),
            Error::Local(message) => return ApiError::internal(message),
        };
        let status = match &error {
            Error::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Error::Resting { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        };
        let mut api = ApiError::new(status, ErrorCode::UpstreamUnavailable, error.to_string())
            .with_detail(json!({ "upstream": upstream }));
        if let Error::Resting { retry_in, .. } = &error {
            let seconds = retry_in.as_secs().max(1).to_string();
            api = api.with_header(axum::http::header::RETRY_AFTER, &seconds);
        }
        api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn envelope_shape() {
        let response = ApiError::not_found(ErrorCode::BlobUnknown, "nope")
            .with_detail(json!({"digest": "sha256:x"}))
            .into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["errors"][0]["code"], "BLOB_UNKNOWN");
        assert_eq!(value["errors"][0]["detail"]["digest"], "sha256:x");
    }
}

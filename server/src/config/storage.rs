//! The `[storage]` section: where blobs live (local disk or S3) and how the
//! S3 client waits for a bucket.

use std::path::Path;

use serde::Deserialize;
use url::Url;

use super::{ConfigError, StringOr, absolute, byte_size, duration};

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Where blobs live: `file:///abs/path` for local disk, or
    /// `s3://bucket[/prefix]` for S3 and S3-compatible stores.
    pub url: Url,
    /// S3 settings; unset ones come from the usual AWS environment.
    pub s3: S3Config,
    /// Answer blob GETs with a 307 to a presigned URL of the object store
    /// (S3 only), so blob bytes bypass the gateway.
    pub redirect_blob_downloads: bool,
    /// Bytes of small, often-read blobs kept in memory (0: none).
    pub memory_cache: u64,
}

/// Connection settings for an `s3://` store.
#[derive(Clone, Default)]
pub struct S3Config {
    /// Endpoint of an S3-compatible service (MinIO, moto, ...); AWS when unset.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow plain-http endpoints (local test services).
    pub allow_http: bool,
    /// How long a response may send nothing before the bucket counts as
    /// stalled and the request ends in a 503 (`storage.read_timeout`,
    /// default 30 s).
    pub read_timeout: std::time::Duration,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    url: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    allow_http: Option<StringOr<bool>>,
    read_timeout: Option<String>,
    redirect_blob_downloads: Option<StringOr<bool>>,
    memory_cache: Option<StringOr<u64>>,
}

impl RawStorage {
    pub(super) fn validate(self, data_dir: &Path) -> Result<StorageConfig, ConfigError> {
        let storage = StorageConfig {
            url: parse_storage_url(self.url, data_dir)?,
            s3: S3Config {
                endpoint: self.endpoint,
                region: self.region,
                access_key_id: self.access_key_id,
                secret_access_key: self.secret_access_key,
                allow_http: match self.allow_http {
                    Some(v) => v.parse("storage.allow_http")?,
                    None => false,
                },
                read_timeout: {
                    let key = "storage.read_timeout";
                    let timeout = duration(key, self.read_timeout, "30s")?;
                    if timeout.is_zero() {
                        return Err(ConfigError::key(
                            key,
                            "must be more than 0s: S3 could never answer in time",
                        ));
                    }
                    timeout
                },
            },
            redirect_blob_downloads: match self.redirect_blob_downloads {
                Some(v) => v.parse("storage.redirect_blob_downloads")?,
                None => false,
            },
            memory_cache: match self.memory_cache {
                Some(StringOr::Value(bytes)) => bytes,
                Some(StringOr::Text(text)) => byte_size("storage.memory_cache", &text)?,
                None => 64 * 1024 * 1024,
            },
        };
        if storage.url.scheme() == "file" && storage.redirect_blob_downloads {
            return Err(ConfigError::key(
                "storage.redirect_blob_downloads",
                "needs s3:// storage: local files have no URL clients could be redirected to",
            ));
        }
        if storage.url.scheme() == "file" && storage.s3.endpoint.is_some() {
            return Err(ConfigError::key(
                "storage.endpoint",
                "only applies to s3:// storage; set storage.url = \"s3://bucket/prefix\"",
            ));
        }
        Ok(storage)
    }
}

fn parse_storage_url(text: Option<String>, data_dir: &Path) -> Result<Url, ConfigError> {
    let Some(text) = text else {
        let dir = absolute(&data_dir.join("blobs"));
        return Url::from_directory_path(&dir).map_err(|()| {
            ConfigError::key(
                "data_dir",
                format!("{} cannot be used as a path", dir.display()),
            )
        });
    };
    let url = Url::parse(&text)
        .map_err(|e| ConfigError::key("storage.url", format!("{text:?} is not a URL: {e}")))?;
    match url.scheme() {
        "file" if url.to_file_path().is_ok() => Ok(url),
        "file" => Err(ConfigError::key(
            "storage.url",
            format!("{text:?} must be an absolute path, like file:///var/lib/wkg-gateway/blobs"),
        )),
        "s3" if url.host_str().is_some_and(|bucket| !bucket.is_empty()) => Ok(url),
        "s3" => Err(ConfigError::key(
            "storage.url",
            format!("{text:?} must name a bucket: s3://bucket/prefix"),
        )),
        other => Err(ConfigError::key(
            "storage.url",
            format!(
                "unsupported scheme {other:?}; this build stores blobs on local disk (file://)"
            ),
        )),
    }
}

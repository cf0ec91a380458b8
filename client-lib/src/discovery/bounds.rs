//! Bounds on what a registry.json may cost and say, shared by the CLI and the gateway's
//! proxy (which reads the documents of registries it does not control).
//!
//! - Size: a registry.json is a few hundred bytes; more than [`REGISTRY_JSON_MAX_BYTES`]
//!   is refused while reading, without buffering the rest (a `Content-Length` above the
//!   cap is refused before the first byte).
//! - Time: [`DISCOVERY_TIMEOUT`] bounds connecting and the whole exchange.
//! - Content: the OCI host must be a plain `host[:port]` (no scheme, userinfo, path or
//!   query) and the namespace prefix a short run of repository-path characters, checked by
//!   [`validate_location`]. Anything else could not name a real OCI repository anyway.
//! - Echoes: document text repeated in messages (and so in logs) is cut by [`bounded`].

use std::time::Duration;

use super::OciLocation;
use crate::registry::RegistryName;

/// Largest registry.json read: 64 KiB.
pub const REGISTRY_JSON_MAX_BYTES: usize = 64 * 1024;

/// Longest wait for a registry.json, connecting included.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest `namespacePrefix` accepted. OCI repository names stay well under 256 bytes in
/// practice (distribution's limit is 255 for the whole name), and the prefix is only a
/// part of one.
pub const NAMESPACE_PREFIX_MAX: usize = 128;

/// Longest OCI host accepted: a DNS name (253) with a port.
pub const REGISTRY_HOST_MAX: usize = 253 + 6;

/// At most `max` characters of `text`, with `…` when cut: for echoing what a remote
/// document said.
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "it is larger than {} KiB, which no registry.json needs; nothing more was read",
        .limit / 1024
    )]
    TooLarge { limit: usize },
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// The body of `response`, refusing more than `limit` bytes without buffering them.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(ReadError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks a registry.json's OCI location: a valid `host[:port]` of bounded length, and a
/// namespace prefix of lowercase letters, digits, `.`, `_`, `-` and `/` (the characters of
/// OCI repository paths), bounded, whose `/`-separated segments each start with a letter
/// or digit (so no leading `/`, no `//`, no `..`). The empty prefix is valid.
pub fn validate_location(location: &OciLocation) -> Result<(), String> {
    let host = &location.registry;
    if host.len() > REGISTRY_HOST_MAX {
        return Err(format!(
            "`oci.registry` is longer than {REGISTRY_HOST_MAX} bytes"
        ));
    }
    if let Err(err) = host.parse::<RegistryName>() {
        return Err(format!("`oci.registry`: {err}"));
    }
    let prefix = &location.namespace_prefix;
    if prefix.len() > NAMESPACE_PREFIX_MAX {
        return Err(format!(
            "`namespacePrefix` is longer than {NAMESPACE_PREFIX_MAX} bytes"
        ));
    }
    let valid_chars = prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b));
    // Every segment starts like an OCI path component: with a letter or digit. A prefix
    // ending in `/` leaves one empty last segment, filled by the namespace.
    let segments_start_well =
        prefix
            .strip_suffix('/')
            .unwrap_or(prefix)
            .split('/')
            .all(|segment| {
                segment
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
    if !valid_chars || !(prefix.is_empty() || segments_start_well) {
        return Err(format!(
            "`namespacePrefix` {:?} is not part of an OCI repository path (lowercase letters, \
             digits, `.`, `_`, `-` and `/`, each segment starting with a letter or digit)",
            bounded(prefix, 64)
        ));
    }
    Ok(())
}

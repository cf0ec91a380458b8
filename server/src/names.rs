//! Repository names, tags and manifest references, validated with the OCI
//! Distribution grammar before anything touches storage.

use std::fmt;

use crate::digest::{Digest, DigestError};

/// Longest repository name accepted (the limit Docker-compatible clients use).
pub const MAX_NAME_LEN: usize = 255;
/// Longest tag the spec allows.
pub const MAX_TAG_LEN: usize = 128;

/// A repository name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "repository name {0:?} is invalid: use lowercase letters and digits, separated by '.', '_', '__' or '-', with '/' between path components"
    )]
    Repository(String),
    #[error("repository name is longer than {MAX_NAME_LEN} characters")]
    RepositoryTooLong,
    #[error(
        "tag {0:?} is invalid: up to 128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'"
    )]
    Tag(String),
    #[error(transparent)]
    Digest(#[from] DigestError),
}

impl RepoName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::RepositoryTooLong);
        }
        if name.is_empty() || !name.split('/').all(is_path_component) {
            return Err(NameError::Repository(name.to_string()));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let run = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && alnum(bytes[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < bytes.len() {
        let sep_start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep_start);
        if !run(&mut i) {
            return false;
        }
    }
    true
}

/// At most `max` characters of client-supplied text, then `…`: what an
/// error message, log line or audit entry may repeat of it, so that a
/// 10,000-character name or header is never echoed whole. The client
/// library's, so that client and server cut text the same way.
pub use wkg_client::discovery::bounded;

/// The registry host as OCI clients name it: `host[:port]` of the
/// gateway's `public_url` (registry.json, the token service, web pages).
pub fn registry_authority(public_url: &url::Url) -> String {
    let host = public_url.host_str().unwrap_or("localhost");
    match public_url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// An invalid tag as a message shows it: a little more than a valid one.
fn shown(text: &str) -> String {
    bounded(text, MAX_TAG_LEN + 8)
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(tag: &str) -> Result<Self, NameError> {
        let bytes = tag.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_TAG_LEN
            && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Self(tag.to_string()))
        } else {
            Err(NameError::Tag(shown(tag)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest URL names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn parse(reference: &str) -> Result<Self, NameError> {
        if reference.contains(':') {
            Ok(Reference::Digest(reference.parse()?))
        } else {
            Ok(Reference::Tag(Tag::parse(reference)?))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_in_messages_is_bounded() {
        assert_eq!(bounded("short", 64), "short");
        assert_eq!(bounded(&"x".repeat(1000), 4), "xxxx…");
    }

    #[test]
    fn repository_grammar() {
        for ok in [
            "a",
            "library/ubuntu",
            "a-b/c__d/e.f",
            "a--b",
            "wasi/http",
            "x0/y_1",
        ] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "A", "a/", "/a", "a//b", "a_", "-a", "a___b", "a..b", "a:b", "a%2Fb", "é",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RepoName::parse(&"a".repeat(256)),
            Err(NameError::RepositoryTooLong)
        );
    }

    #[test]
    fn tag_grammar() {
        for ok in ["latest", "1.2.3", "_x", "V1-rc.1", &"a".repeat(128)] {
            assert!(Tag::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a+b", &"a".repeat(129)] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
        let long = "é".repeat(5000);
        match Tag::parse(&long) {
            Err(NameError::Tag(shown)) => {
                assert!(shown.chars().count() <= MAX_TAG_LEN + 9, "{shown}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn references() {
        assert!(matches!(Reference::parse("v1"), Ok(Reference::Tag(_))));
        assert!(matches!(
            Reference::parse("sha256:zz"),
            Err(NameError::Digest(_))
        ));
    }
}

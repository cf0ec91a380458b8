//! The Bearer token `/metrics` requires (`[metrics] token_file`), kept
//! only as its SHA-256 and compared in constant time.

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, header};
use sha2::{Digest as _, Sha256};

/// The Bearer token `/metrics` requires, kept only as its SHA-256.
pub struct MetricsToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// Why `[metrics] token_file` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("`metrics.token_file` {}: {problem}", path.display())]
pub struct TokenFileError {
    path: PathBuf,
    problem: String,
}

impl MetricsToken {
    /// Reads the token file (surrounding whitespace is not part of it).
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let error = |problem: String| TokenFileError {
            path: path.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(error("is empty; put the token scrapers send in it".into()));
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Whether the request carries the token. Digests of equal length are
    /// compared without an early exit, so the time taken says nothing
    /// about how much of a guess was right.
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
        else {
            return false;
        };
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let difference = presented
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_trimmed_and_matched_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  s3cret-metrics \n").unwrap();
        let token = MetricsToken::load(&path).unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            token.accepts(&headers)
        };
        assert!(with("Bearer s3cret-metrics"));
        assert!(with("bearer  s3cret-metrics"));
        assert!(!with("Bearer s3cret-metric"));
        assert!(!with("Bearer s3cret-metricsx"));
        assert!(!with("Basic s3cret-metrics"));
        assert!(!token.accepts(&HeaderMap::new()));

        std::fs::write(&path, "\n").unwrap();
        assert!(MetricsToken::load(&path).is_err());
        assert!(MetricsToken::load(&dir.path().join("absent")).is_err());
    }
}

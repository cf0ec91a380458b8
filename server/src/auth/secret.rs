//! Access token secrets: 256 random bits behind a recognisable prefix
//! (so leaked tokens are easy to scan for), stored only as SHA-256.
//!
//! A SHA-256 lookup is enough here (unlike passwords): the secret has full
//! entropy, so the hash cannot be brute-forced, and finding the row by the
//! hash means no secret is ever compared byte by byte.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

pub const PREFIX: &str = "wkg_";

/// A new secret and its id (shown in listings; not secret).
pub fn generate() -> std::io::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let secret = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    Ok((id, secret))
}

/// Whether a credential looks like one of our access tokens.
pub fn looks_like_token(text: &str) -> bool {
    text.starts_with(PREFIX) && text.len() == PREFIX.len() + 43
}

pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_distinct_and_recognised() {
        let (id1, a) = super::generate().unwrap();
        let (id2, b) = super::generate().unwrap();
        assert_ne!(a, b);
        assert_ne!(id1, id2);
        assert!(super::looks_like_token(&a));
        assert!(!super::looks_like_token("wkg_short"));
        assert_eq!(super::sha256_hex(&a).len(), 64);
    }
}

//! Password hashing with Argon2id (PHC strings), off the async threads.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

/// Hashes a new password (random salt, default Argon2id parameters).
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Checks a password against a stored PHC string (constant-time compare
/// inside argon2). A malformed stored hash never verifies.
pub async fn verify(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// Burns about as much time as a verification, so unknown user names and
/// robots (no password) answer as slowly as wrong passwords.
pub async fn verify_nothing(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match DUMMY.get() {
        Some(hash) => hash.clone(),
        None => match hash("not a password".to_string()).await {
            Ok(hash) => DUMMY.get_or_init(|| hash).clone(),
            Err(_) => return,
        },
    };
    let _ = verify(password, stored).await;
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify() {
        let stored = super::hash("s3cret".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("s3cret".into(), stored.clone()).await);
        assert!(!super::verify("S3cret".into(), stored).await);
        assert!(!super::verify("x".into(), "garbage".into()).await);
    }
}

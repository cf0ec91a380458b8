//! Password hashing with Argon2id (PHC strings), off the async threads,
//! and the gate that bounds how many verifications run at once.
//!
//! Each Argon2id verification takes about 19 MiB and a core for tens of
//! milliseconds, and anyone can ask for one (Basic credentials with any
//! user name). So verifications run a few at a time ([`VerifyGate`]), a
//! bounded number wait their turn, and the rest are refused at once with
//! 503 and `Retry-After`, instead of filling the blocking pool and memory.

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

/// At most `running` verifications at once, at most `queued` waiting.
#[derive(Debug)]
pub struct VerifyGate {
    permits: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    queued: usize,
}

/// The gate is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl VerifyGate {
    pub fn new(running: usize, queued: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(running.max(1)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            queued,
        }
    }

    /// Runs `work` (a verification) when a slot is free, or refuses at
    /// once when `queued` others are already waiting.
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> Result<T, Busy> {
        use std::sync::atomic::Ordering;
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                let before = self.waiting.fetch_add(1, Ordering::AcqRel);
                let acquired = if before >= self.queued {
                    None
                } else {
                    self.permits.acquire().await.ok()
                };
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                acquired.ok_or(Busy)?
            }
        };
        Ok(work.await)
    }
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

    #[tokio::test]
    async fn the_gate_queues_a_few_and_refuses_the_rest() {
        let gate = std::sync::Arc::new(super::VerifyGate::new(1, 2));
        let (release, hold) = tokio::sync::watch::channel(false);
        let mut running = Vec::new();
        // One runs and holds its slot; two wait.
        for _ in 0..3 {
            let gate = gate.clone();
            let mut hold = hold.clone();
            running.push(tokio::spawn(async move {
                gate.run(async move {
                    let _ = hold.wait_for(|go| *go).await;
                })
                .await
            }));
        }
        while gate.waiting.load(std::sync::atomic::Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(async {}).await, Err(super::Busy));
        release.send(true).unwrap();
        for task in running {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        assert_eq!(gate.run(async {}).await, Ok(()));
    }
}

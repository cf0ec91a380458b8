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
    tokio::task::spawn_blocking(move || verify_blocking(&password, &stored))
        .await
        .unwrap_or(false)
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when there is none (unknown user, robot), so
/// those answer as slowly as wrong passwords. Made once, by the first
/// caller, while every other waits for it: a burst of unknown user names
/// right after start-up must not run one unbounded Argon2 hash each.
async fn dummy_hash() -> Option<String> {
    static DUMMY: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async { hash("not a password".to_string()).await.ok() })
        .await
        .clone()
}

/// At most `running` verifications at once, at most `queued` waiting.
///
/// The slot is held by the blocking verification itself, not by the
/// request: a client that gives up (a reset stream, a timeout) cannot free
/// a slot while its Argon2 work still runs, and a waiter that gives up
/// leaves the queue count as it found it.
///
/// Verifications run on `running` threads of the gate's own, not on the
/// blocking pool: each Argon2 run allocates its 19 MiB anew, and glibc
/// keeps what a thread freed in that thread's arena, so hundreds of
/// blocking threads taking turns would each keep a block (400 MiB seen in
/// bench/login-flood). A few long-lived threads reuse theirs.
#[derive(Debug)]
pub struct VerifyGate {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    queued: usize,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The gate is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Counts one waiter for as long as it lives.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize, usize);

impl<'a> Waiting<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        let before = counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Self(counter, before)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl VerifyGate {
    pub fn new(running: usize, queued: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..running.max(1) {
            let queue = queue.clone();
            // A thread ends when the gate (the sender) is dropped.
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password verification thread");
            }
        }
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(running.max(1))),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            queued,
            jobs,
        }
    }

    async fn acquire(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = Waiting::enter(&self.waiting);
        if waiting.1 >= self.queued {
            return Err(Busy);
        }
        self.permits.clone().acquire_owned().await.map_err(|_| Busy)
    }

    /// Verifies `password` against `stored` (against a dummy hash when
    /// `None`, which never verifies) when a slot is free, or refuses at
    /// once when `queued` others are already waiting.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        let real = stored.is_some();
        let Some(hash) = (match stored {
            Some(hash) => Some(hash),
            None => dummy_hash().await,
        }) else {
            return Ok(false);
        };
        let permit = self.acquire().await?;
        let (done, verified) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _slot = permit;
            let _ = done.send(verify_blocking(&password, &hash));
        });
        if self.jobs.send(job).is_err() {
            return Ok(false);
        }
        Ok(real && verified.await.unwrap_or(false))
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
        use std::sync::atomic::Ordering;
        let gate = std::sync::Arc::new(super::VerifyGate::new(1, 2));
        let held = gate.acquire().await.unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.acquire().await.map(drop) })
            })
            .collect();
        while gate.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.acquire().await.map(drop), Err(super::Busy));
        // A waiter that gives up leaves the queue as it found it.
        waiters[0].abort();
        while gate.waiting.load(Ordering::Acquire) > 1 {
            tokio::task::yield_now().await;
        }
        drop(held);
        assert_eq!(waiters.into_iter().nth(1).unwrap().await.unwrap(), Ok(()));
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
        assert_eq!(gate.verify("x".into(), None).await, Ok(false));
        let stored = super::hash("s3cret-pw".into()).await.unwrap();
        assert_eq!(
            gate.verify("s3cret-pw".into(), Some(stored)).await,
            Ok(true)
        );
    }
}

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

/// The most Argon2 memory a gate thread keeps for reuse (64 MiB): our own
/// hashes need 19 MiB; a stored hash asking for more is checked the plain
/// way, allocating for that one check.
const MAX_REUSED_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// A gate thread's Argon2 working memory, kept for the thread's life:
    /// allocating 19 MiB per check and freeing it again left the allocator
    /// holding far more than the live heap under a login flood.
    static GATE_BLOCKS: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`verify_blocking`], with the calling (gate) thread's own memory.
fn verify_reusing_memory(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let needed = params.block_count();
    if needed > MAX_REUSED_BLOCKS {
        return verify_blocking(password, stored);
    }
    let argon = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = GATE_BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < needed {
            blocks.resize(needed, argon2::Block::default());
        }
        argon
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut computed,
                &mut blocks[..needed],
            )
            .is_ok()
    });
    // `Output`'s equality is constant-time.
    hashed
        && argon2::password_hash::phc::Output::new(&computed)
            .is_ok_and(|output| output == *expected)
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
            let _ = done.send(verify_reusing_memory(&password, &hash));
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

    /// The gate threads' reused memory gives the same answers as a fresh
    /// check, for our hashes and for other parameters and variants.
    #[tokio::test]
    async fn reused_memory_verifies_like_a_fresh_check() {
        use argon2::password_hash::PasswordHasher as _;
        let ours = super::hash("s3cret".into()).await.unwrap();
        let small = argon2::Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x10,
            argon2::Params::new(64, 2, 1, Some(16)).unwrap(),
        )
        .hash_password(b"s3cret")
        .unwrap()
        .to_string();
        for stored in [&ours, &small, &ours] {
            for (password, right) in [("s3cret", true), ("S3cret", false), ("", false)] {
                assert_eq!(super::verify_blocking(password, stored), right, "{stored}");
                assert_eq!(
                    super::verify_reusing_memory(password, stored),
                    right,
                    "{password:?} against {stored}"
                );
            }
        }
        for garbage in ["garbage", "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$", ""] {
            assert!(!super::verify_reusing_memory("s3cret", garbage));
        }
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

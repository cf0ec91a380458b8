//! How many Wasm validations run at once, and how many may wait.
//!
//! Validation reads a whole layer (up to `packages.parse_size_limit`) into
//! memory and keeps a blocking thread busy, so a burst of pushes or
//! proxied pulls of large components could otherwise exhaust memory and
//! threads. A validation takes a [`ValidationSlot`] before it reads any
//! layer bytes, and keeps it until the blocking work really ends: a client
//! that hangs up cannot free a slot whose thread still runs. Waiting for a
//! slot holds no layer bytes; at most `packages.validation_queue` may wait,
//! and beyond that a validation is refused at once ([`Busy`]), which a push
//! answers with 503 `TOOMANYREQUESTS` and `Retry-After`.
//!
//! Slots are per process: each replica bounds its own memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most `running` validations at once, at most `queued` waiting.
#[derive(Debug)]
pub struct ValidationGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queued: usize,
}

/// Every slot is taken and the queue is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The right to run one validation, released when dropped. Move it into
/// the blocking task doing the work.
#[derive(Debug)]
pub struct ValidationSlot {
    _permit: OwnedSemaphorePermit,
}

/// Counts one waiter for as long as it lives; `.1` is how many waited
/// before it.
struct Waiting<'a>(&'a AtomicUsize, usize);

impl<'a> Waiting<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        let before = counter.fetch_add(1, Ordering::AcqRel);
        Self(counter, before)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ValidationGate {
    pub fn new(running: usize, queued: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(running.max(1))),
            waiting: AtomicUsize::new(0),
            queued,
        }
    }

    /// A slot when one is free; otherwise waits in the queue, or refuses
    /// at once when `queued` others already wait. A waiter that gives up
    /// (its request dropped) leaves the queue as it found it.
    pub async fn enter(&self) -> Result<ValidationSlot, Busy> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(ValidationSlot { _permit: permit });
        }
        let waiting = Waiting::enter(&self.waiting);
        if waiting.1 >= self.queued {
            return Err(Busy);
        }
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        Ok(ValidationSlot { _permit: permit })
    }

    /// Validations waiting for a slot right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::{Busy, ValidationGate};

    #[tokio::test]
    async fn the_gate_queues_a_few_and_refuses_the_rest() {
        let gate = std::sync::Arc::new(ValidationGate::new(1, 1));
        let held = gate.enter().await.unwrap();
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter().await.map(drop) }
        });
        while gate.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.enter().await.map(drop), Err(Busy));
        drop(held);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(gate.waiting(), 0);
        assert_eq!(gate.available(), 1);
    }

    #[tokio::test]
    async fn without_a_queue_the_second_is_refused() {
        let gate = ValidationGate::new(1, 0);
        let held = gate.enter().await.unwrap();
        assert_eq!(gate.enter().await.map(drop), Err(Busy));
        assert_eq!(gate.waiting(), 0);
        drop(held);
        assert!(gate.enter().await.is_ok());
    }
}

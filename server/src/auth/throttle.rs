//! Slows down repeated failed logins per (user, client address).
//!
//! The first few failures cost nothing extra (typos happen); after that
//! each attempt for the same user from the same address waits longer,
//! doubling up to a cap, until a success or a quiet period resets it. The
//! state is per process: with several replicas an attacker gets each
//! replica's allowance, which still bounds guessing to a crawl.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 5;
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(10);
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Bounds memory under a spray of distinct names.
const MAX_ENTRIES: usize = 100_000;

/// Failures per (user, client): how many, and when the last one was.
type Failures = HashMap<(String, Option<IpAddr>), (u32, Instant)>;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<Failures>,
}

impl LoginThrottle {
    /// How long to wait before checking this attempt.
    pub fn delay(&self, user: &str, client: Option<IpAddr>) -> Duration {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(&(user.to_string(), client)) {
            Some(&(count, last)) if count >= FREE_FAILURES && last.elapsed() < FORGET_AFTER => {
                let exponent = (count - FREE_FAILURES).min(8);
                (BASE_DELAY * 2u32.pow(exponent)).min(MAX_DELAY)
            }
            _ => Duration::ZERO,
        }
    }

    pub fn failed(&self, user: &str, client: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_ENTRIES {
            failures.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        }
        let entry = failures
            .entry((user.to_string(), client))
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
    }

    pub fn succeeded(&self, user: &str, client: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&(user.to_string(), client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failures_are_free_then_delays_grow() {
        let throttle = LoginThrottle::default();
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.delay("bob", ip), Duration::ZERO);
            throttle.failed("bob", ip);
        }
        let first = throttle.delay("bob", ip);
        assert!(first >= BASE_DELAY);
        throttle.failed("bob", ip);
        assert!(throttle.delay("bob", ip) > first);
        // Another address or user is unaffected.
        assert_eq!(throttle.delay("bob", None), Duration::ZERO);
        assert_eq!(throttle.delay("alice", ip), Duration::ZERO);
        throttle.succeeded("bob", ip);
        assert_eq!(throttle.delay("bob", ip), Duration::ZERO);
    }
}

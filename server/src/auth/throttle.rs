//! Slows down repeated failed logins per (user, client address).
//!
//! The first few failures cost nothing extra (typos happen); after that
//! each failure closes the door for that user from that address for a
//! while, doubling up to a cap, until a success or a quiet period resets
//! it. Attempts while the door is closed are answered at once with 401 and
//! `Retry-After`, without checking the password: guessing slows to a crawl,
//! and no connection is held open sleeping. The state is per process: with
//! several replicas an attacker gets each replica's allowance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 5;
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(60);
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
    /// `Err(wait)` while attempts for this user from this client are
    /// refused; `Ok` when the password may be checked.
    pub fn check(&self, user: &str, client: Option<IpAddr>) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(&(user.to_string(), client)) {
            Some(&(count, last)) if count >= FREE_FAILURES => {
                let exponent = (count - FREE_FAILURES).min(8);
                let closed_for = (BASE_DELAY * 2u32.pow(exponent)).min(MAX_DELAY);
                match closed_for.checked_sub(last.elapsed()) {
                    Some(wait) if !wait.is_zero() => Err(wait),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
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
    fn first_failures_are_free_then_the_door_closes() {
        let throttle = LoginThrottle::default();
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..FREE_FAILURES {
            assert!(throttle.check("bob", ip).is_ok());
            throttle.failed("bob", ip);
        }
        let first = throttle.check("bob", ip).unwrap_err();
        assert!(first <= BASE_DELAY && !first.is_zero());
        throttle.failed("bob", ip);
        assert!(throttle.check("bob", ip).unwrap_err() > first);
        // Another address or user is unaffected.
        assert!(throttle.check("bob", None).is_ok());
        assert!(throttle.check("alice", ip).is_ok());
        throttle.succeeded("bob", ip);
        assert!(throttle.check("bob", ip).is_ok());
    }
}

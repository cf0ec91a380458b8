//! Slows down password guessing, without letting a guesser lock anyone out
//! for long or grow the gateway's memory.
//!
//! - **Per user and address.** The first few failures cost nothing extra
//!   (typos happen); after that each failure closes the door for that user
//!   from that address for a while (`[auth] login_backoff`, doubling up to
//!   a minute), until a success or a quiet period resets it. Attempts while
//!   the door is closed are answered at once, without checking the
//!   password, so no connection is held open sleeping.
//! - **Atomic.** An attempt is reserved, and counted as a failure, in the
//!   same critical section that checks the door; a success takes it back.
//!   So parallel guesses cannot all slip through an open window: exactly
//!   one gets through each time the door opens.
//! - **Per address.** Failures from one address (an IPv6 /64 counts as one)
//!   also draw on a budget (`failed_logins_per_address` per
//!   `failed_login_window`), refilled steadily, which stops one source from
//!   spraying many user names.
//! - **Per user, from everywhere.** Failures for one user name, whatever
//!   the address, draw on a budget of their own (`failed_logins_per_user`
//!   per window), which stops many sources (a botnet, or addresses chosen
//!   through a trusted proxy) from sharing the guessing of one password.
//! - **Bounded.** Callers cap user names (64 characters) before they get
//!   here; each table holds at most [`MAX_ENTRIES`] keys, and when full
//!   drops those that are idle, then the oldest half.
//! - **Lockout.** A user behind a shared proxy address whose password a
//!   guesser keeps failing is delayed at most a minute at a time, and never
//!   when presenting a password that verified recently (the caller's
//!   success cache is consulted before the throttle) or an access token
//!   (never throttled: it cannot be guessed). The per-user budget is the
//!   one thing a guesser can spend on someone else's behalf: it refills
//!   steadily, so the user waits at most one window's share of it, and
//!   their access tokens keep working.
//!
//! The state is per process: with several replicas a guesser gets each
//! replica's allowance.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(60);
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Keys per table.
pub const MAX_ENTRIES: usize = 10_000;

/// How hard the throttle pushes back (from `[auth]`).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// The first closure after the free failures; doubles per failure.
    pub backoff: Duration,
    /// Failures one address may have in `window` (refilled evenly).
    pub per_address: u32,
    /// Failures one user name may have in `window`, over all addresses.
    pub per_user: u32,
    pub window: Duration,
}

/// Why an attempt may not go ahead now, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures for this user from this address.
    User(Duration),
    /// Too many failures from this address, whatever the user.
    Address(Duration),
    /// Too many failures for this user, whatever the address.
    Account(Duration),
}

#[derive(Debug, Clone, Copy)]
struct UserEntry {
    failures: u32,
    closed_until: Instant,
    last: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    tokens: f64,
    last: Instant,
}

/// What a failure budget is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BudgetKey {
    Address(IpAddr),
    User(String),
}

#[derive(Debug)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    users: Mutex<HashMap<(String, Option<IpAddr>), UserEntry>>,
    budgets: Mutex<HashMap<BudgetKey, Budget>>,
}

/// One reserved attempt: counted as failed unless [`LoginThrottle::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    user: String,
    client: Option<IpAddr>,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            users: Mutex::default(),
            budgets: Mutex::default(),
        }
    }

    /// Reserves an attempt for `user` from `client`, counting it as a
    /// failure until it succeeds.
    pub fn reserve(&self, user: &str, client: Option<IpAddr>) -> Result<Attempt, Refusal> {
        self.reserve_at(user, client, Instant::now())
    }

    /// [`Self::reserve`] at the moment `now`: the clock is a parameter, so
    /// tests make time pass without waiting for it.
    fn reserve_at(
        &self,
        user: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Refusal> {
        let address = client.map(address_key);
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let key = (user.to_string(), address);
        if let Some(entry) = users.get(&key)
            && entry.closed_until > now
        {
            return Err(Refusal::User(entry.closed_until - now));
        }
        self.spend(&budget_keys(user, address), now)?;
        make_room(&mut users, now, |e| e.last);
        let entry = users.entry(key).or_insert(UserEntry {
            failures: 0,
            closed_until: now,
            last: now,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        if entry.failures >= FREE_FAILURES {
            let exponent = (entry.failures - FREE_FAILURES).min(16);
            let delay = self
                .settings
                .backoff
                .saturating_mul(2u32.pow(exponent))
                .min(MAX_DELAY.max(self.settings.backoff));
            entry.closed_until = now + delay;
        }
        Ok(Attempt {
            user: user.to_string(),
            client: address,
        })
    }

    /// The attempt proved the user's identity: forget their failures here,
    /// and give the address its token back.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.remove(&(attempt.user.clone(), attempt.client));
        drop(users);
        self.refund(&attempt);
    }

    /// The attempt was never made (no verification slot): take back what
    /// reserving it counted.
    pub fn release(&self, attempt: Attempt) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = users.get_mut(&(attempt.user.clone(), attempt.client)) {
            entry.failures = entry.failures.saturating_sub(1);
        }
        drop(users);
        self.refund(&attempt);
    }

    /// Takes one failure from each budget in `keys`, or none when one of
    /// them is empty (a refused attempt costs nothing).
    fn spend(&self, keys: &[BudgetKey], now: Instant) -> Result<(), Refusal> {
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        make_room(&mut budgets, now, |b| b.last);
        for key in keys {
            let limit = self.limit(key);
            let budget = budgets.entry(key.clone()).or_insert(Budget {
                tokens: f64::from(limit),
                last: now,
            });
            self.refill(budget, limit, now);
            if budget.tokens < 1.0 {
                let per_token = self.settings.window.as_secs_f64() / f64::from(limit.max(1));
                let wait = Duration::from_secs_f64((1.0 - budget.tokens) * per_token)
                    .max(Duration::from_secs(1));
                return Err(match key {
                    BudgetKey::Address(_) => Refusal::Address(wait),
                    BudgetKey::User(_) => Refusal::Account(wait),
                });
            }
        }
        for key in keys {
            if let Some(budget) = budgets.get_mut(key) {
                budget.tokens -= 1.0;
            }
        }
        Ok(())
    }

    fn refund(&self, attempt: &Attempt) {
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        for key in budget_keys(&attempt.user, attempt.client) {
            let limit = self.limit(&key);
            if let Some(budget) = budgets.get_mut(&key) {
                budget.tokens = (budget.tokens + 1.0).min(f64::from(limit));
            }
        }
    }

    fn limit(&self, key: &BudgetKey) -> u32 {
        match key {
            BudgetKey::Address(_) => self.settings.per_address,
            BudgetKey::User(_) => self.settings.per_user,
        }
    }

    fn refill(&self, budget: &mut Budget, limit: u32, now: Instant) {
        let rate = f64::from(limit) / self.settings.window.as_secs_f64();
        let earned = now.duration_since(budget.last).as_secs_f64() * rate;
        budget.tokens = (budget.tokens + earned).min(f64::from(limit));
        budget.last = now;
    }

    /// How many keys the tables hold (for tests of the bound).
    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        (
            self.users.lock().unwrap().len(),
            self.budgets.lock().unwrap().len(),
        )
    }
}

/// The budgets one attempt draws on: its user's, and its address's.
fn budget_keys(user: &str, address: Option<IpAddr>) -> Vec<BudgetKey> {
    let mut keys = vec![BudgetKey::User(user.to_string())];
    keys.extend(address.map(BudgetKey::Address));
    keys
}

/// IPv6 clients are counted per /64, which one subscriber usually holds
/// whole; IPv4 per address.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

/// Keeps a table under [`MAX_ENTRIES`]: drops idle keys, then the oldest
/// half if that was not enough.
fn make_room<K: Eq + Hash + Clone, V>(
    table: &mut HashMap<K, V>,
    now: Instant,
    last: impl Fn(&V) -> Instant,
) {
    if table.len() < MAX_ENTRIES {
        return;
    }
    table.retain(|_, v| now.duration_since(last(v)) < FORGET_AFTER);
    if table.len() >= MAX_ENTRIES {
        let mut ages: Vec<Instant> = table.values().map(&last).collect();
        ages.sort_unstable();
        let cut = ages[ages.len() / 2];
        table.retain(|_, v| last(v) > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(backoff: Duration, per_address: u32) -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            backoff,
            per_address,
            per_user: 1000,
            window: Duration::from_secs(3600),
        })
    }

    #[test]
    fn first_failures_are_free_then_the_door_closes() {
        let throttle = throttle(Duration::from_secs(3600), 1000);
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..FREE_FAILURES {
            throttle.reserve("bob", ip).unwrap();
        }
        assert!(matches!(throttle.reserve("bob", ip), Err(Refusal::User(_))));
        // Another address or user is unaffected.
        assert!(throttle.reserve("bob", None).is_ok());
        let alice = throttle.reserve("alice", ip).unwrap();
        throttle.succeeded(alice);
        assert_eq!(throttle.len().0, 2, "alice's success left nothing");
    }

    #[test]
    fn a_success_reopens_the_door() {
        let throttle = throttle(Duration::ZERO, 1000);
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..FREE_FAILURES + 3 {
            throttle.reserve("bob", ip).unwrap();
        }
        let attempt = throttle.reserve("bob", ip).unwrap();
        throttle.succeeded(attempt);
        assert_eq!(throttle.len().0, 0);
    }

    #[test]
    fn parallel_guesses_get_one_attempt_per_opening() {
        let throttle = std::sync::Arc::new(throttle(Duration::from_secs(3600), 1000));
        let ip = Some("10.0.0.1".parse().unwrap());
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let throttle = throttle.clone();
                std::thread::spawn(move || throttle.reserve("bob", ip).is_ok())
            })
            .collect();
        let passed = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(passed, FREE_FAILURES as usize);
    }

    #[test]
    fn an_address_has_a_budget_across_user_names() {
        let throttle = throttle(Duration::from_secs(3600), 3);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8::ffff".parse().unwrap();
        for user in ["a", "b", "c"] {
            throttle.reserve(user, Some(ip)).unwrap();
        }
        assert!(matches!(
            throttle.reserve("d", Some(neighbour)),
            Err(Refusal::Address(_))
        ));
        assert!(
            throttle
                .reserve("d", Some("2001:db9::1".parse().unwrap()))
                .is_ok()
        );
    }

    #[test]
    fn a_user_has_a_budget_across_addresses() {
        let throttle = LoginThrottle::new(ThrottleSettings {
            backoff: Duration::from_secs(3600),
            per_address: 1000,
            per_user: 3,
            window: Duration::from_secs(3600),
        });
        for i in 1..=3u8 {
            throttle
                .reserve("bob", Some(IpAddr::from([10, 0, 0, i])))
                .unwrap();
        }
        let refused = throttle.reserve("bob", Some("10.9.9.9".parse().unwrap()));
        assert!(matches!(refused, Err(Refusal::Account(_))), "{refused:?}");
        // The refusal cost the address nothing, and other users go on.
        let alice = throttle
            .reserve("alice", Some("10.9.9.9".parse().unwrap()))
            .unwrap();
        // A success gives its token back to the user's budget.
        throttle.succeeded(alice);
        let last = throttle.reserve("carol", None).unwrap();
        throttle.release(last);
    }

    #[test]
    fn the_door_reopens_after_the_backoff_which_then_doubles() {
        let throttle = throttle(Duration::from_secs(10), 1000);
        let ip = Some("10.0.0.1".parse().unwrap());
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.reserve_at("bob", ip, start).unwrap();
        }
        let later = start + Duration::from_secs(9);
        assert_eq!(
            throttle.reserve_at("bob", ip, later).unwrap_err(),
            Refusal::User(Duration::from_secs(1))
        );
        let reopened = start + Duration::from_secs(10);
        throttle.reserve_at("bob", ip, reopened).unwrap();
        assert_eq!(
            throttle.reserve_at("bob", ip, reopened).unwrap_err(),
            Refusal::User(Duration::from_secs(20))
        );
        // Failures long past are forgotten: the free ones are free again.
        let forgotten = reopened + FORGET_AFTER + Duration::from_secs(20);
        for _ in 0..FREE_FAILURES - 1 {
            throttle.reserve_at("bob", ip, forgotten).unwrap();
        }
    }

    #[test]
    fn budgets_refill_evenly_over_the_window() {
        let throttle = throttle(Duration::ZERO, 3);
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let start = Instant::now();
        for user in ["a", "b", "c"] {
            throttle.reserve_at(user, Some(ip), start).unwrap();
        }
        // One token comes back every window / 3 = 20 minutes.
        let refused = throttle.reserve_at("d", Some(ip), start + Duration::from_secs(600));
        assert_eq!(
            refused.unwrap_err(),
            Refusal::Address(Duration::from_secs(600))
        );
        let refilled = start + Duration::from_secs(1200);
        throttle.reserve_at("d", Some(ip), refilled).unwrap();
        assert!(throttle.reserve_at("e", Some(ip), refilled).is_err());
    }

    #[test]
    fn tables_stay_bounded() {
        let throttle = throttle(Duration::ZERO, u32::MAX);
        for i in 0..(MAX_ENTRIES as u32 + 500) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(i));
            throttle.reserve(&format!("user{i}"), Some(ip)).unwrap();
        }
        let (users, addresses) = throttle.len();
        assert!(
            users <= MAX_ENTRIES && addresses <= MAX_ENTRIES,
            "{users} {addresses}"
        );
    }
}

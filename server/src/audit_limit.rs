//! How many refused requests from one source the audit log records.
//!
//! Every refused push, delete or admin request is audited, and refusing
//! costs an attacker nothing: without a bound, anyone could fill the
//! database with refusal rows. So per source, at most
//! `[audit] refusals_per_source` refusals are recorded one by one in each
//! `[audit] refusal_window` (counted from the source's first refusal in
//! it); the first one over the limit writes one notice row, the rest are
//! counted (in memory and in `wkg_gateway_audit_refusals_unrecorded_total`),
//! and the source's next refusal after the window writes one row with that
//! count. A source thus writes at most `refusals_per_source + 2` rows per
//! window. Allowed requests are never limited.
//!
//! A source is a client address; IPv6 clients are grouped by /64, the
//! block one subscriber usually holds. Kept in memory per replica, like the
//! rate limit: with several replicas each applies the bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Sources tracked at once; when full, finished windows are dropped, and
/// if none is, new sources share one window (still bounded).
const MAX_SOURCES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4([u8; 4]),
    /// The /64 of an IPv6 address.
    V6([u8; 8]),
    /// No address known (a router served without connection info).
    Unknown,
    /// Everyone else while [`MAX_SOURCES`] windows are open.
    Overflow,
}

impl Source {
    fn of(client: Option<IpAddr>) -> Self {
        match client {
            None => Source::Unknown,
            Some(IpAddr::V4(v4)) => Source::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Source::V6(prefix)
                }
            },
        }
    }
}

#[derive(Debug)]
struct Window {
    started: Instant,
    started_at: SystemTime,
    recorded: u32,
    unrecorded: u64,
}

/// Rows a refusal leads to, besides its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Summary {
    /// The source's previous window ended with this many refusals not
    /// recorded one by one.
    Unrecorded { count: u64, since: SystemTime },
    /// This refusal is the first over the limit in the window.
    Suppressing { limit: u32, window: Duration },
}

/// What to write for one refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Summary rows to write first.
    pub summaries: Vec<Summary>,
    /// Whether the refusal itself gets its row.
    pub record: bool,
}

#[derive(Debug)]
pub struct RefusalLimiter {
    limit: u32,
    window: Duration,
    sources: Mutex<HashMap<Source, Window>>,
}

impl RefusalLimiter {
    pub fn new(config: &crate::config::AuditConfig) -> Self {
        Self {
            limit: config.refusals_per_source,
            window: config.refusal_window,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one refusal from `client` and says what to record.
    pub fn admit(&self, client: Option<IpAddr>) -> Admission {
        self.admit_at(client, Instant::now(), SystemTime::now())
    }

    fn admit_at(&self, client: Option<IpAddr>, now: Instant, wall: SystemTime) -> Admission {
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let mut source = Source::of(client);
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&source) {
            let window = self.window;
            sources.retain(|_, w| now.duration_since(w.started) < window);
            if sources.len() >= MAX_SOURCES {
                source = Source::Overflow;
            }
        }
        let fresh = || Window {
            started: now,
            started_at: wall,
            recorded: 0,
            unrecorded: 0,
        };
        let window = sources.entry(source).or_insert_with(fresh);
        let mut summaries = Vec::new();
        if now.duration_since(window.started) >= self.window {
            if window.unrecorded > 0 {
                summaries.push(Summary::Unrecorded {
                    count: window.unrecorded,
                    since: window.started_at,
                });
            }
            *window = fresh();
        }
        let record = window.recorded < self.limit;
        if record {
            window.recorded += 1;
        } else {
            window.unrecorded += 1;
            crate::metrics::global().audit_refusals_unrecorded.inc();
            if window.unrecorded == 1 {
                summaries.push(Summary::Suppressing {
                    limit: self.limit,
                    window: self.window,
                });
            }
        }
        Admission { summaries, record }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32, window: Duration) -> RefusalLimiter {
        RefusalLimiter::new(&crate::config::AuditConfig {
            refusals_per_source: limit,
            refusal_window: window,
        })
    }

    #[test]
    fn a_flood_from_one_source_writes_a_bounded_number_of_rows() {
        let limiter = limiter(3, Duration::from_secs(60));
        let start = Instant::now();
        let wall = SystemTime::UNIX_EPOCH;
        let client = Some("203.0.113.9".parse().unwrap());
        let admissions: Vec<Admission> = (0..100)
            .map(|i| limiter.admit_at(client, start + Duration::from_millis(i), wall))
            .collect();
        assert!(
            admissions[..3]
                .iter()
                .all(|a| a.record && a.summaries.is_empty())
        );
        assert_eq!(
            admissions[3],
            Admission {
                summaries: vec![Summary::Suppressing {
                    limit: 3,
                    window: Duration::from_secs(60)
                }],
                record: false
            }
        );
        assert!(
            admissions[4..]
                .iter()
                .all(|a| !a.record && a.summaries.is_empty())
        );

        // Another source has its own allowance; so has the next window.
        let other = Some("198.51.100.1".parse().unwrap());
        assert!(limiter.admit_at(other, start, wall).record);
        let later = limiter.admit_at(client, start + Duration::from_secs(61), wall);
        assert!(later.record);
        assert_eq!(
            later.summaries,
            vec![Summary::Unrecorded {
                count: 97,
                since: wall
            }]
        );
    }

    #[test]
    fn ipv6_clients_are_grouped_by_64() {
        let limiter = limiter(1, Duration::from_secs(60));
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH;
        assert!(
            limiter
                .admit_at(Some("2001:db8:1:2::1".parse().unwrap()), now, wall)
                .record
        );
        assert!(
            !limiter
                .admit_at(Some("2001:db8:1:2::ffff".parse().unwrap()), now, wall)
                .record
        );
        assert!(
            limiter
                .admit_at(Some("2001:db8:1:3::1".parse().unwrap()), now, wall)
                .record
        );
    }
}

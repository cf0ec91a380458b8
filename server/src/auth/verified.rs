//! Passwords that verified a moment ago, so a client that sends Basic
//! credentials on every request (docker, many scripts) pays for Argon2 once
//! per [`REMEMBER_FOR`], and a user behind an address whose throttle a
//! guesser closed keeps working with a password they already proved.
//!
//! Keys are a SHA-256 over a per-process random key, the user name and the
//! password, so the table holds nothing that reveals a password. A hit
//! counts only while the stored hash it was verified against is still the
//! user's hash: a password change ends it at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// How long a verification is remembered.
pub const REMEMBER_FOR: Duration = Duration::from_secs(5 * 60);
/// Entries at most; when full, the table starts over.
const MAX_ENTRIES: usize = 4096;

#[derive(Debug)]
pub struct RecentlyVerified {
    key: [u8; 32],
    /// Fingerprint -> (the PHC string it verified against, when).
    entries: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

impl RecentlyVerified {
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        // Without randomness the fingerprints are still one-way hashes of
        // the password; they only become comparable across processes.
        let _ = getrandom::fill(&mut key);
        Self {
            key,
            entries: Mutex::default(),
        }
    }

    fn fingerprint(&self, user: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update((user.len() as u64).to_le_bytes());
        hasher.update(user.as_bytes());
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// Whether `password` verified for `user` against `stored` lately.
    pub fn contains(&self, user: &str, password: &str, stored: &str) -> bool {
        let fingerprint = self.fingerprint(user, password);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&fingerprint)
            .is_some_and(|(hash, at)| hash == stored && at.elapsed() < REMEMBER_FOR)
    }

    pub fn remember(&self, user: &str, password: &str, stored: &str) {
        let fingerprint = self.fingerprint(user, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < REMEMBER_FOR);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(fingerprint, (stored.to_string(), Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_the_same_password_and_hash() {
        let recent = RecentlyVerified::new();
        recent.remember("alice", "pw", "$hash1");
        assert!(recent.contains("alice", "pw", "$hash1"));
        assert!(!recent.contains("alice", "pw2", "$hash1"));
        assert!(!recent.contains("alic", "epw", "$hash1"));
        assert!(
            !recent.contains("alice", "pw", "$hash2"),
            "password changed"
        );
    }
}

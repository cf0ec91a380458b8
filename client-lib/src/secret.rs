//! A string that must not leak through `Debug` or logs.
//!
//! Passwords, tokens and signing keys from the config file live in [`Secret`], so a
//! `{:?}` of any config type (in a log line, a panic message, a test failure) shows
//! `<redacted>` instead of the value. Reading the value is an explicit [`Secret::expose`].

use std::fmt;

/// A secret string; `Debug` redacts it and there is deliberately no `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Callers must not log or print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let secret = Secret::new("sesame");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("sesame"), "{shown}");
        assert_eq!(secret.expose(), "sesame");
    }
}

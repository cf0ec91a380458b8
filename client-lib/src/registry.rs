//! Registry names: the `example.com` or `localhost:5000` that config keys and mappings use.
//!
//! A registry name is an HTTP authority without user info: a host (DNS name, IPv4, or
//! bracketed IPv6) and an optional port. Upstream wkg accepts exactly that, and the name is
//! later used both as a config key and as the host that serves `registry.json`, so it is
//! checked once here. Common slips (a scheme, a path) get a message saying how to fix them.

use std::{fmt, str::FromStr};

use crate::error::{Error, Result};

/// A validated registry name, kept exactly as written (it is a key in the config file).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryName {
    name: String,
    /// Byte length of the host part (brackets included for IPv6).
    host_len: usize,
    port: Option<u16>,
}

impl RegistryName {
    /// The name as written, e.g. `localhost:5000`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The host without the port; IPv6 keeps its brackets, e.g. `[::1]`.
    pub fn host(&self) -> &str {
        &self.name[..self.host_len]
    }

    /// The port, if one was given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl FromStr for RegistryName {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidRegistryName {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(invalid("it is empty"));
        }
        if input.contains("://") {
            return Err(invalid(
                "it has a URL scheme; drop the `http://`/`https://`, as the scheme is chosen \
                 per registry",
            ));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it contains whitespace"));
        }
        if input.contains(['/', '?', '#']) {
            return Err(invalid(
                "it has a path; a registry name is only a host and port",
            ));
        }
        if input.contains('@') {
            return Err(invalid(
                "it has user info (`@`), and credentials do not belong in a registry name",
            ));
        }

        let (host, port) = if let Some(rest) = input.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                return Err(invalid("an IPv6 address is missing its closing `]`"));
            };
            let addr = &rest[..end];
            if addr.is_empty()
                || !addr
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(invalid("the bracketed part is not an IPv6 address"));
            }
            let after = &input[end + 2..];
            match after {
                "" => (&input[..end + 2], None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (&input[..end + 2], Some(port)),
                    None => return Err(invalid("unexpected text after the IPv6 address")),
                },
            }
        } else {
            match input.split_once(':') {
                None => (input, None),
                Some((_, port)) if port.contains(':') => {
                    return Err(invalid(
                        "too many `:`; an IPv6 address needs brackets, like `[::1]:5000`",
                    ));
                }
                Some((host, port)) => (host, Some(port)),
            }
        };

        let port = port
            .map(|p| match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
                _ => Err(invalid("the port must be a number from 1 to 65535")),
            })
            .transpose()?;

        if !host.starts_with('[') {
            if host.is_empty() {
                return Err(invalid("the host is empty"));
            }
            let ok_chars = host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !ok_chars {
                return Err(invalid(
                    "the host may contain only ASCII letters, digits, `-`, `_` and `.`",
                ));
            }
            if host.split('.').any(str::is_empty) {
                return Err(invalid(
                    "the host has an empty label (leading, trailing or double `.`)",
                ));
            }
        }

        Ok(RegistryName {
            name: input.to_owned(),
            host_len: host.len(),
            port,
        })
    }
}

impl fmt::Display for RegistryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for RegistryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (String, Option<u16>) {
        let r: RegistryName = s.parse().unwrap();
        assert_eq!(r.as_str(), s);
        (r.host().to_owned(), r.port())
    }

    #[test]
    fn accepts_hosts_and_ports() {
        assert_eq!(parts("wasi.dev"), ("wasi.dev".into(), None));
        assert_eq!(parts("localhost:5000"), ("localhost".into(), Some(5000)));
        assert_eq!(parts("127.0.0.1:8080"), ("127.0.0.1".into(), Some(8080)));
        assert_eq!(parts("[::1]:5000"), ("[::1]".into(), Some(5000)));
        assert_eq!(parts("[::1]"), ("[::1]".into(), None));
        assert_eq!(parts("another"), ("another".into(), None));
        assert_eq!(parts("My_Host.example"), ("My_Host.example".into(), None));
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("https://example.com", "scheme"),
            ("example.com/path", "path"),
            ("user@example.com", "user info"),
            ("example com", "whitespace"),
            ("example.com:", "port"),
            ("example.com:0", "port"),
            ("example.com:70000", "port"),
            ("example.com:+80", "port"),
            ("::1", "brackets"),
            ("[::1", "closing"),
            ("[::1]x", "after the IPv6"),
            ("[zz]", "not an IPv6"),
            (":5000", "host is empty"),
            ("exa!mple.com", "ASCII letters"),
            ("example..com", "empty label"),
            (".example.com", "empty label"),
        ];
        for (input, want) in cases {
            let err = input.parse::<RegistryName>().unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::InvalidRegistryName { .. }), "{input}");
            assert!(msg.contains(want), "{input:?}: {msg}");
        }
    }
}

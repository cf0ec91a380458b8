//! Plain http or https: the one rule every command follows to reach a registry host.
//!
//! - An explicit `protocol` under `[registry."<name>".oci]` always wins, for every command
//!   alike (registry.json, the package API, login, OCI transfers).
//! - Without one, a registry on this machine (`localhost`, any of 127.0.0.0/8, `[::1]`, any
//!   port) is spoken to in plain http straight away, as docker treats loopback registries
//!   as insecure: TLS is rarely set up there, and trying https first would only turn a
//!   working setup into a TLS error. No https attempt is made first, so no TLS handshake is
//!   ever sent to a plain-http port.
//! - Everything else gets https.
//!
//! The first time a process chooses plain http by this rule it says so once through
//! [`Reporter::notice`] (the CLI prints it on stderr), so nobody is surprised that no TLS
//! is used; later decisions stay quiet.
//!
//! Callers: discovery ([`super::registry_json_url`]), the package API behind `search` and
//! `info`, `login`/`logout`, `wkg oci`, the OCI backend behind `publish`/`get`/`fetch`
//! (`OciSettings::for_registry`), and the gateway's proxy.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::OciProtocol;
use crate::progress::Reporter;

/// Whether this process has announced a plain-http loopback registry yet.
static ANNOUNCED: AtomicBool = AtomicBool::new(false);

/// Longest registry authority a notice repeats (a DNS name is at most 253 bytes).
const NOTICE_AUTHORITY_MAX: usize = 270;

/// Whether a host is this machine: `localhost`, any of 127.0.0.0/8, or `[::1]`.
///
/// Upstream only knows the literal `localhost` and `127.0.0.1`; test registries on other
/// loopback addresses deserve plain http too, since TLS on loopback is rarely set up.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host of `host[:port]`; a bracketed IPv6 address keeps its brackets, and text with
/// several `:` but no brackets is taken as a bare IPv6 address.
pub fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    match authority.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => authority,
    }
}

/// How to talk to `authority` (`host[:port]`), given the `protocol` configured for it
/// (`None` when the config says nothing). See the module docs for the rule.
pub fn protocol_for(
    authority: &str,
    configured: Option<OciProtocol>,
    reporter: &dyn Reporter,
) -> OciProtocol {
    if let Some(protocol) = configured {
        return protocol;
    }
    if !is_loopback(host_of(authority)) {
        return OciProtocol::Https;
    }
    if !ANNOUNCED.swap(true, Ordering::Relaxed) {
        let shown: String = authority.chars().take(NOTICE_AUTHORITY_MAX).collect();
        reporter.notice(&format!(
            "{shown} is on this machine, so wkg talks plain http to it; set \
             `protocol = \"https\"` under [registry.\"<name>\".oci] if it serves TLS"
        ));
    }
    OciProtocol::Http
}

/// `<scheme>://<authority>`, the scheme chosen by [`protocol_for`].
pub fn base_url(
    authority: &str,
    configured: Option<OciProtocol>,
    reporter: &dyn Reporter,
) -> String {
    let protocol = protocol_for(authority, configured, reporter);
    format!("{}://{authority}", protocol.as_str())
}

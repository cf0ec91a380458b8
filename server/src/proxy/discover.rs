//! Reading a `registry = "..."` upstream's registry.json, which tells the proxy where
//! that registry's OCI artifacts live.
//!
//! The operator named the registry, but not what its registry.json says nor where its
//! redirects lead, so the document is treated as untrusted input:
//!
//! - Bounds: at most 64 KiB (streamed, by `wkg_client::discovery`, which reads the
//!   document as the CLI does), within the entry's `discovery_timeout` (connect and
//!   total), at most [`MAX_REDIRECTS`] redirects, http(s) only.
//! - Content: the OCI host must be a plain `host[:port]` and the namespace prefix a short
//!   repository path (`wkg_client::discovery::validate_location`).
//! - Destinations: neither a redirect nor the OCI host the document names may lead to
//!   this machine or the link-local network: see [`Forbidden`]. Literal addresses are
//!   checked as they appear; host names are resolved first (for redirects, by the HTTP
//!   client's resolver, so the checked address is the one connected to; for the OCI host,
//!   once at discovery; the OCI client later resolves it again, which a DNS answer that
//!   changes in between could exploit: an operator who fears that should name the OCI
//!   registry directly with `oci = {...}`). The configured registry host itself is exempt:
//!   the operator chose it.
//!   A registry that is itself on loopback may lead to loopback (development and test
//!   setups, where every service listens on 127.0.0.1); `allow_private_discovery = true`
//!   lifts the rule entirely.
//!
//! A refusal is an [`UpstreamError::Failed`] naming the reason (echoes of the document cut to a
//! few dozen characters): logged by the caller, answered as the proxy's usual 502, and the
//! discovery is tried again on the next request.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wkg_client::discovery::{
    Discovery, DiscoveryError, bounded, host_of, is_loopback, registry_json_url, validate_location,
};
use wkg_client::{OciProtocol, RegistryName};

use super::UpstreamError;
use crate::config::DiscoveryConfig;

/// Redirects followed while fetching a registry.json.
pub const MAX_REDIRECTS: usize = 5;

/// Where discovery may not lead: the reason, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// 127.0.0.0/8, `::1`, `localhost`: this machine.
    Loopback,
    /// 169.254.0.0/16 (with the cloud metadata service 169.254.169.254), fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8 and `::`, which reach this machine on most systems.
    Unspecified,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Forbidden::Loopback => "a loopback address",
            Forbidden::LinkLocal => "a link-local address (such as a cloud metadata service)",
            Forbidden::Unspecified => "an unspecified address",
        })
    }
}

/// What discovery of one upstream may reach.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `allow_private_discovery`.
    pub allow_private: bool,
    /// The configured registry is itself on loopback: loopback targets are fine.
    pub upstream_is_loopback: bool,
    /// The configured registry's host (without port), exempt from the rule.
    pub upstream_host: String,
}

impl Policy {
    pub fn new(host: &str, config: &DiscoveryConfig) -> Self {
        let upstream_host = host_of(host).to_ascii_lowercase();
        Policy {
            allow_private: config.allow_private,
            upstream_is_loopback: is_loopback(&upstream_host),
            upstream_host,
        }
    }

    /// Why `ip` may not be reached, if it may not.
    pub fn refuses_ip(&self, ip: IpAddr) -> Option<Forbidden> {
        let kind = classify(ip)?;
        match kind {
            _ if self.allow_private => None,
            Forbidden::Loopback if self.upstream_is_loopback => None,
            _ => Some(kind),
        }
    }

    /// Why the literal host (`localhost`, an IP, with or without brackets) may not be
    /// reached; `None` for other names, which must be resolved to be judged.
    pub fn refuses_literal(&self, host: &str) -> Option<Forbidden> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.refuses_ip(ip);
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") {
            return self.refuses_ip(IpAddr::from([127, 0, 0, 1]));
        }
        None
    }

    /// Whether `host` is the configured registry's own host.
    fn is_upstream(&self, host: &str) -> bool {
        host.trim_end_matches('.')
            .eq_ignore_ascii_case(&self.upstream_host)
    }
}

/// Which forbidden range `ip` is in (IPv4-mapped IPv6 addresses count as IPv4).
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip.to_canonical() {
        IpAddr::V4(v4) if v4.is_loopback() => Some(Forbidden::Loopback),
        IpAddr::V4(v4) if v4.is_link_local() => Some(Forbidden::LinkLocal),
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some(Forbidden::Unspecified),
        IpAddr::V6(v6) if v6.is_loopback() => Some(Forbidden::Loopback),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(Forbidden::LinkLocal),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(Forbidden::Unspecified),
        _ => None,
    }
}

/// The HTTP client's resolver: drops forbidden addresses of every name but the
/// configured registry's, so a redirect to a name cannot reach them either.
struct GuardedResolver(Arc<Policy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if policy.is_upstream(&host) {
                return Ok(Box::new(all.into_iter()) as reqwest::dns::Addrs);
            }
            let mut refused = None;
            let allowed: Vec<SocketAddr> = all
                .into_iter()
                .filter(|addr| match policy.refuses_ip(addr.ip()) {
                    Some(why) => {
                        refused = Some(why);
                        false
                    }
                    None => true,
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(why)) => Err(format!(
                    "{} resolves to {why}, which registry.json discovery may not reach (an \
                     operator can set allow_private_discovery = true on the [[upstream]] entry)",
                    bounded(&host, 64)
                )
                .into()),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

/// The client for one discovery: bounded in time, guarded in redirects and resolution.
fn http_client(policy: &Arc<Policy>, config: &DiscoveryConfig) -> reqwest::Result<reqwest::Client> {
    wkg_client::install_crypto_provider();
    let redirects = policy.clone();
    reqwest::Client::builder()
        .connect_timeout(config.timeout)
        .timeout(config.timeout)
        .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            let url = attempt.url();
            let refusal = if !matches!(url.scheme(), "http" | "https") {
                Some("a redirect to a scheme other than http(s)".to_owned())
            } else {
                let host = url.host_str().unwrap_or_default();
                redirects.refuses_literal(host).map(|why| {
                    format!(
                        "a redirect to {}, {why}, which registry.json discovery may not follow \
                         (an operator can set allow_private_discovery = true on the \
                         [[upstream]] entry)",
                        bounded(host, 64)
                    )
                })
            };
            match refusal {
                Some(refusal) => attempt.error(refusal),
                None => attempt.follow(),
            }
        }))
        .build()
}

/// `(OCI registry, namespace prefix)` for the registry at `host` from its registry.json;
/// a registry without one is its own OCI registry with no prefix. Read through the
/// client library's discovery, as the CLI reads it, with this module's guarded client.
pub async fn discover(
    upstream: &str,
    host: &str,
    http: bool,
    config: &DiscoveryConfig,
) -> Result<(String, String), UpstreamError> {
    let failed = |detail: String| UpstreamError::Failed {
        upstream: upstream.to_owned(),
        detail,
    };
    let registry: RegistryName = host
        .parse()
        .map_err(|e: wkg_client::Error| failed(e.to_string()))?;
    let policy = Arc::new(Policy::new(host, config));
    let client = http_client(&policy, config)
        .map_err(|e| UpstreamError::Local(format!("cannot set up an HTTP client: {e}")))?;
    let metadata = Discovery::new(client, None)
        .with_timeout(config.timeout)
        .lookup(
            &registry,
            http.then_some(OciProtocol::Http),
            &wkg_client::NoReporter,
        )
        .await
        .map_err(|error| match error {
            DiscoveryError::Timeout { .. } => UpstreamError::Timeout {
                upstream: upstream.to_owned(),
                timeout: config.timeout,
            },
            // A name resolving only to forbidden addresses says so in the chain.
            error if error.is_connect() => UpstreamError::Unreachable {
                upstream: upstream.to_owned(),
                detail: wkg_client::error::chain(&error),
            },
            // Refused redirects land here, with the reason in the chain.
            error => failed(wkg_client::error::chain(&error)),
        })?;
    let url = registry_json_url(
        &registry,
        http.then_some(OciProtocol::Http),
        &wkg_client::NoReporter,
    );
    if metadata.oci.is_none() && metadata.warg_url.is_some() {
        return Err(failed(format!(
            "{url} names only a Warg registry; this gateway proxies OCI registries"
        )));
    }
    let location = metadata.oci_location(&registry);
    validate_location(&location).map_err(|reason| failed(format!("{url}: {reason}")))?;
    check_destination(&policy, &location.registry)
        .await
        .map_err(|reason| failed(format!("{url}: {reason}")))?;
    Ok((location.registry, location.namespace_prefix))
}

/// Refuses an OCI host that is, or resolves to, a forbidden address. A name that does
/// not resolve now is let through: the OCI client will report it unreachable.
async fn check_destination(policy: &Policy, authority: &str) -> Result<(), String> {
    let host = host_of(authority);
    let refusal = |why: Forbidden| {
        format!(
            "it names OCI registry {}, {why}; refused (an operator can set \
             allow_private_discovery = true on the [[upstream]] entry)",
            bounded(authority, 64)
        )
    };
    if policy.is_upstream(host) {
        return Ok(());
    }
    if let Some(why) = policy.refuses_literal(host) {
        return Err(refusal(why));
    }
    if host.starts_with('[') || host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if let Ok(addrs) = tokio::net::lookup_host((host, 0)).await {
        for addr in addrs {
            if let Some(why) = policy.refuses_ip(addr.ip()) {
                return Err(refusal(why));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(host: &str, allow_private: bool) -> Policy {
        Policy::new(
            host,
            &DiscoveryConfig {
                timeout: std::time::Duration::from_secs(1),
                allow_private,
            },
        )
    }

    #[test]
    fn forbidden_ranges() {
        for (ip, kind) in [
            ("127.0.0.1", Forbidden::Loopback),
            ("127.200.0.9", Forbidden::Loopback),
            ("::1", Forbidden::Loopback),
            ("::ffff:127.0.0.1", Forbidden::Loopback),
            ("169.254.169.254", Forbidden::LinkLocal),
            ("::ffff:169.254.1.1", Forbidden::LinkLocal),
            ("fe80::1", Forbidden::LinkLocal),
            ("febf::1", Forbidden::LinkLocal),
            ("0.0.0.0", Forbidden::Unspecified),
            ("0.1.2.3", Forbidden::Unspecified),
            ("::", Forbidden::Unspecified),
        ] {
            assert_eq!(classify(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        for ip in [
            "192.0.2.2",
            "10.1.2.3",
            "8.8.8.8",
            "fd00::2",
            "fec0::1",
            "2001:db8::1",
        ] {
            assert_eq!(classify(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn who_may_reach_what() {
        let public = policy("wasi.dev", false);
        assert_eq!(
            public.refuses_literal("127.0.0.1"),
            Some(Forbidden::Loopback)
        );
        assert_eq!(public.refuses_literal("[::1]"), Some(Forbidden::Loopback));
        assert_eq!(
            public.refuses_literal("LocalHost."),
            Some(Forbidden::Loopback)
        );
        assert_eq!(
            public.refuses_literal("a.localhost"),
            Some(Forbidden::Loopback)
        );
        assert_eq!(
            public.refuses_literal("169.254.169.254"),
            Some(Forbidden::LinkLocal)
        );
        assert_eq!(public.refuses_literal("ghcr.io"), None);
        assert_eq!(public.refuses_literal("192.0.2.7"), None);
        assert!(public.is_upstream("WASI.dev."));

        // A loopback upstream may lead to loopback, never to link-local.
        let local = policy("127.0.0.1:8080", false);
        assert_eq!(local.refuses_literal("127.0.0.1"), None);
        assert_eq!(local.refuses_literal("localhost"), None);
        assert_eq!(
            local.refuses_literal("169.254.169.254"),
            Some(Forbidden::LinkLocal)
        );
        assert_eq!(
            local.refuses_literal("0.0.0.0"),
            Some(Forbidden::Unspecified)
        );

        let opted_in = policy("wasi.dev", true);
        assert_eq!(opted_in.refuses_literal("169.254.169.254"), None);
        assert_eq!(opted_in.refuses_literal("127.0.0.1"), None);
    }

    #[tokio::test]
    async fn the_resolver_drops_forbidden_addresses_except_for_the_upstream() {
        use reqwest::dns::Resolve as _;
        let resolve = |policy: Policy| async move {
            GuardedResolver(Arc::new(policy))
                .resolve("localhost".parse().unwrap())
                .await
                .map(|addrs| addrs.count())
                .map_err(|e| e.to_string())
        };
        let err = resolve(policy("wasi.dev", false)).await.unwrap_err();
        assert!(err.contains("loopback"), "{err}");
        assert!(resolve(policy("wasi.dev", true)).await.unwrap() > 0);
        assert!(resolve(policy("localhost:8080", false)).await.unwrap() > 0);
    }

    #[tokio::test]
    async fn named_destinations_are_resolved() {
        let public = policy("wasi.dev", false);
        // `localhost` by name, and the configured host itself.
        assert!(check_destination(&public, "localhost:5000").await.is_err());
        assert!(check_destination(&public, "wasi.dev:443").await.is_ok());
        let err = check_destination(&public, "169.254.169.254:80")
            .await
            .unwrap_err();
        assert!(err.contains("allow_private_discovery"), "{err}");
    }
}

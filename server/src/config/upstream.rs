//! `[[upstream]]` entries: namespaces served from another registry through the
//! pull-through cache (see `crate::proxy`).
//!
//! ```toml
//! [[upstream]]
//! namespaces = ["wasi"]           # namespace names or `*` globs; the first entry that matches wins
//! registry = "wasi.dev"           # found through https://wasi.dev/.well-known/wasm-pkg/registry.json
//! discovery_timeout = "10s"       # bound on reading that registry.json (connect + total)
//! allow_private_discovery = false # let it (or its redirects) lead to loopback/link-local hosts
//! # or: oci = { registry = "ghcr.io", namespace_prefix = "webassembly/", protocol = "https",
//! #             auth = { username = "bot", password = "..." } }
//! # or: warg = { url = "https://warg.example.com" }
//! allow_push = false              # pushing into these namespaces is refused unless true
//! tag_ttl = "5m"                  # a cached tag is re-checked with the upstream after this long
//! timeout = "30s"                 # longest wait for one upstream answer
//! ```
//!
//! A `registry` entry's registry.json comes from a host the operator named but whose
//! answer it does not control, so the proxy reads at most 64 KiB of it within
//! `discovery_timeout`, and neither its redirects nor the OCI host it names may lead to
//! this machine or the link-local network (127.0.0.0/8, `::1`, `localhost`,
//! 169.254.0.0/16 with the cloud metadata service, fe80::/10, 0.0.0.0/8, `::`). A
//! `registry` that is itself on loopback may point to other loopback ports (a test or
//! development setup); anything more needs `allow_private_discovery = true`. See
//! `crate::proxy::discover`.

use std::time::Duration;

use serde::Deserialize;
use wkg_client::Secret;

use super::{ConfigError, duration};
use crate::pattern::RepoPattern;

/// One validated `[[upstream]]` entry.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// How logs, errors and metrics name the upstream: the `registry` host, or the
    /// OCI registry with its namespace prefix.
    pub name: String,
    /// Namespaces (the first component of a package path) served from here.
    pub namespaces: Vec<RepoPattern>,
    pub source: UpstreamSource,
    /// Whether clients may also push into these namespaces.
    pub allow_push: bool,
    /// How long a cached tag is served before the upstream is asked about it again.
    pub tag_ttl: Duration,
    /// Longest wait for one upstream answer (or one chunk of a download).
    pub timeout: Duration,
}

impl UpstreamConfig {
    /// Whether `namespace` is served from this upstream.
    pub fn serves(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|p| p.matches(namespace))
    }
}

/// Where an upstream's packages come from.
#[derive(Debug, Clone)]
pub enum UpstreamSource {
    /// A Wasm registry found through its `registry.json` (`registry = "wasi.dev"`).
    Registry {
        host: String,
        http: bool,
        discovery: DiscoveryConfig,
    },
    /// An OCI registry named directly.
    Oci {
        registry: String,
        namespace_prefix: String,
        http: bool,
        auth: Option<UpstreamAuth>,
    },
    /// A Warg registry: releases become OCI artifacts synthesized here.
    Warg { url: url::Url },
}

/// How a `registry` entry's registry.json is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Connect and total bound on the registry.json exchange (`discovery_timeout`).
    pub timeout: Duration,
    /// `allow_private_discovery`: redirects and the OCI host named by the document may
    /// be loopback, link-local or unspecified addresses.
    pub allow_private: bool,
}

/// Credentials the gateway presents to an upstream (after its `/v2/` challenge).
#[derive(Debug, Clone)]
pub struct UpstreamAuth {
    pub username: String,
    pub password: Secret,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    #[serde(default)]
    namespaces: Vec<String>,
    registry: Option<String>,
    protocol: Option<String>,
    oci: Option<RawOci>,
    warg: Option<RawWarg>,
    allow_push: Option<bool>,
    tag_ttl: Option<String>,
    timeout: Option<String>,
    discovery_timeout: Option<String>,
    allow_private_discovery: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOci {
    registry: String,
    #[serde(default)]
    namespace_prefix: String,
    protocol: Option<String>,
    auth: Option<RawAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWarg {
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    username: String,
    password: String,
}

/// Validates every entry; `index` numbers them in messages as `upstream[0]`, ...
pub(super) fn parse(raw: Vec<RawUpstream>) -> Result<Vec<UpstreamConfig>, ConfigError> {
    raw.into_iter()
        .enumerate()
        .map(|(index, entry)| parse_one(&format!("upstream[{index}]"), entry))
        .collect()
}

fn parse_one(key: &str, raw: RawUpstream) -> Result<UpstreamConfig, ConfigError> {
    if raw.namespaces.is_empty() {
        return Err(ConfigError::key(
            &format!("{key}.namespaces"),
            "list the namespaces this upstream serves, e.g. namespaces = [\"wasi\"]",
        ));
    }
    let namespaces = raw
        .namespaces
        .iter()
        .map(|text| {
            if text.contains('/') || text.contains(':') {
                return Err(ConfigError::key(
                    &format!("{key}.namespaces"),
                    format!("{text:?} is not a namespace; use names like \"wasi\" or globs like \"wasi-*\""),
                ));
            }
            RepoPattern::parse(text).map_err(|e| ConfigError::key(&format!("{key}.namespaces"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sources = [
        raw.registry.is_some(),
        raw.oci.is_some(),
        raw.warg.is_some(),
    ];
    if sources.iter().filter(|set| **set).count() > 1 {
        return Err(ConfigError::key(
            key,
            "set one of `registry`, `oci` and `warg`, not several",
        ));
    }
    let source = if let Some(warg) = raw.warg {
        let url = url::Url::parse(&warg.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                ConfigError::key(
                    &format!("{key}.warg.url"),
                    format!(
                        "{:?} is not an http(s) URL like \"https://warg.example.com\"",
                        warg.url
                    ),
                )
            })?;
        UpstreamSource::Warg { url }
    } else {
        oci_source(key, raw.registry, raw.protocol, raw.oci)?
    };
    let source = match source {
        UpstreamSource::Registry { host, http, .. } => {
            let timeout = duration(
                &format!("{key}.discovery_timeout"),
                raw.discovery_timeout,
                "10s",
            )?;
            if timeout.is_zero() {
                return Err(ConfigError::key(
                    &format!("{key}.discovery_timeout"),
                    "must be more than 0s",
                ));
            }
            let discovery = DiscoveryConfig {
                timeout,
                allow_private: raw.allow_private_discovery.unwrap_or(false),
            };
            UpstreamSource::Registry {
                host,
                http,
                discovery,
            }
        }
        other => {
            for (set, name) in [
                (raw.discovery_timeout.is_some(), "discovery_timeout"),
                (
                    raw.allow_private_discovery.is_some(),
                    "allow_private_discovery",
                ),
            ] {
                if set {
                    return Err(ConfigError::key(
                        &format!("{key}.{name}"),
                        "applies only to `registry = ...` entries (found through registry.json)",
                    ));
                }
            }
            other
        }
    };
    let name = match &source {
        UpstreamSource::Registry { host, .. } => host.clone(),
        UpstreamSource::Oci {
            registry,
            namespace_prefix,
            ..
        } => format!("{registry}/{namespace_prefix}")
            .trim_end_matches('/')
            .to_string(),
        UpstreamSource::Warg { url } => url.as_str().trim_end_matches('/').to_string(),
    };
    let timeout = duration(&format!("{key}.timeout"), raw.timeout, "30s")?;
    if timeout.is_zero() {
        return Err(ConfigError::key(
            &format!("{key}.timeout"),
            "must be more than 0s",
        ));
    }
    Ok(UpstreamConfig {
        name,
        namespaces,
        source,
        allow_push: raw.allow_push.unwrap_or(false),
        tag_ttl: duration(&format!("{key}.tag_ttl"), raw.tag_ttl, "5m")?,
        timeout,
    })
}

/// The source of a `registry = ...` or `oci = {...}` entry.
fn oci_source(
    key: &str,
    registry: Option<String>,
    raw_protocol: Option<String>,
    oci: Option<RawOci>,
) -> Result<UpstreamSource, ConfigError> {
    let source = match (registry, oci) {
        (Some(host), None) => {
            check_host(&format!("{key}.registry"), &host)?;
            UpstreamSource::Registry {
                http: protocol(&format!("{key}.protocol"), raw_protocol.as_deref())?,
                host,
                // Set by the caller, which holds the discovery keys.
                discovery: DiscoveryConfig {
                    timeout: Duration::ZERO,
                    allow_private: false,
                },
            }
        }
        (None, Some(oci)) => {
            if raw_protocol.is_some() {
                return Err(ConfigError::key(
                    &format!("{key}.protocol"),
                    "goes inside the oci table: oci = { registry = \"...\", protocol = \"http\" }",
                ));
            }
            check_host(&format!("{key}.oci.registry"), &oci.registry)?;
            let prefix = oci.namespace_prefix;
            if !prefix.is_empty() && !prefix.ends_with('/') {
                return Err(ConfigError::key(
                    &format!("{key}.oci.namespace_prefix"),
                    format!("{prefix:?} must be empty or end in '/', like \"webassembly/\""),
                ));
            }
            UpstreamSource::Oci {
                http: protocol(&format!("{key}.oci.protocol"), oci.protocol.as_deref())?,
                registry: oci.registry,
                namespace_prefix: prefix,
                auth: oci.auth.map(|a| UpstreamAuth {
                    username: a.username,
                    password: Secret::new(a.password),
                }),
            }
        }
        (None, None) => {
            return Err(ConfigError::key(
                key,
                "say where the packages come from: registry = \"wasi.dev\", \
                 oci = { registry = \"ghcr.io\", namespace_prefix = \"webassembly/\" }, or \
                 warg = { url = \"https://warg.example.com\" }",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ConfigError::key(
                key,
                "set one of `registry`, `oci` and `warg`, not several",
            ));
        }
    };
    Ok(source)
}

/// `host[:port]`, nothing more: no scheme, path or spaces.
fn check_host(key: &str, host: &str) -> Result<(), ConfigError> {
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if valid {
        Ok(())
    } else {
        Err(ConfigError::key(
            key,
            format!(
                "{host:?} must be a host with an optional port, like \"ghcr.io\" or \"127.0.0.1:5000\""
            ),
        ))
    }
}

/// `"http"` → true, `"https"` or absent → false.
fn protocol(key: &str, text: Option<&str>) -> Result<bool, ConfigError> {
    match text {
        None | Some("https") => Ok(false),
        Some("http") => Ok(true),
        Some(other) => Err(ConfigError::key(
            key,
            format!("{other:?} is not a protocol; use \"http\" or \"https\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::UpstreamSource;

    #[test]
    fn parses_both_forms() {
        let config = Config::from_toml_str(
            r#"
            [[upstream]]
            namespaces = ["wasi"]
            registry = "wasi.dev"

            [[upstream]]
            namespaces = ["ba", "acme-*"]
            oci = { registry = "127.0.0.1:5000", namespace_prefix = "mirror/", protocol = "http", auth = { username = "u", password = "p" } }
            allow_push = true
            tag_ttl = "1m"

            [[upstream]]
            namespaces = ["example"]
            warg = { url = "http://127.0.0.1:8090/" }
            "#,
        )
        .unwrap();
        let [wasi, acme, warg] = config.upstreams.as_slice() else {
            panic!("three entries expected");
        };
        assert_eq!(warg.name, "http://127.0.0.1:8090");
        assert!(matches!(&warg.source, UpstreamSource::Warg { url } if url.port() == Some(8090)));
        assert_eq!(wasi.name, "wasi.dev");
        assert!(matches!(
            &wasi.source,
            UpstreamSource::Registry { discovery, .. }
                if discovery.timeout.as_secs() == 10 && !discovery.allow_private
        ));
        assert!(wasi.serves("wasi") && !wasi.serves("wasix"));
        assert!(!wasi.allow_push);
        assert_eq!(acme.name, "127.0.0.1:5000/mirror");
        assert!(acme.serves("acme-tools") && acme.serves("ba"));
        assert!(
            matches!(&acme.source, UpstreamSource::Oci { http: true, auth: Some(a), .. } if a.username == "u")
        );
        assert!(!format!("{acme:?}").contains("\"p\""), "password redacted");
    }

    #[test]
    fn discovery_settings() {
        let config = Config::from_toml_str(
            "[[upstream]]\nnamespaces = [\"a\"]\nregistry = \"x.dev\"\n\
             discovery_timeout = \"3s\"\nallow_private_discovery = true\n",
        )
        .unwrap();
        let UpstreamSource::Registry { discovery, .. } = &config.upstreams[0].source else {
            panic!("a registry entry");
        };
        assert_eq!(discovery.timeout.as_secs(), 3);
        assert!(discovery.allow_private);
    }

    #[test]
    fn rejects_mistakes() {
        for (text, needle) in [
            ("[[upstream]]\nregistry = \"x.dev\"", "namespaces"),
            ("[[upstream]]\nnamespaces = [\"a\"]", "say where"),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\nregistry = \"x\"\noci = { registry = \"y\" }",
                "not several",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a/b\"]\nregistry = \"x\"",
                "not a namespace",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\nregistry = \"https://x\"",
                "host",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\nwarg = { url = \"ftp://w\" }",
                "http(s) URL",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\nregistry = \"x\"\nwarg = { url = \"https://w\" }",
                "not several",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\noci = { registry = \"x\", namespace_prefix = \"p\" }",
                "end in '/'",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\nregistry = \"x\"\nprotocol = \"ftp\"",
                "protocol",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\noci = { registry = \"y\" }\nallow_private_discovery = true",
                "only to `registry",
            ),
            (
                "[[upstream]]\nnamespaces = [\"a\"]\nregistry = \"x\"\ndiscovery_timeout = \"0s\"",
                "discovery_timeout",
            ),
        ] {
            let error = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}

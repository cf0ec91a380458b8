//! How index rows read on a page: sizes, times, metadata fields, version
//! labels, and where a version's content comes from.

use maud::{Markup, html};
use serde_json::Value;

use crate::db::IndexedVersion;
use crate::packages::versions::{description, latest};

/// The package page's URL.
pub fn package_href(namespace: &str, name: &str) -> String {
    format!("/packages/{namespace}/{name}")
}

/// A version page's URL (versions are semver: nothing to escape).
pub fn version_href(namespace: &str, name: &str, version: &str) -> String {
    format!("/packages/{namespace}/{name}/{version}")
}

/// The version to recommend: the highest stable non-yanked one, or when
/// there is none, the highest non-yanked pre-release.
pub fn recommended(versions: &[IndexedVersion]) -> Option<&IndexedVersion> {
    latest(versions, true).or_else(|| latest(versions, false))
}

/// The version a package is shown by: the recommended one, or when every
/// version is yanked, the highest.
pub fn headline(versions: &[IndexedVersion]) -> Option<&IndexedVersion> {
    recommended(versions).or_else(|| {
        versions
            .iter()
            .max_by_key(|v| semver::Version::parse(&v.version).ok())
    })
}

/// `1.2 KiB`: binary units, one decimal above a kibibyte.
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[expect(clippy::cast_precision_loss, reason = "one decimal is shown")]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A `<time>` element: machine-readable `datetime`, and the UTC minute as text.
pub fn time(millis: i64) -> Markup {
    let at = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    let iso = humantime::format_rfc3339_seconds(at).to_string();
    // 2026-11-28T19:01:24Z -> 2026-11-28 19:01 UTC
    let shown = format!("{} {} UTC", &iso[..10], &iso[11..16]);
    html! { time datetime=(iso) { (shown) } }
}

/// `sha256:0123456789ab`: enough of a digest to recognise it.
pub fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(12, |colon| colon + 13);
    digest.get(..end).unwrap_or(digest)
}

pub fn is_prerelease(version: &str) -> bool {
    semver::Version::parse(version).is_ok_and(|v| !v.pre.is_empty())
}

/// Where a version's content comes from: published to this registry, or
/// cached by the pull-through proxy from an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Local,
    Upstream { registry: String },
}

pub fn origin(version: &IndexedVersion) -> Origin {
    match &version.upstream {
        Some(registry) => Origin::Upstream {
            registry: registry.clone(),
        },
        None => Origin::Local,
    }
}

impl Origin {
    pub fn badge(&self) -> Markup {
        match self {
            Origin::Local => html! {
                span.badge.origin title="Published to this registry" { "local" }
            },
            Origin::Upstream { registry } => html! {
                span.badge.origin title={ "Cached from " (registry) } { "cached from " (registry) }
            },
        }
    }
}

/// What the package's metadata says, from the Wasm's embedded metadata or
/// else the manifest annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct About {
    pub description: Option<String>,
    pub licenses: Option<String>,
    pub authors: Option<String>,
    pub source: Option<String>,
    pub homepage: Option<String>,
    pub revision: Option<String>,
}

impl About {
    pub fn of(version: &IndexedVersion) -> Self {
        let parse = |text: Option<&str>| {
            text.and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or(Value::Null)
        };
        let metadata = parse(version.metadata.as_deref());
        let annotations = parse(version.annotations.as_deref());
        let field = |key: &str, annotation: &str| {
            metadata[key]
                .as_str()
                .or_else(|| annotations[format!("org.opencontainers.image.{annotation}")].as_str())
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_string)
        };
        Self {
            description: description(version),
            licenses: field("licenses", "licenses"),
            authors: field("authors", "authors"),
            source: field("source", "source"),
            homepage: field("homepage", "url"),
            revision: field("revision", "revision"),
        }
    }
}

/// A metadata URL fit for a link: http or https only (no `javascript:`).
pub fn web_link(url: &str) -> Option<&str> {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

/// The labels of a version in lists: latest, pre-release, yanked.
pub fn version_badges(version: &IndexedVersion, latest: Option<&str>) -> Markup {
    html! {
        @if latest == Some(version.version.as_str()) {
            span.badge.latest { "latest" }
        }
        @if is_prerelease(&version.version) {
            span.badge.pre { "pre-release" }
        }
        @if version.yanked {
            span.badge.yanked title="Yanked: still downloadable by exact version, skipped by version resolution" { "yanked" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn digests_shorten() {
        assert_eq!(
            short_digest("sha256:0123456789abcdef0123"),
            "sha256:0123456789ab"
        );
        assert_eq!(short_digest("short"), "short");
    }

    #[test]
    fn times_show_the_utc_minute() {
        let markup = time(1_700_000_000_000).into_string();
        assert!(
            markup.contains("datetime=\"2023-11-14T22:13:20Z\""),
            "{markup}"
        );
        assert!(markup.contains("2023-11-14 22:13 UTC"), "{markup}");
    }

    #[test]
    fn only_web_links_link() {
        assert!(web_link("https://example.com").is_some());
        assert!(web_link("javascript:alert(1)").is_none());
    }
}

//! What the package API and the web pages both show of indexed versions:
//! descriptions, newest-first order, the latest (stable) version. Here in
//! the service, below both, so neither reaches into the other.

use serde_json::Value;

use crate::db::IndexedVersion;

/// An index column holding JSON, or null when it is empty or unreadable.
pub fn parse_json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// The description from the embedded metadata, else from the annotations.
pub fn description(version: &IndexedVersion) -> Option<String> {
    let metadata = parse_json(version.metadata.as_deref());
    let annotations = parse_json(version.annotations.as_deref());
    metadata["description"]
        .as_str()
        .or_else(|| annotations["org.opencontainers.image.description"].as_str())
        .map(str::to_string)
}

/// Versions newest first by semver (unparsable ones, if any, last).
pub fn sort_newest_first(versions: &mut [IndexedVersion]) {
    versions.sort_by(|a, b| {
        let (va, vb) = (
            semver::Version::parse(&a.version).ok(),
            semver::Version::parse(&b.version).ok(),
        );
        vb.cmp(&va)
    });
}

/// The highest non-yanked version whose semver passes `wanted`.
pub fn highest(
    versions: &[IndexedVersion],
    wanted: impl Fn(&semver::Version) -> bool,
) -> Option<&IndexedVersion> {
    versions
        .iter()
        .filter(|v| !v.yanked)
        .filter_map(|v| {
            semver::Version::parse(&v.version)
                .ok()
                .map(|parsed| (parsed, v))
        })
        .filter(|(parsed, _)| wanted(parsed))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v)
}

/// The highest non-yanked version, optionally only stable ones.
pub fn latest(versions: &[IndexedVersion], stable_only: bool) -> Option<&IndexedVersion> {
    highest(versions, |version| !stable_only || version.pre.is_empty())
}

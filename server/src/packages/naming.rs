//! Package names: `ns:name` lives at OCI repository `<prefix>ns/name`.

use std::sync::LazyLock;

use regex::Regex;

/// A semver version as the package API accepts it (numeric parts of at most
/// 19 digits, so they fit in `u64`). openapi.yaml carries the same pattern.
pub const VERSION_PATTERN: &str = r"^(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})(?:-(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$";

/// The semver requirements the package API accepts: `*`, or comparators of
/// an optional operator and a one- to three-part version, comma-separated.
/// A subset of what the `semver` crate parses, so that the documented
/// grammar (openapi.yaml) and the server agree exactly.
pub const REQUIREMENT_PATTERN: &str = r"^(?:\*|(?:=|>=|<=|>|<|~|\^)?(?:(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})(?:-(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?|(?:0|[1-9][0-9]{0,18})(?:\.(?:0|[1-9][0-9]{0,18}))?)(?:, ?(?:=|>=|<=|>|<|~|\^)?(?:(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})(?:-(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?|(?:0|[1-9][0-9]{0,18})(?:\.(?:0|[1-9][0-9]{0,18}))?))*)?$";

static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(VERSION_PATTERN).expect("valid pattern"));
static REQUIREMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(REQUIREMENT_PATTERN).expect("valid pattern"));

pub fn is_version(text: &str) -> bool {
    VERSION.is_match(text)
}

pub fn is_requirement(text: &str) -> bool {
    text.len() <= 512 && REQUIREMENT.is_match(text)
}

/// `(ns, name)` of the package stored in `repository`, when the repository
/// is the prefix followed by exactly two WIT-style (kebab-case) labels.
pub fn package_name(prefix: &str, repository: &str) -> Option<(String, String)> {
    let rest = repository.strip_prefix(prefix)?;
    let (namespace, name) = rest.split_once('/')?;
    (is_label(namespace) && is_label(name)).then(|| (namespace.to_string(), name.to_string()))
}

/// The OCI repository that holds `ns:name`.
pub fn repository(prefix: &str, namespace: &str, name: &str) -> String {
    format!("{prefix}{namespace}/{name}")
}

/// Longest `ns` or `name`: two of them and the `/` between fit the 255
/// characters of a repository name (a `namespace_prefix` takes its share;
/// the repository check refuses what no longer fits). openapi.yaml says
/// the same.
pub const MAX_LABEL_LEN: usize = 127;

/// A WIT package label: lowercase kebab-case words, each starting with a
/// letter, at most [`MAX_LABEL_LEN`] characters.
pub fn is_label(label: &str) -> bool {
    label.len() <= MAX_LABEL_LEN && is_kebab_case(label)
}

/// Lowercase kebab-case words, each starting with a letter, of any length
/// (list cursors are positions in name order, not names to be stored).
pub fn is_kebab_case(label: &str) -> bool {
    !label.is_empty()
        && label.split('-').all(|word| {
            word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_kebab_case_and_bounded() {
        for ok in ["wasi", "http-client", "a1-b2", &"a".repeat(MAX_LABEL_LEN)] {
            assert!(is_label(ok), "{ok}");
        }
        for bad in [
            "",
            "Wasi",
            "1a",
            "a--b",
            "-a",
            "a_b",
            &"a".repeat(MAX_LABEL_LEN + 1),
        ] {
            assert!(!is_label(bad), "{bad}");
        }
    }

    #[test]
    fn maps_repositories_to_packages() {
        assert_eq!(
            package_name("", "wasi/http"),
            Some(("wasi".into(), "http".into()))
        );
        assert_eq!(
            package_name("webassembly/", "webassembly/ba/sample-wasi-http-rust"),
            Some(("ba".into(), "sample-wasi-http-rust".into()))
        );
        assert_eq!(package_name("", "a/b/c"), None);
        assert_eq!(package_name("", "single"), None);
        assert_eq!(package_name("p/", "wasi/http"), None);
        assert_eq!(package_name("", "my_ns/x"), None);
        assert_eq!(package_name("", "ns/1x"), None);
        assert_eq!(repository("p/", "wasi", "http"), "p/wasi/http");
    }

    #[test]
    fn grammars_match_semver_and_the_spec() {
        let spec = include_str!("../../../openapi.yaml");
        assert!(
            spec.contains(VERSION_PATTERN) && spec.contains(REQUIREMENT_PATTERN),
            "openapi.yaml patterns"
        );
        for ok in [
            "",
            "*",
            "1",
            "^0.2",
            "~1.2.3",
            ">=1.2.3-alpha.1, <2",
            "=0.0.1-x-y.0",
            "<1,>0",
        ] {
            assert!(is_requirement(ok), "{ok}");
            if !ok.is_empty() {
                semver::VersionReq::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            }
        }
        for bad in [
            "latest", "1.2.3.4", "^01", "1.2.3-01", " ^1", "1,", "%", "1.*",
        ] {
            assert!(!is_requirement(bad), "{bad}");
        }
        for ok in [
            "0.1.0",
            "1.0.0-rc.1",
            "1.2.3+build.5",
            "9999999999999999999.0.0",
        ] {
            assert!(is_version(ok), "{ok}");
            semver::Version::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["1.2", "01.2.3", "latest", "99999999999999999999.0.0"] {
            assert!(!is_version(bad), "{bad}");
        }
    }
}

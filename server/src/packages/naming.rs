//! Package names: `ns:name` lives at OCI repository `<prefix>ns/name`.

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

/// A WIT package label: lowercase kebab-case words, each starting with a letter.
pub fn is_label(label: &str) -> bool {
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
}

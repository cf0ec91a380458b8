//! Names: WIT package labels, package references (`ns:name[@version]`) and registry names.
//!
//! These are validated on parse so that everything past the parser (config keys, OCI
//! repository names, cache paths) can rely on them. The grammar is the WIT package-name
//! one as upstream wkg applies it: lowercase kebab-case words, each starting with a letter.

use std::{fmt, str::FromStr};

use crate::error::{Error, Result};

/// A lowercase kebab-case label: the `wasi` or `http` in `wasi:http`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(String);

impl Label {
    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Label {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidLabel {
            input: input.to_owned(),
            reason,
        };
        if input.is_empty() {
            return Err(invalid("it is empty"));
        }
        for word in input.split('-') {
            let mut chars = word.chars();
            match chars.next() {
                None => {
                    return Err(invalid(
                        "it has an empty word (leading, trailing or double `-`)",
                    ));
                }
                Some(c) if !c.is_ascii_lowercase() => {
                    return Err(invalid(
                        "each word must start with a lowercase ASCII letter",
                    ));
                }
                Some(_) => {}
            }
            if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
                return Err(invalid(
                    "words may contain only lowercase ASCII letters and digits",
                ));
            }
        }
        Ok(Label(input.to_owned()))
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A package without a version: `namespace:name`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageRef {
    namespace: Label,
    name: Label,
}

impl PackageRef {
    /// Builds a reference from two already-valid labels.
    pub fn new(namespace: Label, name: Label) -> Self {
        PackageRef { namespace, name }
    }

    /// The namespace, e.g. `wasi`.
    pub fn namespace(&self) -> &Label {
        &self.namespace
    }

    /// The package name within its namespace, e.g. `http`.
    pub fn name(&self) -> &Label {
        &self.name
    }
}

impl FromStr for PackageRef {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidPackageRef {
            input: input.to_owned(),
            reason,
        };
        let Some((namespace, name)) = input.split_once(':') else {
            return Err(invalid("there is no `:` between namespace and name".into()));
        };
        if name.contains(':') {
            return Err(invalid(
                "nested namespaces (a second `:`) are not supported".into(),
            ));
        }
        if name.contains('@') {
            return Err(invalid("a version is not allowed here".into()));
        }
        let label = |part: &str, what: &str| {
            part.parse::<Label>().map_err(|err| match err {
                Error::InvalidLabel { reason, .. } => {
                    invalid(format!("the {what} `{part}`: {reason}"))
                }
                other => other,
            })
        };
        Ok(PackageRef {
            namespace: label(namespace, "namespace")?,
            name: label(name, "name")?,
        })
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

impl fmt::Debug for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

/// What a user types to name a package: `ns:name` or `ns:name@version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSpec {
    pub package: PackageRef,
    /// An exact semver version; `None` means "the latest".
    pub version: Option<semver::Version>,
}

impl FromStr for PackageSpec {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let (package, version) = match input.split_once('@') {
            None => (input, None),
            Some((package, version)) => (package, Some(version)),
        };
        let version = version
            .map(|v| {
                semver::Version::parse(v).map_err(|err| Error::InvalidPackageRef {
                    input: input.to_owned(),
                    reason: format!("the version `{v}` is not semver ({err})"),
                })
            })
            .transpose()?;
        let package = package.parse::<PackageRef>().map_err(|err| match err {
            Error::InvalidPackageRef { reason, .. } => Error::InvalidPackageRef {
                input: input.to_owned(),
                reason,
            },
            other => other,
        })?;
        Ok(PackageSpec { package, version })
    }
}

impl fmt::Display for PackageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => write!(f, "{}@{version}", self.package),
            None => write!(f, "{}", self.package),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for ok in ["wasi", "my-pkg", "a1-b2c3", "x"] {
            assert_eq!(ok.parse::<Label>().unwrap().as_str(), ok);
        }
        for bad in [
            "", "Wasi", "1abc", "a--b", "-a", "a-", "a_b", "a.b", "a-1b", "é",
        ] {
            let err = bad.parse::<Label>().unwrap_err();
            assert!(matches!(err, Error::InvalidLabel { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn package_refs() {
        let p: PackageRef = "wasi:http".parse().unwrap();
        assert_eq!(
            (p.namespace().as_str(), p.name().as_str()),
            ("wasi", "http")
        );
        assert_eq!(p.to_string(), "wasi:http");
        for bad in [
            "wasi",
            "wasi:",
            ":http",
            "wasi:http:types",
            "Wasi:http",
            "wasi:http@1.0.0",
        ] {
            let err = bad.parse::<PackageRef>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidPackageRef { .. }),
                "{bad}: {err}"
            );
        }
        let msg = "wasi:HTTP".parse::<PackageRef>().unwrap_err().to_string();
        assert!(msg.contains("the name `HTTP`"), "{msg}");
        assert!(msg.contains("such as `wasi:http@0.2.0`"), "{msg}");
    }

    #[test]
    fn package_specs() {
        let s: PackageSpec = "wasi:http@0.2.0".parse().unwrap();
        assert_eq!(s.package.to_string(), "wasi:http");
        assert_eq!(s.version, Some(semver::Version::new(0, 2, 0)));
        assert_eq!(s.to_string(), "wasi:http@0.2.0");

        let s: PackageSpec = "wasi:http".parse().unwrap();
        assert_eq!(s.version, None);

        let pre: PackageSpec = "a:b@1.0.0-rc.1+build".parse().unwrap();
        assert_eq!(pre.version.unwrap().to_string(), "1.0.0-rc.1+build");

        for bad in [
            "wasi:http@",
            "wasi:http@1.0",
            "wasi:http@x",
            "wasi@1.0.0",
            "a:b@1.0.0@2",
        ] {
            let err = bad.parse::<PackageSpec>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidPackageRef { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }
}

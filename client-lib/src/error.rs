//! The one error type of the crate.
//!
//! Every message says what went wrong, in terms any caller shares: the CLI and the
//! gateway's proxy both use this crate, so a message names no command, flag or config
//! key of the CLI (a docker user reading a proxied error must not be told to run `wkg`).
//! The CLI adds its advice by walking the cause chain (`wkg-cli`'s `hints_for_error`),
//! matching on these variants. Causes (I/O, TOML syntax) are kept as `source` rather than
//! pasted into the message, so a binary that prints the cause chain shows each line once.

use std::path::{Path, PathBuf};

use crate::package::PackageRef;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `wkg-client`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file exists (or was named explicitly) but could not be read.
    #[error("could not read config file {}; check that it exists and is readable", .path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The config file could not be written (directory, temp file, or rename).
    #[error("could not write config file {}; check that its directory is writable", .path.display())]
    ConfigWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The config file is not valid TOML.
    #[error("config{} is not valid TOML", at(.path))]
    ConfigSyntax {
        path: Option<PathBuf>,
        #[source]
        source: Box<toml::de::Error>,
    },

    /// The config file is valid TOML but a key or value is not what wkg accepts.
    #[error("invalid config{}: `{key}`: {message}", at(.path))]
    InvalidConfig {
        path: Option<PathBuf>,
        /// Dotted TOML path of the offending key, e.g. `registry."example.com".oci.protocol`.
        key: String,
        message: String,
    },

    /// Neither `$XDG_CONFIG_HOME` nor `$HOME` (or the platform equivalent) is set.
    #[error("cannot locate the user config directory ($XDG_CONFIG_HOME and $HOME are unset)")]
    NoConfigDir,

    /// A namespace or package name is not a lowercase kebab-case label.
    #[error(
        "invalid name `{input}`: {reason}; names are lowercase kebab-case words, \
         each starting with a letter, such as `http` or `my-pkg2`"
    )]
    InvalidLabel { input: String, reason: &'static str },

    /// A package reference is not `ns:name` or `ns:name@version`.
    #[error(
        "invalid package `{input}`: {reason}; expected `<namespace>:<name>` or \
         `<namespace>:<name>@<version>`, such as `wasi:http@0.2.0`"
    )]
    InvalidPackageRef { input: String, reason: String },

    /// A registry name is not a host with an optional port.
    #[error(
        "invalid registry `{input}`: {reason}; give a host with an optional port, \
         such as `example.com` or `localhost:5000`"
    )]
    InvalidRegistryName { input: String, reason: String },

    /// Nothing in the config (nor a built-in fallback) says where a package lives.
    #[error("no registry is configured for package `{package}`")]
    NoRegistry { package: PackageRef },

    /// A registry answered, but not in a way a registry should (bad status, unreadable body).
    #[error("registry {registry}: {message}")]
    Registry {
        registry: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The registry could not be reached at all (DNS, connection, TLS), even after retries.
    #[error("could not reach registry {registry}")]
    Unreachable {
        registry: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The registry refused our credentials (or asked for some and we had none).
    #[error("registry {registry} denied access")]
    Unauthorized {
        registry: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The registry has no package by this name.
    #[error("package `{package}` was not found in registry {registry}")]
    PackageNotFound {
        package: PackageRef,
        registry: String,
    },

    /// The package exists but not at the requested version.
    #[error("package `{package}` has no version {version} in registry {registry}{}", list_available(.available))]
    VersionNotFound {
        package: PackageRef,
        version: semver::Version,
        registry: String,
        /// Boxed to keep `Error` small; it is only read to build the message.
        available: Box<Vec<semver::Version>>,
    },

    /// The version already exists and versions are immutable.
    #[error(
        "`{package}@{version}` is already published in registry {registry}; versions are immutable, so publish a new version"
    )]
    VersionExists {
        package: PackageRef,
        version: semver::Version,
        registry: String,
    },

    /// The downloaded bytes do not hash to the digest the manifest promised.
    #[error(
        "content of {what} does not match its digest (expected {expected}, got {actual}); the registry or a proxy corrupted it, so it was not saved"
    )]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    /// An OCI manifest that is not a Wasm package (or not valid).
    #[error("{reference} is not a Wasm package: {reason}")]
    NotAWasmPackage { reference: String, reason: String },

    /// Reading or writing a local file (download target, cache, input) failed.
    #[error("{action} {}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file could not be decoded as a Wasm component or WIT package.
    #[error("{} is not a valid Wasm component or WIT package", .path.display())]
    InvalidWasm {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Publishing needs a package name and version that the file does not carry.
    #[error("{} does not say which package it is ({missing})", .path.display())]
    UnknownPackageIdentity { path: PathBuf, missing: String },

    /// An OCI reference given on the command line could not be parsed.
    #[error(
        "invalid OCI reference `{input}`: {reason}; expected `<registry>/<repository>[:<tag>|@<digest>]`"
    )]
    InvalidReference { input: String, reason: String },

    /// Neither `$XDG_CACHE_HOME` nor `$HOME` is set, and no `--cache` was given.
    #[error("cannot locate the user cache directory ($XDG_CACHE_HOME and $HOME are unset)")]
    NoCacheDir,

    /// The new WIT package breaks what a neighbouring version of its series offers.
    #[error(
        "`{package}` is not semver-compatible with version {other}: {reason}; publish it as a \
         new major version (minor for 0.x)"
    )]
    SemverIncompatible {
        /// `ns:name@version` being published.
        package: String,
        other: String,
        reason: String,
    },

    /// A command that works on a whole registry, but none was named or configured.
    #[error("{what} needs a registry, and none was named or configured")]
    NoDefaultRegistry { what: &'static str },

    /// The client is offline and the answer is not in the cache.
    #[error("offline: {what}, and the registry may not be asked")]
    Offline { what: String },

    /// `wkg.lock` is not a lock file this version understands.
    #[error("invalid lock file{}: {message}", at(.path))]
    InvalidLock {
        path: Option<PathBuf>,
        message: String,
    },

    /// What the lock file pinned is no longer what the registry serves.
    #[error(
        "`{package}` in registry {registry} is not what wkg.lock recorded \
         (locked {locked}, registry has {actual})"
    )]
    LockMismatch {
        /// `ns:name@version`.
        package: String,
        registry: String,
        locked: String,
        actual: String,
    },

    /// No published version satisfies a dependency's requirement.
    #[error("no version of `{package}` in registry {registry} matches `{requirement}`{}", list_available(.available))]
    NoMatchingVersion {
        package: PackageRef,
        requirement: String,
        registry: String,
        available: Box<Vec<semver::Version>>,
    },

    /// A WIT directory could not be read or does not resolve.
    #[error("{}: {message}", .path.display())]
    Wit {
        path: PathBuf,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The registry's protocol is one this build cannot talk (Warg, local before it exists).
    #[error("registry {registry} uses the {backend} backend, which this client does not support")]
    UnsupportedBackend {
        registry: String,
        backend: &'static str,
    },
}

impl Error {
    /// Attaches the config file path to a config error that was raised while parsing text.
    ///
    /// Parsing works on strings (so it is testable without files); loading calls this so the
    /// message names the file the user has to fix.
    pub fn with_config_path(self, file: &Path) -> Self {
        match self {
            Error::ConfigSyntax { path: None, source } => Error::ConfigSyntax {
                path: Some(file.to_path_buf()),
                source,
            },
            Error::InvalidConfig {
                path: None,
                key,
                message,
            } => Error::InvalidConfig {
                path: Some(file.to_path_buf()),
                key,
                message,
            },
            other => other,
        }
    }

    /// Builds an [`Error::InvalidConfig`] without a path (see [`Error::with_config_path`]).
    pub(crate) fn invalid_config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidConfig {
            path: None,
            key: key.into(),
            message: message.into(),
        }
    }

    /// Attaches the lock file path to an [`Error::InvalidLock`] raised while parsing text.
    pub fn with_lock_path(self, file: &Path) -> Self {
        match self {
            Error::InvalidLock {
                path: None,
                message,
            } => Error::InvalidLock {
                path: Some(file.to_path_buf()),
                message,
            },
            other => other,
        }
    }

    /// The config file this error is about, if any.
    pub fn config_path(&self) -> Option<&Path> {
        match self {
            Error::ConfigRead { path, .. } | Error::ConfigWrite { path, .. } => Some(path),
            Error::ConfigSyntax { path, .. } | Error::InvalidConfig { path, .. } => path.as_deref(),
            _ => None,
        }
    }
}

/// Renders "; available: ..." for a version-not-found message, or a hint when there are none.
fn list_available(versions: &[semver::Version]) -> String {
    if versions.is_empty() {
        return "; it has no versions".to_owned();
    }
    let shown: Vec<String> = versions
        .iter()
        .rev()
        .take(10)
        .map(|v| v.to_string())
        .collect();
    format!("; available (newest first): {}", shown.join(", "))
}

/// Renders " file <path>" when a path is known, for the messages above.
fn at(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!(" file {}", path.display()),
        None => String::new(),
    }
}

/// An error and its causes on one line, `outer: cause: cause`, skipping a cause whose text
/// the line already holds (`reqwest` and `oci-client` often repeat their source's message;
/// and they hide the useful part, such as "connection refused", in those sources).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_attached_once() {
        let err = Error::invalid_config("registry", "must be a table")
            .with_config_path(Path::new("/tmp/a.toml"))
            .with_config_path(Path::new("/tmp/b.toml"));
        assert_eq!(
            err.to_string(),
            "invalid config file /tmp/a.toml: `registry`: must be a table"
        );
        assert_eq!(err.config_path(), Some(Path::new("/tmp/a.toml")));
    }

    #[test]
    fn messages_name_no_cli_command() {
        let package: PackageRef = "acme:thing".parse().unwrap();
        let errors = [
            Error::NoRegistry {
                package: package.clone(),
            },
            Error::NoConfigDir,
            Error::NoCacheDir,
            Error::Unreachable {
                registry: "r.dev".into(),
                source: "refused".into(),
            },
            Error::Unauthorized {
                registry: "r.dev".into(),
                source: "401".into(),
            },
            Error::PackageNotFound {
                package,
                registry: "r.dev".into(),
            },
            Error::NoDefaultRegistry { what: "search" },
            Error::Offline {
                what: "`acme:thing` is not in the cache".into(),
            },
            Error::InvalidLock {
                path: None,
                message: "bad".into(),
            },
        ];
        for error in errors {
            let msg = error.to_string();
            for cli in ["wkg", "--", "[registry.", "[namespace_registries]"] {
                assert!(!msg.contains(cli), "{cli:?} in {msg}");
            }
        }
    }
}

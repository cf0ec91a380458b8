//! The one error type of the crate.
//!
//! Every message says what went wrong and, where there is one, the next step for the user:
//! the library never prints, so its errors are the only way it can talk to a person. Causes
//! (I/O, TOML syntax) are kept as `source` rather than pasted into the message, so a binary
//! that prints the cause chain shows each line once.

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
    #[error("config{} is not valid TOML; fix the syntax error (`wkg config --edit` opens the file)", at(.path))]
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
    #[error(
        "cannot locate the user config directory ($XDG_CONFIG_HOME and $HOME are unset); \
         set one of them, or name the file with `--config <PATH>` / $WKG_CONFIG_FILE"
    )]
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
    #[error(
        "no registry is configured for package `{package}`; set a default registry with \
         `wkg config --default-registry <host>`, or map the `{namespace}` namespace under \
         [namespace_registries] in the config file (`wkg config --edit`)",
        namespace = .package.namespace()
    )]
    NoRegistry { package: PackageRef },
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

    /// The config file this error is about, if any.
    pub fn config_path(&self) -> Option<&Path> {
        match self {
            Error::ConfigRead { path, .. } | Error::ConfigWrite { path, .. } => Some(path),
            Error::ConfigSyntax { path, .. } | Error::InvalidConfig { path, .. } => path.as_deref(),
            _ => None,
        }
    }
}

/// Renders " file <path>" when a path is known, for the messages above.
fn at(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!(" file {}", path.display()),
        None => String::new(),
    }
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
    fn no_registry_names_the_command() {
        let err = Error::NoRegistry {
            package: "acme:thing".parse().unwrap(),
        };
        let msg = err.to_string();
        assert!(msg.contains("`acme:thing`"), "{msg}");
        assert!(
            msg.contains("wkg config --default-registry <host>"),
            "{msg}"
        );
        assert!(msg.contains("`acme` namespace"), "{msg}");
    }
}

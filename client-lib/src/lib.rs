//! Client library for WebAssembly package registries.
//!
//! This slice holds what every command needs first: the `config.toml` shared with upstream
//! `wkg` ([`Config`]), the names it is made of ([`Label`], [`PackageRef`], [`PackageSpec`],
//! [`RegistryName`]), and registry resolution ([`Config::resolve_registry`]).
//!
//! The library never prints: it returns [`Error`]s whose messages say what to do next, and
//! leaves presentation to the binary.

pub mod config;
pub mod error;
pub mod package;
pub mod registry;
pub mod resolve;
mod secret;

pub use config::{
    Backend, BasicCredentials, CertificateData, CertificateEncoding, Config, Extra, LocalConfig,
    OciAuth, OciConfig, OciProtocol, RegistryConfig, RegistryMapping, RootCertificate, WargConfig,
    default_config_path,
};
pub use error::{Error, Result};
pub use package::{Label, PackageRef, PackageSpec};
pub use registry::RegistryName;
pub use resolve::{BUILTIN_NAMESPACE_REGISTRIES, ResolutionSource, ResolvedRegistry};
pub use secret::Secret;

//! Client library for WebAssembly package registries.
//!
//! The pieces, in the order a fetch uses them: the `config.toml` shared with upstream
//! `wkg` ([`Config`]) and its names ([`PackageRef`], [`RegistryName`]); registry
//! resolution ([`Config::resolve_registry`]); discovery of registry.json ([`discovery`]);
//! credentials and the OCI backend ([`oci`]); the content cache ([`cache`]); and the
//! [`Client`] that ties them together. Progress goes to a [`Reporter`].
//!
//! The library never prints: it returns [`Error`]s whose messages say what to do next, and
//! leaves presentation to the binary.

pub mod artifact;
pub mod build;
pub mod cache;
pub mod client;
pub mod config;
pub mod deps;
pub mod discovery;
pub mod error;
pub mod local;
pub mod lock;
pub mod login;
pub mod manifest;
pub mod oci;
pub mod package;
pub mod progress;
pub mod registry;
pub mod resolve;
mod secret;
pub mod semver_check;
pub mod warg;
pub mod wasm;

pub use cache::{Cache, Digest, default_cache_dir};
pub use client::{
    Client, Fetched, PackageInfo, PublishRequest, Published, SearchHit, VersionDetail,
};
pub use config::{
    Backend, BasicCredentials, CertificateData, CertificateEncoding, Config, Extra, LocalConfig,
    OciAuth, OciConfig, OciProtocol, RegistryConfig, RegistryMapping, RootCertificate, WargConfig,
    default_config_path,
};
pub use error::{Error, Result};
pub use package::{Label, PackageRef, PackageSpec};
pub use progress::{NoReporter, Reporter, SharedReporter, Transfer};
pub use registry::RegistryName;
pub use resolve::{BUILTIN_NAMESPACE_REGISTRIES, ResolutionSource, ResolvedRegistry};
pub use secret::Secret;

/// Installs ring as the process-wide rustls crypto provider, once.
///
/// The dependency graph holds more than one provider, so rustls cannot pick one itself and
/// every HTTPS client would panic without this. Calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

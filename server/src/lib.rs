//! wkg-gateway: a self-hosted registry for WebAssembly components.
//!
//! The crate is a library first: the binary, the tests and the benchmarks all
//! build the same [`App`] (through [`app::open`]) and serve the same [`router`].

pub mod admin_cli;
pub mod api;
pub mod app;
pub mod audit_limit;
pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod client_rate;
pub mod config;
pub mod db;
pub mod digest;
pub mod error;
pub mod extract;
pub mod fs_mode;
#[cfg(test)]
mod layering;
pub mod maintenance;
pub mod metrics;
pub mod middleware;
pub mod names;
pub mod packages;
pub mod pattern;
pub mod proxy;
pub mod registry;
pub mod router;
pub mod server;
pub mod state;
pub mod storage;
pub mod tls;
pub mod web;

pub use config::Config;
pub use router::router;
pub use server::{Server, ShutdownSignal};
pub use state::{App, AppState};

/// Installs ring as the process-wide rustls crypto provider (idempotent).
/// Every HTTPS client of the gateway (S3, upstream registries) needs one;
/// the dependency graph holds more than one provider, so it is chosen here.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

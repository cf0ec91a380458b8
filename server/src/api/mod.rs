//! HTTP handlers, one module per API area.

pub mod admin;
pub mod health;
pub mod metrics;
pub mod oci;
pub mod packages;
pub mod sessions;
pub mod token;
pub mod tokens;
pub mod well_known;

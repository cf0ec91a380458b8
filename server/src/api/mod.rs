//! HTTP handlers, one module per API area.

pub mod health;
pub mod metrics;
pub mod oci;
pub mod packages;
pub mod well_known;

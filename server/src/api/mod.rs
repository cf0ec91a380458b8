//! HTTP handlers, one module per API area.

pub mod oci;

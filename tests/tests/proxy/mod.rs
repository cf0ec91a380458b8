//! Namespaces proxied from an upstream: another gateway, an OCI registry, a Warg server.

mod gateway;
mod oci;
mod warg;

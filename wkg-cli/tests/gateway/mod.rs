//! Commands against a real gateway: publish, get, info, search, fetch/update, oci, discovery.

mod catalog;
mod deps;
mod discovery;
mod loopback;
mod oci;
mod proxy;
mod publish_get;
mod semver;

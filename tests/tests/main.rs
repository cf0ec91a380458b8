//! The gateway's integration tests, one binary: each area a module, each
//! test a real gateway over HTTP through the shared harness
//! (`integration_tests`, tests/src). One binary links once, where 41 used
//! to link sqlx, object_store, warg-server and the Wasm tools each.

mod auth;
mod backends;
mod external;
mod gc;
mod oci;
mod operations;
mod packages;
mod proxy;
mod web;

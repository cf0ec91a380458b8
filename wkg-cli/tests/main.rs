//! `wkg` end to end, one binary: each area a module, each test the real
//! `wkg` binary in a private environment (`common`) against real registries.

mod auth;
mod backends;
pub mod common;
mod external;
mod gateway;
mod local;

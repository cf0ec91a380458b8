//! The Wasm package layer: validation on push, the package API, reindexing, discovery.

mod api;
mod push;
mod reindex;
mod well_known;

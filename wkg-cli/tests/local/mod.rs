//! Commands that need no registry or only a local one: config, --offline, the local backend, build.

mod build;
mod config;
mod directory_backend;
mod offline;

//! Background housekeeping that runs inside the server.

pub mod gc;
pub mod uploads;

use tokio::task::JoinHandle;

use crate::config::GcConfig;
use crate::registry::Registry;

/// Starts every periodic task; the server aborts them at shutdown.
pub fn spawn(registry: &Registry, gc: &GcConfig) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(uploads::purge_loop(registry.clone())),
        tokio::spawn(gc::gc_loop(
            registry.db.clone(),
            registry.storage.clone(),
            gc.clone(),
        )),
    ]
}

//! Background housekeeping that runs inside the server.

pub mod gc;
pub mod uploads;

use tokio::task::JoinHandle;

use crate::app::AppState;

/// Starts every periodic task; the server aborts them at shutdown.
pub fn spawn(app: AppState) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(uploads::purge_loop(app.clone())),
        tokio::spawn(gc::gc_loop(app)),
    ]
}

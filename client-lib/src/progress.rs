//! Progress and notices from long operations, without printing.
//!
//! The library never writes to a terminal: a CLI wants progress bars, a server wants log
//! lines, a test wants nothing. So every transfer (a download, an upload) is announced to a
//! [`Reporter`] the caller passes in, and non-fatal surprises (a registry.json that could not
//! be read, a retry) are handed to [`Reporter::warn`] instead of being lost or printed.

use std::sync::Arc;

/// Receives progress for transfers and warnings. Implementations must be cheap to call:
/// `advance` runs once per received or sent chunk.
pub trait Reporter: Send + Sync {
    /// A transfer begins. `label` names it for a person (e.g. `wasi:http@0.2.0`);
    /// `total` is its size in bytes when known.
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Transfer>;

    /// Something went wrong that the operation recovered from; worth telling the user.
    fn warn(&self, message: &str) {
        let _ = message;
    }

    /// Like [`Reporter::warn`], for a recovered failure with its error: `outcome` says
    /// what was done instead. A CLI can add advice for the error; by default the error's
    /// cause chain and the outcome become one warning.
    fn warn_error(&self, outcome: &str, error: &(dyn std::error::Error + 'static)) {
        self.warn(&format!("{}; {outcome}", crate::error::chain(error)));
    }

    /// Something the user should know about a choice made for them (not a problem), such
    /// as plain http to a registry on this machine. Ignored unless implemented.
    fn notice(&self, message: &str) {
        let _ = message;
    }
}

/// One transfer in progress. Dropping it without [`Transfer::finish`] means it was abandoned
/// (an error or a retry); implementations should then clear whatever they display.
pub trait Transfer: Send {
    /// `bytes` more were transferred.
    fn advance(&mut self, bytes: u64);
    /// The transfer completed.
    fn finish(&mut self);
}

/// A reporter that ignores everything: for callers that want no progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReporter;

impl Reporter for NoReporter {
    fn start(&self, _label: &str, _total: Option<u64>) -> Box<dyn Transfer> {
        Box::new(NoTransfer)
    }
}

struct NoTransfer;

impl Transfer for NoTransfer {
    fn advance(&mut self, _bytes: u64) {}
    fn finish(&mut self) {}
}

/// The reporter type the client stores: shared across tasks.
pub type SharedReporter = Arc<dyn Reporter>;

#[cfg(test)]
pub(crate) mod testing {
    //! A reporter that records what it was told, for assertions.

    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    pub struct Recording {
        pub events: Arc<Mutex<Vec<String>>>,
    }

    impl Reporter for Recording {
        fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Transfer> {
            self.events
                .lock()
                .unwrap()
                .push(format!("start {label} {total:?}"));
            Box::new(RecordingTransfer {
                events: self.events.clone(),
                bytes: 0,
            })
        }

        fn warn(&self, message: &str) {
            self.events.lock().unwrap().push(format!("warn {message}"));
        }
    }

    struct RecordingTransfer {
        events: Arc<Mutex<Vec<String>>>,
        bytes: u64,
    }

    impl Transfer for RecordingTransfer {
        fn advance(&mut self, bytes: u64) {
            self.bytes += bytes;
        }
        fn finish(&mut self) {
            self.events
                .lock()
                .unwrap()
                .push(format!("finish {}", self.bytes));
        }
    }
}

//! Progress bars for transfers, drawn with `indicatif` on stderr.
//!
//! Bars appear only when stderr is a terminal: in CI logs and pipes they would be noise
//! (or carriage-return garbage). A transfer that finishes shows nothing afterwards; the
//! command prints its own one-line summary. Warnings from the library go to stderr above
//! any bars, prefixed `warning:`, and notices prefixed `note:`, unless `-q`.

use std::io::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wkg_client::{Reporter, Transfer};

/// The CLI's [`Reporter`].
pub struct BarReporter {
    /// `None` when bars are hidden.
    bars: Option<MultiProgress>,
    warnings: bool,
}

impl BarReporter {
    pub fn new(show_bars: bool, show_warnings: bool) -> Self {
        BarReporter {
            bars: show_bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            warnings: show_warnings,
        }
    }
}

impl Reporter for BarReporter {
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Transfer> {
        let Some(bars) = &self.bars else {
            return Box::new(Hidden);
        };
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let bar = bars.add(bar.with_message(label.to_owned()));
        bar.enable_steady_tick(Duration::from_millis(120));
        Box::new(Bar(bar))
    }

    fn warn(&self, message: &str) {
        self.line("warning", message);
    }

    fn warn_error(&self, outcome: &str, error: &(dyn std::error::Error + 'static)) {
        self.line(
            "warning",
            &format!("{}; {outcome}", wkg_client::error::chain(error)),
        );
        for hint in crate::hints::hints_for_error(error) {
            self.line("hint", &hint);
        }
    }

    fn notice(&self, message: &str) {
        self.line("note", message);
    }
}

impl BarReporter {
    /// `<label>: <message>` on stderr above any bars, unless `-q`.
    fn line(&self, label: &str, message: &str) {
        if !self.warnings {
            return;
        }
        let line = format!("{label}: {message}");
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(line);
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }
}

struct Bar(ProgressBar);

impl Transfer for Bar {
    fn advance(&mut self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        // An abandoned transfer (error, retry) must not leave a frozen bar behind.
        if !self.0.is_finished() {
            self.0.abandon();
            self.0.finish_and_clear();
        }
    }
}

struct Hidden;

impl Transfer for Hidden {
    fn advance(&mut self, _bytes: u64) {}
    fn finish(&mut self) {}
}

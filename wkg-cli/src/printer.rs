//! Where command output goes.
//!
//! Commands write through a [`Printer`] instead of `println!`, so their output can be
//! checked in unit tests and a closed stdout is an error rather than a panic. Errors are
//! printed here too, in one format: the message, each cause, then the hints of
//! [`crate::hints`].
//!
//! The printer also owns how chatty the command is: `-q` silences status lines and progress,
//! `-v` adds detail, and progress bars appear only when stderr is a terminal.

use std::io::Write;

use wkg_client::SharedReporter;

use crate::hints::hints_for_error;
use crate::progress::BarReporter;

/// How much to say, from `-q` / `-v`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// Output streams for a command: results to `out`, notices and errors to `err`.
pub struct Printer<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub verbosity: Verbosity,
    /// Whether stderr is a terminal (progress bars are drawn only then).
    pub terminal: bool,
}

impl Printer<'_> {
    /// A status line on stderr (`Fetched ...`), unless `-q`.
    pub fn status(&mut self, line: impl std::fmt::Display) -> std::io::Result<()> {
        if self.verbosity > Verbosity::Quiet {
            writeln!(self.err, "{line}")?;
        }
        Ok(())
    }

    /// A detail line on stderr, only with `-v`.
    pub fn detail(&mut self, line: impl std::fmt::Display) -> std::io::Result<()> {
        if self.verbosity >= Verbosity::Verbose {
            writeln!(self.err, "{line}")?;
        }
        Ok(())
    }

    /// The progress reporter handed to the library for this command.
    pub fn reporter(&self) -> SharedReporter {
        std::sync::Arc::new(BarReporter::new(
            self.terminal && self.verbosity > Verbosity::Quiet,
            self.verbosity > Verbosity::Quiet,
        ))
    }

    /// Prints `error: ...`, the cause chain, and hints for errors we know how to help with.
    pub fn error(&mut self, error: &anyhow::Error) {
        // Nothing sensible can be done if stderr itself fails.
        let _ = writeln!(self.err, "error: {error}");
        for cause in error.chain().skip(1) {
            // Multi-line causes (TOML errors quote the offending line) stay indented.
            let cause = cause.to_string().replace('\n', "\n    ");
            let _ = writeln!(self.err, "  caused by: {}", cause.trim_end());
        }
        for hint in hints_for_error(error.as_ref()) {
            let _ = writeln!(self.err, "hint: {hint}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shows_chain_and_hint() {
        let client = wkg_client::Config::from_toml("colour = 1").unwrap_err();
        let error = anyhow::Error::new(client).context("could not load the config");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        Printer {
            out: &mut out,
            err: &mut err,
            verbosity: Verbosity::Normal,
            terminal: false,
        }
        .error(&error);
        let text = String::from_utf8(err).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "error: could not load the config");
        assert!(
            lines[1].starts_with("  caused by: invalid config: `colour`"),
            "{text}"
        );
        assert!(lines[2].starts_with("hint: `wkg config --edit`"), "{text}");
        assert!(out.is_empty());
    }
}

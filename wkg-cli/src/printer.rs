//! Where command output goes.
//!
//! Commands write through a [`Printer`] instead of `println!`, so their output can be
//! checked in unit tests and a closed stdout is an error rather than a panic. Errors are
//! printed here too, in one format: the message, each cause, then a hint when there is one.
//!
//! The printer also owns how chatty the command is: `-q` silences status lines and progress,
//! `-v` adds detail, and progress bars appear only when stderr is a terminal.

use std::io::Write;

use wkg_client::SharedReporter;

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

    /// Prints `error: ...`, the cause chain, and a hint for errors we know how to help with.
    pub fn error(&mut self, error: &anyhow::Error) {
        // Nothing sensible can be done if stderr itself fails.
        let _ = writeln!(self.err, "error: {error}");
        for cause in error.chain().skip(1) {
            // Multi-line causes (TOML errors quote the offending line) stay indented.
            let cause = cause.to_string().replace('\n', "\n    ");
            let _ = writeln!(self.err, "  caused by: {}", cause.trim_end());
        }
        if let Some(hint) = hint(error) {
            let _ = writeln!(self.err, "hint: {hint}");
        }
    }
}

/// A next step for the user, for library errors whose message alone may not say enough.
fn hint(error: &anyhow::Error) -> Option<String> {
    let client_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<wkg_client::Error>())?;
    match client_error {
        wkg_client::Error::InvalidConfig { .. } => Some(
            "`wkg config --edit` opens the file in $EDITOR; see the configuration section of the \
             wasm-pkg-tools README for every key"
                .into(),
        ),
        wkg_client::Error::Unreachable { .. } => Some(
            "is the registry running? For a registry without TLS, set `protocol = \"http\"` \
             under [registry.\"<name>\".oci] (`wkg config --edit`), or pass \
             `--insecure <host:port>` to `wkg oci`"
                .into(),
        ),
        wkg_client::Error::PackageNotFound { .. } | wkg_client::Error::VersionNotFound { .. } => {
            Some(
                "`wkg config` shows which registry each namespace resolves to; \
                 `--registry <host>` asks another one"
                    .into(),
            )
        }
        wkg_client::Error::VersionExists { .. } => {
            Some("bump the version in the package (or pass `--package <ns:name@version>`)".into())
        }
        wkg_client::Error::DigestMismatch { .. } => Some(
            "try again; if it persists, the registry's stored copy is damaged: tell its operator"
                .into(),
        ),
        wkg_client::Error::ConfigRead { path, .. } => Some(format!(
            "{} comes from --config, $WKG_CONFIG_FILE or the default location; \
             `wkg config` (without --config) shows the default",
            path.display()
        )),
        _ => None,
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

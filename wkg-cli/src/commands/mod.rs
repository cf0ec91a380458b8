//! One module per subcommand. Each returns `Result<ExitStatus>`: `Err` for failures that
//! `main` prints with their cause chain, `ExitStatus::Failure` for an unsuccessful outcome
//! the command has already explained (such as an editor that exited with an error).

pub mod config;

use std::process::ExitCode;

/// How a command ended, when it did not return an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Failure,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::FAILURE,
        }
    }
}

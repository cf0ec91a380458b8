//! `wkg`: fetch and publish WebAssembly packages; a drop-in for upstream wkg.
//!
//! `main` only parses arguments, reads the process environment, and turns the command's
//! outcome into an exit code: commands get everything else passed in, so they can be
//! tested without touching the real environment.

mod cli;
mod commands;
mod printer;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::commands::ExitStatus;
use crate::printer::Printer;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut printer = Printer {
        out: &mut stdout,
        err: &mut stderr,
    };
    match run(cli, &mut printer) {
        Ok(status) => status.into(),
        Err(error) => {
            printer.error(&error);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, printer: &mut Printer<'_>) -> anyhow::Result<ExitStatus> {
    let config_path = cli.global.config;
    let status = match cli.command {
        Command::Config(args) => {
            let editor = std::env::var_os("EDITOR");
            commands::config::run(&args, config_path.as_deref(), editor.as_deref(), printer)?
        }
    };
    printer.out.flush()?;
    Ok(status)
}

//! `wkg`: fetch and publish WebAssembly packages; a drop-in for upstream wkg.
//!
//! `main` only parses arguments, reads the process environment, and turns the command's
//! outcome into an exit code: commands get everything else passed in, so they can be
//! tested without touching the real environment.

mod cli;
mod commands;
mod hints;
mod printer;
mod progress;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command, WitCommand};
use crate::commands::ExitStatus;
use crate::printer::{Printer, Verbosity};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let terminal = std::io::stderr().is_terminal();
    let mut stderr = std::io::stderr();
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, _) => Verbosity::Verbose,
    };
    let mut printer = Printer {
        out: &mut stdout,
        err: &mut stderr,
        verbosity,
        terminal,
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
    let global = cli.global;
    let status = match cli.command {
        Command::Config(args) => {
            let editor = std::env::var_os("EDITOR");
            commands::config::run(&args, global.config.as_deref(), editor.as_deref(), printer)?
        }
        command => {
            // Network commands are async; one thread is plenty for a CLI.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                match command {
                    Command::Get(args) => commands::get::run(&args, &global, printer).await,
                    Command::Publish(args) => commands::publish::run(&args, &global, printer).await,
                    Command::Oci(command) => commands::oci::run(&command, &global, printer).await,
                    Command::Info(args) => commands::info::run(&args, &global, printer).await,
                    Command::Search(args) => commands::search::run(&args, &global, printer).await,
                    Command::Build(args) | Command::Wit(WitCommand::Build(args)) => {
                        commands::build::run(&args, &global, printer).await
                    }
                    Command::Fetch(args) | Command::Wit(WitCommand::Fetch(args)) => {
                        commands::fetch::run(&args, &global, printer).await
                    }
                    Command::Update(args) | Command::Wit(WitCommand::Update(args)) => {
                        commands::update::run(&args, &global, printer).await
                    }
                    Command::Login(args) => {
                        commands::login::login(&args, global.config.as_deref(), printer).await
                    }
                    Command::Logout(args) => {
                        commands::login::logout(&args, global.config.as_deref(), printer).await
                    }
                    Command::Config(_) => unreachable!("handled above"),
                }
            })?
        }
    };
    printer.out.flush()?;
    Ok(status)
}

//! One module per subcommand. Each returns `Result<ExitStatus>`: `Err` for failures that
//! `main` prints with their cause chain, `ExitStatus::Failure` for an unsuccessful outcome
//! the command has already explained (such as an editor that exited with an error).

pub mod build;
pub mod config;
pub mod fetch;
pub mod get;
pub mod info;
pub mod login;
pub mod oci;
pub mod publish;
pub mod search;
pub mod update;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use wkg_client::{Cache, Client, Config};

use crate::cli::GlobalArgs;
use crate::printer::Printer;

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

/// The config from `--config` (which must exist) or the default path (which may not).
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(path) => Config::load(path)?,
        None => Config::load_or_default(&wkg_client::default_config_path()?)?,
    })
}

/// The cache from `--cache`/`$WKG_CACHE`, else the default location.
pub fn open_cache(path: Option<&Path>) -> Result<Cache> {
    Ok(Cache::new(match path {
        Some(path) => path.to_path_buf(),
        None => wkg_client::default_cache_dir()?,
    }))
}

/// A package client for commands that go through config resolution.
pub fn client(global: &GlobalArgs, printer: &mut Printer<'_>) -> Result<Client> {
    let config = load_config(global.config.as_deref())?;
    let cache = open_cache(global.cache.as_deref())?;
    printer.detail(format_args!("cache: {}", cache.root().display()))?;
    Ok(Client::new(config, cache, printer.reporter()).offline(global.offline))
}

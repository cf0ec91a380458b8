//! The command line, as clap derive types.
//!
//! Flags, value names and environment variables follow upstream `wkg` so scripts written
//! for it keep working. One deliberate superset: `--config` is global, so it is accepted
//! before the subcommand as well as after it (upstream only takes it after).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use wkg_client::RegistryName;

/// Fetch and publish WebAssembly components and WIT packages.
#[derive(Debug, Parser)]
#[command(name = "wkg", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The path to the configuration file [default: $XDG_CONFIG_HOME/wasm-pkg/config.toml]
    #[arg(
        long = "config",
        value_name = "CONFIG",
        env = "WKG_CONFIG_FILE",
        global = true
    )]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set registry configuration
    Config(ConfigArgs),
}

/// `wkg config`: with no flags, shows the config file and what it sets.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The default registry domain to use; written to the config file
    #[arg(long = "default-registry", value_name = "DEFAULT_REGISTRY")]
    pub default_registry: Option<RegistryName>,

    /// Opens the configuration file in the editor named by the `$EDITOR` environment variable
    #[arg(long, short)]
    pub edit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_flag_is_global() {
        for argv in [
            &["wkg", "--config", "/c.toml", "config"][..],
            &["wkg", "config", "--config", "/c.toml"][..],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap();
            assert_eq!(cli.global.config, Some(PathBuf::from("/c.toml")));
        }
    }

    #[test]
    fn config_args() {
        let cli = Cli::try_parse_from([
            "wkg",
            "config",
            "--default-registry",
            "localhost:5000",
            "-e",
        ])
        .unwrap();
        let Command::Config(args) = cli.command;
        assert_eq!(args.default_registry.unwrap().as_str(), "localhost:5000");
        assert!(args.edit);

        let err = Cli::try_parse_from(["wkg", "config", "--default-registry", "https://x.dev"])
            .unwrap_err();
        assert!(err.to_string().contains("URL scheme"), "{err}");
    }
}

//! The command line, as clap derive types.
//!
//! Flags, value names and environment variables follow upstream `wkg` so scripts written
//! for it keep working. One deliberate superset: `--config` is global, so it is accepted
//! before the subcommand as well as after it (upstream only takes it after).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use wkg_client::{PackageSpec, RegistryName};

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

    /// The path to the cache directory [default: $XDG_CACHE_HOME/wasm-pkg]
    #[arg(
        long = "cache",
        value_name = "CACHE",
        env = "WKG_CACHE_DIR",
        global = true
    )]
    pub cache: Option<PathBuf>,

    /// Controls when to use color (accepted for compatibility; output is plain text)
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Never contact a registry: use only what earlier commands left in the cache
    /// (and local-directory registries)
    #[arg(long, global = true)]
    pub offline: bool,

    /// Print only errors (no progress bars, no status lines)
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what is happening (repeat for more)
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set registry configuration
    Config(ConfigArgs),
    /// Download a package from a registry
    Get(GetArgs),
    /// Publish a component or WIT package to a registry
    Publish(PublishArgs),
    /// Commands for interacting with OCI registries directly
    #[command(subcommand)]
    Oci(OciCommand),
    /// Build a WIT package from a directory, with its dependencies and wkg.toml metadata
    Build(BuildArgs),
    /// Show a package's versions and what a version is (metadata, WIT worlds, imports, exports)
    Info(InfoArgs),
    /// Search a registry's packages by name, description or WIT (wkg-gateway registries)
    Search(SearchArgs),
    /// Fetch the WIT dependencies of a WIT directory into its `deps/`, pinned in wkg.lock
    Fetch(FetchArgs),
    /// Re-resolve every WIT dependency to its newest matching version, then fetch
    Update(FetchArgs),
    /// WIT dependency commands (`wkg wit fetch`, `wkg wit update`)
    #[command(subcommand)]
    Wit(WitCommand),
    /// Log in to a wkg-gateway: trade a password for a personal access token kept in the config
    Login(LoginArgs),
    /// Revoke the token `wkg login` stored for a registry and forget it
    Logout(LogoutArgs),
}

/// `wkg login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry (as in `default_registry`); the default registry if omitted
    pub registry: Option<String>,
    /// The user name
    #[arg(short = 'u', long)]
    pub username: String,
    /// Read the password from standard input (the only way: it never appears in a process list)
    #[arg(long)]
    pub password_stdin: bool,
}

/// `wkg logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry; the default registry if omitted
    pub registry: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WitCommand {
    /// Same as `wkg build`
    Build(BuildArgs),
    /// Same as `wkg fetch`
    Fetch(FetchArgs),
    /// Same as `wkg update`
    Update(FetchArgs),
}

/// `wkg info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The package, as `namespace:name` (details of the latest version) or `namespace:name@version`
    #[arg(value_name = "PACKAGE_SPEC")]
    pub package: PackageSpec,

    /// The registry to ask, instead of the one the config resolves
    #[arg(long, value_name = "REGISTRY", env = "WKG_REGISTRY")]
    pub registry: Option<RegistryName>,
}

/// `wkg search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Text to look for in package names, descriptions and WIT interface names
    #[arg(value_name = "TEXT")]
    pub query: String,

    /// The registry to search [default: the default registry]
    #[arg(long, value_name = "REGISTRY", env = "WKG_REGISTRY")]
    pub registry: Option<RegistryName>,
}

/// `wkg build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The directory containing the WIT files to build
    #[arg(
        long = "wit-dir",
        short = 'd',
        value_name = "DIR",
        default_value = "wit"
    )]
    pub dir: PathBuf,

    /// The file to write [default: `<namespace>:<name>@<version>.wasm` in the current directory]
    #[arg(long, short, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,
}

/// `wkg fetch` / `wkg update`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The directory containing the WIT package
    #[arg(value_name = "DIR", conflicts_with = "wit_dir")]
    pub dir: Option<PathBuf>,

    /// The directory containing the WIT package
    #[arg(
        long = "wit-dir",
        short = 'd',
        value_name = "WIT_DIR",
        default_value = "wit"
    )]
    pub wit_dir: PathBuf,

    /// How to write the dependencies: WIT text or binary WIT packages
    #[arg(long = "type", short = 't', value_enum, default_value_t = DepsType::Wit)]
    pub output_type: DepsType,
}

impl FetchArgs {
    /// The WIT directory: the positional `DIR`, else `--wit-dir`.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.as_deref().unwrap_or(&self.wit_dir)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DepsType {
    Wit,
    Wasm,
}

/// `wkg get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The package to get, as `namespace:name` (latest version) or `namespace:name@version`
    #[arg(value_name = "PACKAGE_SPEC")]
    pub package: PackageSpec,

    /// Output path: a file, or an existing directory to write `<ns>_<name>@<version>.<ext>` into
    #[arg(long, short, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,

    /// Output format: `wit` prints a WIT package as text, `auto` does that for WIT packages
    /// and writes components as binary
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,

    /// Overwrite the output file if it exists
    #[arg(long, conflicts_with = "check")]
    pub overwrite: bool,

    /// Check that the fetched package matches the existing output file instead of writing
    /// it: exit status 0 when identical, 1 when different or missing
    #[arg(long)]
    pub check: bool,

    /// The registry to fetch from, instead of the one the config resolves
    #[arg(long, value_name = "REGISTRY", env = "WKG_REGISTRY")]
    pub registry: Option<RegistryName>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Auto,
    Wasm,
    Wit,
}

/// `wkg publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The component or WIT package files to publish
    #[arg(value_name = "PATHS", required = true)]
    pub paths: Vec<PathBuf>,

    /// The registry to publish to, instead of the one the config resolves
    #[arg(long, value_name = "REGISTRY", env = "WKG_REGISTRY")]
    pub registry: Option<RegistryName>,

    /// The package name (and version) to publish as, overriding what the file says; only
    /// with a single path
    #[arg(long, value_name = "PACKAGE", env = "WKG_PACKAGE")]
    pub package: Option<PackageSpec>,

    /// Resolve everything and show what would be published, without uploading
    #[arg(long)]
    pub dry_run: bool,

    /// Skip the checks for an existing version and for WIT compatibility with the
    /// neighbouring versions (the registry still refuses to change a published version)
    #[arg(long)]
    pub skip_semver_check: bool,

    /// Skip, with a warning, packages whose version is already published
    #[arg(long)]
    pub skip_dupes: bool,
}

#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Pull a component from an OCI registry and write it to a file
    Pull(OciPullArgs),
    /// Push a component to an OCI registry
    Push(OciPushArgs),
}

/// Credentials and transport flags shared by `wkg oci` commands.
#[derive(Debug, Args)]
pub struct OciAuthArgs {
    /// The username to use for authentication
    #[arg(
        long = "user",
        short = 'u',
        env = "WKG_OCI_USERNAME",
        requires = "password"
    )]
    pub username: Option<String>,

    /// The password to use for authentication
    #[arg(long, short = 'p', env = "WKG_OCI_PASSWORD", requires = "username")]
    pub password: Option<String>,

    /// Registries (`host:port`) to talk to over plain http: a comma-separated list, and the
    /// flag may be repeated
    #[arg(
        long,
        value_name = "INSECURE",
        env = "WKG_OCI_INSECURE",
        value_delimiter = ','
    )]
    pub insecure: Vec<String>,
}

/// `wkg oci pull`.
#[derive(Debug, Args)]
pub struct OciPullArgs {
    /// The OCI reference to pull, e.g. `ghcr.io/acme/thing:1.0.0`
    #[arg(value_name = "REFERENCE")]
    pub reference: String,

    /// The output file [default: `<last path segment of the repository>.wasm`]
    #[arg(long, short, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub auth: OciAuthArgs,
}

/// `wkg oci push`.
#[derive(Debug, Args)]
pub struct OciPushArgs {
    /// The OCI reference to push to, e.g. `ghcr.io/acme/thing:1.0.0`
    #[arg(value_name = "REFERENCE")]
    pub reference: String,

    /// The component file to push
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Extra manifest annotations as `key=value`; may be repeated
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = parse_annotation)]
    pub annotations: Vec<(String, String)>,

    /// The author recorded in the pushed artifact (config `author` and the
    /// `org.opencontainers.image.authors` annotation)
    #[arg(long, short, value_name = "AUTHOR")]
    pub author: Option<String>,

    #[command(flatten)]
    pub auth: OciAuthArgs,
}

fn parse_annotation(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not `key=value`")),
    }
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
mod tests;

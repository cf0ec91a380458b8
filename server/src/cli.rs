//! The `wkg-gateway` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::server::ShutdownSignal;

#[derive(Debug, Parser)]
#[command(
    name = "wkg-gateway",
    version,
    about = "A self-hosted registry for WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry server.
    Serve {
        /// TOML config file; environment variables WKG_GATEWAY_* override it.
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Exit 0 if a gateway answers `/readyz` with 200 (for container
    /// HEALTHCHECKs, where no curl is installed).
    Healthcheck {
        /// Base URL of the gateway.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Remove blobs no manifest references (and, with `[gc] delete_untagged`,
    /// untagged manifests); safe while a gateway serves the same data.
    Gc {
        /// TOML config file; environment variables WKG_GATEWAY_* override it.
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Report what would be removed without removing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Users, grants, access tokens and the audit log (for `[auth] mode =
    /// "token"`); a running gateway sees changes at once.
    Admin {
        /// TOML config file; environment variables WKG_GATEWAY_* override it.
        #[arg(long, short, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: crate::admin_cli::AdminCommand,
    },
    /// Rebuild the Wasm package index from stored content (safe while a
    /// gateway serves the same data).
    Reindex {
        /// TOML config file; environment variables WKG_GATEWAY_* override it.
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Entry point shared by the binary and the test server.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve { config } => runtime.block_on(serve(config)),
        Command::Reindex { config } => runtime.block_on(reindex(config)),
        Command::Gc { config, dry_run } => runtime.block_on(gc(config, dry_run)),
        Command::Healthcheck { url } => healthcheck(&url),
        Command::Admin { config, command } => runtime.block_on(admin(config, command)),
    }
}

/// Loads the config and starts logging in the configured format.
fn load_config(config_file: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    let config = Config::load(config_file).map_err(|error| {
        eprintln!("error: {error}");
        eprintln!(
            "hint: fix the config file or the WKG_GATEWAY_* environment variable named above"
        );
        ExitCode::from(2)
    })?;
    init_tracing(config.log_format);
    Ok(config)
}

/// A minimal HTTP/1.0 GET of `<url>/readyz` over plain TCP.
fn healthcheck(url: &str) -> ExitCode {
    use std::io::{Read, Write};
    let Some(authority) = url
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
    else {
        eprintln!("error: --url must be http://HOST:PORT (the check talks to the local gateway)");
        return ExitCode::from(2);
    };
    let attempt = || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(authority)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        write!(stream, "GET /readyz HTTP/1.0\r\nHost: {authority}\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    match attempt() {
        Ok(response)
            if response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200") =>
        {
            ExitCode::SUCCESS
        }
        Ok(response) => {
            eprintln!("not ready: {}", response.lines().last().unwrap_or_default());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("no answer from {authority}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the app (database, storage) without serving, for one-off commands.
async fn open_offline(config_file: Option<PathBuf>) -> Result<crate::AppState, ExitCode> {
    let config = load_config(config_file.as_deref())?;
    let public_url = config
        .public_url
        .clone()
        .or_else(|| url::Url::parse(&format!("http://{}/", config.listen)).ok())
        .unwrap_or_else(|| url::Url::parse("http://localhost/").expect("static URL"));
    crate::app::open(config, public_url).await.map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::FAILURE
    })
}

async fn gc(config_file: Option<PathBuf>, dry_run: bool) -> ExitCode {
    let app = match open_offline(config_file).await {
        Ok(app) => app,
        Err(code) => return code,
    };
    let options = crate::maintenance::gc::GcOptions {
        dry_run,
        delete_untagged: app.config.gc.delete_untagged,
        grace: app.config.gc.grace,
    };
    let result = crate::maintenance::gc::collect(&app.db, &app.storage, options).await;
    app.db.close().await;
    match result {
        Ok(report) => {
            let verb = if dry_run { "would remove" } else { "removed" };
            println!(
                "{verb} {} manifests, {} blob links and {} blobs ({} bytes); marked {} unreferenced blobs for a later run",
                report.manifests_deleted,
                report.blob_links_removed,
                report.blobs_deleted,
                report.bytes_freed,
                report.blobs_marked
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: garbage collection failed: {error}");
            eprintln!(
                "hint: it is safe to run again; nothing is deleted before it is unreferenced"
            );
            ExitCode::FAILURE
        }
    }
}

async fn admin(config_file: Option<PathBuf>, command: crate::admin_cli::AdminCommand) -> ExitCode {
    let app = match open_offline(config_file).await {
        Ok(app) => app,
        Err(code) => return code,
    };
    let code = crate::admin_cli::run(&app, command).await;
    app.db.close().await;
    code
}

async fn reindex(config_file: Option<PathBuf>) -> ExitCode {
    let app = match open_offline(config_file).await {
        Ok(app) => app,
        Err(code) => return code,
    };
    let result = crate::packages::reindex::reindex_all(&app.packages).await;
    app.db.close().await;
    match result {
        Ok(report) => {
            println!("indexed {} package versions", report.indexed);
            for skipped in &report.skipped {
                println!("skipped {skipped}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: reindexing failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config_file: Option<PathBuf>) -> ExitCode {
    let config = match load_config(config_file.as_deref()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let server = match crate::app::bind(config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let signal = match ShutdownSignal::install() {
        Ok(signal) => signal,
        Err(error) => {
            eprintln!("error: cannot install the SIGINT/SIGTERM handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        listen = %server.local_addr(),
        public_url = %server.app().public_url,
        data_dir = %server.app().config.data_dir.display(),
        "wkg-gateway is serving"
    );
    if let Some(metrics) = server.metrics_addr() {
        tracing::info!(metrics_listen = %metrics, "metrics are served on their own listener");
    }
    match server.run(signal.wait()).await {
        Ok(()) => {
            tracing::info!("wkg-gateway stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: the server failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: crate::config::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Text => builder.try_init(),
        crate::config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

//! `wkg get`: download a package version to a file.
//!
//! The content lands in the cache first (verified against its digest), then is copied to
//! the output atomically, so an interrupted `get` never leaves a half-written file where
//! the user expects a package. A WIT package can be written as WIT text (`--format wit`,
//! or `auto`, which picks text for WIT packages and binary for components).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use wkg_client::Fetched;

use super::ExitStatus;
use crate::cli::{Format, GetArgs, GlobalArgs};
use crate::printer::Printer;

pub async fn run(
    args: &GetArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let client = super::client(global, printer)?;
    let fetched = client
        .get(&args.package, args.registry.as_ref())
        .await
        .with_context(|| format!("could not get {}", args.package))?;
    printer.detail(format_args!(
        "{}@{} from {} ({}){}",
        fetched.package,
        fetched.version,
        fetched.registry,
        fetched.digest,
        if fetched.from_cache { ", cached" } else { "" }
    ))?;

    let wit = match format(args) {
        Format::Wasm => None,
        Format::Auto | Format::Wit => {
            let bytes = std::fs::read(&fetched.path)
                .with_context(|| format!("could not read {}", fetched.path.display()))?;
            let text = wkg_client::wasm::wit_text(&fetched.path, &bytes)?;
            if text.is_none() && format(args) == Format::Wit {
                bail!(
                    "{}@{} is a component, not a WIT package, so it has no WIT text; \
                     use `--format wasm` to save the binary",
                    fetched.package,
                    fetched.version
                );
            }
            text
        }
    };
    let extension = if wit.is_some() { "wit" } else { "wasm" };
    let output = output_path(args.output.as_deref(), &fetched, extension);
    if args.check {
        return check(&output, &fetched, wit.as_deref(), printer);
    }
    match wit {
        Some(text) => write_text(&output, &text, args.overwrite)?,
        None => wkg_client::cache::copy_atomic(&fetched.path, &output, args.overwrite)?,
    }
    writeln!(printer.out, "{}", output.display())?;
    printer.status(format_args!(
        "Fetched {}@{} to {}",
        fetched.package,
        fetched.version,
        output.display()
    ))?;
    Ok(ExitStatus::Success)
}

/// `--check`: compares what would be written with the existing file, writing nothing.
fn check(
    output: &Path,
    fetched: &Fetched,
    wit: Option<&str>,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let expected = match wit {
        Some(text) => text.as_bytes().to_vec(),
        None => std::fs::read(&fetched.path)
            .with_context(|| format!("could not read {}", fetched.path.display()))?,
    };
    let what = format!("{}@{}", fetched.package, fetched.version);
    match std::fs::read(output) {
        Ok(existing) if existing == expected => {
            printer.status(format_args!("{} matches {what}", output.display()))?;
            Ok(ExitStatus::Success)
        }
        Ok(_) => {
            writeln!(
                printer.err,
                "error: {} differs from {what}; run without --check (and with --overwrite) to update it",
                output.display()
            )?;
            Ok(ExitStatus::Failure)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            writeln!(
                printer.err,
                "error: {} does not exist, so it cannot match {what}; run without --check to create it",
                output.display()
            )?;
            Ok(ExitStatus::Failure)
        }
        Err(err) => Err(err).with_context(|| format!("could not read {}", output.display())),
    }
}

/// `--format`, with `auto` following the output file's extension (`.wasm`, `.wit`) when it
/// has one, as upstream.
fn format(args: &GetArgs) -> Format {
    let extension = args
        .output
        .as_deref()
        .filter(|path| !is_dir_path(path))
        .and_then(Path::extension)
        .and_then(|ext| ext.to_str());
    match (args.format, extension) {
        (Format::Auto, Some("wasm")) => Format::Wasm,
        (Format::Auto, Some("wit")) => Format::Wit,
        (format, _) => format,
    }
}

/// An output meant as a directory: ends with `/` or already is one.
fn is_dir_path(path: &Path) -> bool {
    path.as_os_str().to_string_lossy().ends_with('/') || path.is_dir()
}

/// `-o FILE`, `-o DIR/` + the default name, or the default name in the current directory.
fn output_path(output: Option<&Path>, fetched: &Fetched, extension: &str) -> PathBuf {
    let name = format!(
        "{}_{}@{}.{extension}",
        fetched.package.namespace(),
        fetched.package.name(),
        fetched.version
    );
    match output {
        Some(dir) if is_dir_path(dir) => dir.join(name),
        Some(file) => file.to_path_buf(),
        None => PathBuf::from(name),
    }
}

fn write_text(path: &Path, text: &str, overwrite: bool) -> Result<()> {
    if !overwrite && path.exists() {
        bail!(
            "{} already exists; pass --overwrite to replace it",
            path.display()
        );
    }
    wkg_client::config::write_atomic(path, text)?;
    Ok(())
}

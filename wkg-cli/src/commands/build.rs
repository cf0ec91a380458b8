//! `wkg build`: encode a WIT directory and its dependencies as one binary WIT package,
//! with the `[metadata]` of `wkg.toml` embedded; `wkg.lock` records the dependencies.
//!
//! `publish` builds directories through [`build_dir`] too, and refuses to go on when that
//! would change `wkg.lock` (as upstream does): what gets published must be what the lock
//! in the repository describes.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use wkg_client::Client;
use wkg_client::build::{Built, build_package};
use wkg_client::lock::{LOCK_FILE_NAME, LockFile};
use wkg_client::manifest::{MANIFEST_FILE_NAME, Manifest};

use super::ExitStatus;
use crate::cli::{BuildArgs, GlobalArgs};
use crate::printer::Printer;

pub async fn run(
    args: &BuildArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let client = super::client(global, printer)?;
    let (built, lock, _) = build_dir(&client, &args.dir).await?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&built));
    wkg_client::cache::write_file_atomic(&output, &built.bytes)
        .with_context(|| format!("could not write {}", output.display()))?;
    lock.save(Path::new(LOCK_FILE_NAME))?;
    writeln!(printer.out, "{}", output.display())?;
    printer.status(format_args!("WIT package written to {}", output.display()))?;
    Ok(ExitStatus::Success)
}

/// Builds `dir` with `./wkg.toml` metadata and `./wkg.lock`; returns the package, the lock
/// that describes it, and the lock as it was.
pub async fn build_dir(client: &Client, dir: &Path) -> Result<(Built, LockFile, LockFile)> {
    if !dir.is_dir() {
        bail!(
            "{} is not a directory; run this from the parent of your `wit` directory, \
             or name it with `--wit-dir <DIR>`",
            dir.display()
        );
    }
    let before = LockFile::load(Path::new(LOCK_FILE_NAME))?.unwrap_or_default();
    let manifest = Manifest::load(Path::new(MANIFEST_FILE_NAME))?;
    let mut lock = before.clone();
    let built = build_package(client, dir, &mut lock, &manifest)
        .await
        .with_context(|| format!("could not build {}", dir.display()))?;
    Ok((built, lock, before))
}

/// `<namespace>:<name>@<version>.wasm`, as upstream names it.
pub fn default_output(built: &Built) -> PathBuf {
    match &built.version {
        Some(version) => PathBuf::from(format!("{}@{version}.wasm", built.package)),
        None => PathBuf::from(format!("{}.wasm", built.package)),
    }
}

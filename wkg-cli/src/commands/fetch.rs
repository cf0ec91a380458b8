//! `wkg fetch`: the WIT dependencies of a WIT directory into its `deps/`, pinned in
//! `wkg.lock` (in the current directory, as upstream).
//!
//! Requirements the lock already resolved are fetched at the locked version and checked
//! against the locked digest; new ones resolve to the newest matching version. The lock is
//! written only after every dependency was fetched and the directory resolves, so a failed
//! fetch never leaves a lock that points at something that did not work.

use std::path::Path;

use anyhow::{Context as _, Result};
use wkg_client::deps::{self, DepsFormat};
use wkg_client::lock::{LOCK_FILE_NAME, LockFile};
use wkg_client::manifest::{MANIFEST_FILE_NAME, Manifest};

use super::ExitStatus;
use crate::cli::{DepsType, FetchArgs, GlobalArgs};
use crate::printer::Printer;

pub async fn run(
    args: &FetchArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    sync(args, global, printer, false).await
}

/// Shared by `fetch` and `update` (which passes `update = true`).
pub async fn sync(
    args: &FetchArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
    update: bool,
) -> Result<ExitStatus> {
    let dir = args.dir();
    if !dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory; run this from the parent of your `wit` directory, \
             or name the WIT directory (`wkg fetch <DIR>` or `--wit-dir <DIR>`)",
            dir.display()
        );
    }
    let lock_path = Path::new(LOCK_FILE_NAME);
    let mut lock = LockFile::load(lock_path)?.unwrap_or_default();
    let manifest = Manifest::load(Path::new(MANIFEST_FILE_NAME))?;
    let client = super::client(global, printer)?;
    let format = match args.output_type {
        DepsType::Wit => DepsFormat::Wit,
        DepsType::Wasm => DepsFormat::Wasm,
    };
    let resolved =
        deps::fetch_dependencies(&client, dir, &mut lock, format, update, &manifest.overrides)
            .await
            .with_context(|| format!("could not fetch the dependencies of {}", dir.display()))?;
    lock.save(lock_path)?;
    for dep in &resolved {
        printer.status(format_args!(
            "{} {}@{} ({} from {})",
            if dep.from_lock { "Locked" } else { "Resolved" },
            dep.package,
            dep.version,
            dep.requirement,
            dep.registry
        ))?;
    }
    writeln!(
        printer.out,
        "Fetched {} dependenc{} into {}",
        resolved.len(),
        if resolved.len() == 1 { "y" } else { "ies" },
        dir.join("deps").display()
    )?;
    Ok(ExitStatus::Success)
}

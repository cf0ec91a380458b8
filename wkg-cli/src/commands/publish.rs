//! `wkg publish`: upload a component or WIT package.
//!
//! Unlike upstream (which only publishes WIT packages), components work too: the name and
//! version come from `--package`, else from the file's wasm-metadata. The upload streams
//! from the file; the printed reference is what `wkg oci pull` would take.

use anyhow::{Context as _, Result};
use wkg_client::PublishRequest;

use super::ExitStatus;
use crate::cli::{GlobalArgs, PublishArgs};
use crate::printer::Printer;

pub async fn run(
    args: &PublishArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let client = super::client(global, printer)?;
    let request = PublishRequest {
        path: args.file.clone(),
        package: args.package.clone(),
        registry: args.registry.clone(),
        dry_run: args.dry_run,
    };
    let published = client
        .publish(&request)
        .await
        .with_context(|| format!("could not publish {}", args.file.display()))?;
    let what = format!("{}@{}", published.package, published.version);
    if args.dry_run {
        writeln!(
            printer.out,
            "Would publish {what} to {} as {} ({} bytes, {})",
            published.registry, published.reference, published.size, published.layer_digest
        )?;
        return Ok(ExitStatus::Success);
    }
    printer.detail(format_args!("manifest {}", published.manifest_digest))?;
    writeln!(
        printer.out,
        "Published {what} to {} ({})",
        published.registry, published.reference
    )?;
    Ok(ExitStatus::Success)
}

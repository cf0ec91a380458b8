//! `wkg publish`: upload components or WIT packages.
//!
//! Unlike upstream (which only publishes WIT packages), components work too: the name and
//! version come from `--package`, else from the file's wasm-metadata. Each upload streams
//! from its file; the printed reference is what `wkg oci pull` would take.

use anyhow::{Context as _, Result, bail};
use wkg_client::build::TempPackage;
use wkg_client::{Client, PublishRequest};

use super::ExitStatus;
use crate::cli::{GlobalArgs, PublishArgs};
use crate::printer::Printer;

pub async fn run(
    args: &PublishArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    if args.package.is_some() && args.paths.len() != 1 {
        bail!("`--package` names one package, so it needs exactly one path");
    }
    let client = super::client(global, printer)?;
    for path in &args.paths {
        // A directory is built first, into a file that lives until the upload is done.
        let (path, _built) = if path.is_dir() {
            let built = build_for_publish(&client, path, args.dry_run).await?;
            (built.path().to_path_buf(), Some(built))
        } else {
            (path.clone(), None)
        };
        let request = PublishRequest {
            path: path.clone(),
            package: args.package.clone(),
            registry: args.registry.clone(),
            dry_run: args.dry_run,
            skip_existing_check: args.skip_semver_check,
        };
        publish_one(&client, &request, args.skip_dupes, printer)
            .await
            .with_context(|| format!("could not publish {}", path.display()))?;
    }
    Ok(ExitStatus::Success)
}

/// Builds a WIT directory into a temporary file, refusing when `wkg.lock` would change.
async fn build_for_publish(
    client: &Client,
    dir: &std::path::Path,
    dry_run: bool,
) -> Result<TempPackage> {
    let (built, lock, before) = super::build::build_dir(client, dir).await?;
    if lock != before && !dry_run {
        bail!(
            "publishing {} would change wkg.lock; run `wkg build --wit-dir {}` first, \
             check the lock file in, then publish",
            dir.display(),
            dir.display()
        );
    }
    Ok(TempPackage::new(&built.bytes)?)
}

async fn publish_one(
    client: &Client,
    request: &PublishRequest,
    skip_dupes: bool,
    printer: &mut Printer<'_>,
) -> Result<()> {
    let published = match client.publish(request).await {
        Ok(published) => published,
        Err(err @ wkg_client::Error::VersionExists { .. }) if skip_dupes => {
            writeln!(
                printer.err,
                "warning: skipping {}: {err}",
                request.path.display()
            )?;
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    let what = format!("{}@{}", published.package, published.version);
    if request.dry_run {
        writeln!(
            printer.out,
            "Would publish {what} to {} as {} ({} bytes, {})",
            published.registry, published.reference, published.size, published.layer_digest
        )?;
        return Ok(());
    }
    if let Some(digest) = &published.manifest_digest {
        printer.detail(format_args!("manifest {digest}"))?;
    }
    writeln!(
        printer.out,
        "Published {what} to {} ({})",
        published.registry, published.reference
    )?;
    Ok(())
}

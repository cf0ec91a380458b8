//! `wkg info`: a package's versions and what one version is.
//!
//! The output is meant for people: one `key: value` line per fact, lists comma-separated,
//! facts the registry does not know left out.

use anyhow::{Context as _, Result};

use super::ExitStatus;
use crate::cli::{GlobalArgs, InfoArgs};
use crate::printer::Printer;

pub async fn run(
    args: &InfoArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let client = super::client(global, printer)?;
    let spec = &args.package;
    let info = client
        .info(&spec.package, spec.version.as_ref(), args.registry.as_ref())
        .await
        .with_context(|| format!("could not get information about {spec}"))?;
    let out = &mut printer.out;
    writeln!(out, "package: {}", info.package)?;
    writeln!(out, "registry: {}", info.registry)?;
    let versions: Vec<String> = info
        .versions
        .iter()
        .map(|(version, yanked)| {
            if *yanked {
                format!("{version} (yanked)")
            } else {
                version.to_string()
            }
        })
        .collect();
    writeln!(out, "versions: {}", versions.join(", "))?;
    if let Some(detail) = &info.detail {
        writeln!(out)?;
        if let Some(version) = &detail.version {
            writeln!(out, "version: {version}")?;
        }
        writeln!(out, "kind: {}", detail.kind)?;
        let lines = [
            ("description", detail.description.clone()),
            ("licenses", detail.licenses.clone()),
            ("source", detail.source.clone()),
            ("digest", detail.digest.clone()),
        ];
        for (key, value) in lines {
            if let Some(value) = value {
                writeln!(out, "{key}: {value}")?;
            }
        }
        let lists = [
            ("worlds", &detail.worlds),
            ("interfaces", &detail.interfaces),
            ("imports", &detail.imports),
            ("exports", &detail.exports),
        ];
        for (key, items) in lists {
            if !items.is_empty() {
                writeln!(out, "{key}: {}", items.join(", "))?;
            }
        }
    }
    printer.detail(if info.from_api {
        "(from the registry's package API)"
    } else {
        "(from OCI tags and the package content)"
    })?;
    Ok(ExitStatus::Success)
}

//! `wkg search`: packages of a registry matching a text, one per line:
//! `<ns:name>  <latest version>  <description>`.

use anyhow::{Context as _, Result};

use super::ExitStatus;
use crate::cli::{GlobalArgs, SearchArgs};
use crate::printer::Printer;

pub async fn run(
    args: &SearchArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let client = super::client(global, printer)?;
    let hits = client
        .search(&args.query, args.registry.as_ref())
        .await
        .with_context(|| format!("could not search for `{}`", args.query))?;
    if hits.is_empty() {
        printer.status(format_args!("No packages match `{}`", args.query))?;
        return Ok(ExitStatus::Success);
    }
    let width = hits.iter().map(|h| h.package.len()).max().unwrap_or(0);
    for hit in &hits {
        let latest = hit.latest.as_deref().unwrap_or("-");
        let description = hit.description.as_deref().unwrap_or("");
        let line = format!("{:width$}  {latest:10}  {description}", hit.package);
        writeln!(printer.out, "{}", line.trim_end())?;
    }
    Ok(ExitStatus::Success)
}

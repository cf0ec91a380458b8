//! `wkg update`: like `wkg fetch`, but every requirement is resolved afresh to the newest
//! matching version and the lock is rewritten. (Upstream 0.16's `update` panics after
//! writing the lock; this one finishes.)

use anyhow::Result;

use super::ExitStatus;
use crate::cli::{FetchArgs, GlobalArgs};
use crate::printer::Printer;

pub async fn run(
    args: &FetchArgs,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    super::fetch::sync(args, global, printer, true).await
}

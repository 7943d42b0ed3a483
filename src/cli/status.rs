//! `tete status [--json]`: accounts, last sync, series, next briefs, outbox.

use std::path::Path;
use std::process::ExitCode;

use crate::control::Forwarded;

/// Arguments of `tete status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command (through the daemon when it runs).
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    super::forward::run(
        config_path,
        None,
        Forwarded::Status { json: args.json },
        |_| Ok(()),
    )
}

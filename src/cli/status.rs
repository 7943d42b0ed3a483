//! `tete status [--json]`: accounts, last sync, series, next briefs, outbox.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

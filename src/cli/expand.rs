//! `tete expand FILE.ics --from DATE --to DATE [--json]`: occurrences of an .ics file.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `tete expand`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The .ics file.
    pub file: PathBuf,
    /// First day of the window (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last day of the window (YYYY-MM-DD, exclusive).
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args;
    Err(anyhow::anyhow!("not built yet"))
}

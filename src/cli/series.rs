//! `tete series [--json]`: every recurring series, its verdict and the reason.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete series`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Evaluate as of this time (RFC 3339 or YYYY-MM-DDTHH:MM in the config's zone).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

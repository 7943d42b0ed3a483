//! `tete preview <series> [--to EMAIL] [--html] [--now TIME]`: render the next brief, send nothing.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Series id (from `tete series`) or UID.
    pub series: String,
    /// Whose brief to show (default: the calendar owner's).
    #[arg(long, value_name = "EMAIL")]
    pub to: Option<String>,
    /// Print the HTML part instead of the text part.
    #[arg(long)]
    pub html: bool,
    /// Evaluate as of this time (RFC 3339 or YYYY-MM-DDTHH:MM in the config's zone).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

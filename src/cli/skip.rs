//! `tete skip <series> [--date DATE]`: snooze the brief of one occurrence.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete skip`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Series id or UID.
    pub series: String,
    /// The occurrence's date (default: the next one).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

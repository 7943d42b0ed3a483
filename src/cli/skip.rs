//! `tete skip <series> [--date DATE]`: snooze the brief of one occurrence.

use std::path::Path;
use std::process::ExitCode;

use crate::control::Forwarded;

/// Arguments of `tete skip`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Series id or UID.
    pub series: String,
    /// The occurrence's date (default: the next one).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
}

/// Runs the command: no brief for the series' meeting on `--date` (in the config's
/// zone), or for its next meeting.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let request = Forwarded::Skip {
        series: args.series,
        date: args.date,
    };
    super::forward::run(config_path, None, request, |_| Ok(()))
}

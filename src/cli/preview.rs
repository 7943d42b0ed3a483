//! `tete preview <series> [--to EMAIL] [--html] [--now TIME]`: render the next brief, send nothing.

use std::path::Path;
use std::process::ExitCode;

use crate::control::Forwarded;

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

/// Runs the command: the brief `--to` (default: the calendar owner) would get for the
/// series' next meeting, composed from the store as it is now. Nothing is sent or queued.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let request = Forwarded::Preview {
        series: args.series,
        to: args.to,
        html: args.html,
    };
    super::forward::run(config_path, args.now.as_deref(), request, |_| Ok(()))
}

//! `tete run [--once] [--now TIME]`: the daemon, or one pass.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One full pass, then exit 0.
    #[arg(long)]
    pub once: bool,
    /// Fix the clock (RFC 3339 or YYYY-MM-DDTHH:MM in the config's zone), for tests and demos.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

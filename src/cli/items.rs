//! `tete items <list|add|done|reopen>`: action items of a series.

use std::path::Path;
use std::process::ExitCode;

use crate::control::{Forwarded, ItemsAction};

/// Arguments of `tete items`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: ItemsAction,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    super::forward::run(config_path, None, Forwarded::Items(args.action), |_| Ok(()))
}

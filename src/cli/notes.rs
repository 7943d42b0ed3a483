//! `tete notes add <series> "text" [--private]`: notes of a series.

use std::path::Path;
use std::process::ExitCode;

use crate::control::{Forwarded, NotesAction};

/// Arguments of `tete notes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: NotesAction,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    super::forward::run(config_path, None, Forwarded::Notes(args.action), |_| Ok(()))
}

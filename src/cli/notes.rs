//! `tete notes add <series> "text" [--private]`: notes of a series.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete notes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: NotesAction,
}

/// `tete notes` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum NotesAction {
    /// Add a note to a series.
    Add {
        /// Series id or UID.
        series: String,
        /// The note text.
        text: String,
        /// Only the author (the calendar owner) sees it.
        #[arg(long)]
        private: bool,
    },
    /// List the notes of a series.
    List {
        /// Series id or UID.
        series: String,
    },
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

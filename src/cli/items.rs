//! `tete items <list|add|done|reopen>`: action items of a series.

use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete items`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: ItemsAction,
}

/// `tete items` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ItemsAction {
    /// List the items of a series (open first).
    List {
        /// Series id or UID.
        series: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an item to a series.
    Add {
        /// Series id or UID.
        series: String,
        /// The item text.
        text: String,
        /// Who owns it (one of the two participants).
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
    },
    /// Mark an item done.
    Done {
        /// Item id (from `items list`).
        id: String,
    },
    /// Reopen a done item.
    Reopen {
        /// Item id (from `items list`).
        id: String,
    },
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _ = (config_path, args);
    Err(anyhow::anyhow!("not built yet"))
}

//! `tete series [--json]`: every recurring series, its verdict and the reason.

use std::path::Path;
use std::process::ExitCode;

use super::session::runtime;
use crate::control::Forwarded;
use crate::pass::{self, SyncOutcome};

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

/// Runs the command: syncs the accounts (one poll, nothing is sent), then prints
/// every recurring series with its verdict. While the daemon runs, it answers instead
/// (from its store, which it keeps in sync itself).
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let request = Forwarded::Series { json: args.json };
    super::forward::run(config_path, args.now.as_deref(), request, |session| {
        let clients = pass::Clients::new()?;
        let syncs = runtime()?.block_on(pass::sync::sync_all(
            &session.config,
            &session.store,
            &clients,
            session.now,
        ));
        session.store.flush()?;
        for sync in &syncs {
            if let SyncOutcome::Failed(error) = &sync.outcome {
                eprintln!(
                    "tete: warning: account {} could not be read ({error}); showing what the store holds",
                    sync.account
                );
            }
        }
        Ok(())
    })
}

//! What every command handler works on: the config, the store, the time it acts at.

use chrono::{DateTime, Utc};

use super::{CommandError, DaemonHealth};
use crate::config::{self, Config};
use crate::store::{Store, StoreError, StoreOptions};

/// An opened config and store, and the time the command acts at.
pub struct Session {
    /// The validated config.
    pub config: Config,
    /// The open store.
    pub store: Store,
    /// "Now": the real clock, or `--now`, read once by whoever opened the session.
    pub now: DateTime<Utc>,
    /// How the daemon's rounds go, when the command is answered by the daemon.
    pub daemon: Option<DaemonHealth>,
}

impl Session {
    /// The series as the store holds them now (no network: commands that change
    /// context work offline).
    pub fn analysis(&self) -> Result<crate::pass::Analysis, StoreError> {
        crate::pass::analyze_store(&self.config, &self.store, self.now)
    }

    /// The brief policy a pass would use (allowed domains from the account owners).
    pub fn policy(&self) -> Result<crate::core::plan::BriefPolicy, StoreError> {
        let owners = crate::pass::account_owners(&self.config, &self.store)?;
        Ok(crate::pass::briefs::policy(&self.config, &owners))
    }
}

/// Resolves what a user typed (series id, id prefix or UID) to a 1:1 series.
pub fn series_info(
    analysis: &crate::pass::Analysis,
    wanted: &str,
) -> Option<crate::core::context::SeriesInfo> {
    let view = analysis.find(wanted)?;
    if !view.verdict.one_on_one {
        return None;
    }
    Some(crate::core::context::SeriesInfo {
        id: view.id().clone(),
        context: view.context.clone(),
        title: view.verdict.title.clone(),
        participants: view.verdict.participants.clone(),
        owner: view.verdict.owners.first().cloned().unwrap_or_default(),
    })
}

/// `--now TEXT` in the config's zone; a bad time is the command's failure (exit 1).
pub fn parse_now(text: &str, config: &Config) -> Result<DateTime<Utc>, CommandError> {
    config::parse_now(text, config.timezone)
        .map_err(|e| CommandError::failed(format!("--now {text:?}: {e}")))
}

/// Opens the store of `config`; a store that is locked or unreadable is the
/// command's failure (exit 1), with sled's reason and what to do, and a store written
/// by a newer tete is a configuration error (exit 78).
pub fn open_store(config: &Config) -> Result<Store, CommandError> {
    let options = StoreOptions {
        cache_capacity: config.store.cache_capacity,
    };
    match Store::open(&config.state_dir, &options) {
        Ok(store) => Ok(store),
        Err(error @ StoreError::TooNew { .. }) => Err(CommandError::config(error.to_string())),
        Err(error) => Err(CommandError::failed(error.to_string())),
    }
}

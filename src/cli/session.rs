//! What most commands share: the config, the store, the clock, a runtime.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::Failure;
use crate::config::{self, Config};
use crate::store::{Store, StoreError, StoreOptions};

/// An opened config and store, and the time the command acts at.
pub struct Session {
    /// The validated config.
    pub config: Config,
    /// The open store.
    pub store: Store,
    /// "Now": the real clock, or `--now`.
    pub now: DateTime<Utc>,
    /// How the daemon's rounds go, when the command is answered by the daemon.
    pub daemon: Option<crate::daemon::DaemonHealth>,
}

impl Session {
    /// Loads the config (exit 78 on errors), sets up logging, reads `--now` in the
    /// config's zone, and opens the store.
    pub fn open(config_path: &Path, now: Option<&str>) -> anyhow::Result<Session> {
        let config = config::load_or_exit(config_path)?;
        // One-shot commands print their own summary; the log only adds warnings
        // (RUST_LOG still raises it). The daemon logs at the configured level.
        crate::logging::init("warn");
        let now = parse_now_arg(now, &config)?;
        let store = open_store(&config)?;
        Ok(Session {
            config,
            store,
            now,
            daemon: None,
        })
    }
}

impl Session {
    /// The series as the store holds them now (no network: commands that change
    /// context work offline).
    pub fn analysis(&self) -> anyhow::Result<crate::pass::Analysis> {
        Ok(crate::pass::analyze_store(
            &self.config,
            &self.store,
            self.now,
        )?)
    }
}

/// Resolves what a user typed (series id, id prefix or UID) to a 1:1 series.
pub fn series_info(
    analysis: &crate::pass::Analysis,
    wanted: &str,
) -> Option<crate::context::SeriesInfo> {
    let view = analysis.find(wanted)?;
    if !view.verdict.one_on_one {
        return None;
    }
    Some(crate::context::SeriesInfo {
        id: view.id().clone(),
        context: view.context.clone(),
        title: view.verdict.title.clone(),
        participants: view.verdict.participants.clone(),
        owner: view.verdict.owners.first().cloned().unwrap_or_default(),
    })
}

/// `--now` in the config's zone, or the real clock.
pub fn parse_now_arg(now: Option<&str>, config: &Config) -> anyhow::Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(text) => config::parse_now(text, config.timezone)
            .map_err(|e| Failure::failed(format!("--now {text:?}: {e}")).into()),
    }
}

/// Opens the store of `config`; a store that is locked or unreadable is the
/// command's failure (exit 1), with sled's reason and what to do.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        cache_capacity: config.store.cache_capacity,
    };
    match Store::open(&config.state_dir, &options) {
        Ok(store) => Ok(store),
        Err(error @ StoreError::TooNew { .. }) => Err(Failure::config(error.to_string()).into()),
        Err(error) => Err(Failure::failed(error.to_string()).into()),
    }
}

/// A small runtime for one command (the daemon builds its own).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

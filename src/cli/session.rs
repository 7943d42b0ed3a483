//! What most commands share: the config, the store, the clock, a runtime.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::Failure;
use crate::config::{self, Config, ConfigErrors};
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
        let config = load_or_exit(config_path)?;
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

/// For commands other than `check`: loads the config, prints warnings to stderr, and
/// turns errors into a [`Failure`] with exit code 78 listing every problem.
pub fn load_or_exit(path: &Path) -> Result<Config, Failure> {
    let loaded = config::load_checked(path)?;
    for warning in &loaded.warnings {
        eprintln!("tete: warning: {warning}");
    }
    Ok(loaded.config)
}

impl From<ConfigErrors> for Failure {
    /// Exit 78 with one line per problem, so systemd's `RestartPreventExitStatus=78`
    /// stops a restart loop on a bad config.
    fn from(errors: ConfigErrors) -> Self {
        let count = errors.errors.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        Failure::config(format!("invalid configuration ({count} {noun}):\n{errors}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_become_exit_78_listing_every_line() {
        let errors = config::parse("log_level = \"x\"\n", Path::new("/etc/tete/tete.toml"))
            .expect_err("an invalid config");
        assert!(!errors.errors.is_empty());
        let failure = Failure::from(errors.clone());
        assert_eq!(failure.code, super::super::EXIT_CONFIG);
        for line in errors.lines() {
            assert!(failure.message.contains(&line));
        }
    }

    #[test]
    fn load_or_exit_turns_a_bad_config_into_exit_78() {
        let failure = load_or_exit(Path::new("/nonexistent/tete.toml")).expect_err("missing file");
        assert_eq!(failure.code, super::super::EXIT_CONFIG);
        assert!(failure.message.contains("/nonexistent/tete.toml"));
    }
}

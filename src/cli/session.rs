//! What most commands share at the edge: loading the config (exit 78), reading the
//! clock, opening a [`Session`], a runtime, and turning a handler's [`CommandError`]
//! into an exit code.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::Failure;
use crate::config::{self, Config, ConfigErrors};
use crate::control::{self, CommandError, Session};
use crate::store::Store;

/// Loads the config (exit 78 on errors), sets up logging, reads `--now` in the
/// config's zone (else the real clock), and opens the store.
pub fn open(config_path: &Path, now: Option<&str>) -> anyhow::Result<Session> {
    let config = load_or_exit(config_path)?;
    // One-shot commands print their own summary; the log only adds warnings
    // (RUST_LOG still raises it). The daemon logs at the configured level.
    crate::logging::init("warn");
    let now = parse_now_arg(now, &config)?;
    let store = open_store(&config)?;
    // Org people (from the stored directory rosters) count like configured accounts.
    let config = crate::pass::org::with_org_people(&config, &store)
        .map_err(crate::control::CommandError::from)?;
    Ok(Session {
        config,
        store,
        now,
        daemon: None,
    })
}

/// `--now` in the config's zone, or the real clock: the one place a command reads it.
pub fn parse_now_arg(now: Option<&str>, config: &Config) -> Result<DateTime<Utc>, Failure> {
    match now {
        None => Ok(Utc::now()),
        Some(text) => control::parse_now(text, config).map_err(Failure::from_command),
    }
}

/// Opens the store of `config` (see [`control::open_store`] for the exit codes).
pub fn open_store(config: &Config) -> Result<Store, Failure> {
    control::open_store(config).map_err(Failure::from_command)
}

/// A handler's error as the command line reports it: its own failures keep their
/// exit code and message; internal errors keep their cause chain (exit 70).
pub fn command_error(error: CommandError) -> anyhow::Error {
    match error {
        CommandError::Failed { code, message } => Failure { code, message }.into(),
        other => anyhow::Error::new(other),
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

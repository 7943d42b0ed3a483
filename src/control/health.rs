//! How the daemon's rounds are going, as `tete status` shows it while the daemon runs.
//!
//! The store cannot say this by itself: when its disk is full the failure cannot be
//! written down, and the last records there still read "ok". So the daemon keeps it in
//! memory and hands it to the control socket.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The daemon's view of its last rounds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DaemonHealth {
    /// When the last round ended.
    pub last_round: Option<DateTime<Utc>>,
    /// Why the last round failed (`None` when it went through).
    pub last_error: Option<String>,
    /// When the current run of failing rounds began.
    pub failing_since: Option<DateTime<Utc>>,
    /// Set while the store cannot be used at all (it is being reopened): why.
    pub store_unavailable: Option<String>,
    /// Briefs the mail server accepted whose "sent" record waits for the store.
    pub unrecorded_sends: usize,
    /// How reading the reply mailbox goes (`None` without an IMAP `[inbox]`).
    pub mailbox: Option<MailboxHealth>,
}

/// How the daemon's reply reader is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MailboxHealth {
    /// When the mailbox was last looked at successfully.
    pub last_read: Option<DateTime<Utc>>,
    /// When the current run of failures began (connect, login or read).
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure (never carries the password or token).
    pub last_error: Option<String>,
}

impl MailboxHealth {
    /// A successful look at the mailbox at `at`.
    pub fn read_ok(&mut self, at: DateTime<Utc>) {
        self.last_read = Some(at);
        self.failing_since = None;
        self.last_error = None;
    }

    /// A failure at `at`.
    pub fn failed(&mut self, at: DateTime<Utc>, error: String) {
        self.failing_since.get_or_insert(at);
        self.last_error = Some(error);
    }
}

impl DaemonHealth {
    /// Records a round that ended at `at`, failed with `error` or went through.
    pub fn record_round(&mut self, at: DateTime<Utc>, error: Option<String>) {
        self.last_round = Some(at);
        match error {
            Some(error) => {
                self.failing_since.get_or_insert(at);
                self.last_error = Some(error);
            }
            None => {
                self.failing_since = None;
                self.last_error = None;
                self.store_unavailable = None;
            }
        }
    }

    /// True while rounds fail.
    pub fn is_failing(&self) -> bool {
        self.last_error.is_some() || self.store_unavailable.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_failing_run_keeps_its_start_until_a_round_goes_through() {
        let mut health = DaemonHealth::default();
        health.record_round(at("2026-12-01T08:00:00Z"), Some("disk full".into()));
        health.record_round(at("2026-12-01T08:05:00Z"), Some("disk still full".into()));
        assert!(health.is_failing());
        assert_eq!(health.failing_since, Some(at("2026-12-01T08:00:00Z")));
        assert_eq!(health.last_error.as_deref(), Some("disk still full"));
        health.record_round(at("2026-12-01T08:10:00Z"), None);
        assert!(!health.is_failing());
        assert_eq!(health.failing_since, None);
    }
}

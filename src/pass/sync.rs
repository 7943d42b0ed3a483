//! Step one of a pass: bring every account's events into the store.
//!
//! One account failing never stops the others: each outcome is reported on its own.

use std::time::Instant;

use crate::config::{AccountConfig, Config, Provider};
use crate::sources::SourceError;
use crate::sources::ics::{FeedValidators, FetchOutcome, fetch_ics, parse_ics};
use crate::store::{CalendarChanges, CalendarRef, Store, StoreError};

/// How one account's sync went.
#[derive(Debug)]
pub struct AccountSync {
    /// The account's name.
    pub account: String,
    /// What happened.
    pub outcome: SyncOutcome,
    /// Problems worked around (skipped events, repaired values), one line each.
    pub warnings: Vec<String>,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

/// The result of syncing one account.
#[derive(Debug)]
pub enum SyncOutcome {
    /// New data was stored: this many events now held for the account.
    Updated {
        /// Events stored for the account after the sync.
        events: usize,
    },
    /// Nothing changed since the last sync.
    Unchanged,
    /// The source failed; the stored events are kept as they were.
    Failed(SyncError),
}

/// Why an account's sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider is not wired into this build yet.
    #[error("provider {0:?} is not supported by this build")]
    Unsupported(Provider),
}

/// The calendar id under which an .ics account's events are stored.
pub const ICS_CALENDAR: &str = "ics";

/// Syncs every configured account, one after the other.
pub async fn sync_all(config: &Config, store: &Store, http: &reqwest::Client) -> Vec<AccountSync> {
    let mut results = Vec::with_capacity(config.accounts.len());
    for account in &config.accounts {
        results.push(sync_account(account, store, http).await);
    }
    results
}

/// Syncs one account and reports how it went; never fails as a whole.
pub async fn sync_account(
    account: &AccountConfig,
    store: &Store,
    http: &reqwest::Client,
) -> AccountSync {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let outcome = match account.provider {
        Provider::Ics => sync_ics(account, store, http, &mut warnings).await,
        other => Err(SyncError::Unsupported(other)),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::warn!(account = %account.name, "sync failed: {error}");
            SyncOutcome::Failed(error)
        }
    };
    AccountSync {
        account: account.name.clone(),
        outcome,
        warnings,
        elapsed: started.elapsed(),
    }
}

/// An .ics feed is always listed whole: when it changed, its events replace the
/// stored ones in one transaction, together with the feed's new validators.
async fn sync_ics(
    account: &AccountConfig,
    store: &Store,
    http: &reqwest::Client,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let url = account.url.as_deref().unwrap_or_default();
    let calendar = CalendarRef {
        account: account.name.clone(),
        calendar: ICS_CALENDAR.to_string(),
    };
    // A cursor that no longer decodes (older format, damage) only costs one full fetch.
    let previous: Option<FeedValidators> = store
        .cursor(&calendar)?
        .and_then(|text| serde_json::from_str(&text).ok());
    match fetch_ics(http, url, previous.as_ref()).await? {
        FetchOutcome::Unchanged => Ok(SyncOutcome::Unchanged),
        FetchOutcome::Changed { text, validators } => {
            let parsed = parse_ics(&text, &crate::sources::redact_url(url));
            for warning in &parsed.warnings {
                tracing::warn!(account = %account.name, "{warning}");
                warnings.push(warning.to_string());
            }
            let events = parsed.events.len();
            let cursor = serde_json::to_string(&validators).ok();
            let changes = CalendarChanges {
                full: true,
                upserted: parsed.events,
                deleted: Vec::new(),
                cursor,
            };
            store.apply_changes(&calendar, &changes)?;
            Ok(SyncOutcome::Updated { events })
        }
    }
}

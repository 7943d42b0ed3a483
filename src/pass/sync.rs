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
    /// The account's sync task ended abnormally (a bug; reported, not fatal).
    #[error("the sync task failed unexpectedly")]
    Crashed,
}

/// The calendar id under which an .ics account's events are stored.
pub const ICS_CALENDAR: &str = "ics";

/// The HTTP clients of the sources: feeds may redirect; provider APIs must not
/// (a redirect would carry the bearer token elsewhere).
#[derive(Clone, Debug)]
pub struct Clients {
    /// For .ics feeds.
    pub feeds: reqwest::Client,
    /// For Google and Microsoft APIs.
    pub api: reqwest::Client,
}

impl Clients {
    /// Clients with tete's timeouts and user agent.
    pub fn new() -> Result<Clients, SourceError> {
        Ok(Clients {
            feeds: crate::pass::http_client(),
            api: crate::sources::http::Http::default_client()?,
        })
    }
}

/// How many accounts are polled at the same time. Each account's own requests are
/// further limited by its request budget (see `sources::http`).
pub const PARALLEL_ACCOUNTS: usize = 16;

/// Syncs every configured account.
pub async fn sync_all(config: &Config, store: &Store, clients: &Clients) -> Vec<AccountSync> {
    sync_accounts(config, config.accounts.clone(), store, clients).await
}

/// Syncs `accounts`, up to [`PARALLEL_ACCOUNTS`] at once; results in the given order.
/// A panic in one account's task (a bug) is reported as that account's failure.
pub async fn sync_accounts(
    config: &Config,
    accounts: Vec<AccountConfig>,
    store: &Store,
    clients: &Clients,
) -> Vec<AccountSync> {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(PARALLEL_ACCOUNTS));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in accounts.iter().cloned().enumerate() {
        let (config, store, clients, limit) = (
            config.clone(),
            store.clone(),
            clients.clone(),
            limit.clone(),
        );
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (
                index,
                sync_account(&config, &account, &store, &clients).await,
            )
        });
    }
    let mut results: Vec<Option<AccountSync>> = accounts.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, result)) = joined
            && let Some(slot) = results.get_mut(index)
        {
            *slot = Some(result);
        }
    }
    results
        .into_iter()
        .zip(accounts)
        .map(|(result, account)| {
            result.unwrap_or_else(|| AccountSync {
                account: account.name.clone(),
                outcome: SyncOutcome::Failed(SyncError::Crashed),
                warnings: Vec::new(),
                elapsed: std::time::Duration::ZERO,
            })
        })
        .collect()
}

/// Syncs one account and reports how it went; never fails as a whole.
pub async fn sync_account(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    clients: &Clients,
) -> AccountSync {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let outcome = match account.provider {
        Provider::Ics => sync_ics(account, store, &clients.feeds, &mut warnings).await,
        Provider::Google => sync_google(config, account, store, &clients.api, &mut warnings).await,
        Provider::Microsoft => {
            sync_microsoft(config, account, store, &clients.api, &mut warnings).await
        }
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::warn!(account = %account.name, "sync failed: {error}");
            SyncOutcome::Failed(error)
        }
    };
    let recorded = match &outcome {
        SyncOutcome::Updated { events } => Ok(Some(*events)),
        SyncOutcome::Unchanged => Ok(None),
        SyncOutcome::Failed(error) => Err(error.to_string()),
    };
    if let Err(error) = store.record_sync(&account.name, chrono::Utc::now(), recorded) {
        tracing::warn!(account = %account.name, "cannot record the sync: {error}");
    }
    AccountSync {
        account: account.name.clone(),
        outcome,
        warnings,
        elapsed: started.elapsed(),
    }
}

/// A Google account: every configured calendar, each applied in one transaction with
/// its sync token. One calendar failing is reported and the others still sync; an
/// account-wide failure (needs sign-in, rate limited) fails the account.
async fn sync_google(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    api: &reqwest::Client,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let options = crate::sources::google::SyncOptions {
        history: Some(config.detection.history),
    };
    let reports = crate::sources::google::sync_configured_account(
        account,
        store,
        api,
        config.token_key_file.as_deref(),
        options,
        chrono::Utc::now(),
    )
    .await?;
    let calendars = reports.into_iter().map(|r| r.map(CalendarOutcome::from));
    summarize(account, store, calendars, warnings)
}

/// A Microsoft 365 account: a delta round over each configured calendar's view,
/// applied in one transaction with its delta link; same failure rules as Google.
async fn sync_microsoft(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    api: &reqwest::Client,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let policy = crate::sources::microsoft::WindowPolicy::covering(
        config.detection.history,
        config.detection.horizon,
    );
    let reports = crate::sources::microsoft::sync_configured_account(
        account,
        store,
        api,
        config.token_key_file.as_deref(),
        policy,
        chrono::Utc::now(),
    )
    .await?;
    let calendars = reports.into_iter().map(|r| r.map(CalendarOutcome::from));
    summarize(account, store, calendars, warnings)
}

/// What one calendar of an OAuth account did.
struct CalendarOutcome {
    calendar: String,
    changed: bool,
    skipped: Vec<String>,
}

impl From<crate::sources::google::CalendarReport> for CalendarOutcome {
    fn from(r: crate::sources::google::CalendarReport) -> Self {
        CalendarOutcome {
            calendar: r.calendar,
            changed: r.full || r.upserted > 0 || r.deleted > 0,
            skipped: r.skipped,
        }
    }
}

impl From<crate::sources::microsoft::ViewReport> for CalendarOutcome {
    fn from(r: crate::sources::microsoft::ViewReport) -> Self {
        CalendarOutcome {
            calendar: r.calendar,
            changed: r.full || r.upserted > 0 || r.deleted > 0,
            skipped: r.skipped,
        }
    }
}

/// One outcome for the account from its calendars' results: updated if any calendar
/// changed, failed only if some calendar failed and none changed.
fn summarize(
    account: &AccountConfig,
    store: &Store,
    calendars: impl Iterator<Item = Result<CalendarOutcome, SourceError>>,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let mut changed = false;
    let mut first_error = None;
    for calendar in calendars {
        match calendar {
            Ok(calendar) => {
                changed |= calendar.changed;
                for skipped in calendar.skipped {
                    warnings.push(format!("calendar {}: skipped {skipped}", calendar.calendar));
                }
            }
            Err(error) => {
                warnings.push(error.to_string());
                first_error.get_or_insert(error);
            }
        }
    }
    match (first_error, changed) {
        (Some(error), false) => Err(error.into()),
        (_, true) => {
            let events = store.account_event_count(&account.name)?;
            Ok(SyncOutcome::Updated { events })
        }
        (None, false) => Ok(SyncOutcome::Unchanged),
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
            let origin = crate::sources::redact_url(url);
            let parsed = parse_ics(&text, &origin);
            let (shown, hidden) = super::capped(&parsed.warnings);
            for warning in shown {
                tracing::warn!(account = %account.name, "{warning}");
            }
            if hidden > 0 {
                tracing::warn!(account = %account.name, "{origin}: {hidden} more warnings about this file not shown");
            }
            warnings.extend(parsed.warnings.iter().map(ToString::to_string));
            let events = parsed.events.len();
            let cursor = serde_json::to_string(&validators).ok();
            let mut changes = CalendarChanges {
                full: true,
                upserted: parsed.events,
                deleted: Vec::new(),
                cursor,
                index: None,
            };
            changes.retain_events(crate::detect::worth_keeping);
            store.apply_changes(&calendar, &changes)?;
            Ok(SyncOutcome::Updated { events })
        }
    }
}

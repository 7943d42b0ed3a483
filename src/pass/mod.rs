//! One pass: sync every account, expand, detect, harvest context, plan, queue, send.
//!
//! `tete run --once` runs one pass; the daemon syncs the accounts that are due on
//! its own schedule and then calls the same [`plan_and_deliver`] on every tick.
//! Data flows one way; each step hands plain values to the next. Time is a parameter:
//! the caller reads the clock once and every step of the pass sees that one `now`.

pub mod analysis;
pub mod briefs;
pub mod digest;
pub mod followups;
pub mod notices;
pub mod org;
pub mod replies;
pub mod sync;
pub mod xoauth2;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::mail::{self, DrainReport};
use crate::store::{Store, StoreError};

pub use crate::core::analyze::{Analysis, SeriesView, analyze};
pub use briefs::{BriefStepError, QueueReport};
pub use sync::{AccountSync, Clients, SyncOutcome};

/// What one pass did.
#[derive(Debug)]
pub struct PassReport {
    /// Per-account sync results.
    pub syncs: Vec<AccountSync>,
    /// Series found.
    pub analysis: Arc<Analysis>,
    /// Briefs queued and withheld.
    pub queue: QueueReport,
    /// Recaps and cadence notes queued.
    pub followups: followups::FollowupReport,
    /// What the transport did with the outbox.
    pub delivery: DrainReport,
}

/// Errors that stop a pass (one account's failure does not: see [`AccountSync`]).
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Composing, queueing or sending failed as a whole.
    #[error(transparent)]
    Briefs(#[from] BriefStepError),
}

impl PassError {
    /// The store error that stopped the pass, if a store error did.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            PassError::Store(error) => Some(error),
            PassError::Briefs(error) => error.store_error(),
        }
    }
}

/// An HTTP client for the sources: rustls, bounded timeouts, an honest user agent.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("tete/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(15))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap_or_default()
}

/// Whose calendar each account reads: the configured `owner`, else the address the
/// provider told at sign-in (Google's primary calendar id).
pub fn account_owners(
    config: &Config,
    store: &Store,
) -> Result<HashMap<String, String>, StoreError> {
    let mut owners = HashMap::new();
    for account in &config.accounts {
        let owner = match &account.owner {
            Some(owner) => Some(owner.clone()),
            None => store
                .account_state(&account.name)?
                .owner
                .map(|o| crate::model::normalize_email(&o)),
        };
        if let Some(owner) = owner {
            owners.insert(account.name.clone(), owner);
        }
    }
    Ok(owners)
}

/// Analyzes what the store holds at `now`.
pub fn analyze_store(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Analysis, StoreError> {
    analyze_store_logging_new(config, store, now, &mut HashSet::new())
}

/// [`analyze_store`] for a long-running caller: logs only the warnings that are not
/// in `logged` (what the previous rounds logged), so the daemon says each once rather
/// than every round. `logged` then holds the current warnings, so a problem that goes
/// away and comes back is logged again. The store is read series by series.
pub fn analyze_store_logging_new(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
    logged: &mut HashSet<String>,
) -> Result<Analysis, StoreError> {
    let owners = account_owners(config, store)?;
    let mut analysis = analysis::analyze_series_of_store(
        config,
        store,
        &owners,
        now,
        &briefs::expansion_limits(),
    )?;
    log_new_warnings(&analysis.warnings, logged);
    bind_contexts(store, &mut analysis)?;
    Ok(analysis)
}

/// The analysis of a round of a long-running caller: `cache` brought up to date (see
/// [`analysis::AnalysisCache`]), its new warnings logged once.
pub fn analyze_store_cached(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
    state: &mut PassState,
) -> Result<(Arc<Analysis>, analysis::RoundWork), StoreError> {
    let owners = account_owners(config, store)?;
    let bind = |view: &mut SeriesView| bind_context(store, view);
    let (analysis, work) = state.analysis.update(
        config,
        store,
        &owners,
        now,
        &briefs::expansion_limits(),
        &bind,
    )?;
    if work.full || work.analysed > 0 {
        log_new_warnings(&analysis.warnings, &mut state.logged_warnings);
    }
    Ok((analysis, work))
}

/// Logs the warnings not in `logged`, then makes `logged` the current ones.
fn log_new_warnings(warnings: &[String], logged: &mut HashSet<String>) {
    let new: Vec<&String> = warnings.iter().filter(|w| !logged.contains(*w)).collect();
    let (shown, hidden) = capped(&new);
    for warning in shown {
        tracing::warn!("{warning}");
    }
    if hidden > 0 {
        tracing::warn!("{hidden} more series with recurrence problems not shown");
    }
    *logged = warnings.iter().cloned().collect();
}

/// Points each 1:1 series at the context of its current pair (see
/// [`Store::context_id`]), so a series whose second person changed shows the new pair
/// none of the old pair's items or notes.
fn bind_contexts(store: &Store, analysis: &mut Analysis) -> Result<(), StoreError> {
    for view in analysis.series.iter_mut() {
        bind_context(store, view)?;
    }
    Ok(())
}

/// [`bind_contexts`] for one series view (nothing to bind for one that is no 1:1).
fn bind_context(store: &Store, view: &mut SeriesView) -> Result<(), StoreError> {
    if view.verdict.one_on_one
        && let Some(pair) = crate::model::Pair::of(&view.verdict.participants)
    {
        view.context = store.context_id(view.id(), &pair)?;
    }
    Ok(())
}

/// Most warnings about one file (or one analysis) logged in a pass: one malformed
/// file once wrote 200,000 lines (29 MB) to the log on every change.
pub const MAX_WARNINGS_LOGGED: usize = 20;

/// The first [`MAX_WARNINGS_LOGGED`] of `warnings`, and how many are left out (to be
/// logged as one line with that count).
pub fn capped<T>(warnings: &[T]) -> (&[T], usize) {
    let shown = warnings.len().min(MAX_WARNINGS_LOGGED);
    (&warnings[..shown], warnings.len() - shown)
}

/// What a long-running caller keeps from one round to the next (a one-shot pass
/// starts from [`PassState::default`]).
#[derive(Debug, Default)]
pub struct PassState {
    /// The analysis warnings logged so far, so each is logged once, not every round.
    pub logged_warnings: HashSet<String>,
    /// Briefs sent whose record the store failed to write; written first next time.
    pub unrecorded: mail::UnrecordedSends,
    /// The analysis of the previous round, re-done only where the store or the time
    /// changed it.
    pub analysis: analysis::AnalysisCache,
}

/// What [`plan_and_deliver`] did.
#[derive(Debug)]
pub struct RoundReport {
    /// Series found (shared with the analysis cache of [`PassState`]).
    pub analysis: Arc<Analysis>,
    /// Briefs queued and withheld.
    pub queue: QueueReport,
    /// Recaps and cadence notes queued.
    pub followups: followups::FollowupReport,
    /// What the transport did with the outbox.
    pub delivery: DrainReport,
    /// When the outbox next has something to retry.
    pub next_attempt: Option<DateTime<Utc>>,
}

impl RoundReport {
    /// The earliest time there is work again: the next brief due or outbox retry.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        [self.queue.next_due, self.next_attempt]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Everything of a pass after the sync, at `now`: analyze the store, refresh the
/// harvested context, queue the briefs that are due and the sign-in notices, and
/// drain the outbox. `state` carries what a long-running caller keeps between rounds.
pub async fn plan_and_deliver(
    config: &Config,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
    state: &mut PassState,
) -> Result<RoundReport, PassError> {
    let (analysis, _) = analyze_store_cached(config, store, now, state)?;
    briefs::refresh_context(store, &analysis, now)?;
    // Read once per pass: briefs and recaps both carry reply tokens.
    let secret = replies::secret_for_briefs(config);
    let queue = briefs::queue_due(config, store, &analysis, secret.as_ref(), now)?;
    let followups = followups::queue_followups(config, store, &analysis, secret.as_ref(), now)?;
    let owners = account_owners(config, store)?;
    notices::queue_sign_in_notices(config, store, &owners, now).map_err(BriefStepError::from)?;
    let delivery = briefs::deliver(config, store, clients, now, &mut state.unrecorded).await?;
    let next_attempt = store.outbox_summary()?.next_attempt;
    Ok(RoundReport {
        analysis,
        queue,
        followups,
        delivery,
        next_attempt,
    })
}

/// Runs one whole pass at `now`: every account is synced, then [`plan_and_deliver`].
pub async fn run_once(
    config: &Config,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
) -> Result<PassReport, PassError> {
    // Org mode: read the directories that are due, then treat each org's people as
    // accounts for the rest of the pass.
    org::refresh_rosters(config, store, &clients.orgs, &clients.api, now).await;
    let config = &org::with_org_people(config, store)?;
    let syncs = sync::sync_all(config, store, clients, now).await;
    let round = plan_and_deliver(config, store, clients, now, &mut PassState::default()).await?;
    store.flush()?;
    Ok(PassReport {
        syncs,
        analysis: round.analysis,
        queue: round.queue,
        followups: round.followups,
        delivery: round.delivery,
    })
}

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

/// A fingerprint of what a round depends on besides the events and the time: the
/// owners and the config sections that detection, planning and the follow-ups read.
/// When it changes, the next round analyses and plans every series again.
pub fn round_inputs(config: &Config, owners: &HashMap<String, String>) -> u64 {
    use std::fmt::Write as _;
    use std::hash::Hasher as _;
    /// Feeds formatted text straight into a hasher (a 10,000-person org's config is
    /// megabytes of text, never built as one string).
    struct Hashing(std::collections::hash_map::DefaultHasher);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.0.write(text.as_bytes());
            Ok(())
        }
    }
    let mut owners: Vec<(&String, &String)> = owners.iter().collect();
    owners.sort();
    let mut hashing = Hashing(std::collections::hash_map::DefaultHasher::new());
    let _ = write!(
        hashing,
        "{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{owners:?}",
        config.detection,
        config.timezone.name(),
        config.brief,
        config.mail.allowed_domains,
        config.mail.opt_out,
        config.people,
        config.recap,
        config.cadence,
        config.inbox.is_some(),
    );
    hashing.0.finish()
}

/// What a round queued, before delivery (see [`analyze_and_queue`]).
#[derive(Debug)]
pub struct Queued {
    /// The views the round reports: every series it analysed when
    /// `PassState::keep_views` is set, none otherwise.
    pub analysis: Analysis,
    /// What the analysis did.
    pub work: analysis::RoundWork,
    /// Briefs queued and withheld.
    pub queue: QueueReport,
    /// Recaps and cadence notes queued.
    pub followups: followups::FollowupReport,
}

/// How many views with something due a round holds before it plans and queues them:
/// a first round, or one at a time many briefs fall due, never holds them all.
const PLAN_BATCH: usize = 256;

/// Plans and queues the briefs and follow-ups of one batch of views.
fn queue_batch(
    views: Vec<SeriesView>,
    now: DateTime<Utc>,
    queue: &mut briefs::BriefQueue<'_>,
    followups: &mut followups::FollowupReport,
) -> Result<Analysis, PassError> {
    let batch = Analysis::from_parts(now, views, Vec::new());
    queue.queue(&batch)?;
    let queued = queue.queue_followups(&batch)?;
    followups.recaps += queued.recaps;
    followups.cadence_notes += queued.cadence_notes;
    Ok(batch)
}

/// A round after the sync, all but the delivery: `state`'s cache brought up to date
/// (see [`analysis::AnalysisCache`]); each 1:1 it analyses gets its context harvested
/// at once, and those with something due at `now` (every one, when
/// `state.keep_views` is set) are planned and queued, a batch at a time, so a round's
/// memory follows what is due, not the store. New warnings are logged once.
pub fn analyze_and_queue(
    config: &Config,
    store: &Store,
    owners: &HashMap<String, String>,
    policy: &crate::core::plan::BriefPolicy,
    secret: Option<&replies::ReplySecret>,
    now: DateTime<Utc>,
    state: &mut PassState,
) -> Result<Queued, PassError> {
    use crate::core::attention;
    let keep_all = state.keep_views;
    let mut queue = briefs::BriefQueue::new(config, store, policy, secret, now);
    let mut followups = followups::FollowupReport::default();
    let mut batch = Vec::new();
    let mut visit = |mut view: SeriesView| -> Result<analysis::Attention, PassError> {
        bind_context(store, &mut view)?;
        if !view.verdict.one_on_one {
            if keep_all {
                batch.push(view);
            }
            return Ok(analysis::Attention::default());
        }
        briefs::refresh_series_context(store, &view, now)?;
        store.note_one_on_one(view.id(), &view.verdict.uid)?;
        let found = analysis::Attention {
            revisit: Some(attention::next_change(config, policy, &view, now)),
            next_brief: attention::next_brief(policy, &view, now),
        };
        if keep_all || attention::has_work(config, policy, &view, now) {
            batch.push(view);
        }
        if !keep_all && batch.len() >= PLAN_BATCH {
            let views = std::mem::take(&mut batch);
            queue_batch(views, now, &mut queue, &mut followups)?;
        }
        Ok(found)
    };
    let work = state.analysis.update(
        config,
        store,
        owners,
        now,
        &briefs::expansion_limits(),
        round_inputs(config, owners),
        &mut visit,
    )?;
    let warnings = state.analysis.warnings();
    if work.full || work.analysed > 0 {
        log_new_warnings(&warnings, &mut state.logged_warnings);
    }
    let mut analysis = queue_batch(batch, now, &mut queue, &mut followups)?;
    if !keep_all {
        analysis.series.clear();
    }
    analysis.warnings = warnings;
    Ok(Queued {
        analysis,
        work,
        queue: queue.finish()?,
        followups,
    })
}

/// The series that reply tokens name (by series id), analysed at `now` without
/// analysing the rest of the store: each id is looked up among the 1:1s the rounds
/// noted (see [`Store::note_one_on_one`]). When one is not there (a store the rounds
/// have not seen yet), the whole store is analysed instead.
pub fn analyze_bound_series(
    config: &Config,
    store: &Store,
    ids: &[crate::model::SeriesId],
    now: DateTime<Utc>,
) -> Result<Analysis, StoreError> {
    let mut uids = std::collections::BTreeSet::new();
    for id in ids {
        match store.one_on_one_uid(id)? {
            Some(uid) => {
                uids.insert(uid);
            }
            None => return analyze_store(config, store, now),
        }
    }
    let owners = account_owners(config, store)?;
    let mut analysis = analysis::analyze_uids(
        config,
        store,
        &owners,
        &uids,
        now,
        &briefs::expansion_limits(),
    )?;
    bind_contexts(store, &mut analysis)?;
    Ok(analysis)
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
/// starts from [`PassState::one_shot`]).
#[derive(Debug, Default)]
pub struct PassState {
    /// Keep every analysed view in the round's report (a one-shot pass lists them all);
    /// a long-running caller keeps only those with something due.
    pub keep_views: bool,
    /// The analysis warnings logged so far, so each is logged once, not every round.
    pub logged_warnings: HashSet<String>,
    /// Briefs sent whose record the store failed to write; written first next time.
    pub unrecorded: mail::UnrecordedSends,
    /// What the previous rounds learned of each series, so that a round analyses only
    /// where the store or the time changed something.
    pub analysis: analysis::AnalysisCache,
}

impl PassState {
    /// The state of a one-shot pass: every series analysed, every view reported.
    pub fn one_shot() -> PassState {
        PassState {
            keep_views: true,
            ..PassState::default()
        }
    }
}

/// What [`plan_and_deliver`] did.
#[derive(Debug)]
pub struct RoundReport {
    /// The series the round reports (see [`Queued::analysis`]).
    pub analysis: Arc<Analysis>,
    /// How many series there are in all.
    pub counts: analysis::SeriesCounts,
    /// When the next brief the round knows of is due.
    pub next_brief: Option<DateTime<Utc>>,
    /// When a series must be looked at again (a brief due, a meeting starting, ...).
    pub next_revisit: Option<DateTime<Utc>>,
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
    /// The earliest time there may be work again: a series to look at again, the
    /// next brief due or an outbox retry.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        [self.queue.next_due, self.next_attempt, self.next_revisit]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Everything of a pass after the sync, at `now`: analyze what changed in the store
/// (harvesting each 1:1's context), queue the briefs and follow-ups that are due and
/// the sign-in notices, and drain the outbox. `state` carries what a long-running caller keeps between rounds.
pub async fn plan_and_deliver(
    config: &Config,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
    state: &mut PassState,
) -> Result<RoundReport, PassError> {
    let round = round_after_sync(config, store, clients, now, state).await;
    if round.is_err() {
        // The rounds' cache says which series were handled; a round that failed part
        // way (or a store that lost its last writes) may not have done what it says.
        // The next round starts over from the store, in full.
        state.analysis = analysis::AnalysisCache::default();
    }
    round
}

/// [`plan_and_deliver`] without the reset on failure.
async fn round_after_sync(
    config: &Config,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
    state: &mut PassState,
) -> Result<RoundReport, PassError> {
    let owners = account_owners(config, store)?;
    let policy = briefs::policy(config, &owners);
    // Read once per pass: briefs and recaps both carry reply tokens.
    let secret = replies::secret_for_briefs(config);
    let Queued {
        analysis,
        queue,
        followups,
        ..
    } = analyze_and_queue(config, store, &owners, &policy, secret.as_ref(), now, state)?;
    notices::queue_sign_in_notices(config, store, &owners, now).map_err(BriefStepError::from)?;
    let delivery = briefs::deliver(config, store, clients, now, &mut state.unrecorded).await?;
    let next_attempt = store.outbox_summary()?.next_attempt;
    Ok(RoundReport {
        analysis: Arc::new(analysis),
        counts: state.analysis.counts(),
        next_brief: state.analysis.next_brief(),
        next_revisit: state.analysis.next_revisit(),
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
    let round = plan_and_deliver(config, store, clients, now, &mut PassState::one_shot()).await?;
    store.flush()?;
    Ok(PassReport {
        syncs,
        analysis: round.analysis,
        queue: round.queue,
        followups: round.followups,
        delivery: round.delivery,
    })
}

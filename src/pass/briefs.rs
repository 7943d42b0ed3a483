//! The last steps of a pass: harvest each 1:1's context, plan the due briefs, compose
//! and queue them (one transaction each), then hand the outbox to the transport.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::core::analyze::{Analysis, SeriesView};
use crate::core::brief::{self, BriefInput, RenderedBrief, SeriesContext, assemble, meeting_index};
use crate::core::context::{
    self, ActionItem, Meeting, ParsedDescription, description_notes, observe_descriptions,
};
use crate::core::plan::{
    self, BriefPolicy, DueBrief, Ledger, PlannedSeries, Withheld, original_start,
};
use crate::mail::{self, DrainReport, MailError};
use crate::model::{EventStatus, Occurrence, Person, SeriesId};
use crate::store::{Store, StoreError};

/// Errors of the brief steps.
#[derive(Debug, thiserror::Error)]
pub enum BriefStepError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building or sending mail failed as a whole (not one message).
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A brief could not be rendered.
    #[error(transparent)]
    Render(#[from] brief::BriefError),
}

impl BriefStepError {
    /// The store error behind this one, if a store error caused it.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            BriefStepError::Store(error) | BriefStepError::Mail(MailError::Store(error)) => {
                Some(error)
            }
            _ => None,
        }
    }
}

/// The descriptions of a series' occurrences up to and including the next one, parsed
/// (each distinct text once). Only meetings of the current pair are read: an occurrence
/// someone else attended belongs to another pair's context.
fn observed_descriptions(
    view: &SeriesView,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, ParsedDescription)> {
    let next_start = view.next(now).map(|o| o.start_utc);
    let read = view
        .occurrences
        .iter()
        .filter(|o| o.start_utc < now || Some(o.start_utc) == next_start)
        .filter(|o| view.is_current_pair(o));
    observe_descriptions(read, &view.verdict.participants)
}

/// Harvests action items, description notes and meeting history of a 1:1 series into
/// the store. Idempotent: the same calendar state gives the same store state.
pub fn refresh_series_context(
    store: &Store,
    view: &SeriesView,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // The context of the series' current pair, not of whoever met in it before.
    let series = &view.context;
    let observed = observed_descriptions(view, now);
    let existing = store.items(series)?;
    let harvested = context::harvest(series, &existing, &observed, now);
    if needs_saving(&existing, &harvested, now) {
        store.save_items(series, &harvested)?;
    }
    let author = view
        .events
        .iter()
        .find_map(|e| e.organizer.as_ref().map(Person::key))
        .or_else(|| view.verdict.owners.first().cloned())
        .unwrap_or_default();
    for (start, parsed) in observed.iter().filter(|(start, _)| *start < now) {
        for note in description_notes(series, *start, parsed, &author, now) {
            store.add_note(&note)?;
        }
    }
    let meetings: Vec<Meeting> = view
        .occurrences
        .iter()
        .filter(|o| o.start_utc < now && view.is_current_pair(o))
        .map(Meeting::from)
        .collect();
    store.record_meetings(series, &meetings)
}

/// Whether a harvest must be written. Every harvest moves the items' `last_seen` to
/// now; writing that alone on every poll would cost one synced store write per 1:1
/// per poll. So an unchanged harvest is written at most once a day: `last_seen` only
/// bounds how early a newly written line may be dated, and a day is finer than that.
fn needs_saving(existing: &[ActionItem], harvested: &[ActionItem], now: DateTime<Utc>) -> bool {
    let without_last_seen = |items: &[ActionItem]| -> Vec<ActionItem> {
        items
            .iter()
            .map(|item| ActionItem {
                last_seen: DateTime::<Utc>::MIN_UTC,
                ..item.clone()
            })
            .collect()
    };
    if without_last_seen(existing) != without_last_seen(harvested) {
        return true;
    }
    let last_write = existing.iter().map(|item| item.last_seen).max();
    last_write.is_none_or(|at| now - at >= chrono::TimeDelta::days(1))
}

/// The brief policy of the config. When no domains are allowed explicitly, only the
/// calendar owners' domains are (`owners` maps each account to its owner, see
/// [`crate::pass::account_owners`]): a brief never leaves the organisation by default.
pub fn policy(config: &Config, owners: &HashMap<String, String>) -> BriefPolicy {
    let mut policy = BriefPolicy::from_config(config);
    if policy.allowed_domains.is_empty() {
        let mut domains: Vec<String> = owners
            .values()
            .filter_map(|owner| owner.rsplit_once('@'))
            .map(|(_, domain)| domain.to_lowercase())
            .collect();
        domains.sort();
        domains.dedup();
        policy.allowed_domains = domains;
    }
    policy
}

/// The 1:1 series in the shape the planner wants: the next meeting of each, plus the
/// cancelled ones (so the plan can say why they get no brief). A meeting whose own
/// attendees are no longer the same two people (a third person added) is left out.
pub fn planned_series(analysis: &Analysis) -> Vec<PlannedSeries> {
    analysis
        .one_on_ones()
        .filter_map(|view| {
            let pair: [Person; 2] = view.verdict.participants.clone().try_into().ok()?;
            let owner = view.verdict.owners.first()?.clone();
            // Only the next meeting of a series is briefed: the brief of the one after
            // depends on what happens in this one (items done, notes taken).
            let next = view.next(analysis.now).map(|o| o.start_utc);
            // A meeting whose own attendees are no longer the two people is left out.
            let occurrences = view
                .occurrences
                .iter()
                .filter(|o| o.status == EventStatus::Cancelled || Some(o.start_utc) == next)
                .filter(|o| view.is_current_pair(o))
                .cloned()
                .collect();
            Some(PlannedSeries {
                series: view.id().clone(),
                participants: pair,
                owner,
                occurrences,
            })
        })
        .collect()
}

/// Plans the briefs at `now` against the store's ledger (queued, sent, skipped).
pub fn make_plan(
    store: &Store,
    analysis: &Analysis,
    policy: &BriefPolicy,
    now: DateTime<Utc>,
) -> plan::Plan {
    let series = planned_series(analysis);
    // Skips are kept with the context of the series' current pair.
    let contexts: std::collections::HashMap<&crate::model::SeriesId, &crate::model::SeriesId> =
        analysis
            .one_on_ones()
            .map(|view| (view.id(), &view.context))
            .collect();
    // A store error here must not read as "not sent": treat it as sent, so nothing is
    // sent twice; the error surfaces on the next store call of the pass.
    let is_done = |key: &plan::BriefKey| store.was_queued_or_sent(key).unwrap_or(true);
    let is_skipped = |series: &crate::model::SeriesId, occurrence: &Occurrence, person: &str| {
        let context = contexts.get(series).copied().unwrap_or(series);
        store
            .is_skipped_for(context, original_start(occurrence), person)
            .unwrap_or(true)
    };
    let ledger = Ledger {
        is_done: &is_done,
        is_skipped: &is_skipped,
    };
    plan::plan(&series, now, policy, &ledger)
}

/// The expansion limits of a pass: the defaults, with their time budgets on the
/// process's monotonic clock (the core reads none itself).
pub fn expansion_limits() -> crate::core::calendar::Limits {
    crate::core::calendar::Limits::timed(std::time::Instant::now)
}

/// Loads what the store holds about a series' current pair: once per series and pass,
/// whichever recipients and meetings it is composed for.
pub fn load_context(store: &Store, view: &SeriesView) -> Result<SeriesContext, StoreError> {
    Ok(SeriesContext {
        items: store.items(&view.context)?,
        notes: store.notes(&view.context)?,
        meetings: store.meetings(&view.context)?,
        topics: store.topics(&view.context)?,
    })
}

/// Fills a due brief's view model with the series' context as `recipient` may see it
/// (one brief; a pass composing many uses [`load_context`] and [`assemble`] directly).
pub fn compose(
    config: &Config,
    store: &Store,
    view: &SeriesView,
    due: &DueBrief,
    policy: &BriefPolicy,
    now: DateTime<Utc>,
) -> Result<BriefInput, StoreError> {
    let context = load_context(store, view)?;
    let index = meeting_index(config, view, &due.occurrence, &expansion_limits());
    Ok(assemble(config, view, &context, due, policy, index, now))
}

/// What queueing did.
#[derive(Debug, Default)]
pub struct QueueReport {
    /// Briefs newly put in the outbox.
    pub queued: usize,
    /// Briefs withheld, with the reason (opt-out, domain, skipped, cancelled).
    pub withheld: Vec<Withheld>,
    /// Briefs that failed to compose or render (logged; retried next pass).
    pub failed: Vec<String>,
    /// When the next brief becomes due.
    pub next_due: Option<DateTime<Utc>>,
}

/// Composes and queues every due brief of `analysis`. Each brief is queued in one
/// store transaction that also checks the sent log, so a brief is queued at most once.
pub fn queue_due(
    config: &Config,
    store: &Store,
    analysis: &Analysis,
    policy: &BriefPolicy,
    secret: Option<&crate::pass::replies::ReplySecret>,
    now: DateTime<Utc>,
) -> Result<QueueReport, BriefStepError> {
    let mut queue = BriefQueue::new(config, store, policy, secret, now);
    queue.queue(analysis)?;
    queue.finish()
}

/// The brief step of a round fed in batches (a round that analyses many series hands
/// their views over a few hundred at a time, so it never holds them all): each batch's
/// due briefs are composed and queued at once; digests gather across batches and are
/// queued by [`BriefQueue::finish`].
pub struct BriefQueue<'a> {
    config: &'a Config,
    store: &'a Store,
    policy: &'a BriefPolicy,
    secret: Option<&'a crate::pass::replies::ReplySecret>,
    now: DateTime<Utc>,
    digests: crate::pass::digest::Digests,
    report: QueueReport,
}

impl<'a> BriefQueue<'a> {
    /// A queue for the round at `now`.
    pub fn new(
        config: &'a Config,
        store: &'a Store,
        policy: &'a BriefPolicy,
        secret: Option<&'a crate::pass::replies::ReplySecret>,
        now: DateTime<Utc>,
    ) -> Self {
        BriefQueue {
            config,
            store,
            policy,
            secret,
            now,
            digests: crate::pass::digest::Digests::default(),
            report: QueueReport::default(),
        }
    }

    /// Plans the briefs of one batch of series and queues those due (digest parts
    /// are kept for [`BriefQueue::finish`]).
    pub fn queue(&mut self, analysis: &Analysis) -> Result<(), BriefStepError> {
        let (config, store, policy, now) = (self.config, self.store, self.policy, self.now);
        let plan = make_plan(store, analysis, policy, now);
        self.report.next_due = [self.report.next_due, plan.next_due()]
            .into_iter()
            .flatten()
            .min();
        self.report.withheld.extend(plan.withheld.iter().cloned());
        let views: HashMap<&str, &SeriesView> = analysis
            .series
            .iter()
            .map(|view| (view.id().0.as_str(), view))
            .collect();
        // Each series' context is read once, and each meeting's position in its series
        // (an expansion from the series' start) computed once, for both recipients.
        let mut contexts: HashMap<&SeriesId, SeriesContext> = HashMap::new();
        let mut indexes: HashMap<(&SeriesId, DateTime<Utc>), u64> = HashMap::new();
        for due in &plan.due {
            let Some(view) = views.get(due.key.series.0.as_str()).copied() else {
                continue;
            };
            let context = match contexts.entry(view.id()) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(load_context(store, view)?)
                }
            };
            let index = *indexes
                .entry((view.id(), due.occurrence.start_utc))
                .or_insert_with(|| {
                    meeting_index(config, view, &due.occurrence, &expansion_limits())
                });
            let input = assemble(config, view, context, due, policy, index, now);
            let rendered = match render(&input) {
                Ok(rendered) => rendered,
                Err(error) => {
                    tracing::error!(key = %due.key, "cannot compose brief: {error}");
                    self.report.failed.push(format!("{}: {error}", due.key));
                    continue;
                }
            };
            let threading = crate::pass::replies::brief_threading(
                config.inbox.as_ref(),
                self.secret,
                &due.key,
                due.occurrence.start_utc,
            );
            if self
                .digests
                .take(store, policy, due, &rendered, &threading)?
            {
                continue;
            }
            let queued = mail::outbox_entry(
                &config.mail.from,
                &rendered,
                &due.recipient,
                &due.key,
                due.occurrence.start_utc,
                now,
                &threading,
            )
            .and_then(|entry| mail::queue_entry(store, &entry));
            match queued {
                Ok(true) => self.report.queued += 1,
                Ok(false) => {}
                // A store failure stops the pass; a message that cannot be built (an
                // attendee address from the calendar that is no address) fails this
                // brief only, so one hostile event cannot stop everyone else's briefs.
                Err(mail::MailError::Store(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::error!(key = %due.key, "cannot build the brief's message: {error}");
                    self.report.failed.push(format!("{}: {error}", due.key));
                }
            }
        }
        Ok(())
    }

    /// Queues the recaps and cadence notes due for one batch of series (see
    /// [`crate::pass::followups::queue_followups`]).
    pub fn queue_followups(
        &self,
        analysis: &Analysis,
    ) -> Result<crate::pass::followups::FollowupReport, BriefStepError> {
        crate::pass::followups::queue_followups(
            self.config,
            self.store,
            analysis,
            self.policy,
            self.secret,
            self.now,
        )
    }

    /// Queues the digests gathered from every batch; the round's report.
    pub fn finish(mut self) -> Result<QueueReport, BriefStepError> {
        let (digested, failed) =
            self.digests
                .queue(self.config, self.store, self.policy, self.now)?;
        self.report.queued += digested;
        self.report.failed.extend(failed);
        Ok(self.report)
    }
}

fn render(input: &BriefInput) -> Result<RenderedBrief, BriefStepError> {
    Ok(brief::render(input)?)
}

/// Sends what is due in the outbox through the configured transport, after writing
/// the records that `unrecorded` holds from a drain the store failed (see
/// [`mail::UnrecordedSends`]).
pub async fn deliver(
    config: &Config,
    store: &Store,
    clients: &crate::pass::Clients,
    now: DateTime<Utc>,
    unrecorded: &mut mail::UnrecordedSends,
) -> Result<DrainReport, BriefStepError> {
    unrecorded.settle(store)?;
    if store.due_outbox(now)?.is_empty() {
        // Nothing to send: no transport (and no token refresh for XOAUTH2).
        return Ok(DrainReport::default());
    }
    let transport = crate::pass::xoauth2::transport(config, store, clients).await?;
    Ok(mail::drain_with(store, transport.as_ref(), now, unrecorded).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::context::ItemId;
    use crate::model::SeriesId;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn item(last_seen: &str) -> ActionItem {
        let series = SeriesId("s".into());
        ActionItem {
            id: ItemId::new(&series, "write it"),
            series,
            text: "write it".into(),
            owner: None,
            state: context::ItemState::Open,
            origin: context::ItemOrigin::Cli {
                added_at: at("2026-11-01T00:00:00Z"),
            },
            first_seen: at("2026-11-01T00:00:00Z"),
            last_seen: at(last_seen),
            cli_changed_at: None,
        }
    }

    #[test]
    fn an_unchanged_harvest_is_written_at_most_once_a_day() {
        let now = at("2026-12-01T12:00:00Z");
        let stored = vec![item("2026-12-01T08:00:00Z")];
        let seen_again = vec![item("2026-12-01T12:00:00Z")];
        assert!(!needs_saving(&stored, &seen_again, now));
        let day_old = vec![item("2026-11-30T11:00:00Z")];
        assert!(needs_saving(&day_old, &seen_again, now));
        let mut changed = seen_again.clone();
        changed[0].owner = Some("a@example.com".into());
        assert!(needs_saving(&stored, &changed, now));
    }
}

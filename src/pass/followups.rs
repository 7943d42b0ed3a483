//! After the meeting and between meetings: recaps and cadence notes, queued through
//! the same outbox as briefs (exactly once each, by key).
//!
//! Keys: a recap is `(series, "<occurrence id>/recap", recipient)`; a cadence note is
//! `(series, "cadence/<streak id>", recipient)`, where the streak id is the last held
//! meeting (or the series' start), so one streak gets one note and a meeting held
//! starts a new one.

use chrono::{DateTime, TimeDelta, Utc};

use super::briefs::{BriefStepError, load_context};
use crate::config::Config;
use crate::core::analyze::{Analysis, SeriesView};
use crate::core::attention::{recap_opted_out, recap_window};
use crate::core::brief::{
    CadenceView, RenderedBrief, one_line, recap_view, render_cadence, render_recap,
};
use crate::core::plan::{BriefKey, BriefPolicy, occurrence_id};
use crate::mail;
use crate::model::{Person, SeriesId};
use crate::store::Store;

/// How long a cadence note may wait in the outbox.
const CADENCE_VALIDITY: TimeDelta = TimeDelta::days(3);

/// What [`queue_followups`] queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FollowupReport {
    /// Recaps queued.
    pub recaps: usize,
    /// Cadence notes queued.
    pub cadence_notes: usize,
}

/// The key of `recipient`'s recap of the occurrence with id `occurrence`.
pub fn recap_key(series: &SeriesId, occurrence: &str, recipient: &Person) -> BriefKey {
    BriefKey {
        series: series.clone(),
        occurrence: format!("{occurrence}/recap"),
        recipient: recipient.key(),
    }
}

/// The key of `recipient`'s note about the streak identified by `since`.
pub fn cadence_key(series: &SeriesId, since: DateTime<Utc>, recipient: &Person) -> BriefKey {
    BriefKey {
        series: series.clone(),
        occurrence: format!("cadence/{}", since.format("%Y%m%dT%H%M%SZ")),
        recipient: recipient.key(),
    }
}

/// Both orders of a series' two people: (recipient, other).
fn pairs(view: &SeriesView) -> Vec<(&Person, &Person)> {
    match view.verdict.participants.as_slice() {
        [a, b] => vec![(a, b), (b, a)],
        _ => Vec::new(),
    }
}

/// Queues the recaps and cadence notes due at `now`. A message that cannot be built
/// is logged and skipped (one bad address never stops the others); a store failure
/// stops the step.
pub fn queue_followups(
    config: &Config,
    store: &Store,
    analysis: &Analysis,
    policy: &BriefPolicy,
    secret: Option<&crate::pass::replies::ReplySecret>,
    now: DateTime<Utc>,
) -> Result<FollowupReport, BriefStepError> {
    let mut report = FollowupReport::default();
    for view in analysis.one_on_ones() {
        if config.recap.enabled && !recap_opted_out(config, view) {
            report.recaps += queue_recaps(config, store, view, policy, secret, now)?;
        }
        if config.cadence.alerts {
            report.cadence_notes += queue_cadence(config, store, view, policy, now)?;
        }
    }
    Ok(report)
}

fn queue_recaps(
    config: &Config,
    store: &Store,
    view: &SeriesView,
    policy: &BriefPolicy,
    secret: Option<&crate::pass::replies::ReplySecret>,
    now: DateTime<Utc>,
) -> Result<usize, BriefStepError> {
    let (delay, max_late) = recap_window(config);
    let owner = view.verdict.owners.first().cloned().unwrap_or_default();
    let mut context = None;
    let mut queued = 0;
    for meeting in view.held_before(now) {
        let due = meeting.end_utc + delay;
        let until = due + max_late;
        if now < due || now >= until {
            continue;
        }
        let occurrence = occurrence_id(meeting);
        for (recipient, other) in pairs(view) {
            if policy.refusal(recipient).is_some() {
                continue;
            }
            let key = recap_key(view.id(), &occurrence, recipient);
            if store.was_queued_or_sent(&key)? {
                continue;
            }
            let brief = BriefKey::new(view.id(), meeting, recipient);
            let since = match store.sent_record(&brief)? {
                Some(record) => record.sent_at,
                None => meeting.start_utc - policy.lead_time,
            };
            if context.is_none() {
                context = Some(load_context(store, view)?);
            }
            let Some(loaded) = context.as_ref() else {
                continue;
            };
            let zone = policy.zone_of(&recipient.email);
            let Some(recap) = recap_view(
                &view.verdict.title,
                loaded,
                meeting,
                recipient,
                other,
                &owner,
                since,
                now,
                zone,
                config.inbox.is_some(),
            ) else {
                continue;
            };
            let day = meeting
                .start_utc
                .with_timezone(&zone)
                .format("%a %-d %b")
                .to_string();
            let rendered = render_recap(&recap, &day).map_err(BriefStepError::from)?;
            let threading = crate::pass::replies::brief_threading(
                config.inbox.as_ref(),
                secret,
                &key,
                meeting.start_utc,
            );
            let message = Outgoing {
                rendered: &rendered,
                recipient,
                key: &key,
                not_after: until,
                threading: &threading,
            };
            if queue(config, store, &message, now)? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

fn queue_cadence(
    config: &Config,
    store: &Store,
    view: &SeriesView,
    policy: &BriefPolicy,
    now: DateTime<Utc>,
) -> Result<usize, BriefStepError> {
    let next = view.next(now);
    let Some(streak) = view.streak(now, &config.cadence) else {
        return Ok(0);
    };
    if streak.alert.is_none() {
        return Ok(0);
    }
    let mut queued = 0;
    for (recipient, other) in pairs(view) {
        if policy.refusal(recipient).is_some() {
            continue;
        }
        let key = cadence_key(view.id(), streak.since, recipient);
        if store.was_queued_or_sent(&key)? {
            continue;
        }
        let zone = policy.zone_of(&recipient.email);
        let note = CadenceView {
            title: one_line(&view.verdict.title),
            other_name: one_line(other.display_name()),
            sentence: streak.sentence(zone),
            next: next.map(|o| {
                o.start_utc
                    .with_timezone(&zone)
                    .format("%A %-d %B, %H:%M")
                    .to_string()
            }),
        };
        let rendered = render_cadence(&note).map_err(BriefStepError::from)?;
        let message = Outgoing {
            rendered: &rendered,
            recipient,
            key: &key,
            not_after: now + CADENCE_VALIDITY,
            threading: &mail::Threading::default(),
        };
        if queue(config, store, &message, now)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// One message on its way to the outbox.
struct Outgoing<'a> {
    rendered: &'a RenderedBrief,
    recipient: &'a Person,
    key: &'a BriefKey,
    /// Not sent at or after this.
    not_after: DateTime<Utc>,
    threading: &'a mail::Threading,
}

/// Builds and queues one message; `Ok(false)` when it was queued before or could not
/// be built (logged).
fn queue(
    config: &Config,
    store: &Store,
    message: &Outgoing<'_>,
    now: DateTime<Utc>,
) -> Result<bool, BriefStepError> {
    let key = message.key;
    let entry = match mail::outbox_entry(
        &config.mail.from,
        message.rendered,
        message.recipient,
        key,
        message.not_after,
        now,
        message.threading,
    ) {
        Ok(entry) => entry,
        Err(mail::MailError::Store(error)) => return Err(error.into()),
        Err(error) => {
            tracing::error!(key = %key, "cannot build the message: {error}");
            return Ok(false);
        }
    };
    match mail::queue_entry(store, &entry) {
        Ok(queued) => Ok(queued),
        Err(mail::MailError::Store(error)) => Err(error.into()),
        Err(error) => {
            tracing::error!(key = %key, "cannot queue the message: {error}");
            Ok(false)
        }
    }
}

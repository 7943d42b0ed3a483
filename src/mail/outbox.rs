//! The outbox state machine: briefs wait in the store's `outbox` tree until a transport
//! accepted them, then move to `sent` in one transaction.
//!
//! ```text
//! queued ──send ok──► sent (removed from the outbox, recorded in `sent`)
//!   │  ▲
//!   │  └── temporary failure: retrying { attempts, next_at } (1m, 2m, 4m … 30m)
//!   ├──── permanent failure ─────────► dead { reason }
//!   └──── meeting started (not_after) ► dead { "meeting already started" }
//! ```
//!
//! **The one duplicate window.** Between the server accepting a message and
//! `mark_sent` committing, a crash (or a store error) leaves the entry queued, and the
//! next drain sends it again. There is no `sending` state because SMTP offers no way to
//! ask whether an earlier attempt arrived; the window is one store write long, and the
//! resend carries the same deterministic Message-ID, so a mail client or the
//! recipient can recognise it. The opposite choice (marking before sending) would risk
//! dropping a brief, which is worse.
//!
//! Only one drain may run at a time (the daemon's single mailer task).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::transport::{SendError, Transport};
use super::{MailError, message};
use crate::core::brief::RenderedBrief;
use crate::core::plan::BriefKey;
use crate::model::Person;
use crate::store::{Store, StoreError};

/// First retry delay; each further attempt doubles it.
pub const FIRST_RETRY: TimeDelta = TimeDelta::minutes(1);
/// Longest retry delay.
pub const MAX_RETRY: TimeDelta = TimeDelta::minutes(30);
/// The reason an entry dies when its meeting starts before it could be sent.
pub const EXPIRED_REASON: &str = "meeting already started";

pub use crate::model::outbox::{OutboxEntry, OutboxState, OutboxSummary, SentRecord};

/// What one drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    /// Accepted by the transport and recorded as sent.
    pub sent: usize,
    /// Temporary failures, scheduled for another attempt.
    pub retried: usize,
    /// Permanent failures.
    pub dead: usize,
    /// Not sent because the meeting already started.
    pub expired: usize,
}

/// Builds the message of one brief and queues it. Returns `false` (and queues nothing)
/// when this brief was already queued or sent.
///
/// The message is formatted once, now (its `Date` is `now`): retries send the very same
/// bytes, so every attempt carries the same Message-ID. `not_after` is the meeting start.
pub fn queue_brief(
    store: &Store,
    from: &str,
    brief: &RenderedBrief,
    to: &Person,
    key: &BriefKey,
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let entry = outbox_entry(
        from,
        brief,
        to,
        key,
        not_after,
        now,
        &message::Threading::default(),
    )?;
    queue_entry(store, &entry)
}

/// Queues a message built with [`outbox_entry`] (a brief with reply headers). Returns
/// `false` when its key was already queued or sent.
pub fn queue_entry(store: &Store, entry: &OutboxEntry) -> Result<bool, MailError> {
    let queued = store.enqueue(entry)?;
    if queued {
        tracing::info!(key = %entry.key, message_id = %entry.message_id, "brief queued");
    }
    Ok(queued)
}

/// The outbox entry of one message, formatted but not queued (a reply's
/// confirmation is queued inside the reply's own store transaction).
pub fn outbox_entry(
    from: &str,
    brief: &RenderedBrief,
    to: &Person,
    key: &BriefKey,
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
    threading: &message::Threading,
) -> Result<OutboxEntry, MailError> {
    let message = message::build_message(from, brief, to, key, now, threading)?;
    let raw = message.formatted();
    let message_id = message::message_id_of(&raw).unwrap_or_default();
    let recipient = message
        .envelope()
        .to()
        .first()
        .map(ToString::to_string)
        .ok_or_else(|| MailError::InvalidRecipient {
            address: to.email.clone(),
            reason: "the message has no envelope recipient".into(),
        })?;
    Ok(OutboxEntry {
        key: key.clone(),
        message_id,
        recipient,
        raw,
        not_after,
        state: OutboxState::Queued,
        created: now,
    })
}

/// The delay before retry number `attempts` (1-based): 1m, 2m, 4m … capped at 30m,
/// minus up to 20% jitter so entries that failed together do not retry together.
///
/// The jitter is derived from the key and the attempt rather than a random generator:
/// it spreads different briefs just as well and keeps the schedule reproducible in tests.
pub fn backoff(attempts: u32, key: &BriefKey) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).min(16);
    let base = (FIRST_RETRY * 2_i32.pow(doublings)).min(MAX_RETRY);
    let mut hasher = Sha256::new();
    hasher.update(key.to_bytes());
    hasher.update(attempts.to_be_bytes());
    let digest = hasher.finalize();
    let spread = u64::from(u16::from_be_bytes([digest[0], digest[1]]));
    let jitter_ms = base.num_milliseconds() / 5 * i64::try_from(spread).unwrap_or(0) / 65_535;
    base - TimeDelta::milliseconds(jitter_ms)
}

/// Briefs the transport accepted whose "sent" record the store failed to write (a
/// full disk, an I/O error). The process keeps them and writes them before it sends
/// anything else, so a store that fails between a send and its record costs no
/// duplicate as long as the process lives (a crash in that window still can: RFC 1047).
#[derive(Debug, Default)]
pub struct UnrecordedSends {
    sent: Vec<(BriefKey, DateTime<Utc>)>,
}

impl UnrecordedSends {
    /// True when every accepted brief is recorded.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// How many accepted briefs wait for their record.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    /// Writes the records that failed before; stops at the first that fails again.
    pub fn settle(&mut self, store: &Store) -> Result<(), StoreError> {
        while let Some((key, at)) = self.sent.first() {
            store.mark_sent(key, *at)?;
            tracing::info!(key = %key, "recorded a brief sent before the store failed");
            self.sent.remove(0);
        }
        Ok(())
    }
}

/// Sends every entry that needs it as of `now`, most urgent meeting first, with no
/// memory of earlier drains (see [`drain_with`]).
pub async fn drain(
    store: &Store,
    transport: &dyn Transport,
    now: DateTime<Utc>,
) -> Result<DrainReport, StoreError> {
    drain_with(store, transport, now, &mut UnrecordedSends::default()).await
}

/// Sends every entry that needs it as of `now`, most urgent meeting first.
///
/// An entry whose meeting started is never sent: it dies as expired. Temporary failures
/// are retried with [`backoff`] until the meeting starts; permanent ones die at once.
/// A store error stops the drain (the entry it concerned stays as it was). Records in
/// `unrecorded` are written first, and nothing is sent while that fails; a brief the
/// transport accepted but the store could not record joins them.
pub async fn drain_with(
    store: &Store,
    transport: &dyn Transport,
    now: DateTime<Utc>,
    unrecorded: &mut UnrecordedSends,
) -> Result<DrainReport, StoreError> {
    unrecorded.settle(store)?;
    let mut report = DrainReport::default();
    let mut entries = store.due_outbox(now)?;
    entries.sort_by_key(|e| (e.not_after, e.created));
    for entry in entries {
        let key = &entry.key;
        if now >= entry.not_after {
            let reason = match &entry.state {
                OutboxState::Retrying { last_error, .. } => {
                    format!("{EXPIRED_REASON}; last error: {last_error}")
                }
                _ => EXPIRED_REASON.to_string(),
            };
            store.mark_dead(key, &reason)?;
            tracing::warn!(key = %key, message_id = %entry.message_id, "brief expired unsent: {EXPIRED_REASON}");
            report.expired += 1;
            continue;
        }
        match transport.send(&entry.recipient, &entry.raw).await {
            Ok(()) => {
                if let Err(error) = store.mark_sent(key, now) {
                    tracing::error!(key = %key, message_id = %entry.message_id, "brief sent, but the store cannot record it: {error}");
                    unrecorded.sent.push((key.clone(), now));
                    transport.close().await;
                    return Err(error);
                }
                tracing::info!(key = %key, message_id = %entry.message_id, "brief sent");
                report.sent += 1;
            }
            Err(SendError::Transient(error)) => {
                let attempts = entry.attempts() + 1;
                let next_at = (now + backoff(attempts, key)).min(entry.not_after);
                store.mark_retry(key, &error, next_at)?;
                tracing::warn!(key = %key, message_id = %entry.message_id, attempts, %next_at, "brief send failed, will retry: {error}");
                report.retried += 1;
            }
            Err(SendError::Permanent(error)) => {
                store.mark_dead(key, &error)?;
                tracing::error!(key = %key, message_id = %entry.message_id, "brief send failed for good: {error}");
                report.dead += 1;
            }
        }
    }
    transport.close().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesId;

    fn key(recipient: &str) -> BriefKey {
        BriefKey {
            series: SeriesId("3f9a0c21e4".into()),
            occurrence: "20261201T090000Z".into(),
            recipient: recipient.into(),
        }
    }

    #[test]
    fn retries_back_off_exponentially_with_bounded_jitter_up_to_thirty_minutes() {
        let key = key("dana@example.com");
        for (attempts, minutes) in [
            (1, 1),
            (2, 2),
            (3, 4),
            (4, 8),
            (5, 16),
            (6, 30),
            (20, 30),
            (u32::MAX, 30),
        ] {
            let delay = backoff(attempts, &key);
            let base = TimeDelta::minutes(minutes);
            assert!(
                delay <= base && delay >= base * 4 / 5,
                "attempt {attempts}: {delay}"
            );
        }
        assert_eq!(backoff(3, &key), backoff(3, &key));
    }

    #[test]
    fn jitter_spreads_different_briefs() {
        let delays: std::collections::HashSet<TimeDelta> = ["a@x", "b@x", "c@x", "d@x"]
            .iter()
            .map(|r| backoff(5, &key(r)))
            .collect();
        assert!(delays.len() > 1);
    }
}

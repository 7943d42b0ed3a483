//! The durable outbox and the sent log.
//!
//! Both trees are keyed by [`BriefKey::to_bytes`]. A key in `sent` is never queued
//! again; a key in `outbox` (in any state, dead included) is never queued twice.
//! Transaction closures only read and write the trees: sled may run them more than once.

use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::{Store, StoreError, decode, encode};
use crate::model::outbox::BriefKey;
use crate::model::outbox::{OutboxEntry, OutboxState, OutboxSummary, SentRecord};

const OUTBOX: &str = "outbox";
const SENT: &str = "sent";

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn unwrap_tx<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    result.map_err(|error| match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StoreError::Sled(error),
    })
}

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

/// Reads, changes and writes back one outbox entry inside a transaction; a missing
/// entry (already sent, or never queued) is left alone.
fn update_entry(
    outbox: &TransactionalTree,
    key: &[u8],
    change: &dyn Fn(&mut OutboxEntry),
) -> TxResult<()> {
    let Some(bytes) = outbox.get(key)? else {
        return Ok(());
    };
    let mut entry: OutboxEntry = decode(OUTBOX, &bytes).map_err(abort)?;
    change(&mut entry);
    let value = encode(OUTBOX, &entry).map_err(abort)?;
    outbox.insert(key, value)?;
    Ok(())
}

impl Store {
    /// Queues `entry` unless its key is already queued (in any state) or sent: the check
    /// and the insert are one transaction. Returns whether it was queued.
    pub fn enqueue(&self, entry: &OutboxEntry) -> Result<bool, StoreError> {
        let key = entry.key.to_bytes();
        let value = encode(OUTBOX, entry)?;
        unwrap_tx(
            (&self.trees.outbox, &self.trees.sent).transaction(|(outbox, sent)| {
                if sent.get(&key)?.is_some() || outbox.get(&key)?.is_some() {
                    return Ok(false);
                }
                outbox.insert(key.as_slice(), value.as_slice())?;
                Ok::<bool, ConflictableTransactionError<StoreError>>(true)
            }),
        )
    }

    /// Queues `entry` (a digest) and, in the same transaction, records each of
    /// `covered` (the briefs it carries) in the sent log with the digest's
    /// Message-ID, so none of them is queued on its own. Nothing is written when the
    /// digest's key is already queued or sent. Returns whether it was queued.
    pub fn enqueue_covering(
        &self,
        entry: &OutboxEntry,
        covered: &[BriefKey],
    ) -> Result<bool, StoreError> {
        let key = entry.key.to_bytes();
        let value = encode(OUTBOX, entry)?;
        let records = covered
            .iter()
            .map(|brief| {
                let record = SentRecord {
                    key: brief.clone(),
                    message_id: Some(entry.message_id.clone()),
                    sent_at: entry.created,
                };
                Ok((brief.to_bytes(), encode(SENT, &record)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        unwrap_tx(
            (&self.trees.outbox, &self.trees.sent).transaction(|(outbox, sent)| {
                if sent.get(&key)?.is_some() || outbox.get(&key)?.is_some() {
                    return Ok(false);
                }
                outbox.insert(key.as_slice(), value.as_slice())?;
                for (brief, record) in &records {
                    if sent.get(brief)?.is_none() && outbox.get(brief)?.is_none() {
                        sent.insert(brief.as_slice(), record.as_slice())?;
                    }
                }
                Ok::<bool, ConflictableTransactionError<StoreError>>(true)
            }),
        )
    }

    /// Entries a drain at `now` must handle: queued ones, retries whose time came, and
    /// pending ones whose meeting started (to expire them). Dead entries are not returned.
    pub fn due_outbox(&self, now: DateTime<Utc>) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut due = Vec::new();
        for value in self.trees.outbox.iter().values() {
            let entry: OutboxEntry = decode(OUTBOX, &value?)?;
            if entry.needs_attention(now) {
                due.push(entry);
            }
        }
        Ok(due)
    }

    /// Every outbox entry (for `status` and exports).
    pub fn outbox_entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.trees
            .outbox
            .iter()
            .values()
            .map(|value| decode(OUTBOX, &value?))
            .collect()
    }

    /// Records that the transport accepted `key` at `at`: the outbox entry is removed and
    /// the sent log gains it, in one transaction, flushed to the file before this returns.
    ///
    /// The flush matters: sled keeps recent writes in memory for up to `flush_every_ms`,
    /// so without it a crash soon after (SIGKILL, OOM) forgot the record and the next
    /// start sent the brief again (the crash test saw 15 duplicates in 10 kills).
    pub fn mark_sent(&self, key: &BriefKey, at: DateTime<Utc>) -> Result<(), StoreError> {
        let id = key.to_bytes();
        self.record_sent(key, &id, at)?;
        self.db.flush()?;
        Ok(())
    }

    fn record_sent(&self, key: &BriefKey, id: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        unwrap_tx(
            (&self.trees.outbox, &self.trees.sent).transaction(|(outbox, sent)| {
                let message_id = match outbox.remove(id)? {
                    Some(bytes) => Some(
                        decode::<OutboxEntry>(OUTBOX, &bytes)
                            .map_err(abort)?
                            .message_id,
                    ),
                    None => None,
                };
                let record = SentRecord {
                    key: key.clone(),
                    message_id,
                    sent_at: at,
                };
                let value = encode(SENT, &record).map_err(abort)?;
                sent.insert(id, value)?;
                Ok(())
            }),
        )
    }

    /// Records a temporary failure: one more attempt, the next not before `next_at`.
    pub fn mark_retry(
        &self,
        key: &BriefKey,
        error: &str,
        next_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = key.to_bytes();
        unwrap_tx(self.trees.outbox.transaction(|outbox| {
            update_entry(outbox, &id, &|entry| {
                entry.state = OutboxState::Retrying {
                    attempts: entry.attempts().saturating_add(1),
                    next_at,
                    last_error: error.to_string(),
                };
            })
        }))
    }

    /// Gives up on `key`; it stays in the outbox as dead so it is never queued again.
    pub fn mark_dead(&self, key: &BriefKey, reason: &str) -> Result<(), StoreError> {
        let id = key.to_bytes();
        unwrap_tx(self.trees.outbox.transaction(|outbox| {
            update_entry(outbox, &id, &|entry| {
                entry.state = OutboxState::Dead {
                    reason: reason.to_string(),
                };
            })
        }))
    }

    /// True when `key` is in the sent log.
    pub fn is_sent(&self, key: &BriefKey) -> Result<bool, StoreError> {
        Ok(self.trees.sent.contains_key(key.to_bytes())?)
    }

    /// The sent-log record of `key`, if it was sent.
    pub fn sent_record(&self, key: &BriefKey) -> Result<Option<SentRecord>, StoreError> {
        match self.trees.sent.get(key.to_bytes())? {
            Some(bytes) => Ok(Some(decode(SENT, &bytes)?)),
            None => Ok(None),
        }
    }

    /// True when `key` is queued (in any state, dead included) or sent: the planner must
    /// not plan it again.
    pub fn was_queued_or_sent(&self, key: &BriefKey) -> Result<bool, StoreError> {
        let id = key.to_bytes();
        Ok(self.trees.sent.contains_key(&id)? || self.trees.outbox.contains_key(&id)?)
    }

    /// Counts by state, dead entries with their reasons, and when to drain next.
    pub fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        let mut summary = OutboxSummary {
            sent: self.trees.sent.len(),
            ..OutboxSummary::default()
        };
        for entry in self.outbox_entries()? {
            match &entry.state {
                OutboxState::Queued => summary.queued += 1,
                OutboxState::Retrying { .. } => summary.retrying += 1,
                OutboxState::Dead { reason } => {
                    summary.dead.push((entry.key.clone(), reason.clone()));
                    continue;
                }
            }
            summary.oldest_waiting = Some(
                summary
                    .oldest_waiting
                    .map_or(entry.created, |at| at.min(entry.created)),
            );
            summary.next_attempt = match (summary.next_attempt, entry.next_attempt()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesId;
    use crate::store::StoreOptions;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn key(recipient: &str) -> BriefKey {
        BriefKey {
            series: SeriesId("3f9a0c21e4".into()),
            occurrence: "20261201T090000Z".into(),
            recipient: recipient.into(),
        }
    }

    fn entry(recipient: &str) -> OutboxEntry {
        OutboxEntry {
            key: key(recipient),
            message_id: format!("<{recipient}-id@example.com>"),
            recipient: recipient.into(),
            raw: b"Subject: hi\r\n\r\nbody\r\n".to_vec(),
            not_after: at("2026-12-01T09:00:00Z"),
            state: OutboxState::Queued,
            created: at("2026-11-30T15:00:00Z"),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn same_brief_is_queued_once_and_never_again_after_it_was_sent() {
        let (_dir, store) = store();
        assert!(store.enqueue(&entry("dana@example.com")).unwrap());
        assert!(!store.enqueue(&entry("dana@example.com")).unwrap());
        assert!(store.enqueue(&entry("alex@example.com")).unwrap());
        store
            .mark_sent(&key("dana@example.com"), at("2026-11-30T15:01:00Z"))
            .unwrap();
        assert!(store.is_sent(&key("dana@example.com")).unwrap());
        assert!(!store.enqueue(&entry("dana@example.com")).unwrap());
        assert!(store.was_queued_or_sent(&key("dana@example.com")).unwrap());
        assert!(store.was_queued_or_sent(&key("alex@example.com")).unwrap());
        assert!(!store.was_queued_or_sent(&key("eve@example.com")).unwrap());
        let record = store
            .sent_record(&key("dana@example.com"))
            .unwrap()
            .unwrap();
        assert_eq!(
            record.message_id.as_deref(),
            Some("<dana@example.com-id@example.com>")
        );
        assert_eq!(store.outbox_entries().unwrap().len(), 1);
    }

    #[test]
    fn retry_counts_attempts_and_waits_until_its_time() {
        let (_dir, store) = store();
        store.enqueue(&entry("dana@example.com")).unwrap();
        let now = at("2026-11-30T16:00:00Z");
        assert_eq!(store.due_outbox(now).unwrap().len(), 1);
        store
            .mark_retry(
                &key("dana@example.com"),
                "connection refused",
                at("2026-11-30T16:01:00Z"),
            )
            .unwrap();
        store
            .mark_retry(
                &key("dana@example.com"),
                "connection refused",
                at("2026-11-30T16:03:00Z"),
            )
            .unwrap();
        assert!(store.due_outbox(now).unwrap().is_empty());
        let due = store.due_outbox(at("2026-11-30T16:03:00Z")).unwrap();
        assert_eq!(due[0].attempts(), 2);
        let summary = store.outbox_summary().unwrap();
        assert_eq!((summary.queued, summary.retrying), (0, 1));
        assert_eq!(summary.next_attempt, Some(at("2026-11-30T16:03:00Z")));
    }

    #[test]
    fn pending_entry_past_its_meeting_start_is_due_so_it_can_expire() {
        let (_dir, store) = store();
        store.enqueue(&entry("dana@example.com")).unwrap();
        store
            .mark_retry(
                &key("dana@example.com"),
                "timeout",
                at("2026-12-02T00:00:00Z"),
            )
            .unwrap();
        assert_eq!(
            store.due_outbox(at("2026-12-01T09:00:00Z")).unwrap().len(),
            1
        );
    }

    #[test]
    fn dead_entry_is_reported_and_never_queued_again() {
        let (_dir, store) = store();
        store.enqueue(&entry("dana@example.com")).unwrap();
        store
            .mark_dead(&key("dana@example.com"), "550 mailbox unavailable")
            .unwrap();
        assert!(
            store
                .due_outbox(at("2026-11-30T16:00:00Z"))
                .unwrap()
                .is_empty()
        );
        assert!(!store.enqueue(&entry("dana@example.com")).unwrap());
        let summary = store.outbox_summary().unwrap();
        assert_eq!(
            summary.dead,
            vec![(
                key("dana@example.com"),
                "550 mailbox unavailable".to_string()
            )]
        );
        assert_eq!(summary.next_attempt, None);
    }

    #[test]
    fn outbox_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            store.enqueue(&entry("dana@example.com")).unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(
            store.outbox_entries().unwrap(),
            vec![entry("dana@example.com")]
        );
    }
}

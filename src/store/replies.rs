//! Replies read from the mailbox, applied exactly once.
//!
//! The `replies` tree holds one record per message, keyed `uid/<UIDVALIDITY>/<UID>`
//! (both as 10 zero-padded digits, so a mailbox's records sort by UID and the last
//! one is the watermark), and `mid/<Message-ID>` → that key for every message that
//! had an id. [`Store::record_reply`] writes the record, the reply's changes to items,
//! notes, talking points and skips, and its confirmation in the outbox, in one
//! transaction: a crash leaves either all of it or none, and a message read again
//! (after a crash before the server was told, or delivered twice under a new UID)
//! finds its record and changes nothing.
//!
//! Transaction closures only read and write the trees: sled may run them more than
//! once.

use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::items::{entry_key, personal_skip_key, series_prefix};
use super::{Store, StoreError, decode, encode};
use crate::model::SeriesId;
use crate::model::items::{ActionItem, ItemId, ItemState, Note, Source, TalkingPoint};
use crate::model::outbox::OutboxEntry;
use crate::model::replies::{MailboxUid, ReplyOutcome, ReplyRecord, ReplySummary};

const REPLIES: &str = "replies";

/// How many ignored messages `status` lists.
const RECENTLY_IGNORED: usize = 5;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

fn uid_prefix(uid_validity: u32) -> Vec<u8> {
    format!("uid/{uid_validity:010}/").into_bytes()
}

fn uid_key(at: MailboxUid) -> Vec<u8> {
    format!("uid/{:010}/{:010}", at.uid_validity, at.uid).into_bytes()
}

/// Message-IDs are compared without their angle brackets and case-insensitively
/// (some servers and clients change the case of the domain).
fn message_id_key(message_id: &str) -> Vec<u8> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase();
    format!("mid/{id}").into_bytes()
}

/// One person's skip of one occurrence, written by a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalSkip {
    /// The series' context id.
    pub series: SeriesId,
    /// The occurrence's original start (as `Store::skip_occurrence` keys it).
    pub occurrence: DateTime<Utc>,
    /// Whose brief (lower-case address).
    pub person: String,
}

/// Everything one reply changes. Item ids name items of `series`.
#[derive(Clone, Debug, Default)]
pub struct ReplyWrites {
    /// The series' context id.
    pub series: Option<SeriesId>,
    /// Items to mark done.
    pub close: Vec<ItemId>,
    /// Items to open again.
    pub reopen: Vec<ItemId>,
    /// New items (an item with the same id that exists already is left alone).
    pub add: Vec<ActionItem>,
    /// Talking points for the next meeting.
    pub topics: Vec<TalkingPoint>,
    /// Notes (private ones too).
    pub notes: Vec<Note>,
    /// Briefs not to send.
    pub skips: Vec<PersonalSkip>,
    /// The confirmation to the sender, queued unless its key is queued or sent already.
    pub confirmation: Option<OutboxEntry>,
}

/// What [`Store::record_reply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The record and its changes were written.
    New,
    /// This UID was recorded before: nothing was written.
    Again(ReplyRecord),
    /// Another UID with the same Message-ID was recorded before: this copy was recorded
    /// as ignored and none of its changes were written.
    Duplicate(MailboxUid),
}

impl Store {
    /// The record of the message at `at`, if it was read before.
    pub fn reply_record(&self, at: MailboxUid) -> Result<Option<ReplyRecord>, StoreError> {
        match self.trees.replies.get(uid_key(at))? {
            Some(bytes) => Ok(Some(decode(REPLIES, &bytes)?)),
            None => Ok(None),
        }
    }

    /// The highest UID recorded under `uid_validity` (0 when none): every message up
    /// to it was read.
    pub fn reply_watermark(&self, uid_validity: u32) -> Result<u32, StoreError> {
        match self
            .trees
            .replies
            .scan_prefix(uid_prefix(uid_validity))
            .values()
            .next_back()
        {
            Some(value) => Ok(decode::<ReplyRecord>(REPLIES, &value?)?.at.uid),
            None => Ok(0),
        }
    }

    /// Records what became of a message and writes `writes`, all in one transaction,
    /// unless the message (by UID, or by Message-ID under another UID) was recorded
    /// before. `writes` are applied only for an [`ReplyOutcome::Applied`] record.
    pub fn record_reply(
        &self,
        record: &ReplyRecord,
        writes: &ReplyWrites,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let key = uid_key(record.at);
        let value = encode(REPLIES, record)?;
        let apply = matches!(record.outcome, ReplyOutcome::Applied { .. });
        let trees = (
            &self.trees.replies,
            &self.trees.items,
            &self.trees.notes,
            &self.trees.topics,
            &self.trees.skips,
            &self.trees.outbox,
            &self.trees.sent,
        );
        let result = trees.transaction(|(replies, items, notes, topics, skips, outbox, sent)| {
            if let Some(bytes) = replies.get(&key)? {
                let earlier: ReplyRecord = decode(REPLIES, &bytes).map_err(abort)?;
                return Ok(Recorded::Again(earlier));
            }
            if let Some(id) = &record.message_id {
                let id_key = message_id_key(id);
                if let Some(first) = replies.get(&id_key)? {
                    let first = replies
                        .get(&first)?
                        .map(|bytes| decode::<ReplyRecord>(REPLIES, &bytes))
                        .transpose()
                        .map_err(abort)?;
                    if let Some(first) = first
                        && first.at != record.at
                    {
                        let copy = ReplyRecord {
                            outcome: ReplyOutcome::Ignored {
                                reason: format!(
                                    "a second copy of the message read as {}",
                                    first.at
                                ),
                            },
                            ..record.clone()
                        };
                        replies.insert(key.as_slice(), encode(REPLIES, &copy).map_err(abort)?)?;
                        return Ok(Recorded::Duplicate(first.at));
                    }
                }
                replies.insert(id_key, key.as_slice())?;
            }
            replies.insert(key.as_slice(), value.as_slice())?;
            if apply {
                write_changes(writes, items, notes, topics, skips, now)?;
                if let Some(entry) = &writes.confirmation {
                    let entry_key = entry.key.to_bytes();
                    if sent.get(&entry_key)?.is_none() && outbox.get(&entry_key)?.is_none() {
                        outbox.insert(entry_key, encode("outbox", entry).map_err(abort)?)?;
                    }
                }
            }
            Ok(Recorded::New)
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        })
    }

    /// The talking points raised by reply for a series, oldest first.
    pub fn topics(&self, series: &SeriesId) -> Result<Vec<TalkingPoint>, StoreError> {
        let mut topics: Vec<TalkingPoint> = self
            .trees
            .topics
            .scan_prefix(series_prefix(series))
            .values()
            .map(|value| decode("topics", &value?))
            .collect::<Result<_, _>>()?;
        topics.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(topics)
    }

    /// Counts of what became of the messages read, with the failed ones and the last
    /// few ignored ones.
    pub fn reply_summary(&self) -> Result<ReplySummary, StoreError> {
        let mut summary = ReplySummary::default();
        let mut ignored: Vec<ReplyRecord> = Vec::new();
        for value in self.trees.replies.scan_prefix(b"uid/").values() {
            let record: ReplyRecord = decode(REPLIES, &value?)?;
            match &record.outcome {
                ReplyOutcome::Applied { .. } => summary.applied += 1,
                ReplyOutcome::Ignored { .. } => {
                    summary.ignored += 1;
                    ignored.push(record);
                }
                ReplyOutcome::Failed { .. } => summary.failed.push(record),
            }
        }
        summary.failed.sort_by_key(|r| r.read_at);
        ignored.sort_by_key(|r| r.read_at);
        let skip = ignored.len().saturating_sub(RECENTLY_IGNORED);
        summary.recently_ignored = ignored.split_off(skip);
        Ok(summary)
    }
}

/// The item changes, notes, talking points and skips of one reply, inside the
/// reply's transaction.
fn write_changes(
    writes: &ReplyWrites,
    items: &TransactionalTree,
    notes: &TransactionalTree,
    topics: &TransactionalTree,
    skips: &TransactionalTree,
    now: DateTime<Utc>,
) -> TxResult<()> {
    if let Some(series) = &writes.series {
        let changes = writes
            .close
            .iter()
            .map(|id| {
                (
                    id,
                    ItemState::Done {
                        at: now,
                        by: Source::Reply,
                    },
                )
            })
            .chain(writes.reopen.iter().map(|id| (id, ItemState::Open)));
        for (id, state) in changes {
            let key = entry_key(series, &id.0);
            let Some(bytes) = items.get(&key)? else {
                continue;
            };
            let mut item: ActionItem = decode("items", &bytes).map_err(abort)?;
            // The same rule as a CLI change: a description older than this cannot
            // undo it (see `ActionItem::set_state_from_cli`).
            item.set_state_from_cli(state, now);
            items.insert(key, encode("items", &item).map_err(abort)?)?;
        }
    }
    for item in &writes.add {
        let key = entry_key(&item.series, &item.id.0);
        if items.get(&key)?.is_none() {
            items.insert(key, encode("items", item).map_err(abort)?)?;
        }
    }
    for note in &writes.notes {
        let key = entry_key(&note.series, &note.id.0);
        if notes.get(&key)?.is_none() {
            notes.insert(key, encode("notes", note).map_err(abort)?)?;
        }
    }
    for topic in &writes.topics {
        let key = entry_key(&topic.series, &topic.id.0);
        if topics.get(&key)?.is_none() {
            topics.insert(key, encode("topics", topic).map_err(abort)?)?;
        }
    }
    for skip in &writes.skips {
        let key = personal_skip_key(&skip.series, skip.occurrence, &skip.person);
        skips.insert(key, encode("skips", &skip.occurrence).map_err(abort)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::items::ItemOrigin;
    use crate::store::StoreOptions;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn series() -> SeriesId {
        SeriesId("3f9a0c21e4".into())
    }

    fn record(uid: u32, message_id: Option<&str>) -> ReplyRecord {
        ReplyRecord {
            at: MailboxUid {
                uid_validity: 7,
                uid,
            },
            message_id: message_id.map(str::to_string),
            sender: Some("dana@example.com".into()),
            series: Some(series()),
            read_at: at("2026-12-01T10:00:00Z"),
            outcome: ReplyOutcome::Applied {
                changes: 2,
                not_understood: 0,
            },
        }
    }

    fn writes(store: &Store) -> ReplyWrites {
        let now = at("2026-12-01T09:00:00Z");
        let existing = ActionItem::from_cli(&series(), "send the numbers", None, now);
        store.add_item(&existing).unwrap();
        ReplyWrites {
            series: Some(series()),
            close: vec![existing.id.clone()],
            add: vec![ActionItem {
                origin: ItemOrigin::Reply { added_at: now },
                ..ActionItem::from_cli(&series(), "book the offsite", None, now)
            }],
            topics: vec![TalkingPoint::new(
                &series(),
                "on-call rota",
                "dana@example.com",
                now,
                at("2026-12-08T09:00:00Z"),
            )],
            skips: vec![PersonalSkip {
                series: series(),
                occurrence: at("2026-12-08T09:00:00Z"),
                person: "dana@example.com".into(),
            }],
            ..ReplyWrites::default()
        }
    }

    #[test]
    fn a_reply_is_applied_once_by_uid_and_once_by_message_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let writes = writes(&store);
        let now = at("2026-12-01T10:00:00Z");
        let first = record(41, Some("<Abc@Mail.Example>"));
        assert_eq!(
            store.record_reply(&first, &writes, now).unwrap(),
            Recorded::New
        );
        let items = store.items(&series()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(store.open_items(&series()).unwrap().len(), 1);
        assert_eq!(store.topics(&series()).unwrap().len(), 1);
        let next = at("2026-12-08T09:00:00Z");
        assert!(
            store
                .is_skipped_for(&series(), next, "Dana@example.com")
                .unwrap()
        );
        assert!(
            !store
                .is_skipped_for(&series(), next, "alex@example.com")
                .unwrap()
        );
        assert!(store.skips(&series()).unwrap().is_empty());

        // Read again after a crash: nothing changes.
        store
            .set_item_state(&items[0].id.0, ItemState::Open, now)
            .unwrap();
        assert!(matches!(
            store.record_reply(&first, &writes, now).unwrap(),
            Recorded::Again(_)
        ));
        assert_eq!(store.open_items(&series()).unwrap().len(), 2);

        // The same message delivered again under a new UID: recorded, not applied.
        let copy = record(42, Some("<abc@mail.example>"));
        assert_eq!(
            store.record_reply(&copy, &writes, now).unwrap(),
            Recorded::Duplicate(first.at)
        );
        assert_eq!(store.open_items(&series()).unwrap().len(), 2);
        assert_eq!(store.reply_watermark(7).unwrap(), 42);
        assert_eq!(store.reply_watermark(8).unwrap(), 0);
        let summary = store.reply_summary().unwrap();
        assert_eq!((summary.applied, summary.ignored), (1, 1));
    }

    #[test]
    fn an_ignored_or_failed_message_writes_no_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let writes = writes(&store);
        let now = at("2026-12-01T10:00:00Z");
        let failed = ReplyRecord {
            outcome: ReplyOutcome::Failed {
                reason: "larger than 1 MiB".into(),
            },
            ..record(3, None)
        };
        assert_eq!(
            store.record_reply(&failed, &writes, now).unwrap(),
            Recorded::New
        );
        assert_eq!(store.open_items(&series()).unwrap().len(), 1);
        assert!(store.topics(&series()).unwrap().is_empty());
        let summary = store.reply_summary().unwrap();
        assert_eq!(summary.failed, vec![failed]);
    }
}

//! Action items, notes, meeting history and skipped occurrences of a series.
//!
//! Keys are `series/id` (items, notes) and `series/<RFC 3339 start>` (history, skips):
//! series
//! ids and item ids are hex, so `/` never occurs inside them, a series' entries share a
//! prefix, and skips sort chronologically.

use chrono::{DateTime, SecondsFormat, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Store, StoreError, decode, encode};
use crate::model::SeriesId;
use crate::model::items::{ActionItem, ItemState, Meeting, Note};

pub(super) fn series_prefix(series: &SeriesId) -> Vec<u8> {
    format!("{}/", series.0).into_bytes()
}

pub(super) fn entry_key(series: &SeriesId, id: &str) -> Vec<u8> {
    format!("{}/{}", series.0, id).into_bytes()
}

/// The key of one person's skip of an occurrence: `series/<start>/<address>`. It
/// shares the occurrence's prefix but not its key, so a skip for both and a skip for
/// one are told apart.
pub(super) fn personal_skip_key(
    series: &SeriesId,
    occurrence: DateTime<Utc>,
    person: &str,
) -> Vec<u8> {
    let mut key = instant_key(series, occurrence);
    key.push(b'/');
    key.extend_from_slice(person.as_bytes());
    key
}

pub(super) fn instant_key(series: &SeriesId, occurrence: DateTime<Utc>) -> Vec<u8> {
    format!(
        "{}/{}",
        series.0,
        occurrence.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
    .into_bytes()
}

fn unwrap_transaction(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StoreError::Sled(error),
    }
}

impl Store {
    /// Writes the items of a series (as `core::context::harvest` returns them) in one
    /// transaction. Items are never deleted. When the stored copy of an item carries a
    /// newer CLI change than the one being saved (someone ran `tete items done` while a
    /// harvest was computing), the stored state is kept: the CLI wins.
    pub fn save_items(&self, series: &SeriesId, items: &[ActionItem]) -> Result<(), StoreError> {
        if let Some(stray) = items.iter().find(|item| item.series != *series) {
            return Err(StoreError::Corrupt {
                tree: "items",
                reason: format!(
                    "item {} belongs to series {}, not {series}",
                    stray.id, stray.series
                ),
            });
        }
        let result = self.trees.items.transaction(|tree| {
            for item in items {
                let key = entry_key(series, &item.id.0);
                let mut merged = item.clone();
                if let Some(bytes) = tree.get(&key)? {
                    let stored: ActionItem =
                        decode("items", &bytes).map_err(ConflictableTransactionError::Abort)?;
                    if stored.cli_changed_at > merged.cli_changed_at {
                        merged.state = stored.state;
                        merged.cli_changed_at = stored.cli_changed_at;
                    }
                }
                let value =
                    encode("items", &merged).map_err(ConflictableTransactionError::Abort)?;
                tree.insert(key, value)?;
            }
            Ok(())
        });
        result.map_err(unwrap_transaction)
    }

    /// Every item of a series, oldest first.
    pub fn items(&self, series: &SeriesId) -> Result<Vec<ActionItem>, StoreError> {
        let mut items: Vec<ActionItem> = self
            .trees
            .items
            .scan_prefix(series_prefix(series))
            .values()
            .map(|value| decode("items", &value?))
            .collect::<Result<_, _>>()?;
        items.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.id.cmp(&b.id)));
        Ok(items)
    }

    /// The open items of a series, oldest first.
    pub fn open_items(&self, series: &SeriesId) -> Result<Vec<ActionItem>, StoreError> {
        let mut items = self.items(series)?;
        items.retain(ActionItem::is_open);
        Ok(items)
    }

    /// The item with this id (as `tete items list` shows it, any case), in any series.
    pub fn item(&self, id: &str) -> Result<Option<ActionItem>, StoreError> {
        Ok(self.find_item(id)?.map(|(_, item)| item))
    }

    /// Finds an item by id with its key. Ids are only unique per series by
    /// construction, so this scans; a store holds hundreds of items, not millions.
    fn find_item(&self, id: &str) -> Result<Option<(sled::IVec, ActionItem)>, StoreError> {
        let id = id.trim().to_ascii_lowercase();
        if id.is_empty() || id.contains('/') {
            return Ok(None);
        }
        let suffix = format!("/{id}");
        for entry in self.trees.items.iter() {
            let (key, value) = entry?;
            if key.ends_with(suffix.as_bytes()) {
                return Ok(Some((key, decode("items", &value)?)));
            }
        }
        Ok(None)
    }

    /// Adds an item unless one with the same id exists; returns the existing one then.
    pub fn add_item(&self, item: &ActionItem) -> Result<Option<ActionItem>, StoreError> {
        let key = entry_key(&item.series, &item.id.0);
        let value = encode("items", item)?;
        match self
            .trees
            .items
            .compare_and_swap(key, None as Option<&[u8]>, Some(value))?
        {
            Ok(()) => Ok(None),
            Err(conflict) => match conflict.current {
                Some(bytes) => Ok(Some(decode("items", &bytes)?)),
                None => Ok(None),
            },
        }
    }

    /// Sets an item's state from the command line at `at` (see
    /// [`ActionItem::set_state_from_cli`]); `None` when no item has this id.
    pub fn set_item_state(
        &self,
        id: &str,
        state: ItemState,
        at: DateTime<Utc>,
    ) -> Result<Option<ActionItem>, StoreError> {
        loop {
            let Some((key, item)) = self.find_item(id)? else {
                return Ok(None);
            };
            let old = encode("items", &item)?;
            let mut changed = item;
            changed.set_state_from_cli(state, at);
            let new = encode("items", &changed)?;
            // A harvest may write the same key meanwhile; retry on top of its result.
            if self
                .trees
                .items
                .compare_and_swap(&key, Some(old), Some(new))?
                .is_ok()
            {
                return Ok(Some(changed));
            }
        }
    }

    /// Stores a note unless one with the same id exists (description notes are harvested
    /// on every pass); returns true when it was new.
    pub fn add_note(&self, note: &Note) -> Result<bool, StoreError> {
        let key = entry_key(&note.series, &note.id.0);
        let value = encode("notes", note)?;
        Ok(self
            .trees
            .notes
            .compare_and_swap(key, None as Option<&[u8]>, Some(value))?
            .is_ok())
    }

    /// Every note of a series, private ones included, oldest first. Filter with
    /// `core::context::visible_to` before showing them to anyone but the owner.
    pub fn notes(&self, series: &SeriesId) -> Result<Vec<Note>, StoreError> {
        let mut notes: Vec<Note> = self
            .trees
            .notes
            .scan_prefix(series_prefix(series))
            .values()
            .map(|value| decode("notes", &value?))
            .collect::<Result<_, _>>()?;
        notes.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(notes)
    }

    /// Marks the occurrence of `series` starting (originally) at `occurrence_key` as
    /// skipped: no brief is sent for it.
    pub fn skip_occurrence(
        &self,
        series: &SeriesId,
        occurrence_key: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let value = encode("skips", &occurrence_key)?;
        self.trees
            .skips
            .insert(instant_key(series, occurrence_key), value)?;
        Ok(())
    }

    /// Undoes [`Store::skip_occurrence`]; returns true if it was skipped.
    pub fn unskip_occurrence(
        &self,
        series: &SeriesId,
        occurrence_key: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .trees
            .skips
            .remove(instant_key(series, occurrence_key))?
            .is_some())
    }

    /// True when that occurrence was skipped (for both people).
    pub fn is_skipped(
        &self,
        series: &SeriesId,
        occurrence_key: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .trees
            .skips
            .contains_key(instant_key(series, occurrence_key))?)
    }

    /// True when `person`'s brief for that occurrence is skipped: the occurrence was
    /// skipped for both, or `person` skipped it by reply.
    pub fn is_skipped_for(
        &self,
        series: &SeriesId,
        occurrence_key: DateTime<Utc>,
        person: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.is_skipped(series, occurrence_key)?
            || self.trees.skips.contains_key(personal_skip_key(
                series,
                occurrence_key,
                &crate::model::normalize_email(person),
            ))?)
    }

    /// Records past meetings of a series (call once they have started), so history
    /// outlives the calendar's history window. A meeting recorded again at the same
    /// start replaces the earlier record (a late cancellation wins).
    pub fn record_meetings(
        &self,
        series: &SeriesId,
        meetings: &[Meeting],
    ) -> Result<(), StoreError> {
        // Every pass records the same meetings again: write only what changed. A sled
        // batch is a log write with a sync_file_range even when every value is the same,
        // which cost an idle daemon with 1,000 series ~3,000 disk writes per poll.
        let mut batch = sled::Batch::default();
        let mut changed = false;
        for meeting in meetings {
            let key = instant_key(series, meeting.start);
            let value = encode("history", meeting)?;
            if self.trees.history.get(&key)?.as_deref() != Some(value.as_slice()) {
                batch.insert(key, value);
                changed = true;
            }
        }
        if changed {
            self.trees.history.apply_batch(batch)?;
        }
        Ok(())
    }

    /// The recorded meetings of a series, in chronological order.
    pub fn meetings(&self, series: &SeriesId) -> Result<Vec<Meeting>, StoreError> {
        self.trees
            .history
            .scan_prefix(series_prefix(series))
            .values()
            .map(|value| decode("history", &value?))
            .collect()
    }

    /// The occurrences of a series skipped for both people, in chronological order
    /// (one person's skips by reply are not listed).
    pub fn skips(&self, series: &SeriesId) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let prefix = series_prefix(series);
        let mut skips = Vec::new();
        for entry in self.trees.skips.scan_prefix(&prefix) {
            let (key, value) = entry?;
            if !key[prefix.len()..].contains(&b'/') {
                skips.push(decode("skips", &value)?);
            }
        }
        Ok(skips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::items::{ItemOrigin, Source};
    use crate::store::StoreOptions;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 10, 0, 0).unwrap()
    }

    fn series() -> SeriesId {
        SeriesId("3f9a0c21e4".into())
    }

    fn open_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn harvested_items_round_trip_and_stay_per_series() {
        let (_dir, store) = open_store();
        let open = ActionItem::from_cli(&series(), "a", None, day(3));
        let mut done = ActionItem::from_cli(&series(), "b", None, day(3));
        done.state = ItemState::Done {
            at: day(3),
            by: Source::Description,
        };
        done.origin = ItemOrigin::Description {
            occurrence_start: day(3),
        };
        let mut items = vec![open, done];
        items.sort_by(|a, b| a.id.cmp(&b.id));
        store.save_items(&series(), &items).unwrap();
        assert_eq!(store.items(&series()).unwrap(), items);
        assert_eq!(store.open_items(&series()).unwrap().len(), 1);
        assert!(
            store
                .items(&SeriesId("0000000000".into()))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn items_of_another_series_are_refused() {
        let (_dir, store) = open_store();
        let item = ActionItem::from_cli(&SeriesId("0000000000".into()), "x", None, day(1));
        assert!(store.save_items(&series(), &[item]).is_err());
    }

    #[test]
    fn items_are_found_by_id_in_any_case() {
        let (_dir, store) = open_store();
        let item = ActionItem::from_cli(&series(), "x", None, day(1));
        assert_eq!(store.add_item(&item).unwrap(), None);
        let found = store.item(&item.id.0.to_uppercase()).unwrap();
        assert_eq!(found, Some(item.clone()));
        assert_eq!(store.item("ffffffff").unwrap(), None);
        assert_eq!(store.item("").unwrap(), None);
        // Adding the same text again returns the stored item.
        assert_eq!(store.add_item(&item).unwrap(), Some(item));
    }

    #[test]
    fn state_changes_are_recorded_as_cli_changes() {
        let (_dir, store) = open_store();
        let item = ActionItem::from_cli(&series(), "x", None, day(1));
        store.add_item(&item).unwrap();
        let done = ItemState::Done {
            at: day(2),
            by: Source::Cli,
        };
        let changed = store
            .set_item_state(&item.id.0, done, day(2))
            .unwrap()
            .unwrap();
        assert_eq!(changed.state, done);
        assert_eq!(changed.cli_changed_at, Some(day(2)));
        assert_eq!(store.item(&item.id.0).unwrap(), Some(changed));
        assert_eq!(store.set_item_state("nope", done, day(2)).unwrap(), None);
    }

    #[test]
    fn a_stale_harvest_does_not_undo_a_newer_cli_change() {
        let (_dir, store) = open_store();
        let stale = vec![ActionItem::from_cli(&series(), "a", None, day(3))];
        store.save_items(&series(), &stale).unwrap();
        let done = ItemState::Done {
            at: day(5),
            by: Source::Cli,
        };
        store.set_item_state(&stale[0].id.0, done, day(5)).unwrap();
        store.save_items(&series(), &stale).unwrap();
        assert_eq!(store.items(&series()).unwrap()[0].state, done);
    }

    #[test]
    fn notes_are_stored_once_and_listed_oldest_first() {
        let (_dir, store) = open_store();
        let late = Note::from_cli(&series(), "late", "me@example.com", true, day(5));
        let early = Note::from_cli(&series(), "early", "me@example.com", false, day(2));
        assert!(store.add_note(&late).unwrap());
        assert!(store.add_note(&early).unwrap());
        assert!(!store.add_note(&early).unwrap());
        let texts: Vec<String> = store
            .notes(&series())
            .unwrap()
            .into_iter()
            .map(|n| n.text)
            .collect();
        assert_eq!(texts, ["early", "late"]);
    }

    #[test]
    fn meetings_are_recorded_once_per_start_in_order() {
        use crate::model::EventStatus;
        let (_dir, store) = open_store();
        let meeting = |d, status| Meeting {
            start: day(d),
            status,
            moved: false,
        };
        store
            .record_meetings(
                &series(),
                &[
                    meeting(10, EventStatus::Confirmed),
                    meeting(3, EventStatus::Confirmed),
                ],
            )
            .unwrap();
        store
            .record_meetings(&series(), &[meeting(10, EventStatus::Cancelled)])
            .unwrap();
        let recorded = store.meetings(&series()).unwrap();
        assert_eq!(
            recorded,
            [
                meeting(3, EventStatus::Confirmed),
                meeting(10, EventStatus::Cancelled)
            ]
        );
    }

    #[test]
    fn skipped_occurrences_are_remembered_per_series() {
        let (_dir, store) = open_store();
        store.skip_occurrence(&series(), day(17)).unwrap();
        store.skip_occurrence(&series(), day(10)).unwrap();
        assert!(store.is_skipped(&series(), day(10)).unwrap());
        assert!(!store.is_skipped(&series(), day(3)).unwrap());
        assert!(
            !store
                .is_skipped(&SeriesId("0000000000".into()), day(10))
                .unwrap()
        );
        assert_eq!(store.skips(&series()).unwrap(), [day(10), day(17)]);
        assert!(store.unskip_occurrence(&series(), day(10)).unwrap());
        assert_eq!(store.skips(&series()).unwrap(), [day(17)]);
    }
}

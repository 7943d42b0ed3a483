//! Calendar events and sync cursors, per account and calendar.

use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, UnabortableTransactionError,
};

use super::series::series_key_bytes;
use super::{Store, StoreError, decode, encode};

pub use crate::model::stored::{CalendarChanges, CalendarRef, StoredEvent};

impl CalendarRef {
    /// The key prefix of this calendar's events: `account \0 calendar \0`.
    fn prefix(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.account.len() + self.calendar.len() + 2);
        key.extend_from_slice(self.account.as_bytes());
        key.push(0);
        key.extend_from_slice(self.calendar.as_bytes());
        key.push(0);
        key
    }

    fn event_key(&self, event_id: &str) -> Vec<u8> {
        let mut key = self.prefix();
        key.extend_from_slice(event_id.as_bytes());
        key
    }
}

impl Store {
    /// Applies one sync's changes and stores its cursor in one transaction, so a crash
    /// leaves either the old state and cursor or the new ones, never a mix. A sync that
    /// changed no event only moves the cursor, without a transaction.
    pub fn apply_changes(
        &self,
        calendar: &CalendarRef,
        changes: &CalendarChanges,
    ) -> Result<(), StoreError> {
        if !changes.full && changes.upserted.is_empty() && changes.deleted.is_empty() {
            return self.move_cursor(calendar, changes);
        }
        let mut encoded = Vec::with_capacity(changes.upserted.len());
        for event in &changes.upserted {
            let value = encode(
                "events",
                &StoredEvent {
                    calendar: calendar.clone(),
                    event: event.clone(),
                },
            )?;
            encoded.push((calendar.event_key(&event.id), value, event.uid.as_bytes()));
        }
        // Transactions cannot scan, so the keys a full listing replaces are read first.
        // Only this calendar's poller writes these keys, so nothing changes meanwhile.
        // Keys listed again are not removed: an event that comes back unchanged must
        // not mark its series as changed.
        let stale: Vec<sled::IVec> = if changes.full {
            let listed: std::collections::HashSet<&[u8]> =
                encoded.iter().map(|(key, _, _)| key.as_slice()).collect();
            let mut stale = Vec::new();
            for key in self.trees.events.scan_prefix(calendar.prefix()).keys() {
                let key = key?;
                if !listed.contains(key.as_ref()) {
                    stale.push(key);
                }
            }
            stale
        } else {
            Vec::new()
        };
        let cursor = match &changes.cursor {
            Some(cursor) => Some(encode("cursors", cursor)?),
            None => None,
        };
        let index = match &changes.index {
            Some(index) => Some(encode("indexes", index)?),
            None => None,
        };
        let cursor_key = calendar.prefix();
        let trees = &self.trees;
        let result: Result<(), TransactionError<StoreError>> = (
            &trees.events,
            &trees.cursors,
            &trees.indexes,
            &trees.event_series,
            &trees.series_index,
            &trees.dirty,
        )
            .transaction(
                |(events, cursors, indexes, event_series, series_index, dirty)| {
                    // Marks a series as changed: a fresh id per transaction, so clearing
                    // an older mark leaves this one (see `Store::clear_dirty`).
                    let mark = |uid: &[u8]| -> Result<(), UnabortableTransactionError> {
                        dirty.insert(uid, &dirty.generate_id()?.to_be_bytes())?;
                        Ok(())
                    };
                    let unindex =
                        |uid: &[u8], key: &[u8]| -> Result<(), UnabortableTransactionError> {
                            let mut index_key = series_key_bytes(uid);
                            index_key.extend_from_slice(key);
                            series_index.remove(index_key)?;
                            Ok(())
                        };
                    let removed = stale
                        .iter()
                        .map(|key| key.to_vec())
                        .chain(changes.deleted.iter().map(|id| calendar.event_key(id)));
                    for key in removed {
                        events.remove(key.as_slice())?;
                        if let Some(uid) = event_series.remove(key.as_slice())? {
                            unindex(&uid, &key)?;
                            mark(&uid)?;
                        }
                    }
                    for (key, value, uid) in &encoded {
                        let old = events.insert(key.as_slice(), value.as_slice())?;
                        let old_uid = event_series.insert(key.as_slice(), *uid)?;
                        if old_uid.as_deref() == Some(*uid) && old.as_deref() == Some(value) {
                            continue;
                        }
                        if let Some(old_uid) = old_uid.filter(|old| old.as_ref() != *uid) {
                            unindex(&old_uid, key)?;
                            mark(&old_uid)?;
                        }
                        let mut index_key = series_key_bytes(uid);
                        index_key.extend_from_slice(key);
                        series_index.insert(index_key, &[])?;
                        mark(uid)?;
                    }
                    match &cursor {
                        Some(value) => {
                            cursors.insert(cursor_key.as_slice(), value.as_slice())?;
                        }
                        None => {
                            cursors.remove(cursor_key.as_slice())?;
                            indexes.remove(cursor_key.as_slice())?;
                        }
                    }
                    if let Some(value) = &index {
                        indexes.insert(cursor_key.as_slice(), value.as_slice())?;
                    }
                    Ok::<(), ConflictableTransactionError<StoreError>>(())
                },
            );
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        })
    }

    /// Stores the cursor (and index) of a sync that changed no event: the common poll.
    /// Plain writes, not a transaction, because sled makes each transaction durable
    /// with a disk sync before it returns, and an unchanged poll should not cost one.
    /// They become durable with sled's next periodic flush (`flush_every_ms`); a crash
    /// before it leaves the previous cursor, and the next poll replays a round that
    /// changed nothing. The cursor is never ahead of the events it describes.
    fn move_cursor(
        &self,
        calendar: &CalendarRef,
        changes: &CalendarChanges,
    ) -> Result<(), StoreError> {
        let key = calendar.prefix();
        match &changes.cursor {
            Some(cursor) => {
                if let Some(index) = &changes.index {
                    self.trees.indexes.insert(&key, encode("indexes", index)?)?;
                }
                self.trees
                    .cursors
                    .insert(&key, encode("cursors", cursor)?)?;
            }
            None => {
                self.trees.cursors.remove(&key)?;
                self.trees.indexes.remove(&key)?;
            }
        }
        Ok(())
    }

    /// The stored cursor of a calendar, if a sync finished before.
    pub fn cursor(&self, calendar: &CalendarRef) -> Result<Option<String>, StoreError> {
        match self.trees.cursors.get(calendar.prefix())? {
            Some(bytes) => Ok(Some(decode("cursors", &bytes)?)),
            None => Ok(None),
        }
    }

    /// The stored index of a calendar ([`CalendarChanges::index`]), if any.
    pub fn cursor_index(&self, calendar: &CalendarRef) -> Result<Option<String>, StoreError> {
        match self.trees.indexes.get(calendar.prefix())? {
            Some(bytes) => Ok(Some(decode("indexes", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Every stored event of every calendar.
    pub fn all_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        self.events().collect()
    }

    /// Every stored event, decoded one at a time (a pass groups them as they come,
    /// without a second copy of the whole store in memory).
    pub fn events(&self) -> impl Iterator<Item = Result<StoredEvent, StoreError>> + use<> {
        self.trees
            .events
            .iter()
            .values()
            .map(|value| decode("events", &value?))
    }

    /// How many events are stored for `account` (all its calendars), without decoding them.
    pub fn account_event_count(&self, account: &str) -> Result<usize, StoreError> {
        let mut prefix = account.as_bytes().to_vec();
        prefix.push(0);
        let mut count = 0;
        for key in self.trees.events.scan_prefix(prefix).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// The stored events of one calendar.
    pub fn calendar_events(&self, calendar: &CalendarRef) -> Result<Vec<StoredEvent>, StoreError> {
        self.trees
            .events
            .scan_prefix(calendar.prefix())
            .values()
            .map(|value| decode("events", &value?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::store::StoreOptions;

    fn event(id: &str, summary: &str) -> Event {
        Event {
            summary: summary.into(),
            ..crate::model::fixtures::event(id)
        }
    }

    fn calendar(name: &str) -> CalendarRef {
        CalendarRef {
            account: name.into(),
            calendar: "primary".into(),
        }
    }

    #[test]
    fn a_sync_without_changes_moves_the_cursor_and_keeps_or_replaces_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cal = calendar("work");
        let first = CalendarChanges {
            full: true,
            upserted: vec![event("a", "kept")],
            cursor: Some("c1".into()),
            index: Some("i1".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&cal, &first).unwrap();
        let quiet = CalendarChanges {
            cursor: Some("c2".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&cal, &quiet).unwrap();
        assert_eq!(store.cursor(&cal).unwrap().as_deref(), Some("c2"));
        assert_eq!(store.cursor_index(&cal).unwrap().as_deref(), Some("i1"));
        assert_eq!(store.calendar_events(&cal).unwrap().len(), 1);
        let reindexed = CalendarChanges {
            cursor: Some("c3".into()),
            index: Some("i2".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&cal, &reindexed).unwrap();
        assert_eq!(store.cursor_index(&cal).unwrap().as_deref(), Some("i2"));
        store
            .apply_changes(&cal, &CalendarChanges::default())
            .unwrap();
        assert_eq!(store.cursor(&cal).unwrap(), None);
        assert_eq!(
            store.cursor_index(&cal).unwrap(),
            None,
            "gone with its cursor"
        );
    }

    #[test]
    fn refused_events_are_dropped_from_full_listings_and_deleted_by_increments() {
        let keep = |e: &Event| e.summary != "refused";
        let mut full = CalendarChanges {
            full: true,
            upserted: vec![event("a", "kept"), event("b", "refused")],
            ..CalendarChanges::default()
        };
        assert_eq!(full.retain_events(keep), 1);
        assert_eq!(full.upserted, vec![event("a", "kept")]);
        assert!(
            full.deleted.is_empty(),
            "a full listing replaces everything anyway"
        );
        let mut increment = CalendarChanges {
            upserted: vec![event("a", "refused"), event("c", "kept")],
            deleted: vec!["d".into()],
            ..CalendarChanges::default()
        };
        assert_eq!(increment.retain_events(keep), 1);
        assert_eq!(increment.upserted, vec![event("c", "kept")]);
        assert_eq!(increment.deleted, vec!["d".to_string(), "a".to_string()]);
    }

    #[test]
    fn incremental_changes_upsert_and_delete_with_their_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cal = calendar("work");
        let first = CalendarChanges {
            full: true,
            upserted: vec![event("a", "A"), event("b", "B")],
            deleted: vec![],
            cursor: Some("token-1".into()),
            index: None,
        };
        store.apply_changes(&cal, &first).unwrap();
        let second = CalendarChanges {
            full: false,
            upserted: vec![event("a", "A2")],
            deleted: vec!["b".into()],
            cursor: Some("token-2".into()),
            index: None,
        };
        store.apply_changes(&cal, &second).unwrap();
        let events = store.calendar_events(&cal).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.summary, "A2");
        assert_eq!(store.cursor(&cal).unwrap().as_deref(), Some("token-2"));
    }

    #[test]
    fn full_listing_replaces_only_its_own_calendar() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let (work, home) = (calendar("work"), calendar("home"));
        for cal in [&work, &home] {
            let changes = CalendarChanges {
                full: true,
                upserted: vec![event("a", "A"), event("b", "B")],
                deleted: vec![],
                cursor: None,
                index: None,
            };
            store.apply_changes(cal, &changes).unwrap();
        }
        let resync = CalendarChanges {
            full: true,
            upserted: vec![event("c", "C")],
            deleted: vec![],
            cursor: Some("fresh".into()),
            index: None,
        };
        store.apply_changes(&work, &resync).unwrap();
        let ids = |cal: &CalendarRef| -> Vec<String> {
            store
                .calendar_events(cal)
                .unwrap()
                .into_iter()
                .map(|e| e.event.id)
                .collect()
        };
        assert_eq!(ids(&work), vec!["c".to_string()]);
        assert_eq!(ids(&home), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(store.all_events().unwrap().len(), 3);
        assert_eq!(store.account_event_count("work").unwrap(), 1);
        assert_eq!(store.account_event_count("home").unwrap(), 2);
        assert_eq!(store.account_event_count("wor").unwrap(), 0);
    }

    #[test]
    fn events_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cal = calendar("work");
        {
            let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            let changes = CalendarChanges {
                full: true,
                upserted: vec![event("a", "A")],
                deleted: vec![],
                cursor: Some("t".into()),
                index: None,
            };
            store.apply_changes(&cal, &changes).unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(store.calendar_events(&cal).unwrap().len(), 1);
        assert_eq!(store.cursor(&cal).unwrap().as_deref(), Some("t"));
    }
}

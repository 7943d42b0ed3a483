//! The per-series index of the events and the durable "dirty" set of series.
//!
//! Events are keyed by calendar (`account \0 calendar \0 id`), which is what a sync
//! writes; the analysis wants them by series (iCalendar UID). Three trees bridge that,
//! written in the same transaction as the events (see `events.rs`):
//! - `series_index`: `series_key(uid) ++ event key` → nothing: one series' events are
//!   one prefix scan, without reading any other event;
//! - `event_series`: event key → UID, so a deletion (which names only the event id)
//!   finds the series it leaves without decoding the old event;
//! - `dirty`: UID → a mark, for every series a sync touched since the analysis last
//!   looked. Durable with the events, so a crash between sync and analysis loses
//!   nothing: the next analysis still sees the series as changed.
//!
//! A fourth, `one_on_one_uids` (series id → UID), is written by the analysis: the
//! series ids of the 1:1s it found, which reply tokens carry, back to their UIDs.

use super::{Store, StoreError, decode};
use crate::model::SeriesId;
use crate::model::stored::StoredEvent;

/// The index prefix of a series: the UID's length (4 bytes, big-endian) then the UID,
/// so a UID that is a prefix of another (or holds a NUL) never shares its scan.
pub(crate) fn series_key(uid: &str) -> Vec<u8> {
    series_key_bytes(uid.as_bytes())
}

/// [`series_key`] of a UID as the store holds it (bytes).
pub(crate) fn series_key_bytes(uid: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(uid.len() + 4);
    let len = u32::try_from(uid.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(uid);
    key
}

/// The UID at the start of an index key, and the event key after it.
fn split_index_key(key: &[u8]) -> Result<(&str, &[u8]), StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        tree: "series_index",
        reason: reason.into(),
    };
    let (len, rest) = key
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("key shorter than its length prefix"))?;
    let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
    if rest.len() < len {
        return Err(corrupt("key shorter than its UID"));
    }
    let (uid, event_key) = rest.split_at(len);
    let uid = std::str::from_utf8(uid).map_err(|_| corrupt("UID is not UTF-8"))?;
    Ok((uid, event_key))
}

/// A series that changed since the analysis last looked, with the mark that says
/// which change: clearing it with [`Store::clear_dirty`] leaves the series dirty if a
/// sync touched it again meanwhile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirtySeries {
    /// The series' UID.
    pub uid: String,
    /// The mark of its latest change.
    pub mark: Vec<u8>,
}

impl Store {
    /// The stored events of one series (every calendar that holds it), read through
    /// the index: no other event is decoded.
    pub fn series_events(&self, uid: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = Vec::new();
        for key in self.trees.series_index.scan_prefix(series_key(uid)).keys() {
            let key = key?;
            let (_, event_key) = split_index_key(&key)?;
            // Gone between the scan and the read (a sync deleted it): no longer there.
            if let Some(value) = self.trees.events.get(event_key)? {
                events.push(decode("events", &value)?);
            }
        }
        Ok(events)
    }

    /// Every series UID in the index, in index order, one at a time and without
    /// decoding any event: the reference the tests check
    /// [`Store::series_uids_by_calendar`] against (walks use that one).
    #[cfg(test)]
    pub(crate) fn series_uids(&self) -> impl Iterator<Item = Result<String, StoreError>> + use<> {
        let mut last: Option<String> = None;
        self.trees
            .series_index
            .iter()
            .keys()
            .filter_map(move |key| {
                let key = match key {
                    Ok(key) => key,
                    Err(error) => return Some(Err(error.into())),
                };
                let uid = match split_index_key(&key) {
                    Ok((uid, _)) => uid,
                    Err(error) => return Some(Err(error)),
                };
                if last.as_deref() == Some(uid) {
                    return None;
                }
                last = Some(uid.to_string());
                Some(Ok(uid.to_string()))
            })
    }

    /// Every series UID once, in the order of the events tree (calendar by calendar):
    /// each at its first event in key order. A walk over every series in this order
    /// reads the events front to back; in UID order each series' events lie far from
    /// the last one's, and a store larger than memory reads its pages again for each
    /// (483 GB read for a 61 GB store, docs/benchmarks.md). A series that a sync
    /// changes during the walk may be missed or given twice; its dirty mark makes the
    /// next round look at it again.
    pub fn series_uids_by_calendar(
        &self,
    ) -> impl Iterator<Item = Result<String, StoreError>> + use<> {
        let index = self.trees.series_index.clone();
        self.trees.event_series.iter().filter_map(move |entry| {
            let (event_key, uid) = match entry {
                Ok(entry) => entry,
                Err(error) => return Some(Err(error.into())),
            };
            // The index lists a series' events in key order: its first entry is
            // the series' first event. (No entry: written with the event in one
            // transaction, so none to walk.)
            let first = match index.scan_prefix(series_key_bytes(&uid)).keys().next()? {
                Ok(first) => first,
                Err(error) => return Some(Err(error.into())),
            };
            match split_index_key(&first) {
                Ok((uid, first)) if first == event_key.as_ref() => Some(Ok(uid.to_string())),
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            }
        })
    }

    /// The series a sync touched since they were last cleared.
    pub fn dirty_series(&self) -> Result<Vec<DirtySeries>, StoreError> {
        self.trees
            .dirty
            .iter()
            .map(|entry| {
                let (uid, mark) = entry?;
                let uid = String::from_utf8(uid.to_vec()).map_err(|_| StoreError::Corrupt {
                    tree: "dirty",
                    reason: "UID is not UTF-8".into(),
                })?;
                Ok(DirtySeries {
                    uid,
                    mark: mark.to_vec(),
                })
            })
            .collect()
    }

    /// Whether any series is dirty (cheaper than [`Store::dirty_series`]).
    pub fn has_dirty_series(&self) -> Result<bool, StoreError> {
        Ok(self.trees.dirty.first()?.is_some())
    }

    /// Records that the series `id` (UID `uid`) is a 1:1, so
    /// [`Store::one_on_one_uid`] finds it. Writes only when the entry is new.
    pub fn note_one_on_one(&self, id: &SeriesId, uid: &str) -> Result<(), StoreError> {
        let key = id.0.as_bytes();
        if self.trees.one_on_one_uids.get(key)?.as_deref() != Some(uid.as_bytes()) {
            self.trees.one_on_one_uids.insert(key, uid.as_bytes())?;
        }
        Ok(())
    }

    /// The UID of the series `id`, if an analysis ever found it to be a 1:1 (it may
    /// no longer be one: analyse it to know).
    pub fn one_on_one_uid(&self, id: &SeriesId) -> Result<Option<String>, StoreError> {
        self.trees
            .one_on_one_uids
            .get(id.0.as_bytes())?
            .map(|uid| {
                String::from_utf8(uid.to_vec()).map_err(|_| StoreError::Corrupt {
                    tree: "one_on_one_uids",
                    reason: "UID is not UTF-8".into(),
                })
            })
            .transpose()
    }

    /// Clears the given dirty marks once their series were analysed. A series marked
    /// again since (another mark) stays dirty.
    pub fn clear_dirty(&self, analysed: &[DirtySeries]) -> Result<(), StoreError> {
        for series in analysed {
            // A failed swap means a newer mark: exactly what must stay.
            let _ = self.trees.dirty.compare_and_swap(
                series.uid.as_bytes(),
                Some(series.mark.as_slice()),
                None as Option<&[u8]>,
            )?;
        }
        Ok(())
    }

    /// Builds the index of a store written before it existed (schema 1), one event at
    /// a time. Idempotent, so a crash during it only means doing it again.
    pub(crate) fn build_series_index(&self) -> Result<(), StoreError> {
        for entry in self.trees.events.iter() {
            let (key, value) = entry?;
            let stored: StoredEvent = decode("events", &value)?;
            let uid = stored.event.uid;
            let mut index_key = series_key(&uid);
            index_key.extend_from_slice(&key);
            self.trees.series_index.insert(index_key, &[])?;
            self.trees.event_series.insert(&key, uid.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::store::{CalendarChanges, CalendarRef, StoreOptions};

    fn calendar(name: &str) -> CalendarRef {
        CalendarRef {
            account: name.into(),
            calendar: "primary".into(),
        }
    }

    fn event(id: &str, uid: &str, summary: &str) -> Event {
        Event {
            uid: uid.into(),
            summary: summary.into(),
            ..crate::model::fixtures::event(id)
        }
    }

    fn uids(dirty: &[DirtySeries]) -> Vec<&str> {
        dirty.iter().map(|d| d.uid.as_str()).collect()
    }

    fn full(events: Vec<Event>) -> CalendarChanges {
        CalendarChanges {
            full: true,
            upserted: events,
            cursor: Some("c".into()),
            ..CalendarChanges::default()
        }
    }

    #[test]
    fn a_series_is_read_alone_from_every_calendar_that_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        store
            .apply_changes(
                &calendar("a"),
                &full(vec![event("1", "u", "A"), event("2", "uv", "B")]),
            )
            .unwrap();
        store
            .apply_changes(&calendar("b"), &full(vec![event("3", "u", "A")]))
            .unwrap();
        let mut ids: Vec<String> = store
            .series_events("u")
            .unwrap()
            .into_iter()
            .map(|e| format!("{}/{}", e.calendar.account, e.event.id))
            .collect();
        ids.sort();
        assert_eq!(ids, ["a/1", "b/3"], "not the series whose UID starts alike");
        let all: Vec<String> = store.series_uids().map(Result::unwrap).collect();
        assert_eq!(all, ["u", "uv"]);
    }

    #[test]
    fn the_walk_by_calendar_gives_every_series_once_in_the_order_of_its_first_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        // "z" has events in both calendars and two in "a"; "m" only in "b".
        store
            .apply_changes(
                &calendar("a"),
                &full(vec![
                    event("1", "z", "Z"),
                    event("2", "y", "Y"),
                    event("3", "z", "Z moved"),
                ]),
            )
            .unwrap();
        store
            .apply_changes(
                &calendar("b"),
                &full(vec![event("1", "m", "M"), event("2", "z", "Z")]),
            )
            .unwrap();
        let walked: Vec<String> = store
            .series_uids_by_calendar()
            .map(Result::unwrap)
            .collect();
        assert_eq!(walked, ["z", "y", "m"], "calendar a's first, then b's");
        let mut by_uid: Vec<String> = store.series_uids().map(Result::unwrap).collect();
        by_uid.sort();
        let mut sorted = walked.clone();
        sorted.sort();
        assert_eq!(sorted, by_uid, "the same series as the index's own order");
    }

    #[test]
    fn syncs_mark_the_series_they_touch_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cal = calendar("a");
        store
            .apply_changes(
                &cal,
                &full(vec![event("1", "u1", "A"), event("2", "u2", "B")]),
            )
            .unwrap();
        let dirty = store.dirty_series().unwrap();
        assert_eq!(uids(&dirty), ["u1", "u2"]);
        store.clear_dirty(&dirty).unwrap();
        assert!(!store.has_dirty_series().unwrap());

        // The same listing again changes nothing: nothing is dirty.
        store
            .apply_changes(
                &cal,
                &full(vec![event("1", "u1", "A"), event("2", "u2", "B")]),
            )
            .unwrap();
        assert!(!store.has_dirty_series().unwrap());

        // An event that moves to another series dirties both; a deletion its series.
        let moved = CalendarChanges {
            upserted: vec![event("1", "u3", "A")],
            deleted: vec!["2".into()],
            cursor: Some("d".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&cal, &moved).unwrap();
        assert_eq!(uids(&store.dirty_series().unwrap()), ["u1", "u2", "u3"]);
        assert!(store.series_events("u1").unwrap().is_empty());
        assert!(store.series_events("u2").unwrap().is_empty());
        assert_eq!(store.series_events("u3").unwrap().len(), 1);

        // A full listing without an event deletes it and dirties its series.
        store.clear_dirty(&store.dirty_series().unwrap()).unwrap();
        store.apply_changes(&cal, &full(vec![])).unwrap();
        assert_eq!(uids(&store.dirty_series().unwrap()), ["u3"]);
        assert_eq!(store.series_uids().count(), 0);
    }

    #[test]
    fn a_mark_cleared_after_a_newer_change_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let cal = calendar("a");
        store
            .apply_changes(&cal, &full(vec![event("1", "u", "A")]))
            .unwrap();
        let seen = store.dirty_series().unwrap();
        let change = CalendarChanges {
            upserted: vec![event("1", "u", "A2")],
            cursor: Some("d".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&cal, &change).unwrap();
        store.clear_dirty(&seen).unwrap();
        assert_eq!(uids(&store.dirty_series().unwrap()), ["u"]);
    }

    #[test]
    fn dirty_marks_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            store
                .apply_changes(&calendar("a"), &full(vec![event("1", "u", "A")]))
                .unwrap();
        }
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(uids(&store.dirty_series().unwrap()), ["u"]);
    }

    #[test]
    fn the_index_of_an_old_store_is_built_from_its_events() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        store
            .apply_changes(&calendar("a"), &full(vec![event("1", "u", "A")]))
            .unwrap();
        store.trees.series_index.clear().unwrap();
        store.trees.event_series.clear().unwrap();
        assert!(store.series_events("u").unwrap().is_empty());
        store.build_series_index().unwrap();
        assert_eq!(store.series_events("u").unwrap().len(), 1);
        // And deleting through the rebuilt index works.
        let gone = CalendarChanges {
            deleted: vec!["1".into()],
            cursor: Some("d".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&calendar("a"), &gone).unwrap();
        assert_eq!(store.series_uids().count(), 0);
    }
}

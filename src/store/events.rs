//! Calendar events and sync cursors, per account and calendar.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Store, StoreError, decode, encode};
use crate::model::Event;

/// Which calendar of which account an event came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CalendarRef {
    /// The account's configured name.
    pub account: String,
    /// The calendar's id within the account (`primary`, a Graph id, or the .ics URL).
    pub calendar: String,
}

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

/// An event together with where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Its calendar.
    pub calendar: CalendarRef,
    /// The event.
    pub event: Event,
}

/// What one sync of one calendar changed, applied atomically with its new cursor.
#[derive(Clone, Debug, Default)]
pub struct CalendarChanges {
    /// True when this is a full listing: every event not in `upserted` is gone.
    pub full: bool,
    /// New or changed events.
    pub upserted: Vec<Event>,
    /// Ids of deleted events.
    pub deleted: Vec<String>,
    /// The cursor to resume from next time (sync token, delta link, feed validators),
    /// already serialized by the source.
    pub cursor: Option<String>,
}

impl Store {
    /// Applies one sync's changes and stores its cursor in one transaction, so a crash
    /// leaves either the old state and cursor or the new ones, never a mix.
    pub fn apply_changes(
        &self,
        calendar: &CalendarRef,
        changes: &CalendarChanges,
    ) -> Result<(), StoreError> {
        // Transactions cannot scan, so the keys a full listing replaces are read first.
        // Only this calendar's poller writes these keys, so nothing changes meanwhile.
        let stale: Vec<sled::IVec> = if changes.full {
            self.trees
                .events
                .scan_prefix(calendar.prefix())
                .keys()
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let mut encoded = Vec::with_capacity(changes.upserted.len());
        for event in &changes.upserted {
            let value = encode(
                "events",
                &StoredEvent {
                    calendar: calendar.clone(),
                    event: event.clone(),
                },
            )?;
            encoded.push((calendar.event_key(&event.id), value));
        }
        let cursor = match &changes.cursor {
            Some(cursor) => Some(encode("cursors", cursor)?),
            None => None,
        };
        let cursor_key = calendar.prefix();
        let result: Result<(), TransactionError<StoreError>> =
            (&self.trees.events, &self.trees.cursors).transaction(|(events, cursors)| {
                for key in &stale {
                    events.remove(key.as_ref())?;
                }
                for id in &changes.deleted {
                    events.remove(calendar.event_key(id))?;
                }
                for (key, value) in &encoded {
                    events.insert(key.as_slice(), value.as_slice())?;
                }
                match &cursor {
                    Some(value) => {
                        cursors.insert(cursor_key.as_slice(), value.as_slice())?;
                    }
                    None => {
                        cursors.remove(cursor_key.as_slice())?;
                    }
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        })
    }

    /// The stored cursor of a calendar, if a sync finished before.
    pub fn cursor(&self, calendar: &CalendarRef) -> Result<Option<String>, StoreError> {
        match self.trees.cursors.get(calendar.prefix())? {
            Some(bytes) => Ok(Some(decode("cursors", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Every stored event of every calendar.
    pub fn all_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        self.trees
            .events
            .iter()
            .values()
            .map(|value| decode("events", &value?))
            .collect()
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

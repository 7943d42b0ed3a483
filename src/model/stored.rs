//! Events as the store keeps them (with the calendar they came from), and what one
//! sync of one calendar changed.

use serde::{Deserialize, Serialize};

use super::Event;

/// Which calendar of which account an event came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CalendarRef {
    /// The account's configured name.
    pub account: String,
    /// The calendar's id within the account (`primary`, a Graph id, or the .ics URL).
    pub calendar: String,
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
    /// Source state kept beside the cursor that changes rarely and can be large
    /// (Graph's index of which series each occurrence belongs to). `None` keeps the
    /// stored one; it is dropped with the cursor.
    pub index: Option<String>,
}

impl CalendarChanges {
    /// Drops the upserted events `keep` refuses. In an incremental change a refused
    /// event is deleted instead, so that a version stored while it was still accepted
    /// (a single event that has just gained a third attendee) goes too. Returns how
    /// many were dropped.
    pub fn retain_events(&mut self, keep: impl Fn(&Event) -> bool) -> usize {
        let before = self.upserted.len();
        let (kept, refused): (Vec<Event>, Vec<Event>) = std::mem::take(&mut self.upserted)
            .into_iter()
            .partition(|e| keep(e));
        self.upserted = kept;
        if !self.full {
            self.deleted.extend(refused.into_iter().map(|e| e.id));
        }
        before - self.upserted.len()
    }
}

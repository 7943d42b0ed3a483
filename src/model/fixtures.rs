//! Plain values for unit tests: an event and an occurrence with every field at a
//! neutral default, to be adjusted with struct update syntax
//! (`Event { summary: "x".into(), ..event("uid") }`).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::{Event, EventKind, EventStatus, EventTime, Occurrence};

/// An all-day, confirmed, single event on Monday 5 January 2026 with id and UID `uid`,
/// no attendees and no description.
pub(crate) fn event(uid: &str) -> Event {
    Event {
        id: uid.into(),
        uid: uid.into(),
        recurrence_id: None,
        summary: String::new(),
        description: String::new(),
        location: None,
        status: EventStatus::Confirmed,
        start: EventTime::Date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default()),
        end: None,
        recurrence: None,
        attendees: vec![],
        organizer: None,
        kind: EventKind::Default,
        sequence: 0,
        updated: None,
    }
}

/// A confirmed, 30-minute occurrence of series `uid` starting at `start` (its original
/// slot too), with no attendees and no description.
pub(crate) fn occurrence(uid: &str, start: DateTime<Utc>) -> Occurrence {
    let end = start + TimeDelta::minutes(30);
    Occurrence {
        uid: uid.into(),
        recurrence_id: Some(EventTime::utc(start)),
        start: EventTime::utc(start),
        end: EventTime::utc(end),
        start_utc: start,
        end_utc: end,
        summary: String::new(),
        description: Default::default(),
        location: None,
        status: EventStatus::Confirmed,
        attendees: Default::default(),
        organizer: None,
        is_override: false,
        moved: false,
    }
}

//! Gathers stored events into series: the same meeting seen through several
//! calendars (both people's calendars configured) is one series, keyed by its UID.

use std::collections::BTreeMap;

use crate::core::plan::slot_id;
use crate::model::stored::StoredEvent;
use crate::model::{Event, EventTime};

/// All events of one UID, one revision per slot, and who sees them.
#[derive(Clone, Debug)]
pub struct SeriesEvents {
    /// The iCalendar UID.
    pub uid: String,
    /// The master (if any) and overrides, newest revision of each slot.
    pub events: Vec<Event>,
    /// Lower-cased addresses of the owners of the calendars that hold it, sorted.
    pub owners: Vec<String>,
    /// Names of the accounts that hold it, sorted.
    pub accounts: Vec<String>,
}

impl SeriesEvents {
    /// The event that stands for the series: the master, else the first override
    /// (a series someone was invited to only one occurrence of has no master).
    pub fn representative(&self) -> Option<&Event> {
        self.events
            .iter()
            .find(|e| e.recurrence_id.is_none())
            .or_else(|| self.events.first())
    }
}

/// A slot's identity for de-duplication across calendars (the master has none).
fn slot_key(recurrence_id: &Option<EventTime>) -> String {
    recurrence_id.as_ref().map(slot_id).unwrap_or_default()
}

/// How new a revision is: higher SEQUENCE, then later LAST-MODIFIED, wins.
fn revision(event: &Event) -> (i64, Option<chrono::DateTime<chrono::Utc>>) {
    (event.sequence, event.updated)
}

/// Groups stored events by UID, taking them over (a pass holds each event once).
/// `owner_of` maps an account name to its owner's address.
pub fn group_by_series(
    stored: impl IntoIterator<Item = StoredEvent>,
    owner_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<SeriesEvents> {
    // Each group collects (slot, event) pairs in a Vec and keeps the newest revision of
    // each slot at the end: most groups hold one or two events, and a BTreeMap per
    // group would allocate a node for eleven inline events (~5 KB) for each of them.
    struct Acc {
        slots: Vec<(String, Event)>,
        owners: Vec<String>,
        accounts: Vec<String>,
    }
    let mut by_uid: BTreeMap<String, Acc> = BTreeMap::new();
    for StoredEvent { calendar, event } in stored {
        let acc = match by_uid.get_mut(&event.uid) {
            Some(acc) => acc,
            None => by_uid.entry(event.uid.clone()).or_insert_with(|| Acc {
                slots: Vec::new(),
                owners: Vec::new(),
                accounts: Vec::new(),
            }),
        };
        if let Some(owner) = owner_of(&calendar.account)
            && !acc.owners.contains(&owner)
        {
            acc.owners.push(owner);
        }
        if !acc.accounts.contains(&calendar.account) {
            acc.accounts.push(calendar.account);
        }
        acc.slots.push((slot_key(&event.recurrence_id), event));
    }
    by_uid
        .into_iter()
        .map(|(uid, mut acc)| {
            acc.owners.sort();
            acc.accounts.sort();
            SeriesEvents {
                uid,
                events: newest_per_slot(acc.slots),
                owners: acc.owners,
                accounts: acc.accounts,
            }
        })
        .collect()
}

/// One event per slot, in slot order (the master's empty slot first): the newest
/// revision ([`revision`]), or the first seen of equally new ones.
fn newest_per_slot(mut slots: Vec<(String, Event)>) -> Vec<Event> {
    // A stable sort: among equally new revisions of a slot the first seen stays first.
    slots.sort_by(|(a_slot, a), (b_slot, b)| {
        a_slot
            .cmp(b_slot)
            .then_with(|| revision(b).cmp(&revision(a)))
    });
    slots.dedup_by(|(later_slot, _), (kept_slot, _)| later_slot == kept_slot);
    slots.into_iter().map(|(_, event)| event).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stored::CalendarRef;

    use chrono::NaiveDate;

    fn stored(account: &str, uid: &str, sequence: i64, summary: &str) -> StoredEvent {
        StoredEvent {
            calendar: CalendarRef {
                account: account.into(),
                calendar: "primary".into(),
            },
            event: Event {
                id: format!("{account}-{uid}"),
                summary: summary.into(),
                sequence,
                ..crate::model::fixtures::event(uid)
            },
        }
    }

    #[test]
    fn same_uid_in_two_accounts_is_one_series_with_both_owners() {
        let events = vec![
            stored("manager", "u1", 0, "old title"),
            stored("report", "u1", 2, "new title"),
        ];
        let owner_of = |account: &str| Some(format!("{account}@example.com"));
        let series = group_by_series(events, &owner_of);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].events.len(), 1);
        assert_eq!(series[0].events[0].summary, "new title");
        assert_eq!(
            series[0].owners,
            vec![
                "manager@example.com".to_string(),
                "report@example.com".to_string()
            ]
        );
    }

    #[test]
    fn newest_revision_of_each_slot_wins_and_ties_keep_the_first_seen() {
        let mut moved = stored("a", "u1", 1, "moved, rev 1").event;
        moved.recurrence_id = Some(EventTime::Date(
            NaiveDate::from_ymd_opt(2026, 1, 12).unwrap(),
        ));
        let mut moved_again = moved.clone();
        moved_again.sequence = 3;
        moved_again.summary = "moved, rev 3".into();
        let master_first = stored("a", "u1", 0, "first seen").event;
        let master_tie = stored("b", "u1", 0, "same revision, seen later").event;
        let events = [moved, master_first, moved_again, master_tie]
            .into_iter()
            .map(|event| StoredEvent {
                calendar: CalendarRef {
                    account: "a".into(),
                    calendar: "primary".into(),
                },
                event,
            });
        let series = group_by_series(events, &|_| None);
        let titles: Vec<&str> = series[0]
            .events
            .iter()
            .map(|e| e.summary.as_str())
            .collect();
        assert_eq!(
            titles,
            ["first seen", "moved, rev 3"],
            "master first, then the slot"
        );
    }
}

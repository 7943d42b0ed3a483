//! How consistently a series has met: "9 of the last 10 held".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Occurrence;

/// Counts over the most recent past occurrences of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consistency {
    /// Considered occurrences that took place (confirmed or tentative).
    pub held: usize,
    /// Considered occurrences that were cancelled.
    pub cancelled: usize,
    /// Considered occurrences that were moved from their usual slot (held or not).
    pub moved: usize,
    /// How many past occurrences were looked at (at most `last_n`).
    pub considered: usize,
    /// The most recent past occurrence was cancelled.
    pub last_was_cancelled: bool,
    /// Start of the earliest considered occurrence.
    pub since: Option<DateTime<Utc>>,
}

pub use crate::model::items::Meeting;

/// Looks at the last `last_n` occurrences that started before `now` (the history the
/// recurrence engine expanded, cancelled ones included).
pub fn consistency(occurrences: &[Occurrence], now: DateTime<Utc>, last_n: usize) -> Consistency {
    let meetings: Vec<Meeting> = occurrences.iter().map(Meeting::from).collect();
    consistency_of(&meetings, now, last_n)
}

/// [`consistency`] over recorded meetings (the store keeps them beyond the calendar's
/// history window); duplicates of one start count once.
pub fn consistency_of(meetings: &[Meeting], now: DateTime<Utc>, last_n: usize) -> Consistency {
    let mut past: Vec<&Meeting> = meetings.iter().filter(|m| m.start < now).collect();
    past.sort_by_key(|m| m.start);
    past.dedup_by_key(|m| m.start);
    let considered = &past[past.len().saturating_sub(last_n)..];
    let cancelled = considered.iter().filter(|m| !m.was_held()).count();
    Consistency {
        held: considered.len() - cancelled,
        cancelled,
        moved: considered.iter().filter(|m| m.moved).count(),
        considered: considered.len(),
        last_was_cancelled: considered.last().is_some_and(|m| !m.was_held()),
        since: considered.first().map(|m| m.start),
    }
}

impl Consistency {
    /// A short, warm, factual sentence, dates in UTC (see [`Consistency::sentence_in`]).
    pub fn sentence(&self) -> String {
        self.sentence_in(chrono_tz::UTC)
    }

    /// The sentence with dates shown in `zone`, for example "9 of the last 10 held;
    /// the last one was cancelled.", "All 6 held since 3 Nov.", "First meeting of this
    /// series."
    pub fn sentence_in(&self, zone: chrono_tz::Tz) -> String {
        let since = self
            .since
            .map(|s| s.with_timezone(&zone).format("%-d %b").to_string())
            .unwrap_or_default();
        let moved = match self.moved {
            0 => String::new(),
            1 => " (1 moved)".to_string(),
            n => format!(" ({n} moved)"),
        };
        if self.considered == 0 {
            return "First meeting of this series.".to_string();
        }
        if self.held == self.considered {
            if self.held == 1 {
                return format!("Second meeting: you first met on {since}{moved}.");
            }
            return format!("All {} held since {since}{moved}.", self.held);
        }
        if self.held == 0 {
            let what = if self.considered == 1 {
                "The only earlier one was cancelled".to_string()
            } else {
                format!("The last {} were all cancelled", self.considered)
            };
            return format!("{what}; a good moment to reconnect.");
        }
        let last = if self.last_was_cancelled {
            "; the last one was cancelled"
        } else {
            ""
        };
        format!(
            "{} of the last {} held{moved}{last}.",
            self.held, self.considered
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventStatus;
    use chrono::TimeZone;

    fn occurrence(day: u32, status: EventStatus, moved: bool) -> Occurrence {
        let start = Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap();
        Occurrence {
            summary: "Dana / Zoë".into(),
            status,
            is_override: moved,
            moved,
            ..crate::model::fixtures::occurrence("series@example.com", start)
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()
    }

    const HELD: EventStatus = EventStatus::Confirmed;
    const CANCELLED: EventStatus = EventStatus::Cancelled;

    #[test]
    fn first_meeting_of_a_series_says_so() {
        let future = [occurrence(29, HELD, false)];
        let c = consistency(&future, now(), 10);
        assert_eq!(c.considered, 0);
        assert_eq!(c.sentence(), "First meeting of this series.");
    }

    #[test]
    fn all_held_names_the_first_date() {
        let list: Vec<_> = (0..6).map(|i| occurrence(3 + i * 4, HELD, false)).collect();
        let c = consistency(&list, now(), 10);
        assert_eq!((c.held, c.cancelled, c.considered), (6, 0, 6));
        assert_eq!(c.sentence(), "All 6 held since 3 Nov.");
    }

    #[test]
    fn one_cancelled_last_time_is_mentioned() {
        let mut list: Vec<_> = (1..=9).map(|d| occurrence(d, HELD, false)).collect();
        list.push(occurrence(12, CANCELLED, false));
        let c = consistency(&list, now(), 10);
        assert_eq!((c.held, c.cancelled, c.considered), (9, 1, 10));
        assert!(c.last_was_cancelled);
        assert_eq!(
            c.sentence(),
            "9 of the last 10 held; the last one was cancelled."
        );
    }

    #[test]
    fn only_the_last_n_past_occurrences_count() {
        let mut list = vec![
            occurrence(1, CANCELLED, false),
            occurrence(2, CANCELLED, false),
        ];
        list.extend((3..=7).map(|d| occurrence(d, HELD, d == 5)));
        list.push(occurrence(30, CANCELLED, false)); // future: ignored
        let c = consistency(&list, now(), 5);
        assert_eq!((c.held, c.cancelled, c.moved, c.considered), (5, 0, 1, 5));
        assert!(!c.last_was_cancelled);
        assert_eq!(c.sentence(), "All 5 held since 3 Nov (1 moved).");
    }

    #[test]
    fn mixed_history_reads_as_counts() {
        let list = [
            occurrence(3, HELD, false),
            occurrence(10, CANCELLED, false),
            occurrence(17, HELD, true),
        ];
        let c = consistency(&list, now(), 10);
        assert_eq!(c.sentence(), "2 of the last 3 held (1 moved).");
    }

    #[test]
    fn all_cancelled_and_single_meetings_read_naturally() {
        let list = [
            occurrence(3, CANCELLED, false),
            occurrence(10, CANCELLED, false),
        ];
        assert_eq!(
            consistency(&list, now(), 10).sentence(),
            "The last 2 were all cancelled; a good moment to reconnect."
        );
        let list = [occurrence(3, HELD, false)];
        assert_eq!(
            consistency(&list, now(), 10).sentence(),
            "Second meeting: you first met on 3 Nov."
        );
        let list = [occurrence(3, CANCELLED, false)];
        assert_eq!(
            consistency(&list, now(), 10).sentence(),
            "The only earlier one was cancelled; a good moment to reconnect."
        );
    }
}

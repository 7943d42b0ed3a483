//! Is a 1:1 still happening? The streak of meetings that did not take place, and when
//! it deserves one note to both people.
//!
//! "Held" means an occurrence that was not cancelled and whose start has passed: tete
//! reads calendars, so it cannot know whether the two people actually met. A moved
//! occurrence counts as held once its new time has passed.
//!
//! A streak is identified by the last held meeting before it (or the series' first
//! start, if none was ever held): it stays the same streak, and gets at most one alert,
//! until a meeting is held again.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::config::CadenceConfig;
use crate::model::{EventStatus, Occurrence};

/// Why a series' rhythm broke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreakKind {
    /// The most recent meetings were cancelled.
    Cancelled {
        /// How many in a row.
        in_row: usize,
    },
    /// No meeting was held for a while although the series still recurs.
    NoneHeld {
        /// Whole weeks since the last held meeting (or the series' start).
        weeks: i64,
    },
}

/// A streak of meetings not held, as of some time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Streak {
    /// Meetings cancelled in a row, most recent first (0 when the last one was held).
    pub cancelled_in_row: usize,
    /// The last held meeting, if any in the known history.
    pub last_held: Option<DateTime<Utc>>,
    /// What identifies the streak: the last held meeting, else the series' start.
    pub since: DateTime<Utc>,
    /// Set when the streak is long enough for an alert under the config's rules.
    pub alert: Option<StreakKind>,
}

/// The usual gap between two meetings of the series: the median gap between
/// consecutive occurrences (cancelled ones included: they were planned).
pub fn typical_interval(occurrences: &[&Occurrence]) -> Option<TimeDelta> {
    let mut starts: Vec<DateTime<Utc>> = occurrences.iter().map(|o| o.start_utc).collect();
    starts.sort();
    starts.dedup();
    let mut gaps: Vec<TimeDelta> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    gaps.get(gaps.len() / 2).copied()
}

/// The streak of `occurrences` (a series' occurrences around `now`, any order) at
/// `now`. `is_theirs` says whether a held occurrence was a meeting of the series'
/// current pair (one someone else attended neither counts as held nor breaks a
/// streak); it is asked only of the few most recent ones, since it costs more than
/// the rest. `first_start` is the series' start; `recurs` says whether it has an
/// upcoming occurrence (a series that ended gets no "none held" alert).
///
/// "No meeting for W weeks" is measured against the series' own rhythm: the gap must
/// also be at least two of its usual intervals, so a monthly 1:1 is not flagged for
/// the four weeks that are simply its cadence.
pub fn streak(
    occurrences: &[&Occurrence],
    is_theirs: impl Fn(&Occurrence) -> bool,
    first_start: Option<DateTime<Utc>>,
    recurs: bool,
    now: DateTime<Utc>,
    rules: &CadenceConfig,
) -> Option<Streak> {
    let mut past: Vec<&Occurrence> = occurrences
        .iter()
        .copied()
        .filter(|o| o.start_utc < now)
        .collect();
    past.sort_by_key(|o| std::cmp::Reverse(o.start_utc));
    let mut cancelled_in_row = 0;
    let mut last_held = None;
    for occurrence in &past {
        if occurrence.status == EventStatus::Cancelled {
            cancelled_in_row += 1;
        } else if is_theirs(occurrence) {
            last_held = Some(occurrence.start_utc);
            break;
        }
    }
    let since = last_held
        .or(first_start)
        .or_else(|| past.last().map(|o| o.start_utc))?;
    let weeks = (now - since).num_weeks();
    let interval = typical_interval(occurrences).unwrap_or(TimeDelta::zero());
    let threshold = TimeDelta::weeks(i64::from(rules.weeks_without)).max(interval * 2);
    let alert = if cancelled_in_row >= rules.cancelled_in_row as usize {
        Some(StreakKind::Cancelled {
            in_row: cancelled_in_row,
        })
    } else if recurs && now - since >= threshold {
        Some(StreakKind::NoneHeld { weeks })
    } else {
        None
    };
    Some(Streak {
        cancelled_in_row,
        last_held,
        since,
        alert,
    })
}

impl Streak {
    /// One sentence with the numbers: "The last 3 meetings were cancelled; the last
    /// one held was on Tue 29 Sep." `zone` formats the date.
    pub fn sentence(&self, zone: chrono_tz::Tz) -> String {
        let held = match self.last_held {
            Some(at) => format!(
                "the last one held was on {}",
                at.with_timezone(&zone).format("%a %-d %b %Y")
            ),
            None => "none was held in the history tete keeps".to_string(),
        };
        match &self.alert {
            Some(StreakKind::Cancelled { in_row }) => {
                format!("The last {in_row} meetings were cancelled; {held}.")
            }
            Some(StreakKind::NoneHeld { weeks }) => {
                format!("No meeting was held for {weeks} weeks; {held}.")
            }
            None if self.cancelled_in_row == 1 => {
                format!("The last meeting was cancelled; {held}.")
            }
            None if self.cancelled_in_row > 1 => format!(
                "The last {} meetings were cancelled; {held}.",
                self.cancelled_in_row
            ),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::occurrence;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn refs(occurrences: &[Occurrence]) -> Vec<&Occurrence> {
        occurrences.iter().collect()
    }

    fn weekly(statuses: &[EventStatus]) -> Vec<Occurrence> {
        statuses
            .iter()
            .enumerate()
            .map(|(i, status)| {
                let start = at("2026-10-06T09:00:00Z") + TimeDelta::weeks(i as i64);
                Occurrence {
                    status: *status,
                    ..occurrence("u", start)
                }
            })
            .collect()
    }

    const HELD: EventStatus = EventStatus::Confirmed;
    const CANCELLED: EventStatus = EventStatus::Cancelled;

    #[test]
    fn two_cancelled_in_a_row_is_a_streak_and_one_is_not() {
        let rules = CadenceConfig::default();
        let now = at("2026-10-26T12:00:00Z");
        let one = streak(
            &refs(&weekly(&[HELD, HELD, CANCELLED])),
            |_| true,
            None,
            true,
            now,
            &rules,
        )
        .unwrap();
        assert_eq!(one.alert, None);
        let two = streak(
            &refs(&weekly(&[HELD, CANCELLED, CANCELLED, HELD])),
            |_| true,
            None,
            true,
            now,
            &rules,
        )
        .unwrap();
        assert_eq!(two.alert, Some(StreakKind::Cancelled { in_row: 2 }));
        assert_eq!(two.since, at("2026-10-06T09:00:00Z"));
        assert!(
            two.sentence(chrono_tz::Europe::Berlin).contains(
                "last 2 meetings were cancelled; the last one held was on Tue 6 Oct 2026"
            ),
            "{}",
            two.sentence(chrono_tz::Europe::Berlin)
        );
    }

    #[test]
    fn a_meeting_someone_else_attended_neither_counts_as_held_nor_breaks_the_streak() {
        let rules = CadenceConfig::default();
        let now = at("2026-11-04T12:00:00Z");
        // Held, cancelled, held by someone else, cancelled.
        let occurrences = weekly(&[HELD, CANCELLED, HELD, CANCELLED]);
        let someone_else = occurrences[2].start_utc;
        let streak = streak(
            &refs(&occurrences),
            |o| o.start_utc != someone_else,
            None,
            true,
            now,
            &rules,
        )
        .unwrap();
        assert_eq!(streak.alert, Some(StreakKind::Cancelled { in_row: 2 }));
        assert_eq!(streak.last_held, Some(occurrences[0].start_utc));
    }

    #[test]
    fn a_held_meeting_ends_the_streak_and_starts_another_identity() {
        let rules = CadenceConfig::default();
        let now = at("2026-11-04T12:00:00Z");
        let before = streak(
            &refs(&weekly(&[HELD, CANCELLED, CANCELLED])),
            |_| true,
            None,
            true,
            now,
            &rules,
        )
        .unwrap();
        let after = streak(
            &refs(&weekly(&[HELD, CANCELLED, CANCELLED, HELD, CANCELLED])),
            |_| true,
            None,
            true,
            now,
            &rules,
        )
        .unwrap();
        assert!(before.alert.is_some());
        assert_eq!(after.alert, None);
        assert_ne!(before.since, after.since);
    }

    #[test]
    fn weeks_without_a_held_meeting_alert_only_while_the_series_recurs() {
        let rules = CadenceConfig::default();
        let now = at("2026-11-10T12:00:00Z");
        // Held on 6 Oct, then nothing in the calendar (deleted occurrences).
        let occurrences = weekly(&[HELD]);
        let recurring = streak(&refs(&occurrences), |_| true, None, true, now, &rules).unwrap();
        assert_eq!(recurring.alert, Some(StreakKind::NoneHeld { weeks: 5 }));
        let ended = streak(&refs(&occurrences), |_| true, None, false, now, &rules).unwrap();
        assert_eq!(ended.alert, None);
        // A monthly series is not late after four weeks, only after two months.
        let monthly: Vec<Occurrence> = [
            at("2026-09-07T09:00:00Z"),
            at("2026-10-05T09:00:00Z"),
            at("2026-11-02T09:00:00Z"),
            at("2026-12-07T09:00:00Z"),
        ]
        .into_iter()
        .map(|start| occurrence("m", start))
        .collect();
        let after_five_weeks = streak(
            &refs(&monthly[..3]),
            |_| true,
            None,
            true,
            at("2026-12-06T00:00:00Z"),
            &rules,
        );
        assert_eq!(after_five_weeks.unwrap().alert, None);
        // A future occurrence does not count as held.
        let future = weekly(&[HELD, HELD, HELD, HELD, HELD, HELD, HELD]);
        let early = streak(
            &refs(&future),
            |_| true,
            None,
            true,
            at("2026-10-07T00:00:00Z"),
            &rules,
        )
        .unwrap();
        assert_eq!(early.alert, None);
    }
}

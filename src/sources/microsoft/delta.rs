//! The delta cursor of one calendar view and the window it is frozen to.
//!
//! Graph freezes `startDateTime`/`endDateTime` into the delta token, so moving the
//! window means a new full listing. The cursor also remembers which series each
//! occurrence id belongs to: a `@removed` tombstone carries only an id, and tete must
//! know which series master to read again (a cancelled occurrence shows up there).
//! That index is stored apart from the cursor and rewritten only when it changes: it
//! holds thousands of ids, and the delta link changes at every poll.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The cursor format version written by this build (2: the index is stored apart).
const CURSOR_VERSION: u32 = 2;

/// How far the calendar view reaches, and when to start a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowPolicy {
    /// The view starts this long before now (history for briefs and carried-over items).
    pub back: Duration,
    /// The view ends this long after now.
    pub ahead: Duration,
    /// A new view is started when less than this much future remains in the current one.
    pub margin: Duration,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        WindowPolicy {
            back: Duration::days(60),
            ahead: Duration::days(120),
            margin: Duration::days(30),
        }
    }
}

/// A calendar-view window, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// `startDateTime`.
    pub start: DateTime<Utc>,
    /// `endDateTime`.
    pub end: DateTime<Utc>,
}

impl WindowPolicy {
    /// A policy whose window always reaches `history` back and at least `horizon`
    /// ahead (never less than the default 30 days), rolling about every 90 days.
    pub fn covering(history: std::time::Duration, horizon: std::time::Duration) -> WindowPolicy {
        // Configured durations are far below chrono's limit; cap absurd ones at a century.
        let days = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::days(36_500));
        let margin = days(horizon).max(Duration::days(30));
        WindowPolicy {
            back: days(history).max(Duration::days(1)),
            ahead: margin + Duration::days(90),
            margin,
        }
    }

    /// A fresh window around `now`, its bounds on whole UTC days so repeated starts
    /// on one day ask for the same view.
    pub fn window_at(&self, now: DateTime<Utc>) -> Window {
        let day = now.duration_trunc(Duration::days(1)).unwrap_or(now);
        // Checked, like every date computed from config values: clamped, never a panic.
        Window {
            start: day
                .checked_sub_signed(self.back)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            end: day
                .checked_add_signed(self.ahead)
                .and_then(|end| end.checked_add_signed(Duration::days(1)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// True when `window` no longer reaches far enough ahead of `now` (or does not
    /// cover now at all, e.g. after the clock jumped).
    pub fn must_roll(&self, window: &Window, now: DateTime<Utc>) -> bool {
        window.end - now < self.margin || now < window.start
    }
}

/// What is kept between polls of one calendar, serialized into the store's cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaCursor {
    /// Format version.
    pub version: u32,
    /// The window the delta link is frozen to.
    pub window: Window,
    /// `@odata.deltaLink`, verbatim.
    pub delta_link: String,
    /// Occurrence and exception ids → the id of their series master.
    pub members: BTreeMap<String, String>,
}

impl DeltaCursor {
    /// A cursor for a completed round.
    pub fn new(window: Window, delta_link: String, members: BTreeMap<String, String>) -> Self {
        DeltaCursor {
            version: CURSOR_VERSION,
            window,
            delta_link,
            members,
        }
    }

    /// The cursor as stored: the part rewritten at every poll (window, delta link,
    /// and a digest of the index), and the occurrence index.
    pub fn to_stored(&self) -> (String, String) {
        // Serializing plain strings and dates cannot fail.
        let index = serde_json::to_string(&self.members).unwrap_or_default();
        let cursor = StoredCursor {
            version: CURSOR_VERSION,
            window: self.window,
            delta_link: self.delta_link.clone(),
            index_digest: digest(&index),
        };
        (serde_json::to_string(&cursor).unwrap_or_default(), index)
    }

    /// Reads a stored cursor and its index; `None` (a full listing follows) when
    /// either is missing or unreadable, from another format version, or when the
    /// index is not the one the cursor was written with.
    pub fn from_stored(cursor: &str, index: Option<&str>) -> Option<DeltaCursor> {
        let stored = serde_json::from_str::<StoredCursor>(cursor)
            .ok()
            .filter(|c| c.version == CURSOR_VERSION && !c.delta_link.is_empty())?;
        let index = index.filter(|index| digest(index) == stored.index_digest)?;
        Some(DeltaCursor {
            version: stored.version,
            window: stored.window,
            delta_link: stored.delta_link,
            members: serde_json::from_str(index).ok()?,
        })
    }
}

/// The part of a [`DeltaCursor`] written at every poll.
#[derive(Serialize, Deserialize)]
struct StoredCursor {
    version: u32,
    window: Window,
    delta_link: String,
    index_digest: String,
}

/// A short digest tying a stored cursor to the index it was written with.
fn digest(index: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(index.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Formats a window bound as Graph wants it in the query (`2024-01-01T00:00:00Z`).
pub fn query_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn windows_start_on_whole_days() {
        let policy = WindowPolicy::default();
        assert_eq!(policy.window_at(at(2, 9)), policy.window_at(at(2, 23)));
        let w = policy.window_at(at(2, 9));
        assert_eq!(query_time(w.start), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn a_window_rolls_when_its_future_runs_short() {
        let policy = WindowPolicy {
            back: Duration::days(10),
            ahead: Duration::days(40),
            margin: Duration::days(30),
        };
        let w = policy.window_at(at(1, 0));
        assert!(!policy.must_roll(&w, at(1, 0)));
        assert!(!policy.must_roll(&w, at(11, 0)));
        assert!(policy.must_roll(&w, at(12, 1)));
        assert!(policy.must_roll(&w, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()));
    }

    #[test]
    fn a_covering_window_always_reaches_the_horizon() {
        let policy = WindowPolicy::covering(
            std::time::Duration::from_secs(180 * 86_400),
            std::time::Duration::from_secs(35 * 86_400),
        );
        assert_eq!(policy.back, Duration::days(180));
        assert_eq!(policy.margin, Duration::days(35));
        let w = policy.window_at(at(1, 0));
        // Just before it rolls, the window still covers the horizon.
        let latest = w.end - policy.margin;
        assert!(!policy.must_roll(&w, latest));
        assert!(w.end - latest >= Duration::days(35));
        assert!(policy.must_roll(&w, latest + Duration::seconds(1)));
    }

    #[test]
    fn cursors_round_trip_and_foreign_text_is_ignored() {
        let w = WindowPolicy::default().window_at(at(1, 0));
        let mut members = BTreeMap::new();
        members.insert("occ".to_string(), "master".to_string());
        let cursor = DeltaCursor::new(w, "https://graph/delta?$deltatoken=x".into(), members);
        let (text, index) = cursor.to_stored();
        assert!(!text.contains("occ"), "the index is stored apart: {text}");
        assert_eq!(
            DeltaCursor::from_stored(&text, Some(&index)),
            Some(cursor.clone())
        );
        assert_eq!(DeltaCursor::from_stored(&text, None), None, "index lost");
        assert_eq!(
            DeltaCursor::from_stored(&text, Some("{}")),
            None,
            "another index"
        );
        assert_eq!(
            DeltaCursor::from_stored("syncToken-from-elsewhere", Some(&index)),
            None
        );
    }
}

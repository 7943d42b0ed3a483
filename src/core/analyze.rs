//! Steps two and three of a pass: expand every series around `now` and decide which
//! ones are 1:1s. Pure: a function of the stored events, the config and the time.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::config::{Config, MAX_HISTORY, MAX_HORIZON};
use crate::core::calendar::{self, Limits, Window};
use crate::core::detect::{self, SeriesCandidate, Verdict};
use crate::core::series::{SeriesEvents, group_by_series};
use crate::model::stored::StoredEvent;
use crate::model::{Event, EventStatus, Occurrence, Pair, SeriesId};

/// One series with its verdict and its occurrences around `now`.
#[derive(Clone, Debug)]
pub struct SeriesView {
    /// Whether it is a 1:1, and why.
    pub verdict: Verdict,
    /// "weekly", "every 2 weeks", ... ("once" for single events).
    pub cadence: String,
    /// Accounts whose calendars hold it.
    pub accounts: Vec<String>,
    /// The master and overrides it was expanded from (none for a series that is not a
    /// 1:1: nothing reads them).
    pub events: Vec<Event>,
    /// Occurrences in `[now - history, now + horizon)`, cancelled ones included. Of a
    /// series that is not a 1:1, only the next one, without description and attendees.
    pub occurrences: Vec<Occurrence>,
    /// Start of the series (its master's first occurrence), for counting meetings.
    pub first_start: Option<DateTime<Utc>>,
    /// The id under which the context (items, notes, history, skips) of this series'
    /// current pair is kept: the series id until the pass binds it with
    /// `Store::context_id` (a series whose second person changed has a fresh one).
    pub context: SeriesId,
}

impl SeriesView {
    /// Whether `occurrence` is a meeting of this series' two people (cancelled ones
    /// count as theirs). An override that brought in someone else is not: what was
    /// written or held there belongs to another pair's context.
    pub fn is_current_pair(&self, occurrence: &Occurrence) -> bool {
        if occurrence.status == EventStatus::Cancelled {
            return true;
        }
        let Some(pair) = Pair::of(&self.verdict.participants) else {
            return false;
        };
        detect::meeting_people(&occurrence.attendees, occurrence.organizer.as_ref())
            .is_ok_and(|people| Pair::of(&people) == Some(pair))
    }

    /// The series id.
    pub fn id(&self) -> &SeriesId {
        &self.verdict.id
    }

    /// The next occurrence that takes place at or after `now`.
    pub fn next(&self, now: DateTime<Utc>) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.start_utc >= now && o.status != EventStatus::Cancelled)
            .min_by_key(|o| o.start_utc)
    }

    /// Occurrences that started before `now`, were not cancelled and were meetings of
    /// the series' current pair, oldest first.
    pub fn held_before(&self, now: DateTime<Utc>) -> Vec<&Occurrence> {
        let mut held: Vec<&Occurrence> = self
            .occurrences
            .iter()
            .filter(|o| o.start_utc < now && o.status != EventStatus::Cancelled)
            .filter(|o| self.is_current_pair(o))
            .collect();
        held.sort_by_key(|o| o.start_utc);
        held
    }
}

/// Everything a pass knows about the calendars at `now`.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The time of the analysis.
    pub now: DateTime<Utc>,
    /// Recurring series, and single events shaped like a 1:1 (so their "not recurring"
    /// verdict can be seen), sorted with 1:1s first, then by title.
    pub series: Vec<SeriesView>,
    /// Expansion problems (one line per series).
    pub warnings: Vec<String>,
}

impl Analysis {
    /// The detected 1:1 series.
    pub fn one_on_ones(&self) -> impl Iterator<Item = &SeriesView> {
        self.series.iter().filter(|s| s.verdict.one_on_one)
    }

    /// The recurring series that are not 1:1s (single events shaped like one are
    /// listed in `series` for their verdict, but are not counted here).
    pub fn other_series(&self) -> impl Iterator<Item = &SeriesView> {
        self.series
            .iter()
            .filter(|s| !s.verdict.one_on_one && s.cadence != "once")
    }

    /// Finds a series by id, id prefix (at least 4 characters, unambiguous) or UID.
    pub fn find(&self, wanted: &str) -> Option<&SeriesView> {
        let wanted = wanted.trim();
        if let Some(exact) = self
            .series
            .iter()
            .find(|s| s.verdict.id.0 == wanted || s.verdict.uid == wanted)
        {
            return Some(exact);
        }
        if wanted.len() < 4 {
            return None;
        }
        let mut matches = self
            .series
            .iter()
            .filter(|s| s.verdict.id.0.starts_with(wanted));
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }
}

/// How far a pass looks back (history) and ahead (horizon). Validation caps both
/// durations; they are capped again here because a `Config` can also be built in code.
fn spans(config: &Config) -> (TimeDelta, TimeDelta) {
    let span = |duration: std::time::Duration, max: std::time::Duration| {
        TimeDelta::from_std(duration.min(max)).unwrap_or(TimeDelta::zero())
    };
    (
        span(config.detection.history, MAX_HISTORY),
        span(config.detection.horizon, MAX_HORIZON),
    )
}

/// The expansion window of a pass: history behind, horizon ahead. The arithmetic is
/// checked, because an overflow here would panic every pass.
pub fn window(config: &Config, now: DateTime<Utc>) -> Window {
    let (back, ahead) = spans(config);
    Window::instants(
        now.checked_sub_signed(back)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        now.checked_add_signed(ahead)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// The verdict reason of a series whose recurrence rule is invalid or had to be capped.
pub const UNUSABLE_RULE_REASON: &str = "invalid recurrence rule";

/// Expands and classifies every series in `stored` (taken over: the events end up in
/// the series views, not copied). `owners` maps account names to their owners'
/// addresses (configured, or learned at sign-in).
pub fn analyze(
    config: &Config,
    stored: impl IntoIterator<Item = StoredEvent>,
    owners: &HashMap<String, String>,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Analysis {
    let owner_of = |account: &str| owners.get(account).cloned();
    let mut warnings = Vec::new();
    let mut series = Vec::new();
    for group in group_by_series(stored, &owner_of) {
        let one = analyze_series(config, group, now, limits, false);
        warnings.extend(one.warning);
        series.extend(one.view);
    }
    Analysis::from_parts(now, series, warnings)
}

impl Analysis {
    /// An analysis of the given views, sorted as [`Analysis::series`] promises.
    pub fn from_parts(
        now: DateTime<Utc>,
        mut series: Vec<SeriesView>,
        warnings: Vec<String>,
    ) -> Analysis {
        series.sort_by_cached_key(sort_key);
        Analysis {
            now,
            series,
            warnings,
        }
    }
}

/// The order of [`Analysis::series`]: 1:1s first, then by title, then by id.
fn sort_key(view: &SeriesView) -> (bool, String, SeriesId) {
    (
        !view.verdict.one_on_one,
        view.verdict.title.to_lowercase(),
        view.verdict.id.clone(),
    )
}

/// What the analysis of one series found, and until when it holds.
#[derive(Clone, Debug)]
pub struct SeriesAnalysis {
    /// Its view, if the series is listed at all (single events not shaped like a 1:1,
    /// or outside the window, are not).
    pub view: Option<SeriesView>,
    /// Its expansion problem, if any (one line).
    pub warning: Option<String>,
    /// The first instant at which an analysis could find something else for the same
    /// events (an occurrence enters or leaves the window, the next meeting of a series
    /// that keeps only that one begins); `None` when time changes nothing. Only
    /// computed when asked for.
    pub valid_until: Option<DateTime<Utc>>,
    /// Whether the series has a recurrence rule (a single meeting never becomes a 1:1,
    /// whatever the time).
    pub recurring: bool,
}

/// How far past the horizon the analysis of one series looks for the next occurrence
/// to enter the window. A series with none that close is looked at again this long
/// after its analysis, whether one came or not.
const LOOKAHEAD: TimeDelta = TimeDelta::days(7);

/// Expands and classifies one series at `now`. With `track_validity` it also works
/// out [`SeriesAnalysis::valid_until`] (one more, short, expansion past the horizon),
/// so a caller can keep the result until then instead of expanding it every pass.
pub fn analyze_series(
    config: &Config,
    group: SeriesEvents,
    now: DateTime<Utc>,
    limits: &Limits,
    track_validity: bool,
) -> SeriesAnalysis {
    let mut found = SeriesAnalysis {
        view: None,
        warning: None,
        valid_until: None,
        recurring: false,
    };
    let Some(master) = group.representative().cloned() else {
        return found;
    };
    let recurring = master.recurrence.as_ref().is_some_and(|r| !r.is_empty());
    found.recurring = recurring;
    // Single events are listed only when they look like a 1:1 and take place inside
    // the window, so `tete series` can say "not recurring" about the coffee someone
    // expected a brief for, without listing every chat of past years. Whether they
    // look like one does not depend on the time.
    if !recurring && detect::meeting_people(&master.attendees, master.organizer.as_ref()).is_err() {
        return found;
    }
    let window = window(config, now);
    let (back, ahead) = spans(config);
    // When the first occurrence past the window's end enters it.
    let entering = || -> DateTime<Utc> {
        let Some(end) = now.checked_add_signed(ahead) else {
            return DateTime::<Utc>::MAX_UTC;
        };
        let beyond = Window::instants(end, end.checked_add_signed(LOOKAHEAD).unwrap_or(end));
        calendar::expand(&group.events, &beyond, config.timezone, limits)
            .occurrences
            .iter()
            .map(|o| o.start_utc)
            .filter(|start| *start >= end)
            .min()
            .and_then(|start| start.checked_sub_signed(ahead))
            .map(|at| at + TimeDelta::nanoseconds(1))
            .unwrap_or_else(|| now + LOOKAHEAD)
    };
    let expansion = calendar::expand(&group.events, &window, config.timezone, limits);
    if !recurring && expansion.occurrences.is_empty() {
        // A single meeting that is over never comes back into the window (most of a
        // store's events): nothing to look at again, and no expansion past the horizon.
        let over = group
            .events
            .iter()
            .all(|e| calendar::event_time_to_utc(&e.start, config.timezone) < now);
        found.valid_until = (track_validity && !over).then(entering);
        return found;
    }
    let mut verdict = detect::classify(
        &SeriesCandidate {
            master: &master,
            owners: group.owners.clone(),
        },
        &config.detection,
    );
    // A rule that could not be expanded as written (invalid, or stopped at the
    // occurrence limit like FREQ=SECONDLY) is no meeting anyone holds: never brief it,
    // and say why instead of calling it a 1:1 "every second; next: none".
    if !expansion.unusable_rules.is_empty() {
        verdict.one_on_one = false;
        verdict.reason = UNUSABLE_RULE_REASON.to_string();
    }
    // One warning per series: the engine may have several lines about it.
    found.warning = expansion.warnings.into_iter().next();
    let cadence = match &master.recurrence {
        Some(rule) if recurring => calendar::describe_cadence(rule),
        _ => "once".to_string(),
    };
    let first_start = (master.recurrence_id.is_none())
        .then(|| calendar::event_time_to_utc(&master.start, config.timezone));
    // When the first occurrence in the window leaves it (an occurrence is in the window
    // while it overlaps it).
    let leaving = |occurrences: &[Occurrence]| {
        occurrences
            .iter()
            .filter_map(|o| o.end_utc.max(o.start_utc).checked_add_signed(back))
            .min()
    };
    let (events, occurrences, valid_until) = if verdict.one_on_one {
        let valid_until = track_validity.then(|| {
            let entering = entering();
            leaving(&expansion.occurrences).map_or(entering, |left| left.min(entering))
        });
        (group.events, expansion.occurrences, valid_until)
    } else {
        let left = (!recurring && track_validity)
            .then(|| leaving(&expansion.occurrences))
            .flatten();
        // Only 1:1s are briefed; of the rest, `tete series` shows when the next meeting
        // is, so that is all a pass keeps. (A daily stand-up would otherwise hold some
        // 150 copies of its description and attendee list.)
        let next = expansion
            .occurrences
            .into_iter()
            .filter(|o| o.start_utc >= now && o.status != EventStatus::Cancelled)
            .min_by_key(|o| o.start_utc)
            .map(|o| Occurrence {
                description: Default::default(),
                attendees: Default::default(),
                ..o
            });
        // It holds until that meeting begins; without one, until one enters.
        let valid_until = track_validity.then(|| {
            let changes = match &next {
                Some(next) => next.start_utc + TimeDelta::nanoseconds(1),
                None => entering(),
            };
            left.map_or(changes, |left| left.min(changes))
        });
        (Vec::new(), next.into_iter().collect(), valid_until)
    };
    found.valid_until = valid_until;
    found.view = Some(SeriesView {
        context: verdict.id.clone(),
        verdict,
        cadence,
        accounts: group.accounts,
        events,
        occurrences,
        first_start,
    });
    found
}

/// A series as `tete series --json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesSummary {
    /// Short id.
    pub id: String,
    /// iCalendar UID.
    pub uid: String,
    /// Title.
    pub title: String,
    /// True when tete briefs it.
    pub one_on_one: bool,
    /// Why (not).
    pub reason: String,
    /// "weekly", "every 2 weeks", ...
    pub cadence: String,
    /// The two people (empty when it is not a 1:1 of two).
    pub participants: Vec<PersonSummary>,
    /// Calendar owners among the participants.
    pub owners: Vec<String>,
    /// Accounts whose calendars hold it.
    pub accounts: Vec<String>,
    /// The next occurrence's start (RFC 3339 in the config's zone), if any in the horizon.
    pub next: Option<String>,
    /// Meetings not held lately (1:1s only; `None` when nothing was cancelled in a row
    /// and no alert is due).
    pub streak: Option<crate::core::cadence::Streak>,
}

/// A person in JSON output.
#[derive(Clone, Debug, Serialize)]
pub struct PersonSummary {
    /// Address.
    pub email: String,
    /// Display name, if known.
    pub name: Option<String>,
}

impl SeriesView {
    /// The series' streak of meetings not held at `now` (see `core::cadence`), counting
    /// as held only meetings of its current pair.
    pub fn streak(
        &self,
        now: DateTime<Utc>,
        rules: &crate::config::CadenceConfig,
    ) -> Option<crate::core::cadence::Streak> {
        let all: Vec<&Occurrence> = self.occurrences.iter().collect();
        let recurs = self.next(now).is_some();
        crate::core::cadence::streak(
            &all,
            |o| self.is_current_pair(o),
            self.first_start,
            recurs,
            now,
            rules,
        )
    }

    /// The JSON summary, with times in `zone`.
    pub fn summary(
        &self,
        now: DateTime<Utc>,
        zone: chrono_tz::Tz,
        rules: &crate::config::CadenceConfig,
    ) -> SeriesSummary {
        SeriesSummary {
            id: self.verdict.id.0.clone(),
            uid: self.verdict.uid.clone(),
            title: self.verdict.title.clone(),
            one_on_one: self.verdict.one_on_one,
            reason: self.verdict.reason.clone(),
            cadence: self.cadence.clone(),
            participants: self
                .verdict
                .participants
                .iter()
                .map(|p| PersonSummary {
                    email: p.email.clone(),
                    name: p.name.clone(),
                })
                .collect(),
            owners: self.verdict.owners.clone(),
            accounts: self.accounts.clone(),
            next: self
                .next(now)
                .map(|o| o.start_utc.with_timezone(&zone).to_rfc3339()),
            streak: self
                .verdict
                .one_on_one
                .then(|| self.streak(now, rules))
                .flatten()
                .filter(|s| s.alert.is_some() || s.cancelled_in_row > 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::WindowBound;
    use std::path::Path;

    #[test]
    fn the_window_of_absurd_durations_is_capped_instead_of_overflowing() {
        let text = "[mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
                    [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"a.ics\"\nowner = \"a@example.com\"\n";
        let mut config = crate::config::parse(text, Path::new("/etc/tete/tete.toml")).unwrap();
        config.detection.history = std::time::Duration::from_secs(99_999_999 * 86_400);
        config.detection.horizon = std::time::Duration::MAX;
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let window = window(&config, now);
        let back = TimeDelta::from_std(MAX_HISTORY).unwrap();
        let ahead = TimeDelta::from_std(MAX_HORIZON).unwrap();
        assert!(matches!(window.start, WindowBound::Instant(at) if at == now - back));
        assert!(matches!(window.end, WindowBound::Instant(at) if at == now + ahead));
    }
}

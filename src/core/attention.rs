//! When a 1:1 series needs the pass again: the instants at which what a pass does with
//! it (harvest its context, plan its briefs, queue its recap or cadence note) can
//! change while its events stay the same, and whether there is something to do now.
//!
//! A long-running pass keeps no view of a 1:1 between rounds: it analyses a series
//! again when the store marks it changed, when its analysis runs out, or at
//! [`next_change`]. So `next_change` must never be later than the first instant at
//! which the outcome could differ; being early only costs one more analysis.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::Config;
use crate::core::analyze::SeriesView;
use crate::core::plan::BriefPolicy;
use crate::model::EventStatus;

/// The longest a 1:1 goes without being looked at: the harvest refreshes its items'
/// `last_seen` once a day, and a cadence alert for weeks without a meeting is a
/// matter of days. Each series is looked at again somewhere in the second half of
/// this, at a point fixed by its UID, so a restart does not bring them all back at
/// once a day later.
pub const REVISIT: TimeDelta = TimeDelta::hours(24);

/// Whether recaps of `view` are switched off in the config (by series id or UID).
pub fn recap_opted_out(config: &Config, view: &SeriesView) -> bool {
    config
        .recap
        .opt_out_series
        .iter()
        .any(|s| *s == view.id().0 || *s == view.verdict.uid)
}

/// How long after a meeting's end its recap is due, and how long it stays due.
pub fn recap_window(config: &Config) -> (TimeDelta, TimeDelta) {
    (
        TimeDelta::from_std(config.recap.delay).unwrap_or(TimeDelta::hours(2)),
        TimeDelta::from_std(config.recap.max_late).unwrap_or(TimeDelta::days(1)),
    )
}

/// A stable point in `[REVISIT / 2, REVISIT)` for a series (FNV-1a of its UID).
fn revisit_after(uid: &str) -> TimeDelta {
    let hash = uid.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let half = REVISIT.num_seconds() / 2;
    let offset = i64::try_from(hash % u64::try_from(half).unwrap_or(1)).unwrap_or(0);
    TimeDelta::seconds(half + offset)
}

/// The first instant after `now` at which a pass could do something else with the 1:1
/// `view` than it does at `now`, its events unchanged: an occurrence starts (it is
/// held, it is no longer the next one), a brief becomes due for either person, a
/// recap's window opens or closes; at the latest [`REVISIT`].
pub fn next_change(
    config: &Config,
    policy: &BriefPolicy,
    view: &SeriesView,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let (delay, max_late) = recap_window(config);
    let tick = TimeDelta::nanoseconds(1);
    let mut soonest = now
        .checked_add_signed(revisit_after(&view.verdict.uid))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut consider = |at: Option<DateTime<Utc>>| {
        if let Some(at) = at.filter(|at| *at > now && *at < soonest) {
            soonest = at;
        }
    };
    for occurrence in &view.occurrences {
        let start = occurrence.start_utc;
        // "Held" compares `start < now`, the planner `start <= now`: both edges.
        consider(Some(start));
        consider(start.checked_add_signed(tick));
        if start > now {
            for person in &view.verdict.participants {
                consider(Some(policy.due_at(start, &person.email)));
            }
        }
        let recap_due = occurrence.end_utc.checked_add_signed(delay);
        consider(recap_due);
        consider(recap_due.and_then(|due| due.checked_add_signed(max_late)));
    }
    soonest
}

/// Whether a pass at `now` may have something to queue for the 1:1 `view`: a brief
/// whose time has come for a meeting not yet started, a recap in its window, or a
/// cadence alert. A superset of what the planner and the follow-ups queue (they also
/// consult what was sent and skipped), so a pass can leave every other series out.
pub fn has_work(
    config: &Config,
    policy: &BriefPolicy,
    view: &SeriesView,
    now: DateTime<Utc>,
) -> bool {
    let brief_due = view
        .occurrences
        .iter()
        .filter(|o| o.start_utc > now && o.status != EventStatus::Cancelled)
        .any(|o| {
            view.verdict
                .participants
                .iter()
                .any(|person| policy.due_at(o.start_utc, &person.email) <= now)
        });
    if brief_due {
        return true;
    }
    if config.recap.enabled && !recap_opted_out(config, view) {
        let (delay, max_late) = recap_window(config);
        let recap_due = view.held_before(now).into_iter().any(|meeting| {
            let due = meeting.end_utc + delay;
            due <= now && now < due + max_late
        });
        if recap_due {
            return true;
        }
    }
    config.cadence.alerts
        && view
            .streak(now, &config.cadence)
            .is_some_and(|streak| streak.alert.is_some())
}

/// The next brief of `view` not yet due at `now`, for either person: what a daemon
/// says it waits for.
pub fn next_brief(
    policy: &BriefPolicy,
    view: &SeriesView,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let next = view.next(now)?;
    view.verdict
        .participants
        .iter()
        .map(|person| policy.due_at(next.start_utc, &person.email))
        .filter(|due| *due > now)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calendar::Limits;
    use crate::core::series::group_by_series;
    use crate::model::stored::{CalendarRef, StoredEvent};
    use crate::model::{Attendee, Event, EventTime, PartStat, Person, Recurrence};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn config(extra: &str) -> Config {
        crate::config::parse(
            &format!(
                "state_dir = \"/tmp/unused\"\ntimezone = \"UTC\"\n\
                 [brief]\nlead_time = \"18h\"\n\
                 [mail]\nfrom = \"a@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"/tmp/unused\"\n\
                 {extra}\
                 [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"a@example.com\"\n"
            ),
            std::path::Path::new("/tmp/attention.toml"),
        )
        .expect("config")
    }

    /// A weekly 1:1 on Tuesdays 10:00–10:30 UTC since 3 November 2026.
    fn weekly(config: &Config, now: DateTime<Utc>) -> SeriesView {
        let person = |email: &str| Person {
            email: email.into(),
            name: None,
        };
        let attendee = |email: &str| Attendee {
            person: person(email),
            role: None,
            partstat: Some(PartStat::Accepted),
            cutype: None,
            is_self: false,
        };
        let event = Event {
            summary: "Alex / Dana".into(),
            start: EventTime::utc(at("2026-11-03T10:00:00Z")),
            end: Some(EventTime::utc(at("2026-11-03T10:30:00Z"))),
            recurrence: Some(Recurrence {
                rrules: vec!["FREQ=WEEKLY".into()],
                ..Recurrence::default()
            }),
            attendees: vec![attendee("a@example.com"), attendee("d@example.com")],
            organizer: Some(person("a@example.com")),
            ..crate::model::fixtures::event("w@example.com")
        };
        let stored = StoredEvent {
            calendar: CalendarRef {
                account: "a".into(),
                calendar: "primary".into(),
            },
            event,
        };
        let owner = |_: &str| Some("a@example.com".to_string());
        let group = group_by_series(vec![stored], &owner)
            .pop()
            .expect("one series");
        crate::core::analyze::analyze_series(config, group, now, &Limits::default(), false)
            .view
            .expect("listed")
    }

    #[test]
    fn the_next_change_is_the_brief_due_time_then_the_start_then_the_recap() {
        let config = config("[recap]\nenabled = true\ndelay = \"2h\"\n");
        let policy = BriefPolicy::from_config(&config);
        // Monday 08:00: the brief of Tuesday 10:00 is due Monday 16:00.
        let monday = at("2026-12-07T08:00:00Z");
        let view = weekly(&config, monday);
        assert!(view.verdict.one_on_one, "{}", view.verdict.reason);
        assert_eq!(
            next_change(&config, &policy, &view, monday),
            at("2026-12-07T16:00:00Z")
        );
        assert!(!has_work(&config, &policy, &view, monday));
        let due = at("2026-12-07T16:00:00Z");
        assert!(has_work(&config, &policy, &view, due));
        assert_eq!(
            next_change(&config, &policy, &view, due),
            at("2026-12-08T10:00:00Z")
        );
        // After the start: the recap opens at 12:30 and closes a day later.
        let after = at("2026-12-08T10:00:01Z");
        assert!(!has_work(&config, &policy, &view, after));
        assert_eq!(
            next_change(&config, &policy, &view, after),
            at("2026-12-08T12:30:00Z")
        );
        assert!(has_work(
            &config,
            &policy,
            &view,
            at("2026-12-08T12:30:00Z")
        ));
    }

    #[test]
    fn a_quiet_series_is_looked_at_again_within_a_day() {
        let config = config("");
        let policy = BriefPolicy::from_config(&config);
        // Wednesday evening (Tuesday's recap window closed at noon): nothing before
        // Monday 16:00 but the revisit.
        let wednesday = at("2026-12-09T18:00:00Z");
        let view = weekly(&config, wednesday);
        let next = next_change(&config, &policy, &view, wednesday);
        assert!(
            next > wednesday + REVISIT / 2 - TimeDelta::seconds(1),
            "{next}"
        );
        assert!(next < wednesday + REVISIT, "{next}");
        assert_eq!(
            next_brief(&policy, &view, wednesday),
            Some(at("2026-12-14T16:00:00Z"))
        );
    }

    #[test]
    fn revisits_spread_over_half_a_day() {
        let offsets: std::collections::HashSet<i64> = (0..100)
            .map(|i| revisit_after(&format!("series-{i}@example.com")).num_minutes())
            .collect();
        assert!(offsets.len() > 80, "{} distinct", offsets.len());
        assert!(offsets.iter().all(|m| (12 * 60..24 * 60).contains(m)));
    }
}

//! Expansion of events into concrete occurrences inside a window: series masters are
//! expanded on wall-clock time, EXDATE/EXRULE removed, RDATE added, and RECURRENCE-ID
//! overrides put in place of the slot they replace.

use super::rules::{
    Budget, RecurrenceError, WallTimes, parse_rule, rule_wall_times, until_to_wall,
};
use super::values::RawTime;
use super::zones::{ZoneCalc, event_time_to_utc};
use crate::model::{Attendee, Event, EventTime, Occurrence, Zone};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One end of a [`Window`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowBound {
    /// A fixed instant: what the daemon uses ("the next 14 days from now").
    Instant(DateTime<Utc>),
    /// A wall-clock reading compared with each event in its own zone's wall-clock time
    /// (what `tete expand --from/--to` and the corpus reference use).
    WallClock(NaiveDateTime),
}

/// The span occurrences are wanted for, `[start, end)`. An occurrence is in the window
/// when it overlaps it; a zero-length occurrence when its start lies in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub start: WindowBound,
    /// Exclusive end.
    pub end: WindowBound,
}

impl Window {
    /// A window between two instants.
    pub fn instants(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Window {
            start: WindowBound::Instant(start),
            end: WindowBound::Instant(end),
        }
    }

    /// A window of floating dates `[from, to)`, each event read in its own wall-clock time.
    pub fn floating_dates(from: NaiveDate, to: NaiveDate) -> Self {
        Window {
            start: WindowBound::WallClock(from.and_time(NaiveTime::MIN)),
            end: WindowBound::WallClock(to.and_time(NaiveTime::MIN)),
        }
    }
}

/// Bounds on the work spent on one series, so hostile or broken rules stay cheap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// At most this many occurrences per series (the earliest ones are kept).
    pub max_per_series: usize,
    /// At most this many rule instances examined per series (in and before the window).
    pub max_steps_per_series: usize,
    /// Wall-clock budget per series, a last guard for rules the step count misjudges.
    pub max_time_per_series: std::time::Duration,
    /// Wall-clock budget for one whole [`expand`] call: a feed full of hostile series
    /// still costs a bounded time (later series then stop early, with a warning).
    pub max_time_total: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_per_series: 5_000,
            max_steps_per_series: 200_000,
            max_time_per_series: std::time::Duration::from_secs(2),
            max_time_total: std::time::Duration::from_secs(20),
        }
    }
}

/// What [`expand`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Occurrences in the window, sorted by start instant, then UID.
    pub occurrences: Vec<Occurrence>,
    /// Series that were skipped or cut short, one line each (naming the UID).
    pub warnings: Vec<String>,
    /// UIDs of the series whose recurrence rule could not be used as written: invalid
    /// (the series was skipped) or capped (stopped at the occurrence or work limit),
    /// so that callers can refuse to treat them as real meetings.
    pub unusable_rules: Vec<String>,
}

/// Expands `events` (masters, single events and overrides, in any order) into the
/// occurrences that overlap `window`. Floating and all-day values are read in
/// `floating_zone`. Never panics on odd data; problems become warnings.
pub fn expand(events: &[Event], window: &Window, floating_zone: Tz, limits: &Limits) -> Expansion {
    let mut groups: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in events {
        groups.entry(event.uid.as_str()).or_default().push(event);
    }
    let mut out = Expansion::default();
    let deadline = std::time::Instant::now() + limits.max_time_total;
    for (uid, members) in groups {
        let ctx = SeriesCtx {
            window,
            floating: floating_zone,
            limits,
            deadline,
        };
        ctx.expand_series(uid, &members, &mut out);
    }
    out.occurrences.sort_by(|a, b| {
        a.start_utc
            .cmp(&b.start_utc)
            .then_with(|| a.uid.cmp(&b.uid))
    });
    out
}

struct SeriesCtx<'a> {
    window: &'a Window,
    floating: Tz,
    limits: &'a Limits,
    /// End of the whole call's time budget.
    deadline: std::time::Instant,
}

/// A series' EXDATEs, sorted by how they match.
#[derive(Debug, Default)]
struct ExdateSet {
    days: HashSet<NaiveDate>,
    walls: HashSet<NaiveDateTime>,
    instants: HashSet<DateTime<Utc>>,
}

impl ExdateSet {
    fn contains(&self, wall: NaiveDateTime, calc: &ZoneCalc) -> bool {
        self.days.contains(&wall.date())
            || self.walls.contains(&wall)
            || (!self.instants.is_empty() && self.instants.contains(&calc.to_utc(wall)))
    }
}

/// The wall-clock span worth generating for one series.
struct WallRange {
    /// Generate from here (the window start less the event length and a margin).
    from: NaiveDateTime,
    /// Times before this only serve the margin and do not count toward the cap.
    count_from: NaiveDateTime,
    /// Generate up to here.
    to: NaiveDateTime,
}

/// How an occurrence's end follows from its start.
#[derive(Clone, Copy, Debug)]
enum Length {
    /// Add this much wall-clock time (or whole days for all-day events), like
    /// `DTEND - DTSTART` read on the same clock.
    Wall(Duration),
    /// DTEND in another zone than DTSTART: an exact length, end shown in `end_zone`.
    Exact(Duration),
}

/// What every occurrence of an event repeats verbatim, shared rather than copied: a
/// weekly 1:1 has some 30 occurrences in a pass's window, each with the description
/// and attendee list of its master.
struct Shared {
    description: Arc<str>,
    attendees: Arc<[Attendee]>,
}

impl Shared {
    fn of(event: &Event) -> Shared {
        Shared {
            description: Arc::from(event.description.as_str()),
            attendees: Arc::from(event.attendees.as_slice()),
        }
    }
}

impl SeriesCtx<'_> {
    fn expand_series(&self, uid: &str, members: &[&Event], out: &mut Expansion) {
        let (master, overrides) = split_members(members, self.floating);
        // The same meeting seen through two accounts repeats its master unchanged; only
        // masters that disagree are worth a warning.
        let masters: Vec<&&Event> = members
            .iter()
            .filter(|e| e.recurrence_id.is_none())
            .collect();
        let disagree = masters.windows(2).any(|pair| match pair {
            [a, b] => a.start != b.start || a.end != b.end || a.recurrence != b.recurrence,
            _ => false,
        });
        if disagree {
            out.warnings.push(format!(
                "{uid}: {} different events without RECURRENCE-ID share this UID; used the one \
                 with the highest SEQUENCE (the last of them on a tie)",
                masters.len()
            ));
        }
        // An override of a slot the master excludes was deleted by the user: CalDAV
        // clients add the EXDATE and sometimes leave the override behind.
        let overrides: Vec<&Event> = overrides
            .into_iter()
            .filter(|o| !master.is_some_and(|m| self.master_excludes(m, o)))
            .collect();
        let override_slots: Vec<(EventTime, DateTime<Utc>)> = overrides
            .iter()
            .filter_map(|o| o.recurrence_id.clone())
            .map(|rid| {
                let utc = event_time_to_utc(&rid, self.floating);
                (rid, utc)
            })
            .collect();
        let mut future: Vec<(DateTime<Utc>, &Event)> = overrides
            .iter()
            .filter(|o| is_this_and_future(o))
            .filter_map(|o| {
                let rid = o.recurrence_id.as_ref()?;
                Some((event_time_to_utc(rid, self.floating), *o))
            })
            .collect();
        future.sort_by_key(|(at, _)| *at);
        let mut produced: Vec<Occurrence> = Vec::new();
        if let Some(master) = master {
            let slots = Slots {
                single: &override_slots,
                future: &future,
            };
            let usable = self.expand_master(master, &slots, &mut produced, &mut out.warnings);
            if !usable {
                out.unusable_rules.push(uid.to_string());
            }
        }
        for event in &overrides {
            if let Some(occ) = self.override_occurrence(event) {
                produced.push(occ);
            }
        }
        if produced.len() > self.limits.max_per_series {
            produced.sort_by_key(|o| o.start_utc);
            produced.truncate(self.limits.max_per_series);
            let prefix = format!("{uid}: ");
            let said = out
                .warnings
                .iter()
                .any(|w| w.starts_with(&prefix) && w.contains("stopped early"));
            if !said {
                out.warnings.push(format!(
                    "{uid}: more than {} occurrences in the window; kept the earliest",
                    self.limits.max_per_series
                ));
            }
            if !out.unusable_rules.iter().any(|u| u == uid) {
                out.unusable_rules.push(uid.to_string());
            }
        }
        out.occurrences.extend(produced);
    }

    /// True when `master`'s EXDATEs remove the slot `candidate` overrides.
    fn master_excludes(&self, master: &Event, candidate: &Event) -> bool {
        let (Some(rec), Some(rid)) = (&master.recurrence, &candidate.recurrence_id) else {
            return false;
        };
        let (zone, start_wall) = match &master.start {
            EventTime::Date(d) => (Zone::Floating, d.and_time(NaiveTime::MIN)),
            EventTime::DateTime { local, zone } => (zone.clone(), *local),
        };
        let calc = ZoneCalc::new(&zone, self.floating);
        let is_date = master.start.is_date();
        let wall = self.wall_in_zone(rid, &calc, is_date, start_wall.time());
        self.is_exdate(&rec.exdates, wall, &calc, is_date)
    }

    /// Expands one master into `produced`; false when its rule could not be used as
    /// written (invalid, or stopped early).
    fn expand_master(
        &self,
        master: &Event,
        slots: &Slots<'_>,
        produced: &mut Vec<Occurrence>,
        warnings: &mut Vec<String>,
    ) -> bool {
        let (zone, start_wall) = match &master.start {
            EventTime::Date(d) => (Zone::Floating, d.and_time(NaiveTime::MIN)),
            EventTime::DateTime { local, zone } => (zone.clone(), *local),
        };
        let calc = ZoneCalc::new(&zone, self.floating);
        let is_date = master.start.is_date();
        let length = self.length_of(master, &calc);
        let recurrence = master.recurrence.as_ref().filter(|r| !r.is_empty());
        let shared = Shared::of(master);
        let Some(recurrence) = recurrence else {
            let occ = self.occurrence(master, &shared, &calc, start_wall, length, None);
            if self.in_window(&occ) {
                produced.push(occ);
            }
            return true;
        };
        let span = match length {
            Length::Wall(d) | Length::Exact(d) => d.max(Duration::zero()),
        };
        let shift = slots
            .future
            .iter()
            .map(|(rid_utc, changed)| {
                let moved = event_time_to_utc(&changed.start, self.floating) - *rid_utc;
                moved.abs().min(Duration::days(366))
            })
            .max()
            .unwrap_or_else(Duration::zero);
        let range = self.wall_range(&calc, span, shift);
        let (from, to) = (range.from, range.to);
        let series_deadline = std::time::Instant::now() + self.limits.max_time_per_series;
        let mut budget = Budget::until(
            self.limits.max_steps_per_series,
            series_deadline.min(self.deadline),
        );
        let cap = self.limits.max_per_series.saturating_add(1);
        let mut walls: Vec<NaiveDateTime> = Vec::new();
        // RFC 5545 §3.8.5.3: DTSTART is the first instance of the set, unless every
        // rule ends (UNTIL, inclusive) before it: then the rules bound it out.
        let bounded_out = !recurrence.rrules.is_empty()
            && recurrence.rrules.iter().all(|text| {
                parse_rule(text)
                    .ok()
                    .and_then(|r| r.until)
                    .is_some_and(|u| {
                        let until = match u {
                            RawTime::Date(d) => d.and_time(NaiveTime::MIN),
                            RawTime::Local(t) => t,
                            RawTime::Utc(t) => calc.to_local(t.and_utc()),
                        };
                        until < start_wall && until.date() < start_wall.date()
                    })
            });
        if start_wall >= from && start_wall <= to && !bounded_out {
            walls.push(start_wall);
        }
        let mut truncated = false;
        for text in &recurrence.rrules {
            match self.rule_times(text, start_wall, &calc, &range, cap, &mut budget) {
                Ok(found) => {
                    truncated |= found.truncated;
                    walls.extend(found.times);
                }
                Err(error) => {
                    warnings.push(format!("{}: series skipped: {error}", master.uid));
                    return false;
                }
            }
        }
        for rdate in &recurrence.rdates {
            let wall = self.wall_in_zone(rdate, &calc, is_date, start_wall.time());
            if wall >= from && wall <= to {
                walls.push(wall);
            }
        }
        let mut excluded: HashSet<NaiveDateTime> = HashSet::new();
        for text in &recurrence.exrules {
            match self.rule_times(text, start_wall, &calc, &range, cap, &mut budget) {
                Ok(found) => excluded.extend(found.times),
                Err(error) => warnings.push(format!("{}: EXRULE ignored: {error}", master.uid)),
            }
        }
        walls.sort_unstable();
        walls.dedup();
        if truncated {
            warnings.push(format!(
                "{}: recurrence rule stopped early (limit of {} occurrences or the work budget reached)",
                master.uid, self.limits.max_per_series
            ));
        }
        let exdates = self.exdate_set(&recurrence.exdates, is_date);
        for wall in walls {
            if excluded.contains(&wall) || exdates.contains(wall, &calc) {
                continue;
            }
            let instant = calc.to_utc(wall);
            let slot = if is_date {
                EventTime::Date(wall.date())
            } else {
                EventTime::DateTime {
                    local: calc.to_local(instant),
                    zone: zone.clone(),
                }
            };
            if slots
                .single
                .iter()
                .any(|(rid, rid_utc)| slot_matches(rid, *rid_utc, &slot, instant))
            {
                continue;
            }
            let ruling = slots
                .future
                .iter()
                .rev()
                .find(|(rid_utc, _)| *rid_utc < instant);
            if let Some((rid_utc, changed)) = ruling {
                if let Some(occ) = self.shifted_occurrence(changed, *rid_utc, instant, slot) {
                    produced.push(occ);
                }
                continue;
            }
            let occ = self.occurrence(master, &shared, &calc, wall, length, Some(slot));
            if self.in_window(&occ) {
                produced.push(occ);
            }
        }
        !truncated
    }

    fn rule_times(
        &self,
        text: &str,
        start_wall: NaiveDateTime,
        calc: &ZoneCalc,
        range: &WallRange,
        cap: usize,
        budget: &mut Budget,
    ) -> Result<WallTimes, RecurrenceError> {
        let rule = parse_rule(text)?;
        let until = rule
            .until
            .map(|u| until_to_wall(u, |utc| calc.to_local(utc.and_utc())));
        let bounds = super::rules::Bounds {
            from: range.from,
            count_from: range.count_from,
            to: range.to,
        };
        rule_wall_times(&rule, start_wall, until, &bounds, cap, budget)
    }

    /// The wall-clock range worth generating for a series with occurrences `span` long:
    /// the window in the series' zone, widened by the span and a day on each side.
    fn wall_range(&self, calc: &ZoneCalc, span: Duration, shift: Duration) -> WallRange {
        let to_wall = |bound: WindowBound| match bound {
            WindowBound::Instant(at) => calc.to_local(at),
            WindowBound::WallClock(wall) => wall,
        };
        // Three hours cover DST gaps (a gap time moves forward by up to two hours);
        // `shift` covers slots that a RANGE=THISANDFUTURE override moves into the window.
        // The margin stays small so dense rules do not spend the cap before the window.
        let margin = Duration::hours(3) + shift;
        let start = to_wall(self.window.start);
        WallRange {
            from: start
                .checked_sub_signed(span + margin)
                .unwrap_or(NaiveDateTime::MIN),
            count_from: start.checked_sub_signed(span).unwrap_or(NaiveDateTime::MIN),
            to: to_wall(self.window.end)
                .checked_add_signed(margin)
                .unwrap_or(NaiveDateTime::MAX),
        }
    }

    fn length_of(&self, event: &Event, calc: &ZoneCalc) -> Length {
        let length = match (&event.start, &event.end) {
            (EventTime::Date(_), None) => Length::Wall(Duration::days(1)),
            (EventTime::DateTime { .. }, None) => Length::Wall(Duration::zero()),
            (EventTime::Date(s), Some(EventTime::Date(e))) => Length::Wall(*e - *s),
            (EventTime::Date(s), Some(EventTime::DateTime { local, .. })) => {
                Length::Wall(Duration::days((local.date() - *s).num_days()))
            }
            (EventTime::DateTime { local, .. }, Some(EventTime::Date(e))) => {
                Length::Wall(e.and_time(NaiveTime::MIN) - *local)
            }
            (
                EventTime::DateTime { local: s, zone: zs },
                Some(EventTime::DateTime { local: e, zone: ze }),
            ) => {
                if zs == ze {
                    Length::Wall(*e - *s)
                } else {
                    let end_utc = event
                        .end
                        .as_ref()
                        .map(|end| event_time_to_utc(end, self.floating))
                        .unwrap_or_else(|| calc.to_utc(*e));
                    Length::Exact(end_utc - calc.to_utc(*s))
                }
            }
        };
        // An end before the start is an error in the data (RFC 5545 §3.8.2.2 says DTEND
        // is later); read it as a zero-length event rather than a negative one.
        match length {
            Length::Wall(d) if d < Duration::zero() => Length::Wall(Duration::zero()),
            Length::Exact(d) if d < Duration::zero() => Length::Exact(Duration::zero()),
            other => other,
        }
    }

    fn occurrence(
        &self,
        event: &Event,
        shared: &Shared,
        calc: &ZoneCalc,
        wall: NaiveDateTime,
        length: Length,
        recurrence_id: Option<EventTime>,
    ) -> Occurrence {
        let start_utc = calc.to_utc(wall);
        let (start, end, end_utc) = match &event.start {
            EventTime::Date(_) => {
                let days = match length {
                    Length::Wall(d) | Length::Exact(d) => d.num_days(),
                };
                let start = wall.date();
                let end = start
                    .checked_add_signed(Duration::days(days))
                    .unwrap_or(start);
                let end_utc = calc.to_utc(end.and_time(NaiveTime::MIN));
                (EventTime::Date(start), EventTime::Date(end), end_utc)
            }
            EventTime::DateTime { zone, .. } => {
                let local = calc.to_local(start_utc);
                match (length, &event.end) {
                    (Length::Exact(d), Some(EventTime::DateTime { zone: end_zone, .. })) => {
                        let end_utc = start_utc + d;
                        let end_local = ZoneCalc::new(end_zone, self.floating).to_local(end_utc);
                        (
                            EventTime::DateTime {
                                local,
                                zone: zone.clone(),
                            },
                            EventTime::DateTime {
                                local: end_local,
                                zone: end_zone.clone(),
                            },
                            end_utc,
                        )
                    }
                    (Length::Wall(d) | Length::Exact(d), _) => {
                        let end_wall = wall.checked_add_signed(d).unwrap_or(wall);
                        let end_utc = calc.to_utc(end_wall).max(start_utc);
                        (
                            EventTime::DateTime {
                                local,
                                zone: zone.clone(),
                            },
                            EventTime::DateTime {
                                local: calc.to_local(end_utc),
                                zone: zone.clone(),
                            },
                            end_utc,
                        )
                    }
                }
            }
        };
        Occurrence {
            uid: event.uid.clone(),
            recurrence_id,
            start,
            end,
            start_utc,
            end_utc,
            summary: event.summary.clone(),
            description: shared.description.clone(),
            location: event.location.clone(),
            status: event.status,
            attendees: shared.attendees.clone(),
            organizer: event.organizer.clone(),
            is_override: false,
            moved: false,
        }
    }

    /// A later slot under a `RANGE=THISANDFUTURE` override (RFC 5545 §3.8.4.4): it takes
    /// the override's properties and length, and moves by the override's time shift.
    fn shifted_occurrence(
        &self,
        changed: &Event,
        rid_utc: DateTime<Utc>,
        slot_utc: DateTime<Utc>,
        slot: EventTime,
    ) -> Option<Occurrence> {
        let zone = match &changed.start {
            EventTime::Date(_) => Zone::Floating,
            EventTime::DateTime { zone, .. } => zone.clone(),
        };
        let calc = ZoneCalc::new(&zone, self.floating);
        let shift = event_time_to_utc(&changed.start, self.floating) - rid_utc;
        let wall = calc.to_local(slot_utc + shift);
        let length = self.length_of(changed, &calc);
        let shared = Shared::of(changed);
        let mut occ = self.occurrence(changed, &shared, &calc, wall, length, Some(slot));
        occ.is_override = true;
        occ.moved = shift != Duration::zero();
        self.in_window(&occ).then_some(occ)
    }

    fn override_occurrence(&self, event: &Event) -> Option<Occurrence> {
        let (zone, wall) = match &event.start {
            EventTime::Date(d) => (Zone::Floating, d.and_time(NaiveTime::MIN)),
            EventTime::DateTime { local, zone } => (zone.clone(), *local),
        };
        let calc = ZoneCalc::new(&zone, self.floating);
        let length = self.length_of(event, &calc);
        let rid = event.recurrence_id.clone()?;
        let rid_utc = event_time_to_utc(&rid, self.floating);
        let shared = Shared::of(event);
        let mut occ = self.occurrence(event, &shared, &calc, wall, length, Some(rid.clone()));
        occ.is_override = true;
        occ.moved = !slot_matches(&rid, rid_utc, &occ.start, occ.start_utc);
        self.in_window(&occ).then_some(occ)
    }

    fn wall_in_zone(
        &self,
        time: &EventTime,
        calc: &ZoneCalc,
        series_is_date: bool,
        start_time: NaiveTime,
    ) -> NaiveDateTime {
        match time {
            EventTime::Date(d) => d.and_time(if series_is_date {
                NaiveTime::MIN
            } else {
                start_time
            }),
            // On a date series the day as written is the day meant.
            EventTime::DateTime { local, .. } if series_is_date => {
                local.date().and_time(NaiveTime::MIN)
            }
            EventTime::DateTime { local, zone } => match zone {
                Zone::Floating => *local,
                _ => calc.to_local(event_time_to_utc(time, self.floating)),
            },
        }
    }

    /// EXDATE matching (RFC 5545 §3.8.5.1): date values exclude the occurrence on that
    /// day; floating values compare wall-clock readings; zoned and UTC values compare
    /// instants, so an EXDATE written in another zone still hits its slot. On a date
    /// series every value excludes the day as written (Outlook writes local midnight
    /// with a TZID).
    fn exdate_set(&self, exdates: &[EventTime], is_date: bool) -> ExdateSet {
        let mut set = ExdateSet::default();
        for ex in exdates {
            match ex {
                EventTime::Date(d) => {
                    set.days.insert(*d);
                }
                EventTime::DateTime { local, .. } if is_date => {
                    set.days.insert(local.date());
                }
                EventTime::DateTime {
                    local,
                    zone: Zone::Floating,
                } => {
                    set.walls.insert(*local);
                }
                EventTime::DateTime { .. } => {
                    set.instants.insert(event_time_to_utc(ex, self.floating));
                }
            }
        }
        set
    }

    fn is_exdate(
        &self,
        exdates: &[EventTime],
        wall: NaiveDateTime,
        calc: &ZoneCalc,
        is_date: bool,
    ) -> bool {
        self.exdate_set(exdates, is_date).contains(wall, calc)
    }

    fn in_window(&self, occ: &Occurrence) -> bool {
        let wall = |t: &EventTime| match t {
            EventTime::Date(d) => d.and_time(NaiveTime::MIN),
            EventTime::DateTime { local, .. } => *local,
        };
        let (start_wall, end_wall) = (wall(&occ.start), wall(&occ.end));
        let zero = occ.end_utc <= occ.start_utc;
        let after_start = match self.window.start {
            WindowBound::Instant(s) => {
                if zero {
                    occ.start_utc >= s
                } else {
                    occ.end_utc > s
                }
            }
            WindowBound::WallClock(s) => {
                if zero {
                    start_wall >= s
                } else {
                    end_wall > s
                }
            }
        };
        let before_end = match self.window.end {
            WindowBound::Instant(e) => occ.start_utc < e,
            WindowBound::WallClock(e) => start_wall < e,
        };
        after_start && before_end
    }
}

/// The override slots a master's generated instances are checked against.
struct Slots<'a> {
    /// Every override's RECURRENCE-ID (and its instant): these slots are replaced.
    single: &'a [(EventTime, DateTime<Utc>)],
    /// `RANGE=THISANDFUTURE` overrides by RECURRENCE-ID instant, earliest first.
    future: &'a [(DateTime<Utc>, &'a Event)],
}

/// Marks an override id as `RANGE=THISANDFUTURE`. `model::Event` has no field for
/// RECURRENCE-ID's RANGE parameter, so sources that see one append this to the id
/// (`UID#RECURRENCE-ID;RANGE=THISANDFUTURE`).
pub const THIS_AND_FUTURE_MARK: &str = ";RANGE=THISANDFUTURE";

fn is_this_and_future(event: &Event) -> bool {
    event.id.ends_with(THIS_AND_FUTURE_MARK)
}

/// Splits a UID group into its master and its overrides. Of several masters the one
/// with the highest SEQUENCE wins, the last one in the input on ties (later exports
/// repeat a master with its newer EXDATEs); of several overrides of one slot likewise.
fn split_members<'e>(members: &[&'e Event], floating: Tz) -> (Option<&'e Event>, Vec<&'e Event>) {
    let mut master: Option<&Event> = None;
    for event in members
        .iter()
        .copied()
        .filter(|e| e.recurrence_id.is_none())
    {
        if master.is_none_or(|m| event.sequence >= m.sequence) {
            master = Some(event);
        }
    }
    let mut overrides: Vec<&Event> = Vec::new();
    for event in members
        .iter()
        .copied()
        .filter(|e| e.recurrence_id.is_some())
    {
        // The same slot may be written in two forms (UTC and TZID): compare instants.
        let slot = |e: &Event| {
            e.recurrence_id
                .as_ref()
                .map(|rid| event_time_to_utc(rid, floating))
        };
        match overrides.iter_mut().find(|o| slot(o) == slot(event)) {
            Some(existing) if event.sequence >= existing.sequence => *existing = event,
            Some(_) => {}
            None => overrides.push(event),
        }
    }
    (master, overrides)
}

/// Whether an override's RECURRENCE-ID names the generated slot: dates by day, a
/// floating id by wall-clock reading, anything else by instant (RFC 5545 §3.8.4.4).
fn slot_matches(
    rid: &EventTime,
    rid_utc: DateTime<Utc>,
    slot: &EventTime,
    slot_utc: DateTime<Utc>,
) -> bool {
    match (rid, slot) {
        (EventTime::Date(a), EventTime::Date(b)) => a == b,
        (EventTime::Date(a), EventTime::DateTime { local, .. })
        | (EventTime::DateTime { local, .. }, EventTime::Date(a)) => local.date() == *a,
        (
            EventTime::DateTime {
                local: a,
                zone: Zone::Floating,
            },
            EventTime::DateTime { local: b, .. },
        ) => a == b,
        _ => rid_utc == slot_utc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventKind, Recurrence};
    use chrono_tz::Europe::Berlin;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    fn berlin(local: NaiveDateTime) -> EventTime {
        EventTime::DateTime {
            local,
            zone: Zone::Iana(Berlin),
        }
    }

    fn event(uid: &str, start: EventTime, end: EventTime) -> Event {
        Event {
            id: uid.into(),
            uid: uid.into(),
            recurrence_id: None,
            summary: "1:1".into(),
            description: String::new(),
            location: None,
            status: EventStatus::Confirmed,
            start,
            end: Some(end),
            recurrence: None,
            attendees: vec![],
            organizer: None,
            kind: EventKind::Default,
            sequence: 0,
            updated: None,
        }
    }

    fn weekly_berlin(rule: &str) -> Event {
        let mut e = event(
            "s",
            berlin(at(2024, 3, 4, 10, 0)),
            berlin(at(2024, 3, 4, 10, 30)),
        );
        e.recurrence = Some(Recurrence {
            rrules: vec![rule.into()],
            ..Recurrence::default()
        });
        e
    }

    fn run(events: &[Event], from: (i32, u32, u32), to: (i32, u32, u32)) -> Expansion {
        let window = Window::floating_dates(
            NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap(),
            NaiveDate::from_ymd_opt(to.0, to.1, to.2).unwrap(),
        );
        expand(events, &window, chrono_tz::UTC, &Limits::default())
    }

    use crate::model::EventStatus;

    #[test]
    fn ten_oclock_in_berlin_stays_ten_oclock_across_dst() {
        let out = run(
            &[weekly_berlin("FREQ=WEEKLY;COUNT=5")],
            (2024, 1, 1),
            (2025, 1, 1),
        );
        let hours: Vec<u32> = out
            .occurrences
            .iter()
            .map(|o| chrono::Timelike::hour(&o.start_utc))
            .collect();
        // 2024-03-31 is the switch: 09:00Z (+01:00) before, 08:00Z (+02:00) after.
        assert_eq!(hours, vec![9, 9, 9, 9, 8]);
        assert!(out.occurrences.iter().all(|o| matches!(o.start, EventTime::DateTime { local, .. } if chrono::Timelike::hour(&local) == 10)));
    }

    #[test]
    fn moved_occurrence_replaces_its_original_slot() {
        let master = weekly_berlin("FREQ=WEEKLY;COUNT=3");
        let mut moved = event(
            "s",
            berlin(at(2024, 3, 12, 15, 0)),
            berlin(at(2024, 3, 12, 15, 30)),
        );
        moved.id = "s#20240311T100000".into();
        moved.recurrence_id = Some(berlin(at(2024, 3, 11, 10, 0)));
        let out = run(&[master, moved], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences.len(), 3);
        let second = &out.occurrences[1];
        assert!(second.is_override && second.moved);
        assert_eq!(second.start, berlin(at(2024, 3, 12, 15, 0)));
        assert_eq!(second.recurrence_id, Some(berlin(at(2024, 3, 11, 10, 0))));
    }

    #[test]
    fn cancelled_override_is_kept_and_marked_cancelled() {
        let master = weekly_berlin("FREQ=WEEKLY;COUNT=2");
        // RECURRENCE-ID written in UTC still names the Berlin slot (compared as instants).
        let mut cancelled = event(
            "s",
            berlin(at(2024, 3, 11, 10, 0)),
            berlin(at(2024, 3, 11, 10, 30)),
        );
        cancelled.recurrence_id = Some(EventTime::DateTime {
            local: at(2024, 3, 11, 9, 0),
            zone: Zone::Utc,
        });
        cancelled.status = EventStatus::Cancelled;
        let out = run(&[master, cancelled], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences.len(), 2);
        assert_eq!(out.occurrences[1].status, EventStatus::Cancelled);
        assert!(out.occurrences[1].is_override && !out.occurrences[1].moved);
    }

    #[test]
    fn an_override_without_its_master_still_yields_its_occurrence() {
        let mut lone = event(
            "orphan",
            berlin(at(2024, 5, 1, 9, 0)),
            berlin(at(2024, 5, 1, 10, 0)),
        );
        lone.recurrence_id = Some(berlin(at(2024, 5, 1, 9, 0)));
        let out = run(&[lone], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences.len(), 1);
        assert!(out.occurrences[0].is_override);
    }

    #[test]
    fn exdates_in_utc_or_another_zone_remove_the_slot() {
        let mut master = weekly_berlin("FREQ=WEEKLY;COUNT=4");
        if let Some(rec) = master.recurrence.as_mut() {
            rec.exdates.push(EventTime::DateTime {
                local: at(2024, 3, 11, 9, 0),
                zone: Zone::Utc,
            });
            rec.exdates.push(EventTime::DateTime {
                local: at(2024, 3, 18, 5, 0),
                zone: Zone::Iana(chrono_tz::America::New_York),
            });
        }
        let out = run(&[master], (2024, 1, 1), (2025, 1, 1));
        let days: Vec<u32> = out
            .occurrences
            .iter()
            .map(|o| chrono::Datelike::day(&o.start_utc))
            .collect();
        assert_eq!(days, vec![4, 25]);
    }

    #[test]
    fn a_date_only_until_with_a_zoned_start_includes_that_day() {
        let out = run(
            &[weekly_berlin("FREQ=WEEKLY;UNTIL=20240318")],
            (2024, 1, 1),
            (2025, 1, 1),
        );
        assert_eq!(out.occurrences.len(), 3);
    }

    #[test]
    fn a_start_in_a_dst_gap_moves_forward_by_the_gap() {
        let mut e = event(
            "gap",
            berlin(at(2024, 3, 31, 2, 30)),
            berlin(at(2024, 3, 31, 3, 30)),
        );
        e.recurrence = Some(Recurrence {
            rrules: vec!["FREQ=DAILY;COUNT=2".into()],
            ..Recurrence::default()
        });
        let out = run(&[e], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences[0].start, berlin(at(2024, 3, 31, 3, 30)));
        assert_eq!(out.occurrences[1].start, berlin(at(2024, 4, 1, 2, 30)));
    }

    #[test]
    fn instant_windows_and_wall_clock_windows_both_work() {
        let e = weekly_berlin("FREQ=DAILY");
        let window = Window::instants(
            at(2024, 6, 1, 8, 0).and_utc(),
            at(2024, 6, 3, 8, 0).and_utc(),
        );
        let out = expand(
            std::slice::from_ref(&e),
            &window,
            chrono_tz::UTC,
            &Limits::default(),
        );
        // 10:00 Berlin = 08:00Z in summer: June 1 (start inclusive) and June 2.
        assert_eq!(out.occurrences.len(), 2);
        let out = run(&[e], (2024, 6, 1), (2024, 6, 3));
        assert_eq!(out.occurrences.len(), 2);
    }

    #[test]
    fn a_secondly_rule_without_end_over_ten_years_returns_quickly_with_a_warning() {
        let mut e = event(
            "hostile",
            berlin(at(2000, 1, 1, 0, 0)),
            berlin(at(2000, 1, 1, 0, 0)),
        );
        e.recurrence = Some(Recurrence {
            rrules: vec!["FREQ=SECONDLY".into()],
            ..Recurrence::default()
        });
        let started = std::time::Instant::now();
        let out = run(&[e], (2020, 1, 1), (2030, 1, 1));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Capped, yet the earliest occurrences of the window are there.
        assert_eq!(out.occurrences.len(), Limits::default().max_per_series);
        assert_eq!(
            out.occurrences[0].start_utc.naive_utc(),
            at(2020, 1, 1, 0, 0) - Duration::hours(1)
        );
        assert!(!out.warnings.is_empty());
        assert!(out.warnings[0].contains("hostile"));
        assert_eq!(out.unusable_rules, vec!["hostile"]);
    }

    #[test]
    fn many_hostile_series_share_one_total_time_budget() {
        let events: Vec<Event> = (0..40)
            .map(|i| {
                let mut e = event(
                    &format!("h{i}"),
                    berlin(at(2000, 1, 1, 0, 0)),
                    berlin(at(2000, 1, 1, 0, 0)),
                );
                e.recurrence = Some(Recurrence {
                    rrules: vec!["FREQ=SECONDLY;COUNT=4000000000".into()],
                    ..Recurrence::default()
                });
                e
            })
            .collect();
        let limits = Limits {
            max_steps_per_series: usize::MAX,
            max_time_per_series: std::time::Duration::from_secs(30),
            max_time_total: std::time::Duration::from_millis(300),
            ..Limits::default()
        };
        let window = Window::floating_dates(
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        );
        let started = std::time::Instant::now();
        let out = expand(&events, &window, chrono_tz::UTC, &limits);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out.warnings.len(), 40);
    }

    #[test]
    fn a_rule_that_never_matches_costs_a_bounded_amount() {
        let mut e = event(
            "never",
            berlin(at(2000, 1, 1, 0, 0)),
            berlin(at(2000, 1, 1, 0, 0)),
        );
        e.recurrence = Some(Recurrence {
            rrules: vec!["FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30".into()],
            ..Recurrence::default()
        });
        let started = std::time::Instant::now();
        let out = run(&[e], (2020, 1, 1), (2030, 1, 1));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(out.occurrences.is_empty());
    }

    #[test]
    fn the_same_master_seen_through_two_accounts_counts_once_without_warning() {
        let a = weekly_berlin("FREQ=WEEKLY;COUNT=3");
        let mut b = a.clone();
        b.id = "other-account-id".into();
        let out = run(&[a.clone(), b], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences.len(), 3);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // A newer revision (higher SEQUENCE) wins over the older one.
        let mut newer = weekly_berlin("FREQ=WEEKLY;COUNT=2");
        newer.sequence = 2;
        let out = run(&[newer, a], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences.len(), 2);
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn an_override_of_an_excluded_slot_is_dropped() {
        let mut master = weekly_berlin("FREQ=WEEKLY;COUNT=3");
        if let Some(rec) = master.recurrence.as_mut() {
            rec.exdates.push(berlin(at(2024, 3, 11, 10, 0)));
        }
        let mut stale = event(
            "s",
            berlin(at(2024, 3, 11, 12, 0)),
            berlin(at(2024, 3, 11, 13, 0)),
        );
        stale.recurrence_id = Some(berlin(at(2024, 3, 11, 10, 0)));
        let out = run(&[master, stale], (2024, 1, 1), (2025, 1, 1));
        assert_eq!(out.occurrences.len(), 2);
    }

    #[test]
    fn this_and_future_overrides_move_every_later_slot() {
        let master = weekly_berlin("FREQ=WEEKLY;COUNT=4");
        let mut later = event(
            "s",
            berlin(at(2024, 3, 11, 11, 0)),
            berlin(at(2024, 3, 11, 12, 0)),
        );
        later.id = format!("s#20240311T100000{THIS_AND_FUTURE_MARK}");
        later.recurrence_id = Some(berlin(at(2024, 3, 11, 10, 0)));
        later.summary = "later".into();
        let out = run(&[master, later], (2024, 1, 1), (2025, 1, 1));
        let starts: Vec<EventTime> = out.occurrences.iter().map(|o| o.start.clone()).collect();
        assert_eq!(
            starts,
            vec![
                berlin(at(2024, 3, 4, 10, 0)),
                berlin(at(2024, 3, 11, 11, 0)),
                berlin(at(2024, 3, 18, 11, 0)),
                berlin(at(2024, 3, 25, 11, 0)),
            ]
        );
        assert!(
            out.occurrences[2..]
                .iter()
                .all(|o| o.summary == "later" && o.moved)
        );
        assert_eq!(
            out.occurrences[3].recurrence_id,
            Some(berlin(at(2024, 3, 25, 10, 0)))
        );
    }

    #[test]
    fn an_invalid_rule_skips_the_series_with_a_warning() {
        let out = run(
            &[weekly_berlin("FREQ=FORTNIGHTLY")],
            (2024, 1, 1),
            (2025, 1, 1),
        );
        assert!(out.occurrences.is_empty());
        assert!(out.warnings[0].contains("FORTNIGHTLY"));
        assert_eq!(out.unusable_rules.len(), 1, "{:?}", out.unusable_rules);
        let fine = run(&[weekly_berlin("FREQ=WEEKLY")], (2024, 1, 1), (2024, 2, 1));
        assert!(fine.unusable_rules.is_empty());
    }
}

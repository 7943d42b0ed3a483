//! Which briefs are due: a pure function of the upcoming occurrences of the detected
//! 1:1 series, the time, the brief policy and what was already queued, sent or skipped.
//!
//! Rules (each has a unit test below):
//! - A brief is due at `start - lead_time`, or, with `send_at`, at that wall-clock time in
//!   the *recipient's* zone on the meeting day (in that zone). When that moment is at or
//!   after the start (a 07:30 meeting with `send_at = 08:00`), it is due
//!   [`LATE_SEND_AT_MARGIN`] before the start instead.
//! - It stays due until the meeting starts: after downtime tete catches up as soon as it
//!   runs again, but never at or after the start.
//! - Cancelled and skipped occurrences get no brief.
//! - Only the two participants of the series ever get one, each their own.
//! - Recipients outside `allowed_domains` (when that list is not empty) or in `opt_out`
//!   get none; the plan says why in [`Plan::withheld`].
//! - A brief is identified by [`BriefKey`]: series, the occurrence's *original* slot and
//!   the recipient. A moved occurrence keeps its key, so it gets one brief for its new
//!   time and never a second one.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Delivery, MAX_LEAD_TIME};
use crate::model::{EventStatus, EventTime, Occurrence, Person, SeriesId, Zone, normalize_email};

/// How long before the start a brief goes out when `send_at` falls at or after the start.
pub const LATE_SEND_AT_MARGIN: TimeDelta = TimeDelta::minutes(15);

pub use crate::model::outbox::BriefKey;

impl BriefKey {
    /// The key of `recipient`'s brief for `occurrence` of `series`.
    pub fn new(series: &SeriesId, occurrence: &Occurrence, recipient: &Person) -> Self {
        BriefKey {
            series: series.clone(),
            occurrence: occurrence_id(occurrence),
            recipient: recipient.key(),
        }
    }
}

/// The stable identity of an occurrence: its original slot (`recurrence_id`), or its
/// start for single events.
///
/// Formats: `20261203T090000Z` for instants (UTC and IANA zones are converted to UTC,
/// so the same slot written in two zones gets one id), `20261203` for all-day slots,
/// `20261203T100000` for floating times and `20261203T100000;TZID=name` for zones
/// defined only by a file's VTIMEZONE.
pub fn occurrence_id(occurrence: &Occurrence) -> String {
    match &occurrence.recurrence_id {
        Some(slot) => slot_id(slot),
        None => utc_id(occurrence.start_utc),
    }
}

/// The instant of the occurrence's original slot (`recurrence_id`), or its start when
/// the slot has no instant of its own (single events, all-day, floating or file-defined
/// zones). Stable across moves, like [`occurrence_id`].
pub fn original_start(occurrence: &Occurrence) -> DateTime<Utc> {
    match &occurrence.recurrence_id {
        Some(EventTime::DateTime {
            local,
            zone: Zone::Utc,
        }) => local.and_utc(),
        Some(EventTime::DateTime {
            local,
            zone: Zone::Iana(tz),
        }) => tz
            .from_local_datetime(local)
            .earliest()
            .map_or(occurrence.start_utc, |at| at.with_timezone(&Utc)),
        _ => occurrence.start_utc,
    }
}

fn utc_id(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A stable text id of a slot (`recurrence_id`): UTC for zoned times, so the same slot
/// reported by two providers in different zones has one id.
pub fn slot_id(time: &EventTime) -> String {
    const LOCAL: &str = "%Y%m%dT%H%M%S";
    match time {
        EventTime::Date(date) => date.format("%Y%m%d").to_string(),
        EventTime::DateTime { local, zone } => match zone {
            Zone::Utc => utc_id(local.and_utc()),
            Zone::Iana(tz) => match tz.from_local_datetime(local).earliest() {
                Some(at) => utc_id(at.with_timezone(&Utc)),
                // A slot in a DST gap has no instant; its wall-clock reading is stable.
                None => format!("{};TZID={}", local.format(LOCAL), tz.name()),
            },
            Zone::Floating => local.format(LOCAL).to_string(),
            Zone::Custom(custom) => format!("{};TZID={}", local.format(LOCAL), custom.tzid),
        },
    }
}

/// One detected 1:1 series with its upcoming occurrences.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedSeries {
    /// The series.
    pub series: SeriesId,
    /// The two people of the 1:1: the only possible recipients.
    pub participants: [Person; 2],
    /// The calendar owner's lower-cased address (whose calendar revealed the series).
    pub owner: String,
    /// Occurrences in the planning horizon, in any order, cancelled ones included.
    pub occurrences: Vec<Occurrence>,
}

/// When briefs go out and to whom.
#[derive(Clone, Debug, PartialEq)]
pub struct BriefPolicy {
    /// A brief is due this long before the start (unless `send_at` is set).
    pub lead_time: TimeDelta,
    /// Instead: this wall-clock time in the recipient's zone on the meeting day.
    pub send_at: Option<NaiveTime>,
    /// The zone of people without one of their own.
    pub default_zone: Tz,
    /// Per-person zones by lower-cased address.
    pub zones: HashMap<String, Tz>,
    /// When not empty, only addresses in these domains (lower-cased) get briefs.
    pub allowed_domains: Vec<String>,
    /// Lower-cased addresses that asked not to receive briefs.
    pub opt_out: Vec<String>,
    /// The people with a `[[people]]` entry (lower-cased addresses) and their digest
    /// time, `None` meaning "one brief each".
    pub digests: HashMap<String, Option<NaiveTime>>,
    /// The digest time of everyone else (`brief.delivery = "digest"`), if any.
    pub default_digest: Option<NaiveTime>,
    /// Who manages whom, from an org's directory (org mode; empty otherwise).
    pub chart: crate::core::orgchart::OrgChart,
    /// Display names from an org's directory, by lower-cased address.
    pub names: HashMap<String, String>,
}

impl BriefPolicy {
    /// The policy the config describes.
    pub fn from_config(config: &Config) -> Self {
        BriefPolicy {
            // Capped like validation caps it: a `Config` built in code skips validation.
            lead_time: TimeDelta::from_std(config.brief.lead_time.min(MAX_LEAD_TIME))
                .unwrap_or(TimeDelta::MAX),
            send_at: config.brief.send_at,
            default_zone: config.timezone,
            zones: config
                .people
                .iter()
                .filter_map(|p| p.timezone.map(|tz| (normalize_email(&p.email), tz)))
                .collect(),
            allowed_domains: config
                .mail
                .allowed_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .collect(),
            opt_out: config
                .mail
                .opt_out
                .iter()
                .map(|a| normalize_email(a))
                .collect(),
            digests: config
                .people
                .iter()
                .map(|p| {
                    let delivery = p.delivery.unwrap_or(config.brief.delivery);
                    let time = p.digest_at.unwrap_or(config.brief.digest_at);
                    let digest = (delivery == Delivery::Digest).then_some(time);
                    (normalize_email(&p.email), digest)
                })
                .collect(),
            default_digest: (config.brief.delivery == Delivery::Digest)
                .then_some(config.brief.digest_at),
            chart: crate::core::orgchart::OrgChart::new(config.people.iter().filter_map(|p| {
                p.manager
                    .as_deref()
                    .map(|manager| (p.email.as_str(), manager))
            })),
            names: config
                .people
                .iter()
                .filter_map(|p| p.name.clone().map(|name| (normalize_email(&p.email), name)))
                .collect(),
        }
    }

    /// `person` with the directory's display name when the calendar gave none.
    pub fn named(&self, person: &Person) -> Person {
        let mut person = person.clone();
        if person.name.as_deref().is_none_or(|n| n.trim().is_empty())
            && let Some(name) = self.names.get(&person.key())
        {
            person.name = Some(name.clone());
        }
        person
    }

    /// When `recipient` gets their digest (local time), if they get one.
    pub fn digest_time(&self, recipient: &str) -> Option<NaiveTime> {
        match self.digests.get(&normalize_email(recipient)) {
            Some(choice) => *choice,
            None => self.default_digest,
        }
    }

    /// The local day whose digest carries `recipient`'s brief of a meeting starting at
    /// `start`: `None` when they get one brief each, or when the meeting starts before
    /// that day's digest time (then it gets a brief of its own, as usual).
    pub fn digest_day(&self, start: DateTime<Utc>, recipient: &str) -> Option<NaiveDate> {
        let time = self.digest_time(recipient)?;
        let zone = self.zone_of(recipient);
        let day = start.with_timezone(&zone).date_naive();
        (local_instant(zone, day, time) < start).then_some(day)
    }

    /// The display and `send_at` zone of a person.
    pub fn zone_of(&self, email: &str) -> Tz {
        self.zones
            .get(&normalize_email(email))
            .copied()
            .unwrap_or(self.default_zone)
    }

    /// Why `person` gets no briefs at all, if they don't.
    pub fn refusal(&self, person: &Person) -> Option<WithheldReason> {
        let address = person.key();
        if self.opt_out.iter().any(|o| normalize_email(o) == address) {
            return Some(WithheldReason::OptedOut);
        }
        if !self.allowed_domains.is_empty() {
            let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            if !self
                .allowed_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
            {
                return Some(WithheldReason::DomainNotAllowed(domain.to_string()));
            }
        }
        None
    }

    /// When the brief for a meeting starting at `start` is due for `recipient`: their
    /// digest time that day when it goes into a digest (see [`BriefPolicy::digest_day`]).
    pub fn due_at(&self, start: DateTime<Utc>, recipient: &str) -> DateTime<Utc> {
        if let (Some(day), Some(time)) = (
            self.digest_day(start, recipient),
            self.digest_time(recipient),
        ) {
            return local_instant(self.zone_of(recipient), day, time);
        }
        let Some(send_at) = self.send_at else {
            return start.checked_sub_signed(self.lead_time).unwrap_or(start);
        };
        let zone = self.zone_of(recipient);
        let day = start.with_timezone(&zone).date_naive();
        let due = local_instant(zone, day, send_at);
        if due >= start {
            start - LATE_SEND_AT_MARGIN
        } else {
            due
        }
    }
}

/// `day` at `time` in `zone`: the earlier instant when the clock repeats (DST ends),
/// the first valid minute after a skipped stretch (DST starts).
fn local_instant(zone: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut local: NaiveDateTime = day.and_time(time);
    // Gaps are at most a few hours; step over them a quarter-hour at a time.
    for _ in 0..16 {
        if let Some(at) = zone.from_local_datetime(&local).earliest() {
            return at.with_timezone(&Utc);
        }
        local += TimeDelta::minutes(15);
    }
    local.and_utc()
}

/// A brief that should be composed and queued.
#[derive(Clone, Debug, PartialEq)]
pub struct DueBrief {
    /// Its identity.
    pub key: BriefKey,
    /// When it became (or becomes) due.
    pub due_at: DateTime<Utc>,
    /// The meeting (its current time, title and place).
    pub occurrence: Occurrence,
    /// Who gets this brief.
    pub recipient: Person,
    /// The other person of the 1:1.
    pub other: Person,
}

/// Why a participant gets no brief for an occurrence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WithheldReason {
    /// The address is in `mail.opt_out`.
    OptedOut,
    /// The address's domain is not in `mail.allowed_domains`.
    DomainNotAllowed(String),
    /// `tete skip` snoozed this occurrence.
    Skipped,
    /// The occurrence is cancelled.
    Cancelled,
}

impl fmt::Display for WithheldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WithheldReason::OptedOut => f.write_str("opted out"),
            WithheldReason::DomainNotAllowed(domain) => {
                write!(f, "domain '{domain}' is not in mail.allowed_domains")
            }
            WithheldReason::Skipped => f.write_str("skipped"),
            WithheldReason::Cancelled => f.write_str("occurrence cancelled"),
        }
    }
}

/// A brief that will not be sent, and why (for `tete status`).
#[derive(Clone, Debug, PartialEq)]
pub struct Withheld {
    /// The brief it would have been.
    pub key: BriefKey,
    /// Why not.
    pub reason: WithheldReason,
}

/// The outcome of one planning step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Due now: compose and queue these.
    pub due: Vec<DueBrief>,
    /// Due later, soonest first.
    pub later: Vec<DueBrief>,
    /// Upcoming briefs that will not be sent, with the reason.
    pub withheld: Vec<Withheld>,
}

impl Plan {
    /// When the next brief becomes due, so the planner can sleep until then.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.later.iter().map(|b| b.due_at).min()
    }

    /// The next brief for `recipient` (due now or later), for `tete preview`.
    pub fn next_for(&self, recipient: &str) -> Option<&DueBrief> {
        let recipient = normalize_email(recipient);
        self.due
            .iter()
            .chain(&self.later)
            .filter(|b| b.key.recipient == recipient)
            .min_by_key(|b| b.occurrence.start_utc)
    }
}

/// What was already done, as the store knows it.
pub struct Ledger<'a> {
    /// True when this brief was already queued or sent (it is then left alone).
    pub is_done: &'a dyn Fn(&BriefKey) -> bool,
    /// True when this recipient's brief for this occurrence of the series is skipped
    /// (`tete skip` skips it for both, a reply's `skip` for its sender). The store keys
    /// skips by an instant: pass [`original_start`] of the occurrence, so a skip survives
    /// a move of the meeting.
    pub is_skipped: &'a dyn Fn(&SeriesId, &Occurrence, &str) -> bool,
}

impl Ledger<'_> {
    /// A ledger where nothing was done or skipped yet (previews, tests).
    pub fn empty() -> Ledger<'static> {
        Ledger {
            is_done: &|_| false,
            is_skipped: &|_, _, _| false,
        }
    }
}

/// Plans the briefs of `series` as of `now`.
///
/// Only occurrences that have not started yet are considered; each yields at most one
/// brief per participant, and the same key twice in the input counts once.
pub fn plan(
    series: &[PlannedSeries],
    now: DateTime<Utc>,
    policy: &BriefPolicy,
    ledger: &Ledger<'_>,
) -> Plan {
    let mut out = Plan::default();
    let mut seen = HashSet::new();
    for one in series {
        for occurrence in &one.occurrences {
            if occurrence.start_utc <= now {
                continue;
            }
            let occurrence_key = occurrence_id(occurrence);
            for (index, recipient) in one.participants.iter().enumerate() {
                let other = &one.participants[1 - index];
                let key = BriefKey {
                    series: one.series.clone(),
                    occurrence: occurrence_key.clone(),
                    recipient: recipient.key(),
                };
                if !seen.insert(key.clone()) || (ledger.is_done)(&key) {
                    continue;
                }
                let reason = if occurrence.status == EventStatus::Cancelled {
                    Some(WithheldReason::Cancelled)
                } else if (ledger.is_skipped)(&one.series, occurrence, &recipient.key()) {
                    Some(WithheldReason::Skipped)
                } else {
                    policy.refusal(recipient)
                };
                if let Some(reason) = reason {
                    out.withheld.push(Withheld { key, reason });
                    continue;
                }
                let brief = DueBrief {
                    due_at: policy.due_at(occurrence.start_utc, &recipient.email),
                    key,
                    occurrence: occurrence.clone(),
                    recipient: recipient.clone(),
                    other: other.clone(),
                };
                if brief.due_at <= now {
                    out.due.push(brief);
                } else {
                    out.later.push(brief);
                }
            }
        }
    }
    out.due
        .sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
    out.later
        .sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
    out
}

/// When the next brief not yet due becomes due (see [`Plan::next_due`]).
pub fn next_due(
    series: &[PlannedSeries],
    now: DateTime<Utc>,
    policy: &BriefPolicy,
    ledger: &Ledger<'_>,
) -> Option<DateTime<Utc>> {
    plan(series, now, policy, ledger).next_due()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn person(email: &str, name: &str) -> Person {
        Person {
            email: email.into(),
            name: Some(name.into()),
        }
    }

    fn occurrence(start: &str) -> Occurrence {
        Occurrence {
            summary: "Alex / Dana".into(),
            ..crate::model::fixtures::occurrence("weekly@example.com", at(start))
        }
    }

    fn series(occurrences: Vec<Occurrence>) -> Vec<PlannedSeries> {
        vec![PlannedSeries {
            series: SeriesId("3f9a0c21e4".into()),
            participants: [
                person("Alex@Example.com", "Alex Roe"),
                person("dana@example.com", "Dana Kim"),
            ],
            owner: "alex@example.com".into(),
            occurrences,
        }]
    }

    fn policy() -> BriefPolicy {
        BriefPolicy {
            lead_time: TimeDelta::hours(18),
            send_at: None,
            default_zone: chrono_tz::Europe::Berlin,
            zones: HashMap::new(),
            allowed_domains: Vec::new(),
            opt_out: Vec::new(),
            digests: Default::default(),
            default_digest: None,
            chart: Default::default(),
            names: Default::default(),
        }
    }

    fn run(series: &[PlannedSeries], now: &str, policy: &BriefPolicy) -> Plan {
        plan(series, at(now), policy, &Ledger::empty())
    }

    #[test]
    fn a_digest_is_due_at_its_local_time_on_the_meetings_local_day_in_each_zone() {
        let mut policy = policy();
        policy
            .zones
            .insert("dana@example.com".into(), chrono_tz::America::New_York);
        let half_past_seven = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
        policy
            .digests
            .insert("alex@example.com".into(), Some(half_past_seven));
        policy.default_digest = Some(NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        // 00:30 in Berlin on 9 Dec is still 8 Dec in New York (18:30).
        let start = at("2026-12-08T23:30:00Z");
        assert_eq!(
            policy.digest_day(start, "alex@example.com"),
            None,
            "00:30 is before Alex's 07:30 digest: a brief of its own"
        );
        assert_eq!(
            policy.digest_day(start, "dana@example.com"),
            NaiveDate::from_ymd_opt(2026, 12, 8)
        );
        assert_eq!(
            policy.due_at(start, "dana@example.com"),
            at("2026-12-08T13:00:00Z"),
            "08:00 in New York on 8 Dec"
        );
        // 10:00 in Berlin: Alex's digest at 07:30 Berlin that day.
        let morning = at("2026-12-09T09:00:00Z");
        assert_eq!(
            policy.due_at(morning, "alex@example.com"),
            at("2026-12-09T06:30:00Z")
        );
        // Someone listed with "each" gets their brief at the lead time.
        policy.digests.insert("sam@example.com".into(), None);
        assert_eq!(
            policy.due_at(morning, "sam@example.com"),
            morning - TimeDelta::hours(18)
        );
        // A meeting before the digest time keeps its own brief at the lead time.
        let early = at("2026-12-09T06:00:00Z");
        assert_eq!(policy.digest_day(early, "alex@example.com"), None);
        assert_eq!(
            policy.due_at(early, "alex@example.com"),
            early - TimeDelta::hours(18)
        );
    }

    #[test]
    fn brief_is_due_lead_time_before_the_start_for_both_participants() {
        let input = series(vec![occurrence("2026-12-03T09:00:00Z")]);
        let early = run(&input, "2026-12-02T14:59:00Z", &policy());
        assert!(early.due.is_empty());
        assert_eq!(early.next_due(), Some(at("2026-12-02T15:00:00Z")));
        let plan = run(&input, "2026-12-02T15:00:00Z", &policy());
        let recipients: Vec<_> = plan.due.iter().map(|b| b.key.recipient.as_str()).collect();
        assert_eq!(recipients, ["alex@example.com", "dana@example.com"]);
        assert_eq!(plan.due[0].other.email, "dana@example.com");
        assert_eq!(plan.due[1].other.email, "Alex@Example.com");
        assert!(plan.later.is_empty());
    }

    #[test]
    fn brief_missed_during_downtime_is_caught_up_before_the_start() {
        let input = series(vec![occurrence("2026-12-03T09:00:00Z")]);
        let plan = run(&input, "2026-12-03T08:59:00Z", &policy());
        assert_eq!(plan.due.len(), 2);
        assert_eq!(plan.due[0].due_at, at("2026-12-02T15:00:00Z"));
    }

    #[test]
    fn brief_is_never_due_at_or_after_the_start() {
        let input = series(vec![occurrence("2026-12-03T09:00:00Z")]);
        for now in ["2026-12-03T09:00:00Z", "2026-12-03T09:10:00Z"] {
            let plan = run(&input, now, &policy());
            assert!(plan.due.is_empty() && plan.later.is_empty(), "{now}");
        }
    }

    #[test]
    fn cancelled_occurrence_gets_no_brief() {
        let mut cancelled = occurrence("2026-12-03T09:00:00Z");
        cancelled.status = EventStatus::Cancelled;
        let plan = run(&series(vec![cancelled]), "2026-12-03T08:00:00Z", &policy());
        assert!(plan.due.is_empty());
        assert_eq!(plan.withheld.len(), 2);
        assert_eq!(plan.withheld[0].reason, WithheldReason::Cancelled);
    }

    #[test]
    fn moved_occurrence_keeps_its_brief_key() {
        let original = occurrence("2026-12-03T09:00:00Z");
        let mut moved = occurrence("2026-12-04T13:00:00Z");
        moved.recurrence_id = original.recurrence_id.clone();
        moved.moved = true;
        moved.is_override = true;
        assert_eq!(occurrence_id(&moved), "20261203T090000Z");

        // Before the move was known, tete sent the brief for the old time...
        let before = run(&series(vec![original]), "2026-12-02T16:00:00Z", &policy());
        let sent: HashSet<BriefKey> = before.due.iter().map(|b| b.key.clone()).collect();
        assert_eq!(sent.len(), 2);
        // ...so the moved occurrence gets no second brief.
        let is_done = |key: &BriefKey| sent.contains(key);
        let ledger = Ledger {
            is_done: &is_done,
            is_skipped: &|_, _, _| false,
        };
        let input = series(vec![moved.clone()]);
        let after = plan(&input, at("2026-12-03T20:00:00Z"), &policy(), &ledger);
        assert!(after.due.is_empty() && after.later.is_empty());

        // Not sent yet: one brief, due by the new time.
        let fresh = run(&input, "2026-12-03T20:00:00Z", &policy());
        assert_eq!(fresh.due.len(), 2);
        assert_eq!(fresh.due[0].due_at, at("2026-12-03T19:00:00Z"));
        assert_eq!(fresh.due[0].key.occurrence, "20261203T090000Z");
        assert_eq!(fresh.due[0].occurrence.start_utc, moved.start_utc);
    }

    #[test]
    fn same_slot_in_two_zones_has_one_occurrence_id() {
        let mut berlin = occurrence("2026-12-03T09:00:00Z");
        berlin.recurrence_id = Some(EventTime::DateTime {
            local: NaiveDate::from_ymd_opt(2026, 12, 3)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
            zone: Zone::Iana(chrono_tz::Europe::Berlin),
        });
        assert_eq!(occurrence_id(&berlin), "20261203T090000Z");
        assert_eq!(original_start(&berlin), at("2026-12-03T09:00:00Z"));
        let mut single = occurrence("2026-12-03T09:00:00Z");
        single.recurrence_id = None;
        assert_eq!(occurrence_id(&single), "20261203T090000Z");
        single.recurrence_id = Some(EventTime::Date(
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        ));
        assert_eq!(occurrence_id(&single), "20261203");
    }

    #[test]
    fn send_at_is_recipient_local_time_across_a_dst_change() {
        let mut policy = policy();
        policy.send_at = NaiveTime::from_hms_opt(8, 0, 0);
        policy
            .zones
            .insert("dana@example.com".into(), chrono_tz::America::New_York);
        // Berlin leaves summer time on 25 Oct 2026, New York on 1 Nov 2026.
        let input = series(vec![
            occurrence("2026-10-23T12:00:00Z"),
            occurrence("2026-10-30T13:00:00Z"),
            occurrence("2026-11-06T14:00:00Z"),
        ]);
        let plan = run(&input, "2026-10-01T00:00:00Z", &policy);
        let due: Vec<(String, DateTime<Utc>)> = plan
            .later
            .iter()
            .map(|b| (b.key.recipient.clone(), b.due_at))
            .collect();
        assert_eq!(
            due,
            [
                ("alex@example.com".to_string(), at("2026-10-23T06:00:00Z")),
                ("dana@example.com".to_string(), at("2026-10-23T11:45:00Z")),
                ("alex@example.com".to_string(), at("2026-10-30T07:00:00Z")),
                ("dana@example.com".to_string(), at("2026-10-30T12:00:00Z")),
                ("alex@example.com".to_string(), at("2026-11-06T07:00:00Z")),
                ("dana@example.com".to_string(), at("2026-11-06T13:00:00Z")),
            ]
        );
    }

    #[test]
    fn send_at_after_the_start_falls_back_to_a_margin_before_it() {
        let mut policy = policy();
        policy.send_at = NaiveTime::from_hms_opt(8, 0, 0);
        // 07:30 in Berlin.
        let start = at("2026-12-03T06:30:00Z");
        assert_eq!(
            policy.due_at(start, "alex@example.com"),
            start - LATE_SEND_AT_MARGIN
        );
    }

    #[test]
    fn opted_out_recipient_gets_no_brief_and_the_other_still_does() {
        let mut policy = policy();
        policy.opt_out = vec!["dana@example.com".into()];
        let plan = run(
            &series(vec![occurrence("2026-12-03T09:00:00Z")]),
            "2026-12-03T08:00:00Z",
            &policy,
        );
        assert_eq!(plan.due.len(), 1);
        assert_eq!(plan.due[0].key.recipient, "alex@example.com");
        assert_eq!(plan.withheld.len(), 1);
        assert_eq!(plan.withheld[0].key.recipient, "dana@example.com");
        assert_eq!(plan.withheld[0].reason, WithheldReason::OptedOut);
    }

    #[test]
    fn recipient_outside_allowed_domains_gets_no_brief() {
        let mut policy = policy();
        policy.allowed_domains = vec!["corp.example".into()];
        let mut input = series(vec![occurrence("2026-12-03T09:00:00Z")]);
        input[0].participants[0].email = "alex@CORP.example".into();
        let plan = run(&input, "2026-12-03T08:00:00Z", &policy);
        assert_eq!(plan.due.len(), 1);
        assert_eq!(plan.due[0].key.recipient, "alex@corp.example");
        assert_eq!(
            plan.withheld[0].reason,
            WithheldReason::DomainNotAllowed("example.com".into())
        );
        assert!(
            plan.withheld[0]
                .reason
                .to_string()
                .contains("allowed_domains")
        );
    }

    #[test]
    fn skipped_occurrence_gets_no_brief() {
        // Skipped by its original slot, then moved: still skipped.
        let mut moved = occurrence("2026-12-03T11:00:00Z");
        moved.recurrence_id = Some(EventTime::utc(at("2026-12-03T09:00:00Z")));
        let input = series(vec![moved, occurrence("2026-12-10T09:00:00Z")]);
        let is_skipped =
            |_: &SeriesId, o: &Occurrence, _: &str| original_start(o) == at("2026-12-03T09:00:00Z");
        let ledger = Ledger {
            is_done: &|_| false,
            is_skipped: &is_skipped,
        };
        let plan = plan(&input, at("2026-12-03T08:00:00Z"), &policy(), &ledger);
        assert!(plan.due.is_empty());
        assert_eq!(plan.later.len(), 2);
        assert!(
            plan.withheld
                .iter()
                .all(|w| w.reason == WithheldReason::Skipped)
        );
        assert_eq!(plan.next_due(), Some(at("2026-12-09T15:00:00Z")));
    }

    #[test]
    fn queued_or_sent_brief_is_not_planned_again() {
        let input = series(vec![occurrence("2026-12-03T09:00:00Z")]);
        let is_done = |key: &BriefKey| key.recipient == "alex@example.com";
        let ledger = Ledger {
            is_done: &is_done,
            is_skipped: &|_, _, _| false,
        };
        let plan = plan(&input, at("2026-12-03T08:00:00Z"), &policy(), &ledger);
        assert_eq!(plan.due.len(), 1);
        assert_eq!(plan.due[0].key.recipient, "dana@example.com");
    }

    #[test]
    fn brief_key_bytes_keep_parts_apart() {
        let key = |series: &str, occurrence: &str, recipient: &str| BriefKey {
            series: SeriesId(series.into()),
            occurrence: occurrence.into(),
            recipient: recipient.into(),
        };
        assert_ne!(
            key("a", "bc", "d").to_bytes(),
            key("ab", "c", "d").to_bytes()
        );
        assert_eq!(
            key("s", "o", "r").to_bytes(),
            [0, 0, 0, 1, b's', 0, 0, 0, 1, b'o', 0, 0, 0, 1, b'r']
        );
    }

    #[test]
    fn preview_finds_the_next_brief_of_a_recipient_and_its_view_model() {
        let input = series(vec![
            occurrence("2026-12-10T09:00:00Z"),
            occurrence("2026-12-03T09:00:00Z"),
        ]);
        let plan = run(&input, "2026-12-01T00:00:00Z", &policy());
        let next = plan.next_for("DANA@example.com").unwrap();
        assert_eq!(next.occurrence.start_utc, at("2026-12-03T09:00:00Z"));
        assert_eq!(next.recipient.email, "dana@example.com");
        assert_eq!(next.other.email, "Alex@Example.com");
        assert_eq!(
            policy().zone_of(&next.recipient.email),
            chrono_tz::Europe::Berlin
        );
        assert!(plan.next_for("eve@example.com").is_none());
    }

    #[test]
    fn duplicate_occurrences_yield_one_brief_each() {
        let input = series(vec![
            occurrence("2026-12-03T09:00:00Z"),
            occurrence("2026-12-03T09:00:00Z"),
        ]);
        assert_eq!(run(&input, "2026-12-03T08:00:00Z", &policy()).due.len(), 2);
    }
}

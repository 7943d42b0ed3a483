//! Which recurring series are 1:1s, and why (or why not).
//!
//! Pure: a function of the series' events, the calendar owners who see them and the
//! config's rules. Every verdict carries a reason a person can read, because "why
//! didn't I get a brief for my 1:1 with Sam?" must have an answer in `tete series`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::DetectionConfig;
use crate::model::{
    Attendee, CuType, Event, EventKind, EventStatus, PartStat, Person, Role, SeriesId,
};

/// One series as seen through one or more calendars (same UID = same series).
#[derive(Clone, Debug)]
pub struct SeriesCandidate<'a> {
    /// The series master (or the single event) chosen as the series' current state.
    pub master: &'a Event,
    /// Lower-cased addresses of the calendar owners whose calendars hold it.
    pub owners: Vec<String>,
}

/// The classification of one series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Short id for the command line.
    pub id: SeriesId,
    /// iCalendar UID.
    pub uid: String,
    /// Title.
    pub title: String,
    /// True when tete briefs this series.
    pub one_on_one: bool,
    /// Why: "1:1 between a and b", "3 people", "not recurring", ...
    pub reason: String,
    /// The people left after rooms, resources and decliners are set aside
    /// (exactly two for a 1:1).
    pub participants: Vec<Person>,
    /// The calendar owners among the participants (whose calendars the series was read from).
    pub owners: Vec<String>,
}

/// Why a set of attendees is not exactly two people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeopleProblem {
    /// Fewer or more than two people remain.
    Count {
        /// How many remain.
        people: usize,
        /// What was set aside, for the reason text ("a room", "1 declined").
        set_aside: Vec<String>,
    },
    /// A group or mailing list is invited: more people than the list shows.
    Group(String),
}

impl PeopleProblem {
    /// A reason a person can read.
    pub fn describe(&self) -> String {
        match self {
            PeopleProblem::Count { people, set_aside } => {
                let base = match people {
                    0 => "nobody attends".to_string(),
                    1 => "only 1 person".to_string(),
                    n => format!("{n} people"),
                };
                if set_aside.is_empty() {
                    base
                } else {
                    let verb = if set_aside.len() == 1 && set_aside[0].starts_with("1 ") {
                        "is"
                    } else {
                        "are"
                    };
                    format!("{base} once {} {verb} set aside", set_aside.join(" and "))
                }
            }
            PeopleProblem::Group(email) => format!("a group is invited ({email})"),
        }
    }
}

/// The distinct people of a meeting once rooms, resources, non-participants and
/// decliners are set aside; the organizer counts as a participant.
pub fn meeting_people(
    attendees: &[Attendee],
    organizer: Option<&Person>,
) -> Result<[Person; 2], PeopleProblem> {
    let mut people: BTreeMap<String, Person> = BTreeMap::new();
    let mut declined: BTreeMap<String, ()> = BTreeMap::new();
    let mut rooms = 0usize;
    let mut non_participants = 0usize;
    for attendee in attendees {
        let key = attendee.person.key();
        if key.is_empty() {
            continue;
        }
        match attendee.effective_cutype() {
            CuType::Room | CuType::Resource => {
                rooms += 1;
                continue;
            }
            CuType::Group => return Err(PeopleProblem::Group(key)),
            _ => {}
        }
        if attendee.role == Some(Role::NonParticipant) {
            non_participants += 1;
            continue;
        }
        if attendee.effective_partstat() == PartStat::Declined {
            declined.insert(key, ());
            continue;
        }
        people.entry(key).or_insert_with(|| attendee.person.clone());
    }
    if let Some(organizer) = organizer {
        let key = organizer.key();
        // An organizer who declined their own meeting (rare, but Outlook allows it)
        // stays set aside; one missing from the attendee list still attends.
        if !key.is_empty() && !declined.contains_key(&key) {
            people.entry(key).or_insert_with(|| organizer.clone());
        }
    }
    let people: Vec<Person> = people.into_values().collect();
    match <[Person; 2]>::try_from(people) {
        Ok(pair) => Ok(pair),
        Err(people) => {
            let mut set_aside = Vec::new();
            if rooms > 0 {
                set_aside.push(plural(rooms, "room or resource", "rooms and resources"));
            }
            if !declined.is_empty() {
                set_aside.push(plural(declined.len(), "decliner", "decliners"));
            }
            if non_participants > 0 {
                set_aside.push(plural(
                    non_participants,
                    "non-participant",
                    "non-participants",
                ));
            }
            Err(PeopleProblem::Count {
                people: people.len(),
                set_aside,
            })
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// True when `id` (as configured in `opt_out_series`) names this series, by short id or UID.
fn opted_out(rules: &DetectionConfig, id: &SeriesId, uid: &str) -> bool {
    rules
        .opt_out_series
        .iter()
        .any(|entry| entry.trim() == id.0 || entry.trim() == uid)
}

/// The first configured pattern the title contains (case-insensitive), if any.
fn title_match<'r>(patterns: &'r [String], title: &str) -> Option<&'r str> {
    let title = title.to_lowercase();
    patterns
        .iter()
        .map(String::as_str)
        .find(|pattern| !pattern.trim().is_empty() && title.contains(&pattern.to_lowercase()))
}

fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// Whether tete has any use for `event`: a series master, an override of one, or a
/// single event shaped like a 1:1 (listed by `tete series` as "not recurring").
/// Sources store nothing else: tete keeps no copy of meetings it will never brief
/// (the all-hands, focus time, a meeting of five), and the store and every pass grow
/// with the 1:1s, not with the size of the calendars.
pub fn worth_keeping(event: &Event) -> bool {
    event.recurrence_id.is_some()
        || event.recurrence.as_ref().is_some_and(|r| !r.is_empty())
        || meeting_people(&event.attendees, event.organizer.as_ref()).is_ok()
}

/// True when one of `people` (lower-cased addresses) organises or attends `event`.
pub fn involves(event: &Event, people: &[String]) -> bool {
    if people.is_empty() {
        return false;
    }
    let is_one = |email: &str| people.iter().any(|p| p.eq_ignore_ascii_case(email.trim()));
    event.attendees.iter().any(|a| is_one(&a.person.email))
        || event.organizer.as_ref().is_some_and(|o| is_one(&o.email))
}

/// Classifies one series. Rules are checked from the cheapest to explain to the most
/// specific, and the first that fails is the reason.
pub fn classify(candidate: &SeriesCandidate<'_>, rules: &DetectionConfig) -> Verdict {
    let master = candidate.master;
    let id = SeriesId::from_uid(&master.uid);
    let mut verdict = Verdict {
        id: id.clone(),
        uid: master.uid.clone(),
        title: master.summary.clone(),
        one_on_one: false,
        reason: String::new(),
        participants: Vec::new(),
        owners: Vec::new(),
    };
    let refuse = |mut verdict: Verdict, reason: String| {
        verdict.reason = reason;
        verdict
    };
    if opted_out(rules, &id, &master.uid) {
        return refuse(
            verdict,
            "opted out in the config (detection.opt_out_series)".into(),
        );
    }
    match &master.kind {
        EventKind::Default => {}
        EventKind::OutOfOffice => return refuse(verdict, "out of office, not a meeting".into()),
        EventKind::FocusTime => return refuse(verdict, "focus time, not a meeting".into()),
        EventKind::WorkingLocation => {
            return refuse(verdict, "working location, not a meeting".into());
        }
        EventKind::Other(kind) => return refuse(verdict, format!("{kind} entry, not a meeting")),
    }
    if master.status == EventStatus::Cancelled {
        return refuse(verdict, "the series is cancelled".into());
    }
    if master.recurrence.as_ref().is_none_or(|r| r.is_empty()) {
        return refuse(verdict, "not recurring".into());
    }
    if let Some(pattern) = title_match(&rules.title_exclude, &master.summary) {
        return refuse(verdict, format!("excluded by title rule '{pattern}'"));
    }
    if !rules.title_include.is_empty()
        && title_match(&rules.title_include, &master.summary).is_none()
    {
        return refuse(
            verdict,
            "title matches no include rule (detection.title_include)".into(),
        );
    }
    let pair = match meeting_people(&master.attendees, master.organizer.as_ref()) {
        Ok(pair) => pair,
        Err(problem) => return refuse(verdict, problem.describe()),
    };
    verdict.participants = pair.to_vec();
    for person in &pair {
        let domain = domain_of(&person.email).to_lowercase();
        if let Some(skip) = rules
            .skip_domains
            .iter()
            .find(|d| d.trim_start_matches('@').eq_ignore_ascii_case(&domain))
        {
            return refuse(
                verdict,
                format!("{} is in skipped domain '{skip}'", person.key()),
            );
        }
    }
    let owners: Vec<String> = candidate
        .owners
        .iter()
        .filter(|owner| pair.iter().any(|p| p.key() == **owner))
        .cloned()
        .collect();
    if owners.is_empty() {
        // A shared or delegated calendar shows other people's 1:1s: those are not
        // ours to brief, and their content must not reach anyone else.
        let who = candidate.owners.join(", ");
        return refuse(
            verdict,
            format!("calendar owner ({who}) is not a participant"),
        );
    }
    verdict.owners = owners;
    verdict.one_on_one = true;
    verdict.reason = format!(
        "1:1 between {} and {}",
        pair[0].display_name(),
        pair[1].display_name()
    );
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Recurrence;

    use std::time::Duration;

    fn person(email: &str) -> Person {
        Person {
            email: email.into(),
            name: None,
        }
    }

    fn attendee(email: &str) -> Attendee {
        Attendee {
            person: person(email),
            role: None,
            partstat: Some(PartStat::Accepted),
            cutype: None,
            is_self: false,
        }
    }

    fn weekly(summary: &str, attendees: Vec<Attendee>) -> Event {
        Event {
            id: "e1".into(),
            summary: summary.into(),
            recurrence: Some(Recurrence {
                rrules: vec!["FREQ=WEEKLY".into()],
                ..Recurrence::default()
            }),
            attendees,
            organizer: Some(person("ana@example.com")),
            ..crate::model::fixtures::event("uid-1")
        }
    }

    fn rules() -> DetectionConfig {
        DetectionConfig {
            title_exclude: vec!["interview".into(), "lunch".into()],
            horizon: Duration::from_secs(86400 * 35),
            history: Duration::from_secs(86400 * 180),
            ..DetectionConfig::default()
        }
    }

    fn verdict(event: &Event) -> Verdict {
        classify(
            &SeriesCandidate {
                master: event,
                owners: vec!["ana@example.com".into()],
            },
            &rules(),
        )
    }

    #[test]
    fn two_people_weekly_is_a_one_on_one() {
        let event = weekly(
            "Ana / Ben",
            vec![attendee("ana@example.com"), attendee("Ben@Example.com")],
        );
        let v = verdict(&event);
        assert!(v.one_on_one, "{}", v.reason);
        assert_eq!(v.reason, "1:1 between ana@example.com and Ben@Example.com");
        assert_eq!(v.owners, vec!["ana@example.com".to_string()]);
    }

    #[test]
    fn organizer_missing_from_attendees_still_counts() {
        let event = weekly("sync", vec![attendee("ben@example.com")]);
        assert!(verdict(&event).one_on_one);
    }

    #[test]
    fn three_people_are_not_a_one_on_one() {
        let event = weekly(
            "sync",
            vec![
                attendee("ana@example.com"),
                attendee("ben@example.com"),
                attendee("cy@example.com"),
            ],
        );
        assert_eq!(verdict(&event).reason, "3 people");
    }

    #[test]
    fn a_room_is_set_aside() {
        let mut room = attendee("room-4@resource.example.com");
        room.cutype = Some(CuType::Room);
        let event = weekly(
            "1:1",
            vec![
                attendee("ana@example.com"),
                attendee("ben@example.com"),
                room,
            ],
        );
        assert!(verdict(&event).one_on_one);
    }

    #[test]
    fn one_person_with_a_room_is_not_a_one_on_one() {
        let mut room = attendee("room-4@resource.example.com");
        room.cutype = Some(CuType::Room);
        let event = weekly("thinking time", vec![attendee("ana@example.com"), room]);
        assert_eq!(
            verdict(&event).reason,
            "only 1 person once 1 room or resource is set aside"
        );
    }

    #[test]
    fn a_decliner_is_set_aside() {
        let mut declined = attendee("ben@example.com");
        declined.partstat = Some(PartStat::Declined);
        let event = weekly("1:1", vec![attendee("ana@example.com"), declined]);
        assert_eq!(
            verdict(&event).reason,
            "only 1 person once 1 decliner is set aside"
        );
    }

    #[test]
    fn a_group_invite_is_not_a_one_on_one() {
        let mut group = attendee("team@example.com");
        group.cutype = Some(CuType::Group);
        let event = weekly("sync", vec![attendee("ana@example.com"), group]);
        assert_eq!(
            verdict(&event).reason,
            "a group is invited (team@example.com)"
        );
    }

    #[test]
    fn title_rules_explain_themselves() {
        let event = weekly(
            "Team Lunch",
            vec![attendee("ana@example.com"), attendee("ben@example.com")],
        );
        assert_eq!(verdict(&event).reason, "excluded by title rule 'lunch'");
        let mut include = rules();
        include.title_include = vec!["1:1".into()];
        let v = classify(
            &SeriesCandidate {
                master: &weekly("sync", vec![attendee("ben@example.com")]),
                owners: vec!["ana@example.com".into()],
            },
            &include,
        );
        assert_eq!(
            v.reason,
            "title matches no include rule (detection.title_include)"
        );
    }

    #[test]
    fn single_events_are_not_recurring() {
        let mut event = weekly("1:1", vec![attendee("ben@example.com")]);
        event.recurrence = None;
        assert_eq!(verdict(&event).reason, "not recurring");
    }

    #[test]
    fn series_overrides_and_two_person_singles_are_worth_keeping() {
        let series = weekly(
            "Team",
            vec![attendee("a@example.com"), attendee("b@example.com")],
        );
        assert!(worth_keeping(&series), "any series, even of three");
        let mut pair = weekly("1:1", vec![attendee("ben@example.com")]);
        pair.recurrence = None;
        assert!(worth_keeping(&pair), "organizer and Ben");
        let mut crowd = series.clone();
        crowd.recurrence = None;
        assert!(!worth_keeping(&crowd), "a single meeting of three");
        let mut override_of_crowd = crowd.clone();
        override_of_crowd.recurrence_id = Some(override_of_crowd.start.clone());
        assert!(
            worth_keeping(&override_of_crowd),
            "overrides belong to their series"
        );
        let mut alone = pair.clone();
        alone.attendees.clear();
        alone.organizer = None;
        assert!(!worth_keeping(&alone), "nobody attends");
    }

    #[test]
    fn an_event_involves_its_attendees_and_organizer_whatever_the_case() {
        let event = weekly("1:1", vec![attendee("Ben@Example.com")]);
        assert!(involves(&event, &["ben@example.com".into()]));
        let organizer = event.organizer.as_ref().unwrap().email.to_lowercase();
        assert!(involves(&event, &[organizer]));
        assert!(!involves(&event, &["ceo@example.com".into()]));
        assert!(!involves(&event, &[]));
    }

    #[test]
    fn owner_must_be_a_participant() {
        let event = weekly("1:1", vec![attendee("ben@example.com")]);
        let v = classify(
            &SeriesCandidate {
                master: &event,
                owners: vec!["boss@example.com".into()],
            },
            &rules(),
        );
        assert_eq!(
            v.reason,
            "calendar owner (boss@example.com) is not a participant"
        );
        assert!(!v.one_on_one);
    }

    #[test]
    fn skipped_domains_and_opt_outs_win() {
        let event = weekly("1:1", vec![attendee("ben@partner.example")]);
        let mut r = rules();
        r.skip_domains = vec!["partner.example".into()];
        let v = classify(
            &SeriesCandidate {
                master: &event,
                owners: vec!["ana@example.com".into()],
            },
            &r,
        );
        assert_eq!(
            v.reason,
            "ben@partner.example is in skipped domain 'partner.example'"
        );
        let mut r = rules();
        r.opt_out_series = vec![SeriesId::from_uid("uid-1").0];
        let v = classify(
            &SeriesCandidate {
                master: &event,
                owners: vec!["ana@example.com".into()],
            },
            &r,
        );
        assert_eq!(
            v.reason,
            "opted out in the config (detection.opt_out_series)"
        );
    }

    #[test]
    fn focus_time_is_never_a_one_on_one() {
        let mut event = weekly("Focus", vec![attendee("ben@example.com")]);
        event.kind = EventKind::FocusTime;
        assert_eq!(verdict(&event).reason, "focus time, not a meeting");
    }
}

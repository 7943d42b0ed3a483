//! The plain values that flow through a pass: events as sources deliver them,
//! occurrences as the recurrence engine produces them, and the people in them.
//!
//! Everything here is data. Time-zone arithmetic lives in `calendar/`, parsing in
//! `sources/`, persistence in `store/`. Every type is serde-serializable so the
//! store can keep it and `tete expand --json` / `tete series --json` can print it.

#[cfg(test)]
pub(crate) mod fixtures;
pub mod items;
pub mod org;
pub mod outbox;
pub mod replies;
pub mod stored;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// A time zone as a calendar names it, already resolved to something tete can compute with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Zone {
    /// A UTC time (`...Z` in iCalendar, `Z`/`+00:00` from APIs).
    Utc,
    /// No zone at all: "wall clock wherever the viewer is" (RFC 5545 §3.3.5 form #1).
    /// The daemon reads it in the configured zone, never in the server's `TZ`.
    Floating,
    /// An IANA zone, either named directly or mapped from a Windows/Outlook name.
    Iana(chrono_tz::Tz),
    /// A zone defined only by a VTIMEZONE in the file itself, with no IANA equivalent.
    Custom(CustomZone),
}

/// The rules of a VTIMEZONE that maps to no IANA zone (RFC 5545 §3.6.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomZone {
    /// The TZID as written in the file.
    pub tzid: String,
    /// STANDARD and DAYLIGHT sub-components.
    pub observances: Vec<Observance>,
}

/// One STANDARD or DAYLIGHT block of a VTIMEZONE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observance {
    /// True for DAYLIGHT, false for STANDARD.
    pub daylight: bool,
    /// DTSTART of the observance: local time in the offset that was in force before it.
    pub start: NaiveDateTime,
    /// TZOFFSETFROM in seconds east of UTC.
    pub offset_from: i32,
    /// TZOFFSETTO in seconds east of UTC.
    pub offset_to: i32,
    /// The RRULE value (without `RRULE:`), if the onset repeats.
    pub rrule: Option<String>,
    /// Extra onsets (RDATE), local times like `start`.
    pub rdates: Vec<NaiveDateTime>,
}

/// A start, end or recurrence instant as written by the calendar: a date (all-day)
/// or a wall-clock time in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventTime {
    /// An all-day value (`VALUE=DATE`, Google `date`, Graph `isAllDay`).
    Date(NaiveDate),
    /// A date-time: the local wall-clock reading and the zone it is read in.
    /// For `Zone::Utc` the local reading *is* UTC.
    DateTime {
        /// Wall-clock reading in `zone`.
        local: NaiveDateTime,
        /// The zone the reading belongs to.
        zone: Zone,
    },
}

impl EventTime {
    /// A UTC date-time.
    pub fn utc(at: DateTime<Utc>) -> Self {
        EventTime::DateTime {
            local: at.naive_utc(),
            zone: Zone::Utc,
        }
    }

    /// True for all-day values.
    pub fn is_date(&self) -> bool {
        matches!(self, EventTime::Date(_))
    }
}

/// Whether an event (or one occurrence) takes place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Confirmed, or no status given (the RFC default for VEVENT).
    #[default]
    Confirmed,
    /// Tentatively scheduled.
    Tentative,
    /// Cancelled: the whole event, or one occurrence of a series.
    Cancelled,
}

impl EventStatus {
    /// The iCalendar spelling (`CONFIRMED`, `TENTATIVE`, `CANCELLED`).
    pub fn as_ical(&self) -> &'static str {
        match self {
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Tentative => "TENTATIVE",
            EventStatus::Cancelled => "CANCELLED",
        }
    }
}

/// What kind of calendar entry this is. Only `Default` entries can be 1:1s.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An ordinary meeting or appointment.
    #[default]
    Default,
    /// Google `outOfOffice`.
    OutOfOffice,
    /// Google `focusTime`.
    FocusTime,
    /// Google `workingLocation`.
    WorkingLocation,
    /// Anything else a provider reports (`birthday`, `fromGmail`, ...).
    Other(String),
}

/// An attendee's participation role (RFC 5545 §3.2.16), as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// `CHAIR`
    Chair,
    /// `REQ-PARTICIPANT` (the RFC default when absent)
    Required,
    /// `OPT-PARTICIPANT`
    Optional,
    /// `NON-PARTICIPANT` (for information only)
    NonParticipant,
    /// Any other value, kept as written.
    Other(String),
}

/// An attendee's answer (RFC 5545 §3.2.12), as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartStat {
    /// `NEEDS-ACTION` (the RFC default when absent)
    NeedsAction,
    /// `ACCEPTED`
    Accepted,
    /// `DECLINED`
    Declined,
    /// `TENTATIVE`
    Tentative,
    /// `DELEGATED`
    Delegated,
    /// Any other value, kept as written.
    Other(String),
}

/// What an attendee is (RFC 5545 §3.2.3), as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CuType {
    /// `INDIVIDUAL` (the RFC default when absent)
    Individual,
    /// `GROUP`
    Group,
    /// `RESOURCE` (a projector, a car, ...)
    Resource,
    /// `ROOM`
    Room,
    /// `UNKNOWN`
    Unknown,
    /// Any other value, kept as written.
    Other(String),
}

macro_rules! ical_enum_text {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The iCalendar spelling of this value.
            pub fn as_ical(&self) -> &str {
                match self {
                    $($ty::$variant => $text,)+
                    $ty::Other(s) => s.as_str(),
                }
            }

            /// Parses an iCalendar parameter value (case-insensitive); unknown values are kept.
            pub fn from_ical(text: &str) -> Self {
                let upper = text.trim().to_ascii_uppercase();
                match upper.as_str() {
                    $($text => $ty::$variant,)+
                    _ => $ty::Other(text.trim().to_string()),
                }
            }
        }
    };
}

ical_enum_text!(Role { Chair => "CHAIR", Required => "REQ-PARTICIPANT", Optional => "OPT-PARTICIPANT", NonParticipant => "NON-PARTICIPANT" });
ical_enum_text!(PartStat { NeedsAction => "NEEDS-ACTION", Accepted => "ACCEPTED", Declined => "DECLINED", Tentative => "TENTATIVE", Delegated => "DELEGATED" });
ical_enum_text!(CuType { Individual => "INDIVIDUAL", Group => "GROUP", Resource => "RESOURCE", Room => "ROOM", Unknown => "UNKNOWN" });

/// A person identified by email address. Addresses are compared lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The address without `mailto:`, as written (use [`Person::key`] to compare).
    pub email: String,
    /// Display name (`CN`, Google `displayName`, Graph `emailAddress.name`).
    pub name: Option<String>,
}

impl Person {
    /// The lower-cased address, the identity used for comparisons and keys.
    pub fn key(&self) -> String {
        normalize_email(&self.email)
    }

    /// The name if there is one, else the address.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.email)
    }
}

/// Lower-cases an address and strips a `mailto:` prefix and surrounding space.
pub fn normalize_email(address: &str) -> String {
    let trimmed = address.trim();
    // `get` and `strip_prefix`-style slicing: a multi-byte character in the first seven
    // bytes (an address from a hostile invite) must not panic.
    let bare = match (trimmed.get(..7), trimmed.get(7..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("mailto:") => rest,
        _ => trimmed,
    };
    bare.to_lowercase()
}

/// One ATTENDEE of an event. Parameters are `None` when the source did not give them,
/// so `tete expand` can print them as written; use the `effective_*` helpers for logic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    /// Who.
    pub person: Person,
    /// ROLE parameter.
    pub role: Option<Role>,
    /// PARTSTAT parameter.
    pub partstat: Option<PartStat>,
    /// CUTYPE parameter.
    pub cutype: Option<CuType>,
    /// The provider says this attendee is the calendar's owner (Google `self`).
    pub is_self: bool,
}

impl Attendee {
    /// The participation status with the RFC default (`NEEDS-ACTION`) filled in.
    pub fn effective_partstat(&self) -> PartStat {
        self.partstat.clone().unwrap_or(PartStat::NeedsAction)
    }

    /// The calendar user type with the RFC default (`INDIVIDUAL`) filled in.
    pub fn effective_cutype(&self) -> CuType {
        self.cutype.clone().unwrap_or(CuType::Individual)
    }
}

/// RRULE / RDATE / EXDATE of a series master. One shape for every source: .ics files,
/// Google's `recurrence[]` lines and Microsoft's patterned recurrence (converted to a rule).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    /// RRULE values without the `RRULE:` prefix, e.g. `FREQ=WEEKLY;BYDAY=TU`.
    pub rrules: Vec<String>,
    /// EXRULE values (deprecated by RFC 5545 but still written by some producers).
    pub exrules: Vec<String>,
    /// Extra occurrences.
    pub rdates: Vec<EventTime>,
    /// Excluded occurrences.
    pub exdates: Vec<EventTime>,
}

impl Recurrence {
    /// True when there is nothing that makes the event repeat.
    pub fn is_empty(&self) -> bool {
        self.rrules.is_empty() && self.rdates.is_empty()
    }
}

/// A calendar entry as a source delivers it: a single event, a series master (with
/// `recurrence`), or an override of one occurrence (with `recurrence_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique within its calendar (provider id; for .ics: UID plus RECURRENCE-ID).
    pub id: String,
    /// The iCalendar UID shared by a series master and its overrides; the same meeting
    /// seen through two accounts has the same UID.
    pub uid: String,
    /// For an override: the original slot it replaces (RECURRENCE-ID, Google
    /// `originalStartTime`, Graph `originalStart`).
    pub recurrence_id: Option<EventTime>,
    /// Title.
    pub summary: String,
    /// Description as plain text (HTML already turned into text by the source).
    pub description: String,
    /// Location, if any.
    pub location: Option<String>,
    /// Confirmed, tentative or cancelled.
    pub status: EventStatus,
    /// Start.
    pub start: EventTime,
    /// Exclusive end; `None` when the source gave neither an end nor a duration.
    pub end: Option<EventTime>,
    /// Repetition rules of a series master.
    pub recurrence: Option<Recurrence>,
    /// Attendees as listed (the organizer may or may not be among them).
    pub attendees: Vec<Attendee>,
    /// The organizer, if given.
    pub organizer: Option<Person>,
    /// Ordinary meeting, out of office, focus time, ...
    pub kind: EventKind,
    /// SEQUENCE, to prefer the newest revision of a duplicate.
    pub sequence: i64,
    /// Last modification time, if the source gives one.
    pub updated: Option<DateTime<Utc>>,
}

/// One concrete occurrence of an event inside a horizon: a single event, or one
/// member of a recurrence set with overrides and cancellations already applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The series (or single event) UID.
    pub uid: String,
    /// The original slot for members of a recurrence set, `None` for single events.
    pub recurrence_id: Option<EventTime>,
    /// Start in the event's own zone.
    pub start: EventTime,
    /// Exclusive end in the event's own zone.
    pub end: EventTime,
    /// Start as an instant (floating and all-day values read in the zone the engine was given).
    pub start_utc: DateTime<Utc>,
    /// End as an instant.
    pub end_utc: DateTime<Utc>,
    /// Title (the override's if this occurrence was changed).
    pub summary: String,
    /// Plain-text description (the override's if changed).
    pub description: Arc<str>,
    /// Location, if any.
    pub location: Option<String>,
    /// Cancelled occurrences are kept so history can count them.
    pub status: EventStatus,
    /// Attendees of this occurrence.
    pub attendees: Arc<[Attendee]>,
    /// Organizer of this occurrence.
    pub organizer: Option<Person>,
    /// True when an override replaced the generated occurrence.
    pub is_override: bool,
    /// True when an override moved it away from its original slot.
    pub moved: bool,
}

/// A short stable id for a series, derived from its UID, so people can type it
/// (`tete items list 3f9a0c21e4`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesId(pub String);

impl SeriesId {
    /// The id of the series with this iCalendar UID: the first 10 hex digits of its SHA-256.
    pub fn from_uid(uid: &str) -> Self {
        let digest = Sha256::digest(uid.as_bytes());
        let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
        SeriesId(hex)
    }
}

impl SeriesId {
    /// The id under which this series keeps the context (items, notes, history, skips)
    /// of `pair` when `pair` is not the pair the series was first seen with: a series
    /// whose second person changes starts a fresh context, and the old one stays with
    /// the old pair (see `Store::context_id`).
    pub fn for_pair(&self, pair: &Pair) -> SeriesId {
        let [a, b] = &pair.0;
        SeriesId::from_uid(&format!("{}\n{a}\n{b}", self.0))
    }
}

/// The two people of a 1:1 as their sorted, normalized addresses: whose context a
/// series' items and notes are.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pair(pub [String; 2]);

impl Pair {
    /// The pair of exactly two distinct people, `None` for any other number.
    pub fn of(people: &[Person]) -> Option<Pair> {
        let [a, b] = people else {
            return None;
        };
        let (a, b) = (a.key(), b.key());
        match a.cmp(&b) {
            std::cmp::Ordering::Less => Some(Pair([a, b])),
            std::cmp::Ordering::Greater => Some(Pair([b, a])),
            std::cmp::Ordering::Equal => None,
        }
    }
}

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_id_is_stable_and_short() {
        let a = SeriesId::from_uid("abc@example.com");
        assert_eq!(a, SeriesId::from_uid("abc@example.com"));
        assert_eq!(a.0.len(), 10);
        assert_ne!(a, SeriesId::from_uid("abd@example.com"));
    }

    #[test]
    fn a_pair_is_the_same_whichever_order_its_people_come_in() {
        let person = |email: &str| Person {
            email: email.into(),
            name: None,
        };
        let ab = Pair::of(&[person("Alex@x.com"), person("dana@x.com")]).unwrap();
        let ba = Pair::of(&[person("dana@x.com"), person("alex@x.com")]).unwrap();
        assert_eq!(ab, ba);
        assert_eq!(Pair::of(&[person("a@x"), person("A@x")]), None);
        assert_eq!(Pair::of(&[person("a@x")]), None);
        let series = SeriesId::from_uid("weekly@x");
        let eve = Pair::of(&[person("alex@x.com"), person("eve@x.com")]).unwrap();
        assert_ne!(series.for_pair(&ab), series.for_pair(&eve));
        assert_ne!(series.for_pair(&ab), series);
    }

    #[test]
    fn emails_compare_without_case_or_mailto() {
        assert_eq!(
            normalize_email(" MAILTO:Dana@Example.COM "),
            "dana@example.com"
        );
        assert_eq!(normalize_email("x@y"), "x@y");
        assert_eq!(normalize_email("日本語@例え.jp"), "日本語@例え.jp");
        // Descriptions are written by anyone: no slicing inside a character.
        assert_eq!(normalize_email("ßß\u{fe0f}@x"), "ßß\u{fe0f}@x");
        assert_eq!(normalize_email("mailto"), "mailto");
    }

    #[test]
    fn unknown_ical_values_are_kept_as_written() {
        assert_eq!(PartStat::from_ical("declined"), PartStat::Declined);
        assert_eq!(CuType::from_ical("X-VIRTUAL").as_ical(), "X-VIRTUAL");
    }
}

//! Graph `event` JSON → [`model::Event`](crate::model::Event).
//!
//! Times: tete asks for `Prefer: outlook.timezone="UTC"`, so `start`/`end` arrive in
//! UTC; other zones (Windows names such as `Pacific Standard Time`, or IANA names)
//! are resolved through the calendar engine's CLDR table. A series master's start is
//! re-expressed in its recurrence zone so the rule keeps its wall-clock time across
//! DST changes.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::recurrence::{PatternedRecurrence, to_rrule};
use super::uid::series_uid;
use crate::calendar::{local_to_utc, resolve_tzid, utc_to_local};
use crate::context::html_to_text;
use crate::model::{
    Attendee, CuType, Event, EventKind, EventStatus, EventTime, PartStat, Person, Recurrence, Role,
    Zone, normalize_email,
};

/// One item of a Graph event collection (a delta page's `value[]`, or a single GET).
/// Every field is optional: delta pages, `$select` projections and tombstones carry
/// only some of them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GraphEvent {
    /// Opaque id (immutable with `Prefer: IdType="ImmutableId"`).
    pub id: String,
    /// Present on delta tombstones: `{"reason": "deleted"}`.
    #[serde(rename = "@removed")]
    pub removed: Option<serde_json::Value>,
    /// Exchange's Global Object ID in hex (per occurrence in v1.0).
    #[serde(rename = "iCalUId")]
    pub ical_uid: Option<String>,
    /// Series-wide UID (beta only; used when present).
    pub uid: Option<String>,
    /// `singleInstance`, `occurrence`, `exception`, `seriesMaster`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The master of an occurrence or exception.
    pub series_master_id: Option<String>,
    /// The slot an occurrence or exception belongs to (UTC timestamp).
    pub original_start: Option<String>,
    /// The zone the event was created in (usually a Windows name).
    pub original_start_time_zone: Option<String>,
    /// The organizer cancelled it.
    pub is_cancelled: Option<bool>,
    /// Title.
    pub subject: Option<String>,
    /// Body (`html` or `text`).
    pub body: Option<ItemBody>,
    /// Plain-text preview of the body.
    pub body_preview: Option<String>,
    /// Location.
    pub location: Option<Location>,
    /// Start.
    pub start: Option<DateTimeTimeZone>,
    /// End.
    pub end: Option<DateTimeTimeZone>,
    /// All-day event.
    pub is_all_day: Option<bool>,
    /// Attendees (the organizer is usually not among them).
    pub attendees: Option<Vec<GraphAttendee>>,
    /// Organizer.
    pub organizer: Option<Recipient>,
    /// Rule of a series master.
    pub recurrence: Option<PatternedRecurrence>,
    /// Ids (`OID.<master>.<yyyy-mm-dd>`) of cancelled occurrences of a master.
    pub cancelled_occurrences: Option<Vec<String>>,
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere`, `unknown`.
    pub show_as: Option<String>,
    /// `normal`, `personal`, `private`, `confidential`.
    pub sensitivity: Option<String>,
    /// Last change (UTC).
    pub last_modified_date_time: Option<String>,
}

/// `itemBody`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ItemBody {
    /// `html` or `text`.
    pub content_type: Option<String>,
    /// The body.
    pub content: Option<String>,
}

/// `location` (only the display name matters here).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Location {
    /// What Outlook shows.
    pub display_name: Option<String>,
}

/// `dateTimeTimeZone`: a wall-clock reading without offset, and its zone's name.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DateTimeTimeZone {
    /// `2024-01-16T17:00:00.0000000`.
    pub date_time: Option<String>,
    /// `UTC`, a Windows name or an IANA name.
    pub time_zone: Option<String>,
}

/// `recipient` / the address part of an attendee.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Recipient {
    /// Name and address.
    pub email_address: Option<EmailAddress>,
}

/// `emailAddress`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmailAddress {
    /// Display name.
    pub name: Option<String>,
    /// SMTP address.
    pub address: Option<String>,
}

/// `attendee`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GraphAttendee {
    /// `required`, `optional`, `resource`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The answer.
    pub status: Option<ResponseStatus>,
    /// Who.
    pub email_address: Option<EmailAddress>,
}

/// `responseStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResponseStatus {
    /// `none`, `organizer`, `tentativelyAccepted`, `accepted`, `declined`, `notResponded`.
    pub response: Option<String>,
}

/// The four kinds of Graph event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphType {
    /// A lone event.
    SingleInstance,
    /// A generated member of a series, unchanged.
    Occurrence,
    /// A member of a series changed on its own.
    Exception,
    /// The series itself, with the rule.
    SeriesMaster,
}

impl GraphEvent {
    /// The event's kind (`singleInstance` when absent, as in the docs' delta samples).
    pub fn graph_type(&self) -> GraphType {
        match self
            .kind
            .as_deref()
            .unwrap_or("singleInstance")
            .to_ascii_lowercase()
            .as_str()
        {
            "occurrence" => GraphType::Occurrence,
            "exception" => GraphType::Exception,
            "seriesmaster" => GraphType::SeriesMaster,
            _ => GraphType::SingleInstance,
        }
    }

    /// True for a delta tombstone.
    pub fn is_removed(&self) -> bool {
        self.removed.is_some()
    }

    /// True when the owner marked it private or confidential: its body stays out of briefs.
    pub fn is_private(&self) -> bool {
        matches!(
            self.sensitivity
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("private" | "confidential")
        )
    }
}

/// Why a Graph event could not be mapped (the event is skipped and logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {id}: {reason}")]
pub struct MappingError {
    /// The Graph id.
    pub id: String,
    /// What was wrong.
    pub reason: String,
}

fn fail(event: &GraphEvent, reason: impl Into<String>) -> MappingError {
    MappingError {
        id: shorten_id(&event.id),
        reason: reason.into(),
    }
}

/// Graph ids are ~150 characters; logs show the end, which differs between events.
fn shorten_id(id: &str) -> String {
    let count = id.chars().count();
    if count <= 24 {
        id.to_string()
    } else {
        format!("…{}", id.chars().skip(count - 20).collect::<String>())
    }
}

/// A zone name as Graph writes it: `UTC`, an IANA name or a Windows name.
/// `tzone://Microsoft/Custom` and unknown names give `None`.
pub fn graph_zone(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty() || name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("Etc/UTC") {
        return Some(Zone::Utc);
    }
    resolve_tzid(name, None, (2000, 2100))
}

/// Parses `2024-01-16T17:00:00.0000000` (up to 7 fractional digits, no offset).
fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// Parses a Graph DateTimeOffset (`2024-01-23T17:00:00Z`, with or without fraction).
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .ok()
        .or_else(|| parse_naive(text.trim_end_matches('Z')).map(|n| n.and_utc()))
}

/// A `dateTimeTimeZone` as an instant.
fn instant_of(event: &GraphEvent, value: &DateTimeTimeZone) -> Result<DateTime<Utc>, MappingError> {
    let text = value
        .date_time
        .as_deref()
        .ok_or_else(|| fail(event, "a time without dateTime"))?;
    let local =
        parse_naive(text).ok_or_else(|| fail(event, format!("unreadable time '{text}'")))?;
    let zone_name = value.time_zone.as_deref().unwrap_or("UTC");
    let zone = graph_zone(zone_name)
        .ok_or_else(|| fail(event, format!("unknown time zone '{zone_name}'")))?;
    Ok(local_to_utc(local, &zone, chrono_tz::UTC))
}

/// The zone the event lives in: the recurrence zone of a master, else the zone it was
/// created in. `None` when Graph names none tete knows (then UTC is used).
fn home_zone(event: &GraphEvent) -> Option<Zone> {
    let recurrence_zone = event
        .recurrence
        .as_ref()
        .and_then(|r| r.range.as_ref())
        .and_then(|r| r.recurrence_time_zone.as_deref())
        .filter(|z| !z.trim().is_empty());
    recurrence_zone
        .or(event.original_start_time_zone.as_deref())
        .and_then(graph_zone)
}

/// An instant expressed for the event: a date for all-day events (the day in the
/// event's own zone), else the wall-clock reading in `zone`.
fn express(at: DateTime<Utc>, zone: &Zone, all_day: bool) -> EventTime {
    let local = utc_to_local(at, zone, chrono_tz::UTC);
    if all_day {
        // All-day times come either as midnight of the requested zone (UTC here: the
        // day itself, unconverted) or as the event's own midnight converted to UTC.
        if at.time() == chrono::NaiveTime::MIN {
            return EventTime::Date(at.date_naive());
        }
        EventTime::Date(local.date())
    } else {
        EventTime::DateTime {
            local,
            zone: zone.clone(),
        }
    }
}

/// The slot (original start) of an occurrence or exception, in the event's zone.
pub fn slot(event: &GraphEvent) -> Result<Option<EventTime>, MappingError> {
    if !matches!(
        event.graph_type(),
        GraphType::Occurrence | GraphType::Exception
    ) {
        return Ok(None);
    }
    let at = match event.original_start.as_deref() {
        Some(text) => parse_instant(text)
            .ok_or_else(|| fail(event, format!("unreadable originalStart '{text}'")))?,
        // Occurrences are at their original slot by definition.
        None => match &event.start {
            Some(start) => instant_of(event, start)?,
            None => return Err(fail(event, "a series member without originalStart")),
        },
    };
    let zone = home_zone(event).unwrap_or(Zone::Utc);
    Ok(Some(express(at, &zone, event.is_all_day.unwrap_or(false))))
}

fn person(address: &EmailAddress) -> Option<Person> {
    let email = address.address.as_deref()?.trim();
    if email.is_empty() {
        return None;
    }
    Some(Person {
        email: email.to_string(),
        name: address
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
    })
}

fn partstat(response: &str) -> PartStat {
    match response.to_ascii_lowercase().as_str() {
        "accepted" | "organizer" => PartStat::Accepted,
        "declined" => PartStat::Declined,
        "tentativelyaccepted" => PartStat::Tentative,
        "none" | "notresponded" => PartStat::NeedsAction,
        other => PartStat::Other(other.to_string()),
    }
}

fn attendee(graph: &GraphAttendee, owner: Option<&str>) -> Option<Attendee> {
    let who = person(graph.email_address.as_ref()?)?;
    let (role, cutype) = match graph
        .kind
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("required") => (Some(Role::Required), None),
        Some("optional") => (Some(Role::Optional), None),
        // Rooms and equipment: Exchange exports them as NON-PARTICIPANT resources.
        Some("resource") => (Some(Role::NonParticipant), Some(CuType::Resource)),
        Some(other) => (Some(Role::Other(other.to_string())), None),
        None => (None, None),
    };
    let partstat = graph
        .status
        .as_ref()
        .and_then(|s| s.response.as_deref())
        .map(partstat);
    let is_self = owner.is_some_and(|o| normalize_email(o) == who.key());
    Some(Attendee {
        person: who,
        role,
        partstat,
        cutype,
        is_self,
    })
}

/// Body as plain text: HTML through [`html_to_text`], private events left empty.
fn description(event: &GraphEvent) -> String {
    if event.is_private() {
        return String::new();
    }
    let Some(body) = &event.body else {
        return event.body_preview.clone().unwrap_or_default();
    };
    let content = body.content.as_deref().unwrap_or_default();
    let html = body
        .content_type
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case("html"));
    if html {
        // The context module's converter bounds size and nesting before html2text,
        // whose recursion per element would overflow the stack on deep markup.
        html_to_text(content).trim().to_string()
    } else {
        content.trim().to_string()
    }
}

/// `OID.<master id>.<yyyy-mm-dd>` → the date.
fn cancelled_date(occurrence_id: &str) -> Option<chrono::NaiveDate> {
    let date = occurrence_id.rsplit('.').next()?;
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// Maps one Graph event. `uid` overrides the event's own (the master's UID for the
/// members of a series); `owner` is the mailbox's address, to flag its attendee entry.
pub fn map_event(
    event: &GraphEvent,
    uid: Option<&str>,
    owner: Option<&str>,
) -> Result<Event, MappingError> {
    if event.id.is_empty() {
        return Err(fail(event, "no id"));
    }
    let kind = event.graph_type();
    let all_day = event.is_all_day.unwrap_or(false);
    let start_at = instant_of(
        event,
        event
            .start
            .as_ref()
            .ok_or_else(|| fail(event, "no start"))?,
    )?;
    let end_at = match &event.end {
        Some(end) => Some(instant_of(event, end)?),
        None => None,
    };
    // Masters and all-day events need their own zone (the rule and the day are local);
    // single events and exceptions are one instant each, kept in UTC.
    let home = home_zone(event);
    let zone = match (kind, all_day) {
        (GraphType::SeriesMaster, _) | (_, true) => home.clone().unwrap_or(Zone::Utc),
        _ => Zone::Utc,
    };
    let start = express(start_at, &zone, all_day);
    let end = end_at.map(|at| express(at, &zone, all_day));
    let recurrence = match (kind, &event.recurrence) {
        (GraphType::SeriesMaster, Some(rule)) => {
            let rrule = to_rrule(rule, &zone, all_day).map_err(|e| fail(event, e.to_string()))?;
            let start_time = match &start {
                EventTime::DateTime { local, .. } => Some(local.time()),
                EventTime::Date(_) => None,
            };
            let exdates = event
                .cancelled_occurrences
                .iter()
                .flatten()
                .filter_map(|id| cancelled_date(id))
                .map(|date| match start_time {
                    Some(time) => EventTime::DateTime {
                        local: date.and_time(time),
                        zone: zone.clone(),
                    },
                    None => EventTime::Date(date),
                })
                .collect();
            Some(Recurrence {
                rrules: vec![rrule],
                exdates,
                ..Recurrence::default()
            })
        }
        _ => None,
    };
    let own_uid = event
        .uid
        .as_deref()
        .or(event.ical_uid.as_deref())
        .map(series_uid)
        .filter(|u| !u.is_empty());
    let uid = uid
        .map(str::to_string)
        .or(own_uid)
        .unwrap_or_else(|| event.id.clone());
    let status = if event.is_cancelled.unwrap_or(false) {
        EventStatus::Cancelled
    } else {
        EventStatus::Confirmed
    };
    let kind_of_entry = match event
        .show_as
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("oof") => EventKind::OutOfOffice,
        _ => EventKind::Default,
    };
    Ok(Event {
        id: event.id.clone(),
        uid,
        recurrence_id: slot(event)?,
        summary: event.subject.clone().unwrap_or_default(),
        description: description(event),
        location: event
            .location
            .as_ref()
            .and_then(|l| l.display_name.as_deref())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        status,
        start,
        end,
        recurrence,
        attendees: event
            .attendees
            .iter()
            .flatten()
            .filter_map(|a| attendee(a, owner))
            .collect(),
        organizer: event
            .organizer
            .as_ref()
            .and_then(|o| o.email_address.as_ref())
            .and_then(person),
        kind: kind_of_entry,
        sequence: 0,
        updated: event
            .last_modified_date_time
            .as_deref()
            .and_then(parse_instant),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn graph(value: serde_json::Value) -> GraphEvent {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn utc_times_map_to_utc_event_times() {
        let e = graph(serde_json::json!({
            "id": "A1", "subject": "Plan", "type": "singleInstance",
            "start": {"dateTime": "2016-12-09T20:30:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2016-12-09T22:00:00.0000000", "timeZone": "UTC"},
            "iCalUId": "uid-1", "lastModifiedDateTime": "2016-12-01T10:00:00.123Z"
        }));
        let mapped = map_event(&e, None, None).unwrap();
        assert_eq!(
            mapped.start,
            EventTime::utc(Utc.with_ymd_and_hms(2016, 12, 9, 20, 30, 0).unwrap())
        );
        assert_eq!(mapped.uid, "uid-1");
        assert_eq!(mapped.recurrence_id, None);
        assert!(mapped.updated.is_some());
    }

    #[test]
    fn windows_zone_names_are_resolved() {
        let e = graph(serde_json::json!({
            "id": "A2",
            "start": {"dateTime": "2017-04-21T10:00:00.0000000", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2017-04-21T12:00:00.0000000", "timeZone": "Pacific Standard Time"}
        }));
        let mapped = map_event(&e, None, None).unwrap();
        // 10:00 PDT is 17:00 UTC.
        assert_eq!(
            mapped.start,
            EventTime::utc(Utc.with_ymd_and_hms(2017, 4, 21, 17, 0, 0).unwrap())
        );
    }

    #[test]
    fn a_master_keeps_wall_clock_time_in_its_recurrence_zone() {
        let e = graph(serde_json::json!({
            "id": "M", "type": "seriesMaster", "iCalUId": "040000008200E00074C5B7101A82E00800000000824DDB122F0AD301000000000000000010000000824A8905B038D54AA7735F117B3442ED",
            "start": {"dateTime": "2024-01-02T17:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2024-01-02T17:30:00.0000000", "timeZone": "UTC"},
            "originalStartTimeZone": "Pacific Standard Time",
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday"},
                           "range": {"type": "noEnd", "startDate": "2024-01-02", "recurrenceTimeZone": "Pacific Standard Time"}},
            "cancelledOccurrences": ["OID.M.2024-01-16"]
        }));
        let mapped = map_event(&e, None, None).unwrap();
        let la = Zone::Iana(chrono_tz::America::Los_Angeles);
        let nine = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        assert_eq!(
            mapped.start,
            EventTime::DateTime {
                local: nine,
                zone: la.clone()
            }
        );
        let recurrence = mapped.recurrence.unwrap();
        assert_eq!(
            recurrence.rrules,
            vec!["FREQ=WEEKLY;BYDAY=TU;WKST=SU".to_string()]
        );
        let cancelled = NaiveDate::from_ymd_opt(2024, 1, 16)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        assert_eq!(
            recurrence.exdates,
            vec![EventTime::DateTime {
                local: cancelled,
                zone: la
            }]
        );
    }

    #[test]
    fn an_exception_points_at_its_original_slot() {
        let e = graph(serde_json::json!({
            "id": "X", "type": "exception", "seriesMasterId": "M",
            "originalStart": "2024-01-23T17:00:00Z",
            "start": {"dateTime": "2024-01-23T19:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2024-01-23T19:30:00.0000000", "timeZone": "UTC"},
        }));
        let mapped = map_event(&e, Some("series-uid"), None).unwrap();
        assert_eq!(mapped.uid, "series-uid");
        assert_eq!(
            mapped.recurrence_id,
            Some(EventTime::utc(
                Utc.with_ymd_and_hms(2024, 1, 23, 17, 0, 0).unwrap()
            ))
        );
    }

    #[test]
    fn attendees_map_roles_answers_and_resources() {
        let e = graph(serde_json::json!({
            "id": "A3", "isCancelled": true, "showAs": "busy",
            "start": {"dateTime": "2024-01-02T17:00:00", "timeZone": "UTC"},
            "organizer": {"emailAddress": {"name": "Alice", "address": "alice@contoso.com"}},
            "attendees": [
                {"type": "required", "status": {"response": "tentativelyAccepted"}, "emailAddress": {"name": "Bob", "address": "Bob@contoso.com"}},
                {"type": "optional", "status": {"response": "notResponded"}, "emailAddress": {"address": "carol@contoso.com"}},
                {"type": "resource", "status": {"response": "none"}, "emailAddress": {"name": "Room 4", "address": "room4@contoso.com"}},
                {"type": "required", "emailAddress": null}
            ]
        }));
        let mapped = map_event(&e, None, Some("bob@contoso.com")).unwrap();
        assert_eq!(mapped.status, EventStatus::Cancelled);
        assert_eq!(mapped.attendees.len(), 3);
        assert_eq!(mapped.attendees[0].partstat, Some(PartStat::Tentative));
        assert!(mapped.attendees[0].is_self);
        assert_eq!(mapped.attendees[1].role, Some(Role::Optional));
        assert_eq!(mapped.attendees[1].partstat, Some(PartStat::NeedsAction));
        assert_eq!(mapped.attendees[2].cutype, Some(CuType::Resource));
        assert_eq!(mapped.organizer.unwrap().email, "alice@contoso.com");
    }

    #[test]
    fn html_bodies_become_text_and_private_bodies_stay_out() {
        let mut e = graph(serde_json::json!({
            "id": "A4", "start": {"dateTime": "2024-01-02T17:00:00", "timeZone": "UTC"},
            "body": {"contentType": "html", "content": "<html><body><p>Agenda: <b>hiring</b></p></body></html>"}
        }));
        let text = map_event(&e, None, None).unwrap().description;
        assert!(
            text.contains("Agenda") && text.contains("hiring") && !text.contains('<'),
            "{text}"
        );
        e.sensitivity = Some("private".into());
        assert_eq!(map_event(&e, None, None).unwrap().description, "");
    }

    #[test]
    fn html_bodies_nested_a_hundred_thousand_deep_become_text_without_overflowing_the_stack() {
        let html = format!(
            "{}deep text{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        let e = graph(serde_json::json!({
            "id": "A5", "start": {"dateTime": "2024-01-02T17:00:00", "timeZone": "UTC"},
            "body": {"contentType": "html", "content": html}
        }));
        assert_eq!(map_event(&e, None, None).unwrap().description, "deep text");
    }

    #[test]
    fn all_day_events_are_dates_in_their_own_zone() {
        let e = graph(serde_json::json!({
            "id": "A5", "isAllDay": true, "originalStartTimeZone": "Pacific Standard Time",
            "start": {"dateTime": "2024-03-05T08:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2024-03-06T08:00:00.0000000", "timeZone": "UTC"}
        }));
        let mapped = map_event(&e, None, None).unwrap();
        assert_eq!(
            mapped.start,
            EventTime::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap())
        );
        assert_eq!(
            mapped.end,
            Some(EventTime::Date(
                NaiveDate::from_ymd_opt(2024, 3, 6).unwrap()
            ))
        );
    }

    #[test]
    fn all_day_events_at_utc_midnight_keep_their_day_whatever_their_zone() {
        let e = graph(serde_json::json!({
            "id": "A7", "isAllDay": true, "originalStartTimeZone": "Pacific Standard Time",
            "start": {"dateTime": "2024-03-05T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2024-03-06T00:00:00.0000000", "timeZone": "UTC"}
        }));
        let mapped = map_event(&e, None, None).unwrap();
        assert_eq!(
            mapped.start,
            EventTime::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap())
        );
        assert_eq!(
            mapped.end,
            Some(EventTime::Date(
                NaiveDate::from_ymd_opt(2024, 3, 6).unwrap()
            ))
        );
    }

    #[test]
    fn unknown_zones_are_reported_not_guessed() {
        let e = graph(serde_json::json!({
            "id": "A6", "start": {"dateTime": "2024-01-02T17:00:00", "timeZone": "Mars Standard Time"}
        }));
        assert!(map_event(&e, None, None).is_err());
    }
}

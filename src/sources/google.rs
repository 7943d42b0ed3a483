//! Google Calendar v3: incremental sync with sync tokens, and Event → [`Event`].
//!
//! One sync of one calendar lists `events` with `singleEvents=false` (masters,
//! changed instances, cancelled-instance stubs) and `showDeleted=true`, follows every
//! `nextPageToken` (pages may be empty), and keeps the last page's `nextSyncToken` as
//! the cursor. The next sync sends only that token plus the same fixed parameters:
//! Google refuses `timeMin`/`timeMax`/`orderBy`/`q`/`updatedMin`/`iCalUID` beside
//! it. A 410 means the token expired: the calendar is listed again in full and the
//! result replaces every stored event of that calendar.
//!
//! The whole page set is returned as one
//! [`CalendarChanges`](crate::model::stored::CalendarChanges), cursor included, which
//! the pass applies in one store transaction, so a crash mid-listing replays the
//! listing instead of losing changes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

use super::SourceError;
use super::account::{Account, CalendarProvider, CalendarSync, OwnerUse, StoredState};
use super::http::{Http, HttpOptions, base_url};
use crate::auth::AuthError;
use crate::auth::Credentials;
use crate::auth::google::{API_BASE_URL, AccountTokens};
use crate::config::AccountConfig;
use crate::core::calendar::parse_recurrence_lines;
use crate::core::context::text::{html_to_text, looks_like_html};
use crate::model::{
    Attendee, CuType, Event, EventKind, EventStatus, EventTime, PartStat, Person, Role, Zone,
};

/// Parameters sent on every listing, full or incremental. They are frozen into the
/// stored cursor: if they ever change, the old token is dropped and a full sync runs.
const FIXED_PARAMS: [(&str, &str); 3] = [
    ("singleEvents", "false"),
    ("showDeleted", "true"),
    ("maxResults", "2500"),
];

/// Options of a Google sync.
#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// On a full sync, skip events that ended longer ago than this (`timeMin`).
    /// Never sent with a sync token; recurring masters are returned regardless.
    pub history: Option<Duration>,
}

/// The cursor stored for a Google calendar: the sync token and the parameter set it
/// belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleCursor {
    /// The last page's `nextSyncToken`.
    pub sync_token: String,
    /// The fixed parameters the token was obtained with.
    pub params: String,
}

impl GoogleCursor {
    fn current_params() -> String {
        FIXED_PARAMS
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Reads a stored cursor; `None` when unreadable or from another parameter set.
    pub fn parse(text: &str) -> Option<GoogleCursor> {
        serde_json::from_str::<GoogleCursor>(text)
            .ok()
            .filter(|cursor| cursor.params == GoogleCursor::current_params())
    }

    /// The text the store keeps.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    #[serde(default)]
    items: Vec<serde_json::Value>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

/// Lists one calendar's changes since `cursor` (or everything when there is none
/// or it expired). `base` is the API base (`…/calendar/v3/`), `calendar_id` the
/// calendar's real id (for `primary`, the owner's address: [`CalendarProvider::fetch_owner`]).
pub async fn sync_calendar<C: Credentials>(
    http: &Http,
    credentials: &C,
    base: &Url,
    calendar_id: &str,
    cursor: Option<&str>,
    options: &SyncOptions,
    now: DateTime<Utc>,
) -> Result<CalendarSync, SourceError> {
    let cursor = cursor.and_then(GoogleCursor::parse);
    match list(
        http,
        credentials,
        base,
        calendar_id,
        cursor.as_ref(),
        options,
        now,
    )
    .await
    {
        Err(SourceError::CursorExpired { .. }) if cursor.is_some() => {
            tracing::info!(calendar = %calendar_id, "sync token expired, listing the calendar in full");
            let mut sync = list(http, credentials, base, calendar_id, None, options, now).await?;
            sync.resynced_after_expiry = true;
            Ok(sync)
        }
        other => other,
    }
}

fn events_url(base: &Url, calendar_id: &str) -> Result<Url, SourceError> {
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|_| SourceError::Permanent {
                what: base.to_string(),
                detail: "the API base URL cannot take a path".into(),
            })?;
        segments
            .pop_if_empty()
            .push("calendars")
            .push(calendar_id)
            .push("events");
    }
    Ok(url)
}

async fn list<C: Credentials>(
    http: &Http,
    credentials: &C,
    base: &Url,
    calendar_id: &str,
    cursor: Option<&GoogleCursor>,
    options: &SyncOptions,
    now: DateTime<Utc>,
) -> Result<CalendarSync, SourceError> {
    let mut first = events_url(base, calendar_id)?;
    {
        let mut query = first.query_pairs_mut();
        for (name, value) in FIXED_PARAMS {
            query.append_pair(name, value);
        }
        match cursor {
            // Nothing but the fixed parameters may accompany a sync token.
            Some(cursor) => {
                query.append_pair("syncToken", &cursor.sync_token);
            }
            None => {
                // Checked: an absurd history means "from the beginning", never a panic.
                if let Some(history) = options.history
                    && let Ok(back) = chrono::Duration::from_std(history)
                    && let Some(since) = now.checked_sub_signed(back)
                {
                    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    query.append_pair("timeMin", &since);
                }
            }
        }
    }
    let full = cursor.is_none();
    let mut changes: BTreeMap<String, Change> = BTreeMap::new();
    let mut sync = CalendarSync::default();
    let mut page_token: Option<String> = None;
    let mut series_uids: BTreeMap<String, String> = BTreeMap::new();
    let next_sync_token = loop {
        let mut url = first.clone();
        if let Some(token) = &page_token {
            url.query_pairs_mut().append_pair("pageToken", token);
        }
        let page: EventsPage = http.get_json(&url, credentials).await?;
        sync.pages += 1;
        sync.items += page.items.len();
        for item in &page.items {
            match map_item(item) {
                Ok(mapped) => {
                    if let Change::Upsert(event, _) = &mapped
                        && event.recurrence.is_some()
                    {
                        series_uids.insert(event.id.clone(), event.uid.clone());
                    }
                    changes.insert(mapped.id().to_string(), mapped);
                }
                Err(skip) => {
                    tracing::warn!(calendar = %calendar_id, event = %skip.id, reason = %skip.reason, "skipped a malformed event");
                    sync.skipped.push(format!("{}: {}", skip.id, skip.reason));
                }
            }
        }
        match page.next_page_token {
            Some(token) => page_token = Some(token),
            None => break page.next_sync_token,
        }
    };
    if next_sync_token.is_none() {
        tracing::warn!(calendar = %calendar_id, "the last page carried no nextSyncToken; the next sync will be a full one");
    }
    for change in changes.into_values() {
        match change {
            Change::Upsert(mut event, guessed_master) => {
                if let Some(master) = guessed_master {
                    match series_uids.get(&master) {
                        Some(uid) => event.uid = uid.clone(),
                        None => sync.guessed_uids.push((event.id.clone(), master)),
                    }
                }
                sync.changes.upserted.push(*event);
            }
            // A full listing replaces everything: deletions would be no-ops.
            Change::Delete(id) if !full => sync.changes.deleted.push(id),
            Change::Delete(_) => {}
        }
    }
    sync.changes.full = full;
    sync.changes.cursor = next_sync_token.map(|sync_token| {
        GoogleCursor {
            sync_token,
            params: GoogleCursor::current_params(),
        }
        .to_text()
    });
    Ok(sync)
}

/// One listed item, mapped.
#[derive(Debug)]
enum Change {
    /// Store this event; the `String` names the master when the UID was guessed.
    Upsert(Box<Event>, Option<String>),
    /// Forget this event id.
    Delete(String),
}

impl Change {
    fn id(&self) -> &str {
        match self {
            Change::Upsert(event, _) => &event.id,
            Change::Delete(id) => id,
        }
    }
}

/// Why an item was skipped.
#[derive(Debug)]
struct Skip {
    id: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GEvent {
    id: String,
    #[serde(rename = "iCalUID")]
    ical_uid: Option<String>,
    status: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<GTime>,
    end: Option<GTime>,
    #[serde(default)]
    end_time_unspecified: bool,
    recurrence: Option<Vec<String>>,
    recurring_event_id: Option<String>,
    original_start_time: Option<GTime>,
    #[serde(default)]
    attendees: Vec<GAttendee>,
    organizer: Option<GPerson>,
    event_type: Option<String>,
    #[serde(default)]
    sequence: i64,
    updated: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GTime {
    date: Option<String>,
    date_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GAttendee {
    email: Option<String>,
    display_name: Option<String>,
    response_status: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    resource: bool,
    #[serde(default, rename = "self")]
    is_self: bool,
    #[serde(default)]
    organizer: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GPerson {
    email: Option<String>,
    display_name: Option<String>,
}

/// Maps one Google Event resource (a JSON object of an `events.list` page) to a
/// tete [`Event`]. Exposed for tests and tools; the sync uses the same code.
pub fn map_event(item: &serde_json::Value) -> Result<Option<Event>, String> {
    match map_item(item) {
        Ok(Change::Upsert(event, _)) => Ok(Some(*event)),
        Ok(Change::Delete(_)) => Ok(None),
        Err(skip) => Err(skip.reason),
    }
}

fn map_item(item: &serde_json::Value) -> Result<Change, Skip> {
    let id_hint = item
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or("<no id>")
        .to_string();
    let skip = |reason: String| Skip {
        id: id_hint.clone(),
        reason,
    };
    let raw: GEvent = serde_json::from_value(item.clone()).map_err(|e| skip(e.to_string()))?;
    let status = match raw.status.as_deref() {
        Some("cancelled") => EventStatus::Cancelled,
        Some("tentative") => EventStatus::Tentative,
        _ => EventStatus::Confirmed,
    };
    let recurrence_id = match &raw.original_start_time {
        Some(time) => Some(map_time(time).map_err(|e| skip(format!("originalStartTime: {e}")))?),
        None => None,
    };
    let instance_of = raw
        .recurring_event_id
        .clone()
        .filter(|_| recurrence_id.is_some());
    if status == EventStatus::Cancelled && instance_of.is_none() {
        // A deleted single event or a deleted series.
        return Ok(Change::Delete(raw.id));
    }
    // Cancelled-instance stubs carry only id, recurringEventId and originalStartTime:
    // they are kept as cancelled overrides that start at their original slot.
    let start = match (&raw.start, &recurrence_id) {
        (Some(start), _) => map_time(start).map_err(|e| skip(format!("start: {e}")))?,
        (None, Some(slot)) if status == EventStatus::Cancelled => slot.clone(),
        (None, _) => return Err(skip("no start".into())),
    };
    let end = match &raw.end {
        Some(_) if raw.end_time_unspecified => None,
        Some(end) => Some(map_time(end).map_err(|e| skip(format!("end: {e}")))?),
        None => None,
    };
    let zone = match &start {
        EventTime::DateTime { zone, .. } => Some(zone.clone()),
        EventTime::Date(_) => None,
    };
    // The recurrence engine's own line parser, so Google series expand exactly as
    // .ics ones do; a rule it cannot use makes the item malformed.
    let recurrence = match &raw.recurrence {
        Some(lines) => Some(
            parse_recurrence_lines(lines, zone.as_ref().unwrap_or(&Zone::Floating))
                .map_err(|e| skip(format!("recurrence: {e}")))?,
        ),
        None => None,
    };
    let (uid, guessed_master) = match (&raw.ical_uid, &instance_of) {
        (Some(uid), _) => (uid.clone(), None),
        (None, Some(master)) => (format!("{master}@google.com"), Some(master.clone())),
        (None, None) => (raw.id.clone(), None),
    };
    let mut organizer = raw.organizer.as_ref().and_then(|o| {
        o.email.as_ref().map(|email| Person {
            email: email.clone(),
            name: o.display_name.clone(),
        })
    });
    let mut attendees = Vec::with_capacity(raw.attendees.len());
    for attendee in &raw.attendees {
        let Some(email) = attendee.email.clone() else {
            continue;
        };
        let person = Person {
            email,
            name: attendee.display_name.clone(),
        };
        if attendee.organizer && organizer.is_none() {
            organizer = Some(person.clone());
        }
        attendees.push(Attendee {
            person,
            role: attendee.optional.then_some(Role::Optional),
            partstat: attendee.response_status.as_deref().map(map_partstat),
            cutype: attendee.resource.then_some(CuType::Resource),
            is_self: attendee.is_self,
        });
    }
    let updated = match &raw.updated {
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|e| skip(format!("updated: {e}")))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let event = Event {
        id: raw.id,
        uid,
        recurrence_id,
        summary: raw.summary.unwrap_or_default(),
        description: raw
            .description
            .as_deref()
            .map(description_text)
            .unwrap_or_default(),
        location: raw.location.filter(|l| !l.trim().is_empty()),
        status,
        start,
        end,
        recurrence,
        attendees,
        organizer,
        kind: map_kind(raw.event_type.as_deref()),
        sequence: raw.sequence,
        updated,
    };
    Ok(Change::Upsert(Box::new(event), guessed_master))
}

fn map_partstat(status: &str) -> PartStat {
    match status {
        "needsAction" => PartStat::NeedsAction,
        "accepted" => PartStat::Accepted,
        "declined" => PartStat::Declined,
        "tentative" => PartStat::Tentative,
        other => PartStat::Other(other.to_string()),
    }
}

fn map_kind(kind: Option<&str>) -> EventKind {
    match kind {
        None | Some("default") => EventKind::Default,
        Some("outOfOffice") => EventKind::OutOfOffice,
        Some("focusTime") => EventKind::FocusTime,
        Some("workingLocation") => EventKind::WorkingLocation,
        Some(other) => EventKind::Other(other.to_string()),
    }
}

/// Google descriptions are often HTML; text without markup is kept as written
/// (running it through the converter would reflow its lines). HTML goes through the
/// context module's converter, which bounds size and nesting before html2text.
fn description_text(text: &str) -> String {
    if !looks_like_html(text) {
        return text.to_string();
    }
    html_to_text(text).trim_end().to_string()
}

/// Google EventDateTime → [`EventTime`]: `date` is all-day; `dateTime` with
/// `timeZone` is the wall clock in that zone; `dateTime` with an offset and no
/// (known) `timeZone` is a UTC instant.
fn map_time(time: &GTime) -> Result<EventTime, String> {
    if let Some(date) = &time.date {
        return NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map(EventTime::Date)
            .map_err(|e| format!("bad date {date:?}: {e}"));
    }
    let Some(text) = &time.date_time else {
        return Err("neither date nor dateTime".into());
    };
    let zone: Option<chrono_tz::Tz> = time.time_zone.as_deref().and_then(|z| z.parse().ok());
    match (DateTime::parse_from_rfc3339(text), zone) {
        (Ok(at), Some(tz)) => Ok(EventTime::DateTime {
            local: at.with_timezone(&tz).naive_local(),
            zone: Zone::Iana(tz),
        }),
        (Ok(at), None) => Ok(EventTime::utc(at.with_timezone(&Utc))),
        (Err(_), Some(tz)) => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|local| EventTime::DateTime {
                local,
                zone: Zone::Iana(tz),
            })
            .map_err(|e| format!("bad dateTime {text:?}: {e}")),
        (Err(e), None) => Err(format!("bad dateTime {text:?}: {e}")),
    }
}

/// One entry of `users/me/calendarList`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarListEntry {
    /// The calendar id (for the primary calendar: the owner's address).
    pub id: String,
    /// The calendar's title.
    #[serde(default)]
    pub summary: String,
    /// True for the account's own calendar.
    #[serde(default)]
    pub primary: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalendarListPage {
    #[serde(default)]
    items: Vec<CalendarListEntry>,
    next_page_token: Option<String>,
}

/// Lists the account's calendars (every page).
pub async fn calendar_list<C: Credentials>(
    http: &Http,
    credentials: &C,
    base: &Url,
) -> Result<Vec<CalendarListEntry>, SourceError> {
    let mut first = base.clone();
    first
        .path_segments_mut()
        .map_err(|_| SourceError::Permanent {
            what: base.to_string(),
            detail: "the API base URL cannot take a path".into(),
        })?
        .pop_if_empty()
        .extend(["users", "me", "calendarList"]);
    first.query_pairs_mut().append_pair("maxResults", "250");
    let mut entries = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut url = first.clone();
        if let Some(token) = &page_token {
            url.query_pairs_mut().append_pair("pageToken", token);
        }
        let page: CalendarListPage = http.get_json(&url, credentials).await?;
        entries.extend(page.items);
        match page.next_page_token {
            Some(token) => page_token = Some(token),
            None => return Ok(entries),
        }
    }
}

/// Google Calendar as a [`CalendarProvider`]: the API base, the account's HTTP helper
/// (budget, retries, counter), its tokens and the sync options.
#[derive(Debug)]
pub struct GoogleCalendars {
    /// The person acted as with an org's delegated token (their address is their
    /// primary calendar's id); `None` for a signed-in account (asked of the API).
    person: Option<String>,
    base: Url,
    http: Http,
    tokens: AccountTokens,
    options: SyncOptions,
}

impl GoogleCalendars {
    /// A provider from its parts.
    pub fn new(base: Url, http: Http, tokens: AccountTokens, options: SyncOptions) -> Self {
        GoogleCalendars {
            person: None,
            base,
            http,
            tokens,
            options,
        }
    }

    /// Its HTTP helper (request counter for `tete status` and benchmarks).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Its token source.
    pub fn tokens(&self) -> &AccountTokens {
        &self.tokens
    }
}

impl CalendarProvider for GoogleCalendars {
    /// Cancelled-instance stubs may lack their series UID, and a deleted series leaves
    /// its overrides behind.
    const TIES_TO_STORED_SERIES: bool = true;

    fn configured_owner(&self) -> Option<&str> {
        self.person.as_deref()
    }

    /// The id of the primary calendar in `users/me/calendarList`: the owner's address.
    async fn fetch_owner(&self) -> Result<String, SourceError> {
        let entries = calendar_list(&self.http, &self.tokens, &self.base).await?;
        let primary = entries
            .into_iter()
            .find(|entry| entry.primary)
            .ok_or_else(|| SourceError::Permanent {
                what: format!("calendar list of account '{}'", self.tokens.account()),
                detail: "no calendar is marked primary".into(),
            })?;
        Ok(primary.id)
    }

    fn owner_use(&self, calendar: &str) -> OwnerUse {
        if calendar == "primary" {
            OwnerUse::Required
        } else {
            OwnerUse::Unused
        }
    }

    async fn sync_calendar(
        &self,
        calendar: &str,
        owner: Option<&str>,
        stored: &StoredState,
        now: DateTime<Utc>,
    ) -> Result<CalendarSync, SourceError> {
        let api_id = match (calendar, owner) {
            ("primary", Some(owner)) => owner,
            ("primary", None) => {
                return Err(SourceError::Permanent {
                    what: format!("calendar list of account '{}'", self.tokens.account()),
                    detail: "the primary calendar's id is unknown".into(),
                });
            }
            (calendar, _) => calendar,
        };
        sync_calendar(
            &self.http,
            &self.tokens,
            &self.base,
            api_id,
            stored.cursor.as_deref(),
            &self.options,
            now,
        )
        .await
    }
}

/// A Google account ready to sync. Build one per account and keep it across passes.
pub type GoogleAccount = Account<GoogleCalendars>;

impl Account<GoogleCalendars> {
    /// An account from its parts.
    pub fn new(
        name: &str,
        base: Url,
        calendars: Vec<String>,
        http: Http,
        tokens: AccountTokens,
        options: SyncOptions,
    ) -> GoogleAccount {
        Account::with_provider(
            name,
            calendars,
            GoogleCalendars::new(base, http, tokens, options),
        )
    }

    /// A person's calendars read with the org's delegated token (`tokens` built on a
    /// [`crate::auth::google::GoogleEndpoint::Delegated`] grant with `sub` = `person`):
    /// `primary` is the person's own calendar. `api_base` is the Calendar API's base
    /// (`None`: Google's).
    #[allow(clippy::too_many_arguments)]
    pub fn for_person(
        name: &str,
        person: &str,
        calendars: Vec<String>,
        api_base: Option<&str>,
        tokens: AccountTokens,
        client: reqwest::Client,
        http_options: HttpOptions,
        options: SyncOptions,
    ) -> Result<GoogleAccount, AuthError> {
        let base = base_url(name, api_base, API_BASE_URL)?;
        let mut provider =
            GoogleCalendars::new(base, Http::new(client, http_options), tokens, options);
        provider.person = Some(person.to_lowercase());
        Ok(Account::with_provider(name, calendars, provider))
    }

    /// An account from its configuration and its token source (built by auth, which
    /// keeps the tokens). `client` is shared by all accounts ([`Http::default_client`]).
    pub fn from_config(
        account: &AccountConfig,
        tokens: AccountTokens,
        client: reqwest::Client,
        http_options: HttpOptions,
        options: SyncOptions,
    ) -> Result<GoogleAccount, AuthError> {
        let base = api_base(account)?;
        Ok(GoogleAccount::new(
            &account.name,
            base,
            account.calendars.clone(),
            Http::new(client, http_options),
            tokens,
            options,
        ))
    }

    /// Its HTTP helper (request counter for `tete status` and benchmarks).
    pub fn http(&self) -> &Http {
        self.provider().http()
    }

    /// Its token source.
    pub fn tokens(&self) -> &AccountTokens {
        self.provider().tokens()
    }
}

/// The account's API base: `api_base_url` or Google's, always ending in `/`.
pub fn api_base(account: &AccountConfig) -> Result<Url, AuthError> {
    base_url(&account.name, account.api_base_url.as_deref(), API_BASE_URL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zoned_times_keep_their_wall_clock_and_offsets_become_utc() {
        let zoned = map_time(&GTime {
            date: None,
            date_time: Some("2024-01-02T09:00:00-08:00".into()),
            time_zone: Some("America/Los_Angeles".into()),
        })
        .unwrap();
        assert_eq!(
            zoned,
            EventTime::DateTime {
                local: NaiveDate::from_ymd_opt(2024, 1, 2)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap(),
                zone: Zone::Iana(chrono_tz::America::Los_Angeles),
            }
        );
        let instant = map_time(&GTime {
            date: None,
            date_time: Some("2024-01-02T09:00:00+01:00".into()),
            time_zone: None,
        })
        .unwrap();
        assert_eq!(
            instant,
            EventTime::DateTime {
                local: NaiveDate::from_ymd_opt(2024, 1, 2)
                    .unwrap()
                    .and_hms_opt(8, 0, 0)
                    .unwrap(),
                zone: Zone::Utc,
            }
        );
    }

    #[test]
    fn recurrence_lines_keep_rules_and_read_dates_in_the_series_zone() {
        let master = json!({"id": "m", "iCalUID": "m@google.com",
            "start": {"dateTime": "2024-01-02T09:00:00-08:00", "timeZone": "America/Los_Angeles"},
            "end": {"dateTime": "2024-01-02T09:30:00-08:00", "timeZone": "America/Los_Angeles"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20240227T165959Z",
                           "EXDATE;TZID=America/New_York:20240115T100000,20240122T100000",
                           "EXDATE:20240206T090000",
                           "RDATE;VALUE=DATE:20240301"]});
        let event = map_event(&master).unwrap().unwrap();
        let recurrence = event.recurrence.unwrap();
        assert_eq!(
            recurrence.rrules,
            vec!["FREQ=WEEKLY;BYDAY=TU;UNTIL=20240227T165959Z"]
        );
        assert_eq!(recurrence.exdates.len(), 3);
        assert!(matches!(
            &recurrence.exdates[0],
            EventTime::DateTime { zone: Zone::Iana(tz), .. } if *tz == chrono_tz::America::New_York
        ));
        assert!(matches!(
            &recurrence.exdates[2],
            EventTime::DateTime { zone: Zone::Iana(tz), .. } if *tz == chrono_tz::America::Los_Angeles
        ));
        assert_eq!(
            recurrence.rdates,
            vec![EventTime::Date(
                NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
            )]
        );
        let mut broken = master.clone();
        broken["recurrence"] = json!(["RRULE:FREQ=SOMETIMES"]);
        assert!(
            map_event(&broken).is_err(),
            "an unusable rule skips the item"
        );
    }

    #[test]
    fn cancelled_instances_are_overrides_and_cancelled_masters_deletions() {
        let stub = json!({"id":"m_20240130T170000Z","status":"cancelled","recurringEventId":"m",
            "originalStartTime":{"dateTime":"2024-01-30T09:00:00-08:00","timeZone":"America/Los_Angeles"}});
        let Change::Upsert(event, guessed) = map_item(&stub).unwrap() else {
            panic!("a stub is an override")
        };
        assert_eq!(event.status, EventStatus::Cancelled);
        assert_eq!(event.recurrence_id, Some(event.start.clone()));
        assert_eq!(guessed.as_deref(), Some("m"));
        let deleted = json!({"id":"m","status":"cancelled"});
        assert!(matches!(map_item(&deleted).unwrap(), Change::Delete(id) if id == "m"));
    }

    #[test]
    fn html_descriptions_become_text_and_plain_text_stays() {
        assert_eq!(description_text("line one\nline two"), "line one\nline two");
        let text = description_text("<b>Agenda</b><br>in the <a href=\"https://x.test\">doc</a>");
        assert!(text.contains("Agenda"), "{text}");
        assert!(!text.contains("<b>"), "{text}");
    }

    #[test]
    fn json_nested_a_hundred_thousand_deep_is_refused_without_deep_recursion() {
        // serde_json stops at 128 levels unless its `unbounded_depth` feature is on:
        // this fails (aborting on the small stack) if a dependency ever turns it on.
        let body = format!(
            "{{\"items\":[{{\"id\":\"x\",\"description\":{}1{}}}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let refused = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                serde_json::from_str::<EventsPage>(&body).is_err()
                    && serde_json::from_str::<serde_json::Value>(&body).is_err()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(refused);
    }

    #[test]
    fn html_nested_a_hundred_thousand_deep_becomes_text_without_overflowing_the_stack() {
        let html = format!(
            "{}deep text{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        assert_eq!(description_text(&html), "deep text");
    }

    #[test]
    fn other_event_types_are_never_default() {
        assert_eq!(map_kind(Some("focusTime")), EventKind::FocusTime);
        assert_eq!(
            map_kind(Some("birthday")),
            EventKind::Other("birthday".into())
        );
        assert_eq!(map_kind(None), EventKind::Default);
    }

    #[test]
    fn calendar_ids_are_escaped_in_the_path() {
        let base = Url::parse("https://www.googleapis.com/calendar/v3/").unwrap();
        let url = events_url(&base, "team#x@group.calendar.google.com").unwrap();
        assert_eq!(
            url.as_str(),
            "https://www.googleapis.com/calendar/v3/calendars/team%23x@group.calendar.google.com/events"
        );
    }
}

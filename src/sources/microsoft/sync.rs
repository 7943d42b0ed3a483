//! One sync of one calendar view: page through a delta round, read the series
//! masters it touched, and turn it all into [`CalendarChanges`] carrying the new
//! cursor, so the store applies events and cursor in one transaction.

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use super::delta::{DeltaCursor, Window, WindowPolicy, query_time};
use super::mapping::{GraphEvent, GraphType, map_event};
use crate::model::Event;
use crate::model::stored::CalendarChanges;
use crate::sources::SourceError;
pub use crate::sources::account::StoredState;

/// Graph v1.0.
pub const API_BASE_URL: &str = "https://graph.microsoft.com/v1.0/";

/// The properties read from a series master: everything the mapping uses, plus
/// `cancelledOccurrences`, which Graph returns only when selected on a single GET.
const MASTER_SELECT: &str = "id,iCalUId,type,subject,body,bodyPreview,start,end,isAllDay,isCancelled,\
location,attendees,organizer,recurrence,originalStartTimeZone,lastModifiedDateTime,showAs,\
sensitivity,cancelledOccurrences";

/// Pages per round before tete gives up on a server that never ends one.
const MAX_PAGES: usize = 10_000;

/// GETs a Graph URL as JSON with the account's token; implemented over the shared
/// HTTP helper ([`super::account::GraphClient`]) and by test doubles.
pub trait GraphApi: Send + Sync {
    /// The answer's JSON; a non-2xx answer is always an error, never "no events".
    fn get_json(
        &self,
        url: &Url,
    ) -> impl Future<Output = Result<serde_json::Value, SourceError>> + Send;
}

/// True when Graph says the delta state is gone: HTTP 410, or the codes
/// `syncStateNotFound` / `resyncRequired` / `syncStateInvalid` on another status.
pub fn is_expired_delta(error: &SourceError) -> bool {
    match error {
        SourceError::CursorExpired { .. } => true,
        SourceError::Permanent { detail, .. } => {
            let lower = detail.to_ascii_lowercase();
            ["syncstatenotfound", "resyncrequired", "syncstateinvalid"]
                .iter()
                .any(|code| lower.contains(code))
        }
        _ => false,
    }
}

/// True for a 404 (`ErrorItemNotFound`): the item is gone.
pub fn is_not_found(error: &SourceError) -> bool {
    match error {
        SourceError::Permanent { detail, .. } => {
            detail.starts_with("HTTP 404") || detail.contains("ErrorItemNotFound")
        }
        _ => false,
    }
}

/// One page of a delta round.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeltaPage {
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

/// Which calendar view to read.
#[derive(Clone, Debug)]
pub struct ViewTarget {
    /// Graph base URL, ending in `/` (`https://graph.microsoft.com/v1.0/`).
    pub base: Url,
    /// `primary` (or `default`, or empty) for the mailbox's default calendar, else a calendar id.
    pub calendar: String,
    /// The mailbox owner's address, to flag their attendee entry.
    pub owner: Option<String>,
    /// Whose mailbox: `None` for the signed-in user (`/me/…`), else a user id or
    /// principal name (`/users/{id}/…`, app-only tokens).
    pub mailbox: Option<String>,
}

/// Pushes the mailbox segments: `me`, or `users/{id}`.
pub fn push_mailbox(path: &mut url::PathSegmentsMut<'_>, mailbox: Option<&str>) {
    match mailbox {
        Some(user) => path.push("users").push(user),
        None => path.push("me"),
    };
}

impl ViewTarget {
    fn is_default_calendar(&self) -> bool {
        let c = self.calendar.trim();
        c.is_empty() || c.eq_ignore_ascii_case("primary") || c.eq_ignore_ascii_case("default")
    }

    /// The first request of a round: `/me/calendarView/delta` for the default calendar,
    /// `/me/calendars/{id}/calendarView/delta` for another one (`/users/{id}/…` for
    /// another mailbox).
    pub fn initial_url(&self, window: &Window) -> Result<Url, SourceError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| SourceError::Permanent {
                    what: "microsoft".into(),
                    detail: "api_base_url cannot be a base".into(),
                })?;
            path.pop_if_empty();
            push_mailbox(&mut path, self.mailbox.as_deref());
            if !self.is_default_calendar() {
                path.push("calendars").push(&self.calendar);
            }
            path.push("calendarView").push("delta");
        }
        url.query_pairs_mut()
            .append_pair("startDateTime", &query_time(window.start))
            .append_pair("endDateTime", &query_time(window.end));
        Ok(url)
    }

    /// `GET /me/events/{id}` of a series master, with `$select` (or without, for
    /// services that refuse a selected property).
    fn master_url(&self, id: &str, select: bool) -> Result<Url, SourceError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| SourceError::Permanent {
                    what: "microsoft".into(),
                    detail: "api_base_url cannot be a base".into(),
                })?;
            path.pop_if_empty();
            push_mailbox(&mut path, self.mailbox.as_deref());
            path.push("events").push(id);
        }
        if select {
            url.query_pairs_mut().append_pair("$select", MASTER_SELECT);
        }
        Ok(url)
    }

    /// A link from Graph, accepted only towards the configured service: the bearer
    /// token goes wherever the link points.
    fn follow(&self, link: &str) -> Result<Url, SourceError> {
        let url = Url::parse(link).map_err(|_| SourceError::Permanent {
            what: describe(&self.base),
            detail: "Graph returned an unreadable paging link".into(),
        })?;
        if url.origin() != self.base.origin() {
            return Err(SourceError::Permanent {
                what: describe(&self.base),
                detail: format!(
                    "Graph returned a paging link to another host ({})",
                    url.host_str().unwrap_or("?")
                ),
            });
        }
        Ok(url)
    }
}

fn describe(url: &Url) -> String {
    format!("{}{}", url.host_str().unwrap_or(""), url.path())
}

/// What one sync produced: the changes the pass applies in one store transaction.
#[derive(Debug)]
pub struct SyncResult {
    /// Events, deletions and the new cursor.
    pub changes: CalendarChanges,
    /// True when a new window was started (first sync, roll-over or expired state).
    pub new_window: bool,
    /// Items the round delivered (tombstones included).
    pub items: usize,
    /// Items that could not be used (`what: why`), also logged.
    pub skipped: Vec<String>,
}

/// Syncs one calendar view: continues from `stored_cursor` or starts a new window
/// (first sync, the window running short, or an expired delta state — then the
/// result is a full listing that replaces the calendar's events).
pub async fn sync_view<A: GraphApi>(
    api: &A,
    target: &ViewTarget,
    stored: &StoredState,
    policy: &WindowPolicy,
    now: DateTime<Utc>,
) -> Result<SyncResult, SourceError> {
    let cursor = stored
        .cursor
        .as_deref()
        .and_then(|cursor| DeltaCursor::from_stored(cursor, stored.index.as_deref()))
        .filter(|c| !policy.must_roll(&c.window, now));
    if let Some(cursor) = cursor {
        let link = target.follow(&cursor.delta_link)?;
        let mut skipped = Vec::new();
        match round(api, target, link, &mut skipped).await {
            Ok((items, delta_link)) => {
                let items_len = items.len();
                let (changes, members) = apply_round(
                    api,
                    target,
                    items,
                    Some(cursor.members.clone()),
                    &mut skipped,
                )
                .await?;
                return Ok(SyncResult {
                    changes: with_cursor(changes, cursor.window, delta_link, members, stored),
                    new_window: false,
                    items: items_len,
                    skipped,
                });
            }
            Err(error) if is_expired_delta(&error) => {
                tracing::info!(calendar = %target.calendar, "delta state expired; listing the window again");
            }
            Err(error) => return Err(error),
        }
    }
    let window = policy.window_at(now);
    let mut skipped = Vec::new();
    let (items, delta_link) =
        round(api, target, target.initial_url(&window)?, &mut skipped).await?;
    let items_len = items.len();
    let (changes, members) = apply_round(api, target, items, None, &mut skipped).await?;
    let mut changes = with_cursor(changes, window, delta_link, members, stored);
    changes.full = true;
    Ok(SyncResult {
        changes,
        new_window: true,
        items: items_len,
        skipped,
    })
}

/// Sets the new cursor, and the index only when it differs from the stored one.
fn with_cursor(
    mut changes: CalendarChanges,
    window: Window,
    delta_link: String,
    members: BTreeMap<String, String>,
    stored: &StoredState,
) -> CalendarChanges {
    let (cursor, index) = DeltaCursor::new(window, delta_link, members).to_stored();
    changes.full = false;
    changes.cursor = Some(cursor);
    changes.index = (stored.index.as_deref() != Some(index.as_str())).then_some(index);
    changes
}

/// Follows `@odata.nextLink` until a page carries `@odata.deltaLink`.
async fn round<A: GraphApi>(
    api: &A,
    target: &ViewTarget,
    first: Url,
    skipped: &mut Vec<String>,
) -> Result<(Vec<GraphEvent>, String), SourceError> {
    let mut url = first;
    let mut items = Vec::new();
    for _ in 0..MAX_PAGES {
        let json = api.get_json(&url).await?;
        let page: DeltaPage =
            serde_json::from_value(json).map_err(|error| SourceError::Permanent {
                what: describe(&url),
                detail: format!("malformed delta page: {error}"),
            })?;
        for value in page.value {
            match serde_json::from_value::<GraphEvent>(value) {
                Ok(event) if !event.id.is_empty() => items.push(event),
                Ok(_) => skip(skipped, &target.calendar, "an item without id".into()),
                Err(error) => skip(
                    skipped,
                    &target.calendar,
                    format!("an unreadable item: {error}"),
                ),
            }
        }
        match (page.next_link, page.delta_link) {
            (Some(next), _) => url = target.follow(&next)?,
            (None, Some(delta)) => {
                target.follow(&delta)?;
                return Ok((items, delta));
            }
            (None, None) => {
                return Err(SourceError::Permanent {
                    what: describe(&url),
                    detail: "a delta page with neither nextLink nor deltaLink".into(),
                });
            }
        }
    }
    Err(SourceError::Permanent {
        what: describe(&target.base),
        detail: format!("a delta round longer than {MAX_PAGES} pages"),
    })
}

/// Records (and logs) an item that could not be used.
fn skip(skipped: &mut Vec<String>, calendar: &str, what: String) {
    tracing::warn!(%calendar, "skipping {what}");
    skipped.push(what);
}

/// Reads a series master; `None` when it no longer exists.
async fn fetch_master<A: GraphApi>(
    api: &A,
    target: &ViewTarget,
    id: &str,
) -> Result<Option<GraphEvent>, SourceError> {
    let answer = match api.get_json(&target.master_url(id, true)?).await {
        // A service without `cancelledOccurrences` refuses the $select: read it plain.
        Err(SourceError::Permanent { detail, .. }) if detail.starts_with("HTTP 400") => {
            api.get_json(&target.master_url(id, false)?).await
        }
        other => other,
    };
    match answer {
        Ok(json) => {
            serde_json::from_value(json)
                .map(Some)
                .map_err(|error| SourceError::Permanent {
                    what: describe(&target.base),
                    detail: format!("malformed series master: {error}"),
                })
        }
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads series masters four at a time (Outlook's per-mailbox concurrency; the
/// account's limiter enforces it anyway), in order.
async fn fetch_masters<A: GraphApi>(
    api: &A,
    target: &ViewTarget,
    ids: &[String],
) -> Vec<(String, Result<Option<GraphEvent>, SourceError>)> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(4) {
        let get = |i: usize| async move {
            match chunk.get(i) {
                Some(id) => Some((id.clone(), fetch_master(api, target, id).await)),
                None => None,
            }
        };
        let (a, b, c, d) = tokio::join!(get(0), get(1), get(2), get(3));
        out.extend([a, b, c, d].into_iter().flatten());
    }
    out
}

/// Turns a round's items into changes. `members` is the cursor's occurrence index for
/// an incremental round, `None` for a full listing.
async fn apply_round<A: GraphApi>(
    api: &A,
    target: &ViewTarget,
    items: Vec<GraphEvent>,
    members: Option<BTreeMap<String, String>>,
    skipped: &mut Vec<String>,
) -> Result<(CalendarChanges, BTreeMap<String, String>), SourceError> {
    let full = members.is_none();
    let mut members = members.unwrap_or_default();
    let mut upserted: BTreeMap<String, Event> = BTreeMap::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let mut masters: BTreeSet<String> = BTreeSet::new();
    // Series members that need their master's UID; mapped once masters are read.
    let mut pending: Vec<GraphEvent> = Vec::new();
    let owner = target.owner.as_deref();

    for item in items {
        let id = item.id.clone();
        // Replays are normal: the last word on an id wins.
        upserted.remove(&id);
        deleted.remove(&id);
        pending.retain(|p| p.id != id);
        if item.is_removed() {
            // Also sent for items outside the window; deleting what is not held is a no-op.
            if let Some(master) = members.remove(&id) {
                masters.insert(master);
            }
            deleted.insert(id);
            continue;
        }
        match item.graph_type() {
            GraphType::SingleInstance => match map_event(&item, None, owner) {
                Ok(event) => {
                    upserted.insert(id, event);
                }
                Err(error) => skip(skipped, &target.calendar, error.to_string()),
            },
            GraphType::SeriesMaster => {
                masters.insert(id);
            }
            GraphType::Occurrence | GraphType::Exception => {
                let Some(master) = item.series_master_id.clone().filter(|m| !m.is_empty()) else {
                    skip(
                        skipped,
                        &target.calendar,
                        format!("event {}: a series member without seriesMasterId", item.id),
                    );
                    continue;
                };
                members.insert(id.clone(), master.clone());
                masters.insert(master);
                let plain_occurrence = item.graph_type() == GraphType::Occurrence
                    && !item.is_cancelled.unwrap_or(false);
                if plain_occurrence {
                    // Generated by tete's engine from the master; drop a stale override.
                    if !full {
                        deleted.insert(id);
                    }
                } else {
                    pending.push(item);
                }
            }
        }
    }

    let mut uids: BTreeMap<String, String> = BTreeMap::new();
    let master_ids: Vec<String> = masters.into_iter().collect();
    for (master_id, fetched) in fetch_masters(api, target, &master_ids).await {
        let master_id = &master_id;
        let fetched = match fetched {
            Ok(fetched) => fetched,
            // One master Graph refuses for good (403 on a shared calendar, a malformed
            // answer) must not block the calendar on every poll: skip that series.
            Err(SourceError::Permanent { detail, .. }) => {
                skip(
                    skipped,
                    &target.calendar,
                    format!("series master: {detail}"),
                );
                continue;
            }
            Err(error) => return Err(error),
        };
        match fetched {
            Some(master) => match map_event(&master, None, owner) {
                Ok(mut event) => {
                    // calendarView ids are the ones the members point at.
                    event.id = master_id.clone();
                    uids.insert(master_id.clone(), event.uid.clone());
                    deleted.remove(master_id);
                    upserted.insert(master_id.clone(), event);
                }
                Err(error) => skip(skipped, &target.calendar, format!("series master: {error}")),
            },
            None => {
                // The series is gone: its master and every member tete holds.
                deleted.insert(master_id.clone());
                upserted.remove(master_id);
                let gone: Vec<String> = members
                    .iter()
                    .filter(|(_, m)| *m == master_id)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in gone {
                    members.remove(&id);
                    upserted.remove(&id);
                    deleted.insert(id);
                }
            }
        }
    }

    for item in pending {
        let master = item.series_master_id.as_deref().unwrap_or_default();
        let Some(uid) = uids.get(master) else {
            // Without its master a member cannot be placed in a series; a deleted
            // series takes its members along silently.
            if !deleted.contains(master) {
                skip(
                    skipped,
                    &target.calendar,
                    format!("event {}: its series master could not be read", item.id),
                );
            }
            continue;
        };
        match map_event(&item, Some(uid), owner) {
            Ok(event) => {
                deleted.remove(&item.id);
                upserted.insert(item.id.clone(), event);
            }
            Err(error) => skip(skipped, &target.calendar, error.to_string()),
        }
    }

    let changes = CalendarChanges {
        full,
        upserted: upserted.into_values().collect(),
        deleted: if full {
            Vec::new()
        } else {
            deleted.into_iter().collect()
        },
        cursor: None,
        index: None,
    };
    Ok((changes, members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_written_only_when_it_changes() {
        let members = BTreeMap::from([("occ-1".to_string(), "master".to_string())]);
        let first = with_cursor(
            CalendarChanges::default(),
            window(),
            "https://graph/delta?$deltatoken=1".into(),
            members.clone(),
            &StoredState::default(),
        );
        let stored = StoredState {
            cursor: first.cursor.clone(),
            index: first.index.clone(),
        };
        assert!(stored.index.as_deref().is_some_and(|i| i.contains("occ-1")));
        let unchanged = with_cursor(
            CalendarChanges::default(),
            window(),
            "https://graph/delta?$deltatoken=2".into(),
            members.clone(),
            &stored,
        );
        assert_ne!(unchanged.cursor, first.cursor);
        assert_eq!(unchanged.index, None, "same index: not rewritten");
        let cursor = DeltaCursor::from_stored(
            unchanged.cursor.as_deref().unwrap(),
            stored.index.as_deref(),
        )
        .expect("the new cursor reads with the kept index");
        assert_eq!(cursor.members, members);
        let mut grown = members;
        grown.insert("occ-2".into(), "master".into());
        let changed = with_cursor(
            CalendarChanges::default(),
            window(),
            "https://graph/delta?$deltatoken=3".into(),
            grown,
            &stored,
        );
        assert!(changed.index.is_some_and(|i| i.contains("occ-2")));
    }

    fn target(calendar: &str) -> ViewTarget {
        ViewTarget {
            base: Url::parse(API_BASE_URL).unwrap(),
            calendar: calendar.into(),
            owner: None,
            mailbox: None,
        }
    }

    #[test]
    fn another_mailbox_is_addressed_under_users() {
        let mut target = target("AAMk/1");
        target.mailbox = Some("ana@corp.test".into());
        let url = target.initial_url(&window()).unwrap();
        assert_eq!(
            url.path(),
            "/v1.0/users/ana@corp.test/calendars/AAMk%2F1/calendarView/delta"
        );
        let url = target.master_url("E1", false).unwrap();
        assert_eq!(url.path(), "/v1.0/users/ana@corp.test/events/E1");
    }

    fn window() -> Window {
        WindowPolicy::default().window_at(
            DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
                .unwrap()
                .to_utc(),
        )
    }

    #[test]
    fn the_default_calendar_uses_me_calendar_view_delta() {
        let url = target("primary").initial_url(&window()).unwrap();
        assert_eq!(url.path(), "/v1.0/me/calendarView/delta");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            query,
            vec![
                ("startDateTime".into(), "2026-01-01T00:00:00Z".into()),
                ("endDateTime".into(), "2026-07-01T00:00:00Z".into()),
            ]
        );
    }

    #[test]
    fn other_calendars_are_addressed_by_an_escaped_id() {
        let url = target("AAMk/AB+cd=").initial_url(&window()).unwrap();
        assert_eq!(
            url.path(),
            "/v1.0/me/calendars/AAMk%2FAB+cd=/calendarView/delta"
        );
    }

    #[test]
    fn paging_links_to_another_host_are_refused() {
        let t = target("primary");
        assert!(
            t.follow("https://graph.microsoft.com/v1.0/me/calendarView/delta?$skiptoken=x")
                .is_ok()
        );
        let error = t
            .follow("https://attacker.example/v1.0/me/calendarView/delta?$skiptoken=x")
            .unwrap_err();
        assert!(error.to_string().contains("attacker.example"), "{error}");
        assert!(!error.to_string().contains("skiptoken"), "{error}");
        assert!(t.follow("not a url").is_err());
    }

    #[test]
    fn expired_delta_states_are_recognised_by_status_or_code() {
        let what = || "graph.microsoft.com/v1.0/me/calendarView/delta".to_string();
        assert!(is_expired_delta(&SourceError::CursorExpired {
            what: what()
        }));
        assert!(is_expired_delta(&SourceError::Permanent {
            what: what(),
            detail: "HTTP 400 resyncRequired: Resync required.".into()
        }));
        assert!(!is_expired_delta(&SourceError::Permanent {
            what: what(),
            detail: "HTTP 400 ErrorInvalidParameter".into()
        }));
        assert!(is_not_found(&SourceError::Permanent {
            what: what(),
            detail: "HTTP 404 ErrorItemNotFound: The specified object was not found in the store."
                .into()
        }));
        assert!(!is_not_found(&SourceError::Transient {
            what: what(),
            detail: "HTTP 404".into()
        }));
    }
}

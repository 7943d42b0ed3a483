//! A stateful fake of the parts of Google that tete uses, written from Google's
//! documentation (see `/work/shared/docs/provider-apis.md` A and C):
//!
//! - `GET /calendar/v3/users/me/calendarList`
//! - `GET /calendar/v3/calendars/{id}/events`: pages with `nextPageToken`, only the
//!   last one carrying `nextSyncToken`; `syncToken` returns changes since; 400 when a
//!   forbidden parameter accompanies `syncToken`; 410 `fullSyncRequired` once tokens
//!   are invalidated; injected 429/403 rate-limit answers with `Retry-After`; 401 for
//!   an unknown or expired bearer token.
//! - `GET /auth`: redirects to `redirect_uri` with `code` and `state`.
//! - `POST /token`: `authorization_code` with PKCE (S256) verification, and
//!   `refresh_token`; `invalid_grant` once a user's grant is revoked.
//! - Directory (Admin SDK): `GET /admin/directory/v1/users` (`domain` or `customer`,
//!   `maxResults` ≤ 500, `pageToken`), `GET /admin/directory/v1/users/{userKey}`,
//!   `GET /admin/directory/v1/groups/{groupKey}/members` (`maxResults` ≤ 200), for
//!   directory admins only (403 `forbidden` otherwise); and
//!   `GET /calendar/v3/users/me/settings/timezone` as the person.
//!
//! Every request is recorded (method, path, query) so tests can count and inspect.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The client id the fake accepts.
pub const CLIENT_ID: &str = "tete-test.apps.googleusercontent.com";
/// The client secret the fake accepts.
pub const CLIENT_SECRET: &str = "GOCSPX-fake-secret";

/// Parameters Google refuses beside `syncToken`.
const FORBIDDEN_WITH_SYNC_TOKEN: [&str; 8] = [
    "timeMin",
    "timeMax",
    "orderBy",
    "q",
    "updatedMin",
    "iCalUID",
    "privateExtendedProperty",
    "sharedExtendedProperty",
];

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`.
    pub method: String,
    /// The path, e.g. `/calendar/v3/calendars/a@x.test/events`.
    pub path: String,
    /// Query parameters in order (for `/token`: the form's `grant_type` only).
    pub query: Vec<(String, String)>,
    /// The user the bearer token belongs to, if valid.
    pub user: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// True for an `events.list` call.
    pub fn is_events_list(&self) -> bool {
        self.path.ends_with("/events")
    }
}

/// A failure to answer the next API request with.
#[derive(Clone, Debug)]
pub struct Injected {
    /// HTTP status (429, 403, 500...).
    pub status: u16,
    /// Google's reason (`rateLimitExceeded`, `userRateLimitExceeded`, `backendError`).
    pub reason: &'static str,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct Calendar {
    /// id → (resource, change sequence number)
    events: BTreeMap<String, (Value, u64)>,
}

struct User {
    calendars: BTreeMap<String, Calendar>,
}

struct Pending {
    user: String,
    challenge: String,
    redirect_uri: String,
    scope: String,
    offline: bool,
}

struct Inner {
    users: BTreeMap<String, User>,
    /// The Admin SDK directory and calendar settings (see "Directory" below).
    directory: Directory,
    seq: u64,
    generation: u64,
    access: HashMap<String, (String, bool)>,
    refresh: HashMap<String, (String, bool)>,
    codes: HashMap<String, Pending>,
    sign_in_user: Option<String>,
    failures: VecDeque<Injected>,
    page_size: usize,
    empty_first_page: bool,
    latency: Duration,
    token_lifetime: u64,
    refuse_all_tokens: bool,
    counter: u64,
    records: Vec<Recorded>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake.
pub struct FakeGoogle {
    addr: SocketAddr,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(inner: &Shared) -> MutexGuard<'_, Inner> {
    match inner.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn google_error(status: u16, domain: &str, reason: &str, message: &str) -> Response {
    let body = json!({"error": {
        "errors": [{"domain": domain, "reason": reason, "message": message}],
        "code": status,
        "message": message,
    }});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

fn unauthorized() -> Response {
    let body = json!({"error": {
        "errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials",
                    "locationType": "header", "location": "Authorization"}],
        "code": 401, "message": "Invalid Credentials"}});
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

/// The 410 body exactly as provider-apis.md A.3 quotes it.
fn full_sync_required() -> Response {
    let body = json!({"error":{"errors":[{"domain":"calendar","reason":"fullSyncRequired","message":"Sync token is no longer valid, a full sync is required.","locationType":"parameter","location":"syncToken"}],"code":410,"message":"Sync token is no longer valid, a full sync is required."}});
    (StatusCode::GONE, axum::Json(body)).into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

impl FakeGoogle {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn start() -> FakeGoogle {
        let inner = Arc::new(Mutex::new(Inner {
            users: BTreeMap::new(),
            directory: Directory::default(),
            seq: 0,
            generation: 1,
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            sign_in_user: None,
            failures: VecDeque::new(),
            page_size: 2500,
            empty_first_page: false,
            latency: Duration::ZERO,
            token_lifetime: 3599,
            refuse_all_tokens: false,
            counter: 0,
            records: Vec::new(),
        }));
        let app = Router::new()
            .route("/calendar/v3/users/me/calendarList", get(calendar_list))
            .route("/calendar/v3/calendars/{calendar}/events", get(events_list))
            .merge(directory_routes())
            .route("/auth", get(authorize))
            .route("/token", post(token))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let addr = listener.local_addr().expect("fake address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeGoogle { addr, inner, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The value for `api_base_url`.
    pub fn api_base(&self) -> String {
        format!("{}/calendar/v3/", self.origin())
    }

    /// The value for `auth_url`.
    pub fn auth_url(&self) -> String {
        format!("{}/auth", self.origin())
    }

    /// The value for `token_url`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.origin())
    }

    /// Adds a user whose primary calendar's id is `email`.
    pub fn add_user(&self, email: &str) {
        let mut inner = lock(&self.inner);
        let mut calendars = BTreeMap::new();
        calendars.insert(email.to_string(), Calendar::default());
        inner.users.insert(email.to_string(), User { calendars });
        if inner.sign_in_user.is_none() {
            inner.sign_in_user = Some(email.to_string());
        }
    }

    /// Which user `/auth` signs in.
    pub fn sign_in_as(&self, email: &str) {
        lock(&self.inner).sign_in_user = Some(email.to_string());
    }

    /// Creates or replaces an event (by its `id`) in a user's calendar.
    pub fn put_event(&self, user: &str, calendar: &str, event: Value) {
        let mut inner = lock(&self.inner);
        inner.seq += 1;
        let seq = inner.seq;
        let id = event["id"].as_str().expect("events have ids").to_string();
        let events = &mut inner
            .users
            .get_mut(user)
            .expect("known user")
            .calendars
            .entry(calendar.to_string())
            .or_default()
            .events;
        events.insert(id, (event, seq));
    }

    /// Changes an event in place.
    pub fn edit_event(&self, user: &str, calendar: &str, id: &str, edit: impl FnOnce(&mut Value)) {
        let mut event = self.event(user, calendar, id).expect("known event");
        edit(&mut event);
        self.put_event(user, calendar, event);
    }

    /// The current resource of an event.
    pub fn event(&self, user: &str, calendar: &str, id: &str) -> Option<Value> {
        let inner = lock(&self.inner);
        let calendar = inner.users.get(user)?.calendars.get(calendar)?;
        calendar.events.get(id).map(|(event, _)| event.clone())
    }

    /// Deletes an event as Google does: it stays listed (with `showDeleted`) as a
    /// `cancelled` item that keeps only `id` (and, for an instance,
    /// `recurringEventId` and `originalStartTime`).
    pub fn delete_event(&self, user: &str, calendar: &str, id: &str) {
        let old = self.event(user, calendar, id).expect("known event");
        let mut stub = json!({"kind": "calendar#event", "id": id, "status": "cancelled"});
        for keep in ["recurringEventId", "originalStartTime"] {
            if let Some(value) = old.get(keep) {
                stub[keep] = value.clone();
            }
        }
        self.put_event(user, calendar, stub);
    }

    /// Makes every sync token issued so far answer 410.
    pub fn invalidate_sync_tokens(&self) {
        lock(&self.inner).generation += 1;
    }

    /// Makes every access token issued so far answer 401 (Google-side expiry).
    pub fn expire_access_tokens(&self) {
        for (_, valid) in lock(&self.inner).access.values_mut() {
            *valid = false;
        }
    }

    /// Revokes a user's refresh tokens: refreshing answers `invalid_grant`.
    pub fn revoke(&self, user: &str) {
        for (owner, revoked) in lock(&self.inner).refresh.values_mut() {
            if owner == user {
                *revoked = true;
            }
        }
        self.expire_access_tokens();
    }

    /// Issues tokens for `user` without the browser dance: (access, refresh).
    pub fn issue_tokens(&self, user: &str) -> (String, String) {
        let mut inner = lock(&self.inner);
        let access = new_token(&mut inner, "ya29.fake-access");
        let refresh = new_token(&mut inner, "1//fake-refresh");
        inner
            .access
            .insert(access.clone(), (user.to_string(), true));
        inner
            .refresh
            .insert(refresh.clone(), (user.to_string(), false));
        (access, refresh)
    }

    /// Answers the next API requests with these failures, in order.
    pub fn fail_next(&self, failures: Vec<Injected>) {
        lock(&self.inner).failures.extend(failures);
    }

    /// Caps the items per page below `maxResults` (Google may return fewer).
    pub fn set_page_size(&self, size: usize) {
        lock(&self.inner).page_size = size.max(1);
    }

    /// Makes the first page of every listing empty (with a `nextPageToken`).
    pub fn set_empty_first_page(&self, on: bool) {
        lock(&self.inner).empty_first_page = on;
    }

    /// Delays every API answer.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.inner).latency = latency;
    }

    /// `expires_in` of the access tokens issued from now on.
    pub fn set_token_lifetime(&self, seconds: u64) {
        lock(&self.inner).token_lifetime = seconds;
    }

    /// Answers 401 to every API request, even with a fresh token (a grant whose
    /// calendar scope was removed, say).
    pub fn refuse_all_tokens(&self, on: bool) {
        lock(&self.inner).refuse_all_tokens = on;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner).records.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.inner).records.clear();
    }
}

fn new_token(inner: &mut Inner, prefix: &str) -> String {
    inner.counter += 1;
    format!("{prefix}-{}-{}", inner.counter, rand_suffix(inner.counter))
}

fn rand_suffix(n: u64) -> String {
    let digest = Sha256::digest(format!("fake-google-{n}-{:?}", Instant::now()).as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

fn record(
    inner: &mut Inner,
    method: &str,
    path: &str,
    query: Vec<(String, String)>,
    user: Option<String>,
) {
    inner.records.push(Recorded {
        method: method.into(),
        path: path.into(),
        query,
        user,
        at: Instant::now(),
    });
}

/// Records an API request, applies injected failures and latency, and resolves the
/// bearer token to a user.
async fn api_prologue(
    inner: &Shared,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<String, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (latency, outcome) = {
        let mut inner = lock(inner);
        let user = bearer
            .as_ref()
            .and_then(|token| inner.access.get(token))
            .filter(|(_, valid)| *valid)
            .map(|(user, _)| user.clone())
            .filter(|_| !inner.refuse_all_tokens);
        record(&mut inner, "GET", path, query.to_vec(), user.clone());
        let outcome = match inner.failures.pop_front() {
            Some(failure) => Err(failure),
            None => Ok(user),
        };
        (inner.latency, outcome)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match outcome {
        Err(failure) => {
            let message = match failure.reason {
                "rateLimitExceeded" | "userRateLimitExceeded" => "Rate Limit Exceeded",
                _ => "Backend Error",
            };
            let domain = if failure.status == 429 || failure.status == 403 {
                "usageLimits"
            } else {
                "global"
            };
            let mut response = google_error(failure.status, domain, failure.reason, message);
            if let Some(seconds) = failure.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            Err(response)
        }
        Ok(None) => Err(unauthorized()),
        Ok(Some(user)) => Ok(user),
    }
}

async fn calendar_list(
    State(inner): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let user = match api_prologue(
        &inner,
        "/calendar/v3/users/me/calendarList",
        &query,
        &headers,
    )
    .await
    {
        Ok(user) => user,
        Err(response) => return response,
    };
    let inner = lock(&inner);
    let Some(account) = inner.users.get(&user) else {
        return unauthorized();
    };
    let items: Vec<Value> = account
        .calendars
        .keys()
        .map(|id| {
            json!({"kind": "calendar#calendarListEntry", "id": id, "summary": id,
                   "timeZone": "Europe/Berlin", "accessRole": "owner",
                   "primary": *id == user})
        })
        .collect();
    axum::Json(json!({"kind": "calendar#calendarList", "etag": "\"p1\"",
                      "nextSyncToken": "cl-sync", "items": items}))
    .into_response()
}

/// Where a listing continues: `pt:<offset>:<snapshot seq>:<since seq>:<generation>:<empty served>`.
struct PageCursor {
    offset: usize,
    snapshot: u64,
    since: Option<u64>,
    generation: u64,
    empty_served: bool,
}

impl PageCursor {
    fn encode(&self) -> String {
        let since = self
            .since
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        format!(
            "pt:{}:{}:{}:{}:{}",
            self.offset, self.snapshot, since, self.generation, self.empty_served as u8
        )
    }

    fn decode(text: &str) -> Option<PageCursor> {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 6 || parts[0] != "pt" {
            return None;
        }
        Some(PageCursor {
            offset: parts[1].parse().ok()?,
            snapshot: parts[2].parse().ok()?,
            since: match parts[3] {
                "-" => None,
                s => Some(s.parse().ok()?),
            },
            generation: parts[4].parse().ok()?,
            empty_served: parts[5] == "1",
        })
    }
}

fn end_before(event: &Value, time_min: &str) -> bool {
    if event.get("recurrence").is_some() {
        return false;
    }
    let Ok(min) = chrono::DateTime::parse_from_rfc3339(time_min) else {
        return false;
    };
    let end = &event["end"];
    if let Some(at) = end["dateTime"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        return at <= min;
    }
    if let Some(date) = end["date"]
        .as_str()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        return date
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc() <= min)
            .unwrap_or(false);
    }
    false
}

async fn events_list(
    State(inner): State<Shared>,
    Path(calendar): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/calendar/v3/calendars/{calendar}/events");
    let user = match api_prologue(&inner, &path, &query, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let inner = lock(&inner);
    let Some(events) = inner
        .users
        .get(&user)
        .and_then(|u| u.calendars.get(&calendar))
        .map(|c| &c.events)
    else {
        return google_error(404, "global", "notFound", "Not Found");
    };
    let sync_token = param("syncToken");
    if sync_token.is_some() && FORBIDDEN_WITH_SYNC_TOKEN.iter().any(|p| param(p).is_some()) {
        return google_error(
            400,
            "global",
            "syncTokenWithRequestRestrictions",
            "Sync token cannot be used with other request restrictions.",
        );
    }
    let show_deleted = param("showDeleted") == Some("true");
    let max_results: usize = param("maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(250)
        .min(2500);
    let page_size = max_results.min(inner.page_size);
    let cursor = match param("pageToken") {
        Some(token) => match PageCursor::decode(token) {
            Some(cursor) => cursor,
            None => return google_error(400, "global", "invalid", "Invalid page token value."),
        },
        None => {
            let since = match sync_token {
                None => None,
                Some(token) => {
                    let parts: Vec<&str> = token.split(':').collect();
                    let parsed = match parts.as_slice() {
                        ["st", generation, seq] => {
                            generation.parse::<u64>().ok().zip(seq.parse::<u64>().ok())
                        }
                        _ => None,
                    };
                    match parsed {
                        Some((generation, seq)) if generation == inner.generation => Some(seq),
                        Some(_) => return full_sync_required(),
                        None => {
                            return google_error(
                                400,
                                "global",
                                "invalid",
                                "Invalid sync token value.",
                            );
                        }
                    }
                }
            };
            PageCursor {
                offset: 0,
                snapshot: inner.seq,
                since,
                generation: inner.generation,
                empty_served: false,
            }
        }
    };
    if cursor.generation != inner.generation && cursor.since.is_some() {
        return full_sync_required();
    }
    let time_min = if cursor.since.is_none() {
        param("timeMin")
    } else {
        None
    };
    let listed: Vec<&Value> = events
        .values()
        .filter(|(_, seq)| *seq <= cursor.snapshot)
        .filter(|(_, seq)| cursor.since.is_none_or(|since| *seq > since))
        .map(|(event, _)| event)
        .filter(|event| {
            // Deleted items always come with a sync token; on a full listing only
            // with showDeleted (cancelled instances of live series always do).
            cursor.since.is_some()
                || show_deleted
                || event["status"] != "cancelled"
                || event.get("recurringEventId").is_some()
        })
        .filter(|event| time_min.is_none_or(|min| !end_before(event, min)))
        .collect();
    let mut body = json!({"kind": "calendar#events", "etag": "\"e\"", "summary": calendar,
                          "timeZone": "Europe/Berlin", "accessRole": "owner",
                          "defaultReminders": []});
    if inner.empty_first_page && !cursor.empty_served {
        body["items"] = json!([]);
        body["nextPageToken"] = json!(
            PageCursor {
                empty_served: true,
                ..cursor
            }
            .encode()
        );
        return axum::Json(body).into_response();
    }
    let end = (cursor.offset + page_size).min(listed.len());
    let page: Vec<Value> = listed[cursor.offset.min(end)..end]
        .iter()
        .map(|e| (*e).clone())
        .collect();
    body["items"] = Value::Array(page);
    if end < listed.len() {
        body["nextPageToken"] = json!(
            PageCursor {
                offset: end,
                empty_served: true,
                ..cursor
            }
            .encode()
        );
    } else {
        body["nextSyncToken"] = json!(format!("st:{}:{}", cursor.generation, cursor.snapshot));
    }
    axum::Json(body).into_response()
}

async fn authorize(
    State(inner): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut inner = lock(&inner);
    record(&mut inner, "GET", "/auth", query.clone(), None);
    if param("client_id").as_deref() != Some(CLIENT_ID) {
        return (StatusCode::BAD_REQUEST, "Error 401: invalid_client").into_response();
    }
    let (Some(redirect_uri), Some(challenge)) = (param("redirect_uri"), param("code_challenge"))
    else {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    };
    if param("response_type").as_deref() != Some("code")
        || param("code_challenge_method").as_deref() != Some("S256")
        || !redirect_uri.starts_with("http://127.0.0.1:")
    {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    }
    let Some(user) = inner.sign_in_user.clone() else {
        return (StatusCode::BAD_REQUEST, "no user").into_response();
    };
    let code = new_token(&mut inner, "4/0fake-code");
    inner.codes.insert(
        code.clone(),
        Pending {
            user,
            challenge,
            redirect_uri: redirect_uri.clone(),
            scope: param("scope").unwrap_or_default(),
            offline: param("access_type").as_deref() == Some("offline"),
        },
    );
    let mut location = url::Url::parse(&redirect_uri).expect("redirect is a URL");
    {
        let mut pairs = location.query_pairs_mut();
        if let Some(state) = param("state") {
            pairs.append_pair("state", &state);
        }
        pairs.append_pair("code", &code);
        pairs.append_pair("scope", &param("scope").unwrap_or_default());
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

async fn token(
    State(inner): State<Shared>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str);
    let mut inner = lock(&inner);
    let grant = field("grant_type").unwrap_or("").to_string();
    record(
        &mut inner,
        "POST",
        "/token",
        vec![("grant_type".into(), grant.clone())],
        None,
    );
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(CLIENT_SECRET) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client", "error_description": "Unauthorized"})),
        )
            .into_response();
    }
    let lifetime = inner.token_lifetime;
    match grant.as_str() {
        "authorization_code" => {
            let Some(pending) = field("code").and_then(|code| inner.codes.remove(code)) else {
                return oauth_error("invalid_grant", "Malformed auth code.");
            };
            if field("redirect_uri") != Some(pending.redirect_uri.as_str()) {
                return oauth_error("redirect_uri_mismatch", "Bad Request");
            }
            let verifier = field("code_verifier").unwrap_or("");
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != pending.challenge {
                return oauth_error("invalid_grant", "Invalid code verifier.");
            }
            let access = new_token(&mut inner, "ya29.fake-access");
            inner
                .access
                .insert(access.clone(), (pending.user.clone(), true));
            let mut body = json!({"access_token": access, "expires_in": lifetime,
                                  "scope": pending.scope, "token_type": "Bearer"});
            if pending.offline {
                let refresh = new_token(&mut inner, "1//fake-refresh");
                inner.refresh.insert(refresh.clone(), (pending.user, false));
                body["refresh_token"] = json!(refresh);
            }
            axum::Json(body).into_response()
        }
        "refresh_token" => {
            let owner = field("refresh_token")
                .and_then(|token| inner.refresh.get(token))
                .filter(|(_, revoked)| !*revoked)
                .map(|(user, _)| user.clone());
            let Some(user) = owner else {
                return oauth_error("invalid_grant", "Token has been expired or revoked.");
            };
            let access = new_token(&mut inner, "ya29.fake-access");
            inner.access.insert(access.clone(), (user, true));
            axum::Json(json!({"access_token": access, "expires_in": lifetime,
                              "scope": "https://www.googleapis.com/auth/calendar.readonly",
                              "token_type": "Bearer"}))
            .into_response()
        }
        _ => oauth_error("unsupported_grant_type", "Invalid grant_type."),
    }
}

// ---------------------------------------------------------------------------------
// Directory: the Admin SDK Directory API and Calendar settings, written from Google's
// reference (users.list, users.get, members.list, settings.get). Kept apart from the
// calendar routes above.

/// Users and groups of the fake Workspace account, and each person's settings.
#[derive(Default)]
struct Directory {
    /// User resources in listing order (by key: the primary address, or a made-up
    /// key for hostile records without one).
    users: BTreeMap<String, Value>,
    /// group address → member resources.
    groups: BTreeMap<String, Vec<Value>>,
    /// person → Calendar `timezone` setting.
    zones: HashMap<String, String>,
    /// People whose settings answer 403.
    denied: std::collections::HashSet<String>,
    /// Users whose tokens may read the directory.
    admins: std::collections::HashSet<String>,
    /// Items per page below `maxResults` (0: no cap).
    page_cap: usize,
}

/// A user resource as `users.get` returns it.
pub fn directory_user(email: &str, full_name: &str, manager: Option<&str>) -> Value {
    let (given, family) = full_name.split_once(' ').unwrap_or((full_name, ""));
    let mut user = json!({
        "kind": "admin#directory#user",
        "id": format!("1{:020}", email.bytes().map(u64::from).sum::<u64>()),
        "etag": "\"u1\"",
        "primaryEmail": email,
        "name": {"givenName": given, "familyName": family, "fullName": full_name},
        "isAdmin": false,
        "suspended": false,
        "archived": false,
        "emails": [{"address": email, "primary": true}],
        "customerId": "C0fake",
        "orgUnitPath": "/",
    });
    if let Some(manager) = manager {
        user["relations"] = json!([{"value": manager, "type": "manager"}]);
    }
    user
}

/// A member resource as `members.list` returns it (`kind`: `USER`, `GROUP`,
/// `CUSTOMER`, `EXTERNAL`; `status`: `ACTIVE`, `SUSPENDED`).
pub fn directory_member(email: &str, kind: &str, status: &str) -> Value {
    json!({"kind": "admin#directory#member", "etag": "\"m1\"", "id": format!("m-{email}"),
           "email": email, "role": "MEMBER", "type": kind, "status": status})
}

fn directory_routes() -> Router<Shared> {
    Router::new()
        .route("/admin/directory/v1/users", get(directory_users))
        .route("/admin/directory/v1/users/{key}", get(directory_user_get))
        .route(
            "/admin/directory/v1/groups/{key}/members",
            get(directory_members),
        )
        .route(
            "/calendar/v3/users/me/settings/timezone",
            get(settings_timezone),
        )
}

impl FakeGoogle {
    /// The value for the Directory API base URL.
    pub fn directory_base(&self) -> String {
        format!("{}/admin/directory/v1/", self.origin())
    }

    /// Lets `email`'s tokens read the directory (a delegated admin).
    pub fn make_directory_admin(&self, email: &str) {
        lock(&self.inner).directory.admins.insert(email.to_string());
    }

    /// Adds or replaces a user resource (any JSON: hostile records are stored as given).
    pub fn put_directory_user(&self, user: Value) {
        let mut inner = lock(&self.inner);
        let key = match user.get("primaryEmail").and_then(Value::as_str) {
            Some(email) => email.to_ascii_lowercase(),
            None => format!("~{}", inner.directory.users.len()),
        };
        inner.directory.users.insert(key, user);
    }

    /// Sets a group's members.
    pub fn put_group(&self, group: &str, members: Vec<Value>) {
        lock(&self.inner)
            .directory
            .groups
            .insert(group.to_ascii_lowercase(), members);
    }

    /// Sets the Calendar `timezone` setting of a person.
    pub fn set_time_zone(&self, email: &str, zone: &str) {
        lock(&self.inner)
            .directory
            .zones
            .insert(email.to_string(), zone.to_string());
    }

    /// Makes a person's Calendar settings answer 403.
    pub fn deny_settings(&self, email: &str) {
        lock(&self.inner).directory.denied.insert(email.to_string());
    }

    /// Caps directory pages at `size` items, below `maxResults`.
    pub fn set_directory_page_cap(&self, size: usize) {
        lock(&self.inner).directory.page_cap = size;
    }
}

/// Google's 403 for a caller without directory rights (as users.list answers it).
fn not_authorized() -> Response {
    google_error(
        403,
        "global",
        "forbidden",
        "Not Authorized to access this resource/api",
    )
}

fn not_found(what: &str) -> Response {
    google_error(
        404,
        "global",
        "notFound",
        &format!("Resource Not Found: {what}"),
    )
}

/// Parses `maxResults` within `1..=max` (Google answers 400 `invalid` otherwise) and
/// `pageToken` (`dir:<offset>`), and gives the page size after the fake's cap.
// An axum answer is the natural error of a request check; boxing it buys nothing here.
#[allow(clippy::result_large_err)]
fn directory_paging(
    query: &[(String, String)],
    default: usize,
    max: usize,
    cap: usize,
) -> Result<(usize, usize), Response> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let size = match param("maxResults") {
        None => default,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(google_error(
                    400,
                    "global",
                    "invalid",
                    "Invalid value for: maxResults",
                ));
            }
        },
    };
    let offset = match param("pageToken") {
        None => 0,
        Some(token) => match token.strip_prefix("dir:").and_then(|n| n.parse().ok()) {
            Some(offset) => offset,
            None => {
                return Err(google_error(
                    400,
                    "global",
                    "invalid",
                    "Invalid page token value.",
                ));
            }
        },
    };
    let size = if cap > 0 { size.min(cap) } else { size };
    Ok((offset, size))
}

/// One page of `items` with `nextPageToken` when more follow; `field` is omitted
/// when the page is empty, as Google does.
fn directory_page(
    kind: &str,
    field: &str,
    items: &[Value],
    offset: usize,
    size: usize,
) -> Response {
    let page: Vec<Value> = items.iter().skip(offset).take(size).cloned().collect();
    let mut body = json!({"kind": kind, "etag": "\"d1\""});
    if !page.is_empty() {
        body[field] = Value::Array(page);
    }
    if offset + size < items.len() {
        body["nextPageToken"] = json!(format!("dir:{}", offset + size));
    }
    axum::Json(body).into_response()
}

async fn directory_users(
    State(inner): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let user = match api_prologue(&inner, "/admin/directory/v1/users", &query, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let inner = lock(&inner);
    if !inner.directory.admins.contains(&user) {
        return not_authorized();
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let domain = match (param("domain"), param("customer")) {
        (Some(domain), _) => Some(domain),
        (None, Some(customer)) if customer == "my_customer" => None,
        _ => return google_error(400, "global", "badRequest", "Bad Request"),
    };
    let (offset, size) = match directory_paging(&query, 100, 500, inner.directory.page_cap) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let items: Vec<Value> = inner
        .directory
        .users
        .iter()
        .filter(|(key, _)| match &domain {
            Some(domain) => key.starts_with('~') || key.ends_with(&format!("@{domain}")),
            None => true,
        })
        .map(|(_, user)| user.clone())
        .collect();
    directory_page("admin#directory#users", "users", &items, offset, size)
}

async fn directory_user_get(
    State(inner): State<Shared>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/admin/directory/v1/users/{key}");
    let user = match api_prologue(&inner, &path, &[], &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let inner = lock(&inner);
    if !inner.directory.admins.contains(&user) {
        return not_authorized();
    }
    let key = key.to_ascii_lowercase();
    let found = inner.directory.users.values().find(|user| {
        let field = |name: &str| {
            user.get(name)
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        };
        field("primaryEmail").as_deref() == Some(key.as_str())
            || field("id").as_deref() == Some(key.as_str())
            || user
                .get("aliases")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|v| v.as_str().map(str::to_ascii_lowercase) == Some(key.clone()))
                })
    });
    match found {
        Some(user) => axum::Json(user.clone()).into_response(),
        None => not_found("userKey"),
    }
}

async fn directory_members(
    State(inner): State<Shared>,
    Path(key): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/admin/directory/v1/groups/{key}/members");
    let user = match api_prologue(&inner, &path, &query, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let inner = lock(&inner);
    if !inner.directory.admins.contains(&user) {
        return not_authorized();
    }
    let Some(members) = inner.directory.groups.get(&key.to_ascii_lowercase()) else {
        return not_found("groupKey");
    };
    match directory_paging(&query, 200, 200, inner.directory.page_cap) {
        Ok((offset, size)) => {
            directory_page("admin#directory#members", "members", members, offset, size)
        }
        Err(response) => response,
    }
}

async fn settings_timezone(
    State(inner): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let path = "/calendar/v3/users/me/settings/timezone";
    let user = match api_prologue(&inner, path, &query, &headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let inner = lock(&inner);
    if inner.directory.denied.contains(&user) {
        return google_error(
            403,
            "global",
            "forbidden",
            "The caller does not have permission",
        );
    }
    match inner.directory.zones.get(&user) {
        Some(zone) => axum::Json(json!({"kind": "calendar#setting", "etag": "\"s1\"",
                                        "id": "timezone", "value": zone}))
        .into_response(),
        None => not_found("timezone"),
    }
}

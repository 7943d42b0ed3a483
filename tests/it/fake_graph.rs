//! A stateful fake of Microsoft Graph (calendar views with delta, events, `/me`) and
//! of the identity platform (device code, token endpoint with refresh-token rotation),
//! on 127.0.0.1:0. Error bodies follow what the real services write. Every request is
//! recorded for assertions. The tenant's directory (users with `$select`/`$expand`,
//! paging by `@odata.nextLink`, groups, transitive members, managers, mailbox time
//! zones) is served from its own block at the end.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Decoded query parameters.
    pub query: HashMap<String, String>,
    /// Decoded form fields (token endpoints).
    pub form: HashMap<String, String>,
    /// The `Prefer` header(s), joined.
    pub prefer: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

struct Item {
    calendar: String,
    json: Value,
    version: u64,
    deleted: bool,
}

struct Round {
    entries: Vec<Value>,
    offset: usize,
    page_size: usize,
    window: (NaiveDateTime, NaiveDateTime),
    calendar: String,
    version_at: u64,
}

struct DeltaState {
    window: (NaiveDateTime, NaiveDateTime),
    calendar: String,
    version_at: u64,
    generation: u64,
}

#[derive(Default)]
struct Inner {
    base: String,
    owner: String,
    requests: Vec<Recorded>,
    // Identity platform.
    pending_polls: u32,
    slow_downs: u32,
    decline: bool,
    interval: u64,
    device_codes: HashSet<String>,
    refresh_tokens: HashSet<String>,
    access_tokens: HashMap<String, String>,
    serial: u64,
    // Graph.
    items: BTreeMap<String, Item>,
    masters: BTreeMap<String, Value>,
    version: u64,
    rounds: HashMap<String, Round>,
    delta_states: HashMap<String, DeltaState>,
    generation: u64,
    page_cap: Option<usize>,
    throttle: u32,
    throttle_status: u16,
    retry_after: u64,
    fail_skiptoken_pages: bool,
    latency: std::time::Duration,
    forbidden_masters: HashSet<String>,
    in_flight: usize,
    max_in_flight: usize,
    /// Set for a confidential client (a web-platform app registration): every token
    /// request must carry this `client_secret`.
    client_secret: Option<String>,
    /// The tenant's directory (see "Directory" below).
    directory: GraphDirectory,
}

/// The running fake. Dropping it stops nothing (the server task ends with the test's runtime).
#[derive(Clone)]
pub struct FakeGraph {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:port`.
    pub base: String,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn record(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &HashMap<String, String>,
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) {
    let prefer: Vec<&str> = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    lock(shared).requests.push(Recorded {
        method: method.into(),
        path: path.into(),
        query: query.clone(),
        form: form.clone(),
        prefer: (!prefer.is_empty()).then(|| prefer.join(", ")),
        at: Instant::now(),
    });
}

fn oauth_error(code: &str, aadsts: u32, text: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": code,
            "error_description": format!("AADSTS{aadsts}: {text}\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-01-01 00:00:00Z"),
            "error_codes": [aadsts],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "0000",
            "correlation_id": "1111",
        })),
    )
        .into_response()
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message,
            "innerError": {"date": "2026-01-01T00:00:00", "request-id": "r", "client-request-id": "c"}}})),
    )
        .into_response()
}

async fn devicecode(
    State(shared): State<Shared>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    record(
        &shared,
        "POST",
        "/devicecode",
        &HashMap::new(),
        &form,
        &headers,
    );
    let mut inner = lock(&shared);
    inner.serial += 1;
    let code = format!("DAQABAAEAAAD-device-{}", inner.serial);
    inner.device_codes.insert(code.clone());
    Json(json!({
        "user_code": "FJ5GZ3M8W",
        "device_code": code,
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": 900,
        "interval": inner.interval,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FJ5GZ3M8W to authenticate."
    }))
    .into_response()
}

fn issue(inner: &mut Inner, scope: &str) -> Value {
    inner.serial += 1;
    let access = format!("eyJ0eXAi.access-{}", inner.serial);
    let refresh = format!("0.AX-refresh-{}", inner.serial);
    let resource = if scope.contains("outlook.office.com") {
        "outlook"
    } else {
        "graph"
    };
    inner.access_tokens.insert(access.clone(), resource.into());
    inner.refresh_tokens.insert(refresh.clone());
    json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access,
        "refresh_token": refresh,
    })
}

async fn token(
    State(shared): State<Shared>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    record(&shared, "POST", "/token", &HashMap::new(), &form, &headers);
    let mut inner = lock(&shared);
    let scope = form
        .get("scope")
        .cloned()
        .unwrap_or_else(|| "https://graph.microsoft.com/Calendars.Read offline_access".into());
    if scope.contains("graph.microsoft.com") && scope.contains("outlook.office.com") {
        return oauth_error(
            "invalid_scope",
            28000,
            "Provided value for the input parameter scope is not valid because it contains more than one resource.",
        );
    }
    if let Some(expected) = &inner.client_secret {
        match form.get("client_secret") {
            None => {
                return oauth_error(
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                );
            }
            Some(given) if given != expected => {
                return oauth_error(
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.",
                );
            }
            Some(_) => {}
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let code = form.get("device_code").cloned().unwrap_or_default();
            if !inner.device_codes.contains(&code) {
                return oauth_error(
                    "bad_verification_code",
                    70019,
                    "Verification code not recognized.",
                );
            }
            if inner.slow_downs > 0 {
                inner.slow_downs -= 1;
                return oauth_error("slow_down", 70016, "Polling too fast.");
            }
            if inner.pending_polls > 0 {
                inner.pending_polls -= 1;
                return oauth_error(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                );
            }
            if inner.decline {
                return oauth_error(
                    "authorization_declined",
                    70018,
                    "The user declined the authorization request.",
                );
            }
            inner.device_codes.remove(&code);
            Json(issue(&mut inner, &scope)).into_response()
        }
        Some("refresh_token") => {
            let old = form.get("refresh_token").cloned().unwrap_or_default();
            // Rotation: a refresh token works once.
            if !inner.refresh_tokens.remove(&old) {
                return oauth_error(
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity.",
                );
            }
            Json(issue(&mut inner, &scope)).into_response()
        }
        _ => oauth_error(
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        ),
    }
}

/// Checks the bearer token; `Some(response)` refuses the request.
fn refuse(inner: &mut Inner, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if inner.access_tokens.get(token).map(String::as_str) != Some("graph") {
        return Some(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        ));
    }
    if inner.throttle > 0 {
        inner.throttle -= 1;
        let (status, code) = match inner.throttle_status {
            503 => (StatusCode::SERVICE_UNAVAILABLE, "ServiceNotAvailable"),
            _ => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
        };
        let mut response = graph_error(status, code, "Too many requests.");
        if let Ok(value) = inner.retry_after.to_string().parse() {
            response.headers_mut().insert("retry-after", value);
        }
        return Some(response);
    }
    None
}

fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

fn in_window(item: &Value, window: &(NaiveDateTime, NaiveDateTime)) -> bool {
    let time = |field: &str| {
        item.get(field)
            .and_then(|t| t.get("dateTime"))
            .and_then(|t| t.as_str())
            .and_then(parse_time)
    };
    match (time("start"), time("end")) {
        (Some(start), Some(end)) => start < window.1 && end > window.0,
        _ => false,
    }
}

fn page_size(inner: &Inner, headers: &HeaderMap) -> usize {
    let asked = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .filter_map(|n| n.trim().parse::<usize>().ok())
        .next()
        .unwrap_or(10);
    inner.page_cap.map_or(asked, |cap| asked.min(cap)).max(1)
}

fn tombstone(id: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.event", "id": id, "@removed": {"reason": "deleted"}})
}

/// Serves the next page of `round`, storing what comes after it.
fn serve_page(inner: &mut Inner, mut round: Round) -> Response {
    let end = (round.offset + round.page_size).min(round.entries.len());
    let value: Vec<Value> = round.entries[round.offset..end].to_vec();
    let mut page = json!({"@odata.context": format!("{}/v1.0/$metadata#Collection(event)", inner.base), "value": value});
    let path = if round.calendar == "primary" {
        "/v1.0/me/calendarView/delta".to_string()
    } else {
        format!("/v1.0/me/calendars/{}/calendarView/delta", round.calendar)
    };
    inner.serial += 1;
    if end < round.entries.len() {
        let token = format!("skip{}", inner.serial);
        page["@odata.nextLink"] = json!(format!("{}{path}?$skiptoken={token}", inner.base));
        round.offset = end;
        inner.rounds.insert(token, round);
    } else {
        let token = format!("delta{}", inner.serial);
        page["@odata.deltaLink"] = json!(format!("{}{path}?$deltatoken={token}", inner.base));
        let generation = inner.generation;
        inner.delta_states.insert(
            token,
            DeltaState {
                window: round.window,
                calendar: round.calendar,
                version_at: round.version_at,
                generation,
            },
        );
    }
    Json(page).into_response()
}

fn delta(
    shared: &Shared,
    calendar: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
) -> Response {
    let path = if calendar == "primary" {
        "/v1.0/me/calendarView/delta".to_string()
    } else {
        format!("/v1.0/me/calendars/{calendar}/calendarView/delta")
    };
    record(shared, "GET", &path, &query, &HashMap::new(), &headers);
    let mut inner = lock(shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    for option in ["$select", "$filter", "$orderby", "$expand", "$search"] {
        if query.contains_key(option) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidUrlQuery",
                "The following parameters are not supported with change tracking over the 'CalendarView' resource.",
            );
        }
    }
    let size = page_size(&inner, &headers);
    if let Some(skip) = query.get("$skiptoken") {
        if inner.fail_skiptoken_pages {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidParameter",
                "The skip token is broken.",
            );
        }
        return match inner.rounds.remove(skip) {
            Some(round) => serve_page(&mut inner, round),
            None => graph_error(
                StatusCode::GONE,
                "SyncStateNotFound",
                "The sync state generation is not found.",
            ),
        };
    }
    if let Some(token) = query.get("$deltatoken") {
        let Some(state) = inner.delta_states.get(token) else {
            return graph_error(
                StatusCode::GONE,
                "SyncStateNotFound",
                "The sync state generation is not found.",
            );
        };
        if state.generation < inner.generation {
            return graph_error(
                StatusCode::GONE,
                "SyncStateNotFound",
                "The sync state generation is not found; generation=1;[highest=2][2].",
            );
        }
        let (window, calendar, since) = (state.window, state.calendar.clone(), state.version_at);
        let entries: Vec<Value> = inner
            .items
            .iter()
            .filter(|(_, item)| item.calendar == calendar && item.version > since)
            .map(|(id, item)| {
                if item.deleted || !in_window(&item.json, &window) {
                    tombstone(id)
                } else {
                    item.json.clone()
                }
            })
            .collect();
        let version_at = inner.version;
        return serve_page(
            &mut inner,
            Round {
                entries,
                offset: 0,
                page_size: size,
                window,
                calendar,
                version_at,
            },
        );
    }
    let (Some(start), Some(end)) = (
        query.get("startDateTime").and_then(|t| parse_time(t)),
        query.get("endDateTime").and_then(|t| parse_time(t)),
    ) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        );
    };
    let window = (start, end);
    let entries: Vec<Value> = inner
        .items
        .values()
        .filter(|item| item.calendar == calendar && !item.deleted && in_window(&item.json, &window))
        .map(|item| item.json.clone())
        .collect();
    let version_at = inner.version;
    serve_page(
        &mut inner,
        Round {
            entries,
            offset: 0,
            page_size: size,
            window,
            calendar,
            version_at,
        },
    )
}

async fn default_delta(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    slow_down(&shared).await;
    delta(&shared, "primary".into(), query, headers)
}

async fn calendar_delta(
    State(shared): State<Shared>,
    Path(calendar): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    slow_down(&shared).await;
    delta(&shared, calendar, query, headers)
}

async fn event(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &shared,
        "GET",
        &format!("/v1.0/me/events/{id}"),
        &query,
        &HashMap::new(),
        &headers,
    );
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    if inner.forbidden_masters.contains(&id) {
        return graph_error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        );
    }
    match inner.masters.get(&id) {
        Some(master) => {
            let mut master = master.clone();
            // Like Graph: cancelledOccurrences only when selected.
            let selected = query
                .get("$select")
                .is_some_and(|s| s.contains("cancelledOccurrences"));
            if !selected && let Some(object) = master.as_object_mut() {
                object.remove("cancelledOccurrences");
            }
            Json(master).into_response()
        }
        None => graph_error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        ),
    }
}

/// Waits the configured latency, counting requests in flight meanwhile (Outlook
/// limits concurrent requests per mailbox; the fake measures them).
async fn slow_down(shared: &Shared) {
    let latency = {
        let mut inner = lock(shared);
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        inner.latency
    };
    tokio::time::sleep(latency).await;
    lock(shared).in_flight -= 1;
}

async fn me(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    record(
        &shared,
        "GET",
        "/v1.0/me",
        &HashMap::new(),
        &HashMap::new(),
        &headers,
    );
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    Json(json!({"mail": inner.owner, "userPrincipalName": inner.owner})).into_response()
}

async fn fallback(
    State(shared): State<Shared>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    record(
        &shared,
        "?",
        uri.path(),
        &HashMap::new(),
        &HashMap::new(),
        &headers,
    );
    graph_error(
        StatusCode::NOT_FOUND,
        "UnknownPath",
        "not served by the fake",
    )
}

impl FakeGraph {
    /// Starts the fake for the mailbox of `owner`.
    pub async fn start(owner: &str) -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let inner: Shared = Arc::new(Mutex::new(Inner {
            base: base.clone(),
            owner: owner.into(),
            interval: 1,
            retry_after: 1,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/me", get(me))
            .route("/v1.0/me/calendarView/delta", get(default_delta))
            .route(
                "/v1.0/me/calendars/{calendar}/calendarView/delta",
                get(calendar_delta),
            )
            .route("/v1.0/me/events/{id}", get(event))
            .merge(directory_routes())
            .fallback(fallback)
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGraph { inner, base }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Graph's base URL (`…/v1.0/`).
    pub fn api_base(&self) -> String {
        format!("{}/v1.0/", self.base)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/common/oauth2/v2.0/token", self.base)
    }

    /// The device authorization endpoint.
    pub fn device_url(&self) -> String {
        format!("{}/common/oauth2/v2.0/devicecode", self.base)
    }

    /// Requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests so far whose path contains `part`.
    pub fn requests_to(&self, part: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains(part))
            .collect()
    }

    /// The device flow answers `authorization_pending` this many times, after
    /// `slow_downs` `slow_down` answers, then succeeds (or declines).
    pub fn device_behaviour(&self, slow_downs: u32, pending: u32, decline: bool) {
        let mut inner = self.lock();
        inner.slow_downs = slow_downs;
        inner.pending_polls = pending;
        inner.decline = decline;
    }

    /// Issues a token pair as a completed sign-in would (for tests that skip the device flow).
    pub fn sign_in(&self) -> (String, String) {
        let mut inner = self.lock();
        let answer = issue(
            &mut inner,
            "https://graph.microsoft.com/Calendars.Read offline_access",
        );
        (
            answer["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            answer["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    /// Every access token stops working (as after an hour).
    pub fn expire_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// Every refresh token is revoked (password reset, "revoke sessions").
    pub fn revoke_refresh_tokens(&self) {
        self.lock().refresh_tokens.clear();
    }

    /// True while the fake would accept this refresh token.
    pub fn refresh_token_works(&self, token: &str) -> bool {
        self.lock().refresh_tokens.contains(token)
    }

    /// Resource (`graph`/`outlook`) an access token was issued for.
    pub fn audience_of(&self, token: &str) -> Option<String> {
        self.lock().access_tokens.get(token).cloned()
    }

    /// Adds or replaces a calendar-view item (single event, occurrence or exception).
    pub fn put(&self, calendar: &str, item: Value) {
        let mut inner = self.lock();
        inner.version += 1;
        let version = inner.version;
        let id = item["id"].as_str().unwrap_or_default().to_string();
        inner.items.insert(
            id,
            Item {
                calendar: calendar.into(),
                json: item,
                version,
                deleted: false,
            },
        );
    }

    /// Deletes a calendar-view item (a tombstone follows in the next delta).
    pub fn delete(&self, id: &str) {
        let mut inner = self.lock();
        inner.version += 1;
        let version = inner.version;
        if let Some(item) = inner.items.get_mut(id) {
            item.deleted = true;
            item.version = version;
        }
    }

    /// Adds or replaces a series master (served by `/me/events/{id}` only, as in Graph).
    pub fn put_master(&self, master: Value) {
        let id = master["id"].as_str().unwrap_or_default().to_string();
        self.lock().masters.insert(id, master);
    }

    /// `/me/events/{id}` answers 403 for this master.
    pub fn forbid_master(&self, id: &str) {
        self.lock().forbidden_masters.insert(id.to_string());
    }

    /// Deletes a series master.
    pub fn delete_master(&self, id: &str) {
        self.lock().masters.remove(id);
    }

    /// Every delta link handed out so far stops working (410 `SyncStateNotFound`).
    pub fn expire_delta_states(&self) {
        self.lock().generation += 1;
    }

    /// Pages hold at most this many items whatever `odata.maxpagesize` asks.
    pub fn cap_pages(&self, size: usize) {
        self.lock().page_cap = Some(size);
    }

    /// The next `count` Graph requests get 429 with `Retry-After: seconds`.
    pub fn throttle(&self, count: u32, seconds: u64) {
        self.throttle_with(429, count, seconds);
    }

    /// The next `count` Graph requests get `status` (429 or 503) with `Retry-After: seconds`.
    pub fn throttle_with(&self, status: u16, count: u32, seconds: u64) {
        let mut inner = self.lock();
        inner.throttle = count;
        inner.throttle_status = status;
        inner.retry_after = seconds;
    }

    /// Turns the app into a confidential client: token requests without `secret` are
    /// refused as the identity platform refuses them (AADSTS7000218 / 7000215).
    pub fn require_client_secret(&self, secret: &str) {
        self.lock().client_secret = Some(secret.to_string());
    }

    /// Every Graph request (`/me`, `/me/events/{id}`, the calendar views) is answered
    /// after this delay (to observe concurrency, and as network latency in benchmarks).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.lock().latency = latency;
    }

    /// The most Graph requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// `$skiptoken` pages fail with 400 (a round breaking off midway).
    pub fn break_paging(&self, broken: bool) {
        self.lock().fail_skiptoken_pages = broken;
    }
}

/// Graph's `dateTimeTimeZone` in UTC.
pub fn utc(at: DateTime<Utc>) -> Value {
    json!({"dateTime": format!("{}.0000000", at.format("%Y-%m-%dT%H:%M:%S")), "timeZone": "UTC"})
}

/// An attendee entry.
pub fn attendee(address: &str, response: &str) -> Value {
    json!({"type": "required", "status": {"response": response, "time": "0001-01-01T00:00:00Z"},
        "emailAddress": {"name": address.split('@').next().unwrap_or(address), "address": address}})
}

/// A single event.
pub fn single(
    id: &str,
    subject: &str,
    start: DateTime<Utc>,
    minutes: i64,
    attendees: &[&str],
) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "id": id, "type": "singleInstance", "iCalUId": format!("uid-{id}"), "subject": subject,
        "body": {"contentType": "html", "content": format!("<html><body><p>{subject}</p></body></html>")},
        "start": utc(start), "end": utc(start + chrono::Duration::minutes(minutes)),
        "isAllDay": false, "isCancelled": false, "showAs": "busy", "sensitivity": "normal",
        "originalStartTimeZone": "UTC",
        "organizer": {"emailAddress": {"name": "Organizer", "address": attendees.first().copied().unwrap_or("organizer@contoso.com")}},
        "attendees": attendees.iter().map(|a| attendee(a, "accepted")).collect::<Vec<_>>(),
        "lastModifiedDateTime": "2026-01-01T00:00:00Z",
    })
}

/// A weekly series: its master, and its occurrences from `first` for `weeks` weeks
/// (ids `<master>-occ-<n>`), in Pacific time as Outlook would create it.
pub fn weekly_series(
    master_id: &str,
    ical_uid: &str,
    subject: &str,
    first: DateTime<Utc>,
    weeks: i64,
    attendees: &[&str],
) -> (Value, Vec<Value>) {
    let organizer = attendees
        .first()
        .copied()
        .unwrap_or("organizer@contoso.com");
    let day = first.format("%A").to_string().to_lowercase();
    let master = json!({
        "id": master_id, "type": "seriesMaster", "iCalUId": ical_uid, "subject": subject,
        "body": {"contentType": "html", "content": "<p>Our weekly 1:1</p>"},
        "start": utc(first), "end": utc(first + chrono::Duration::minutes(30)),
        "isAllDay": false, "isCancelled": false, "showAs": "busy", "sensitivity": "normal",
        "originalStartTimeZone": "UTC",
        "organizer": {"emailAddress": {"name": "Organizer", "address": organizer}},
        "attendees": attendees.iter().map(|a| attendee(a, "accepted")).collect::<Vec<_>>(),
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [day], "firstDayOfWeek": "sunday", "index": "first", "month": 0, "dayOfMonth": 0},
            "range": {"type": "noEnd", "startDate": first.format("%Y-%m-%d").to_string(), "endDate": "0001-01-01", "recurrenceTimeZone": "UTC", "numberOfOccurrences": 0}
        },
        "cancelledOccurrences": [],
        "lastModifiedDateTime": "2026-01-01T00:00:00Z",
    });
    let occurrences = (0..weeks)
        .map(|n| {
            let start = first + chrono::Duration::weeks(n);
            // Graph's v1.0 iCalUId differs per occurrence: the instance date is embedded.
            let instance_uid = instance_uid(ical_uid, start);
            json!({
                "@odata.type": "#microsoft.graph.event",
                "id": format!("{master_id}-occ-{n}"), "type": "occurrence", "seriesMasterId": master_id,
                "iCalUId": instance_uid, "subject": subject,
                "originalStart": start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "start": utc(start), "end": utc(start + chrono::Duration::minutes(30)),
                "isAllDay": false, "isCancelled": false, "showAs": "busy", "originalStartTimeZone": "UTC",
                "organizer": {"emailAddress": {"name": "Organizer", "address": organizer}},
                "attendees": attendees.iter().map(|a| attendee(a, "accepted")).collect::<Vec<_>>(),
                "lastModifiedDateTime": "2026-01-01T00:00:00Z",
            })
        })
        .collect();
    (master, occurrences)
}

/// A Global Object ID in hex with the instance date of `at` written in.
pub fn instance_uid(ical_uid: &str, at: DateTime<Utc>) -> String {
    use chrono::Datelike;
    if ical_uid.len() < 40 {
        return ical_uid.to_string();
    }
    let date = format!("{:04X}{:02X}{:02X}", at.year(), at.month(), at.day());
    format!("{}{}{}", &ical_uid[..32], date, &ical_uid[40..])
}

/// The Global Object ID Exchange gives a meeting created elsewhere (Google, an .ics):
/// the foreign UID after a `vCal-Uid` marker, as hex; `at` writes an instance date in.
pub fn foreign_goid(uid: &str, at: Option<DateTime<Utc>>) -> String {
    use chrono::Datelike;
    let mut data = b"vCal-Uid\x01\x00\x00\x00".to_vec();
    data.extend_from_slice(uid.as_bytes());
    data.push(0);
    let mut bytes = vec![
        0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00, 0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0,
        0x08,
    ];
    match at {
        Some(at) => {
            let year = u16::try_from(at.year()).unwrap_or(0).to_be_bytes();
            bytes.extend_from_slice(&[year[0], year[1], at.month() as u8, at.day() as u8]);
        }
        None => bytes.extend_from_slice(&[0; 4]),
    }
    bytes.extend_from_slice(&[0; 16]);
    bytes.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_le_bytes());
    bytes.extend_from_slice(&data);
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

// ---------------------------------------------------------------------------------
// Directory: `/users`, `/users/{id}/manager`, `/users/{id}/mailboxSettings/timeZone`,
// `/groups?$filter=mail eq '…'` and `/groups/{id}/transitiveMembers/microsoft.graph.user`,
// written from Graph's reference. Kept apart from the calendar routes above.

struct DirectoryUser {
    json: Value,
    manager: Option<String>,
    zone: Option<String>,
    denied: bool,
}

#[derive(Default)]
struct GraphDirectory {
    /// id → user, in listing order of the ids.
    users: BTreeMap<String, DirectoryUser>,
    /// id → (mail, member ids: users or groups).
    groups: BTreeMap<String, (String, Vec<String>)>,
    serial: u64,
}

impl GraphDirectory {
    fn new_id(&mut self) -> String {
        self.serial += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", self.serial, self.serial)
    }

    fn find(&self, key: &str) -> Option<&String> {
        if let Some((id, _)) = self.users.get_key_value(key) {
            return Some(id);
        }
        let key = key.to_ascii_lowercase();
        self.users
            .iter()
            .find(|(id, user)| {
                **id == key
                    || ["mail", "userPrincipalName"].iter().any(|field| {
                        user.json[*field].as_str().map(str::to_ascii_lowercase) == Some(key.clone())
                    })
            })
            .map(|(id, _)| id)
    }

    /// The user ids of a group and its nested groups, each once (cycles end).
    fn transitive_users(&self, group: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut stack = vec![group.to_string()];
        let mut users = Vec::new();
        while let Some(group) = stack.pop() {
            if !seen.insert(group.clone()) {
                continue;
            }
            for member in self.groups.get(&group).map(|g| &g.1).into_iter().flatten() {
                if self.groups.contains_key(member) {
                    stack.push(member.clone());
                } else if self.users.contains_key(member) && !users.contains(member) {
                    users.push(member.clone());
                }
            }
        }
        users.sort();
        users
    }
}

fn directory_routes() -> Router<Shared> {
    Router::new()
        .route("/v1.0/users", get(directory_users))
        .route("/v1.0/users/{user}/manager", get(directory_manager))
        .route(
            "/v1.0/users/{user}/mailboxSettings/timeZone",
            get(directory_time_zone),
        )
        .route("/v1.0/groups", get(directory_groups))
        .route(
            "/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user",
            get(directory_members),
        )
}

impl FakeGraph {
    /// Adds an enabled member user with a mailbox; returns its object id.
    pub fn add_directory_user(&self, mail: &str, name: &str) -> String {
        let mut inner = self.lock();
        let id = inner.directory.new_id();
        let json = json!({"id": id, "displayName": name, "mail": mail,
            "userPrincipalName": mail, "accountEnabled": true, "userType": "Member",
            "givenName": name.split(' ').next(), "jobTitle": null});
        inner.directory.users.insert(
            id.clone(),
            DirectoryUser {
                json,
                manager: None,
                zone: None,
                denied: false,
            },
        );
        id
    }

    /// Adds a user record as given (hostile or incomplete JSON); returns its key.
    pub fn put_raw_directory_user(&self, json: Value) -> String {
        let mut inner = self.lock();
        let id = inner.directory.new_id();
        inner.directory.users.insert(
            id.clone(),
            DirectoryUser {
                json,
                manager: None,
                zone: None,
                denied: false,
            },
        );
        id
    }

    /// Edits a user's record in place (`accountEnabled`, `userType`...).
    pub fn edit_directory_user(&self, mail: &str, edit: impl FnOnce(&mut Value)) {
        let mut inner = self.lock();
        let id = inner.directory.find(mail).cloned().expect("known user");
        if let Some(user) = inner.directory.users.get_mut(&id) {
            edit(&mut user.json);
        }
    }

    /// Sets `report`'s manager.
    pub fn set_manager(&self, report: &str, manager: &str) {
        let mut inner = self.lock();
        let manager = inner
            .directory
            .find(manager)
            .cloned()
            .expect("known manager");
        let report = inner.directory.find(report).cloned().expect("known report");
        if let Some(user) = inner.directory.users.get_mut(&report) {
            user.manager = Some(manager);
        }
    }

    /// Sets a mailbox's `timeZone` setting (a Windows or an IANA name).
    pub fn set_mailbox_zone(&self, mail: &str, zone: &str) {
        let mut inner = self.lock();
        let id = inner.directory.find(mail).cloned().expect("known user");
        if let Some(user) = inner.directory.users.get_mut(&id) {
            user.zone = Some(zone.to_string());
        }
    }

    /// Makes a mailbox's settings answer 403 `ErrorAccessDenied` (outside the app's
    /// Exchange scope).
    pub fn deny_mailbox(&self, mail: &str) {
        let mut inner = self.lock();
        let id = inner.directory.find(mail).cloned().expect("known user");
        if let Some(user) = inner.directory.users.get_mut(&id) {
            user.denied = true;
        }
    }

    /// Adds a group whose members are users (by address) or groups added before (by
    /// address), or `later:` ids for groups added after (for cycles); returns its id.
    pub fn add_group(&self, mail: &str, members: &[&str]) -> String {
        let mut inner = self.lock();
        let id = inner.directory.new_id();
        let ids = members
            .iter()
            .map(|member| {
                if let Some(later) = member.strip_prefix("later:") {
                    return later.to_string();
                }
                inner
                    .directory
                    .find(member)
                    .cloned()
                    .or_else(|| {
                        inner
                            .directory
                            .groups
                            .iter()
                            .find(|(_, (m, _))| m.eq_ignore_ascii_case(member))
                            .map(|(id, _)| id.clone())
                    })
                    .expect("known member")
            })
            .collect();
        inner
            .directory
            .groups
            .insert(id.clone(), (mail.to_string(), ids));
        id
    }

    /// Adds `member` (a group id) to the group with id `group`.
    pub fn nest_group(&self, group: &str, member: &str) {
        if let Some(g) = self.lock().directory.groups.get_mut(group) {
            g.1.push(member.to_string());
        }
    }
}

fn not_found_resource(what: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// A user projected on `$select` (the id always), as Graph answers.
fn project(json: &Value, select: Option<&String>) -> Value {
    let Some(select) = select else {
        return json.clone();
    };
    let mut out = serde_json::Map::new();
    for field in select.split(',').map(str::trim).chain(["id"]) {
        if let Some(value) = json.get(field) {
            out.insert(field.to_string(), value.clone());
        }
    }
    Value::Object(out)
}

/// `$select=…` inside `manager($select=…)`.
fn expand_select(expand: &str) -> Option<Option<String>> {
    let rest = expand.trim().strip_prefix("manager")?;
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'));
    Some(inner.and_then(|i| i.trim().strip_prefix("$select=").map(str::to_string)))
}

/// One page of `ids` from `$skiptoken` on, with a `@odata.nextLink` repeating the
/// query when more follow.
fn directory_page(
    inner: &Inner,
    path: &str,
    query: &HashMap<String, String>,
    ids: &[String],
    page_size: usize,
    count: bool,
) -> Response {
    let offset: usize = match query.get("$skiptoken") {
        None => 0,
        Some(token) => match token.strip_prefix("X'").and_then(|t| t.parse().ok()) {
            Some(offset) => offset,
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Directory_ExpiredPageToken",
                    "The specified page token value has expired and can no longer be included in your request.",
                );
            }
        },
    };
    let expand = query.get("$expand").and_then(|e| expand_select(e));
    let select = query.get("$select");
    let value: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(page_size)
        .filter_map(|id| inner.directory.users.get(id))
        .map(|user| {
            let mut out = project(&user.json, select);
            if let Some(manager_select) = &expand
                && let Some(manager) = user
                    .manager
                    .as_ref()
                    .and_then(|m| inner.directory.users.get(m))
                && let Value::Object(map) = &mut out
            {
                let mut manager = project(&manager.json, manager_select.as_ref());
                manager["@odata.type"] = json!("#microsoft.graph.user");
                map.insert("manager".into(), manager);
            }
            out
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{}", path.trim_start_matches("/v1.0/")),
        "value": value,
    });
    if count {
        body["@odata.count"] = json!(ids.len());
    }
    if offset + page_size < ids.len() {
        let mut next = url::Url::parse(&format!("{}{path}", inner.base)).expect("fake url");
        {
            let mut pairs = next.query_pairs_mut();
            let mut keys: Vec<_> = query.iter().filter(|(k, _)| *k != "$skiptoken").collect();
            keys.sort();
            for (k, v) in keys {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("$skiptoken", &format!("X'{}", offset + page_size));
        }
        body["@odata.nextLink"] = json!(next.to_string());
    }
    Json(body).into_response()
}

/// `$top` within `1..=999` (Graph's maximum for directory objects).
// An axum answer is the natural error of a request check; boxing it buys nothing here.
#[allow(clippy::result_large_err)]
fn top(query: &HashMap<String, String>) -> Result<usize, Response> {
    match query.get("$top").map(|t| t.parse::<usize>()) {
        None => Ok(100),
        Some(Ok(n)) if (1..=999).contains(&n) => Ok(n),
        _ => Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Invalid page size specified: '$top'. Must be between 1 and 999 inclusive.",
        )),
    }
}

async fn directory_users(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &shared,
        "GET",
        "/v1.0/users",
        &query,
        &HashMap::new(),
        &headers,
    );
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    let mut size = match top(&query) {
        Ok(size) => size,
        Err(response) => return response,
    };
    // Known issue: `$expand` on directory objects returns at most 100 per page.
    if query.contains_key("$expand") {
        size = size.min(100);
    }
    if let Some(cap) = inner.page_cap {
        size = size.min(cap);
    }
    let ids: Vec<String> = inner.directory.users.keys().cloned().collect();
    directory_page(&inner, "/v1.0/users", &query, &ids, size, false)
}

async fn directory_manager(
    State(shared): State<Shared>,
    Path(user): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1.0/users/{user}/manager");
    record(&shared, "GET", &path, &query, &HashMap::new(), &headers);
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    let Some(id) = inner.directory.find(&user).cloned() else {
        return not_found_resource(&user);
    };
    let manager = inner.directory.users[&id]
        .manager
        .as_ref()
        .and_then(|m| inner.directory.users.get(m));
    match manager {
        Some(manager) => {
            let mut out = project(&manager.json, query.get("$select"));
            out["@odata.type"] = json!("#microsoft.graph.user");
            Json(out).into_response()
        }
        None => not_found_resource("manager"),
    }
}

async fn directory_time_zone(
    State(shared): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1.0/users/{user}/mailboxSettings/timeZone");
    record(
        &shared,
        "GET",
        &path,
        &HashMap::new(),
        &HashMap::new(),
        &headers,
    );
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    let Some(found) = inner
        .directory
        .find(&user)
        .and_then(|id| inner.directory.users.get(id))
    else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            &format!("The requested user '{user}' is invalid."),
        );
    };
    if found.denied {
        return graph_error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        );
    }
    Json(json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{user}')/mailboxSettings/timeZone"),
        "value": found.zone.clone().unwrap_or_else(|| "UTC".into()),
    }))
    .into_response()
}

async fn directory_groups(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &shared,
        "GET",
        "/v1.0/groups",
        &query,
        &HashMap::new(),
        &headers,
    );
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    let wanted = query
        .get("$filter")
        .and_then(|f| f.trim().strip_prefix("mail eq '"))
        .and_then(|f| f.strip_suffix('\''))
        .map(|m| m.replace("''", "'"));
    let Some(wanted) = wanted else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified.",
        );
    };
    let value: Vec<Value> = inner
        .directory
        .groups
        .iter()
        .filter(|(_, (mail, _))| mail.eq_ignore_ascii_case(&wanted))
        .map(|(id, (mail, _))| json!({"id": id, "mail": mail, "displayName": mail}))
        .collect();
    Json(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups(id,mail,displayName)",
                "value": value}))
    .into_response()
}

async fn directory_members(
    State(shared): State<Shared>,
    Path(group): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user");
    record(&shared, "GET", &path, &query, &HashMap::new(), &headers);
    slow_down(&shared).await;
    let mut inner = lock(&shared);
    if let Some(refusal) = refuse(&mut inner, &headers) {
        return refusal;
    }
    // The OData cast is an advanced query: without the header and `$count`, refused.
    let eventual = headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    if !eventual || query.get("$count").map(String::as_str) != Some("true") {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Unsupported query.",
        );
    }
    if !inner.directory.groups.contains_key(&group) {
        return not_found_resource(&group);
    }
    let mut size = match top(&query) {
        Ok(size) => size,
        Err(response) => return response,
    };
    if let Some(cap) = inner.page_cap {
        size = size.min(cap);
    }
    let ids = inner.directory.transitive_users(&group);
    directory_page(&inner, &path, &query, &ids, size, true)
}

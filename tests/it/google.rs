//! Google Calendar over OAuth against the fake in `fake_google.rs`: sign-in,
//! token refresh, incremental sync, error handling, and the JSON mapping.

use crate::fake_google::{CLIENT_ID, CLIENT_SECRET, FakeGoogle, Injected};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tete::auth::google::{AccountTokens, CALENDAR_SCOPE, OAuthClient};
use tete::auth::loopback::{CodeSource, GrantedTokens, SignInRequest, sign_in};
use tete::auth::{AuthError, Secret, TokenKey};
use tete::model::{EventKind, EventStatus, EventTime, PartStat, Zone};
use tete::pass::sync::SyncError;
use tete::sources::CalendarReport;
use tete::sources::SourceError;
use tete::sources::google::{GoogleAccount, SyncOptions};
use tete::sources::http::{Http, HttpOptions, RetryPolicy};
use tete::store::{CalendarRef, Store, StoreOptions, StoredEvent, StoredSecret};
use tokio::io::AsyncWriteExt;
use url::Url;

const ALICE: &str = "alice@example.test";
const BOB: &str = "bob@example.test";
const CAROL: &str = "carol@example.test";

/// A fake Google, a store, and helpers to build accounts against them.
struct Harness {
    fake: FakeGoogle,
    store: Store,
    _dir: tempfile::TempDir,
}

/// Quick retries, no rate limit (shared with the org tests).
pub fn fast_http() -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            base: Duration::from_millis(10),
            max: Duration::from_secs(5),
            attempts: 4,
        },
        requests_per_second: 0.0,
        burst: 1,
        max_body_bytes: 4 * 1024 * 1024,
    }
}

fn client() -> reqwest::Client {
    Http::default_client().expect("http client")
}

fn clients() -> tete::pass::Clients {
    tete::pass::Clients::new().expect("http clients")
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), &StoreOptions::default()).expect("store");
        let fake = FakeGoogle::start().await;
        fake.add_user(ALICE);
        Harness {
            fake,
            store,
            _dir: dir,
        }
    }

    fn oauth(&self) -> OAuthClient {
        OAuthClient {
            client_id: CLIENT_ID.into(),
            client_secret: Some(Secret::new(CLIENT_SECRET)),
            auth_url: Url::parse(&self.fake.auth_url()).unwrap(),
            token_url: Url::parse(&self.fake.token_url()).unwrap(),
        }
    }

    fn tokens(&self, name: &str, key: Option<TokenKey>) -> AccountTokens {
        AccountTokens::new(name, self.oauth(), key, self.store.clone(), client())
    }

    /// An account signed in as `user` (tokens issued by the fake directly).
    fn account_with(&self, name: &str, user: &str, options: SyncOptions) -> GoogleAccount {
        self.account_expiring(name, user, options, chrono::Duration::hours(1))
    }

    /// Like `account_with`, with the first access token living `lifetime`.
    fn account_expiring(
        &self,
        name: &str,
        user: &str,
        options: SyncOptions,
        lifetime: chrono::Duration,
    ) -> GoogleAccount {
        let (access, refresh) = self.fake.issue_tokens(user);
        let tokens = self.tokens(name, None);
        tokens
            .save_sign_in(
                &GrantedTokens {
                    access_token: Secret::new(access),
                    refresh_token: Secret::new(refresh),
                    expires_at: chrono::Utc::now() + lifetime,
                    scopes: vec![CALENDAR_SCOPE.into()],
                },
                chrono::Utc::now(),
            )
            .expect("save tokens");
        GoogleAccount::new(
            name,
            Url::parse(&self.fake.api_base()).unwrap(),
            vec!["primary".into()],
            Http::new(client(), fast_http()),
            tokens,
            options,
        )
    }

    fn account(&self, name: &str, user: &str) -> GoogleAccount {
        self.account_with(name, user, SyncOptions::default())
    }

    async fn sync(&self, account: &GoogleAccount) -> Result<CalendarReport, SyncError> {
        let mut reports =
            tete::pass::sync::sync_calendars(account, &self.store, chrono::Utc::now()).await?;
        assert_eq!(reports.len(), 1);
        reports.remove(0)
    }

    fn events(&self, account: &str) -> Vec<StoredEvent> {
        self.store
            .calendar_events(&CalendarRef {
                account: account.into(),
                calendar: "primary".into(),
            })
            .expect("stored events")
    }

    fn event(&self, account: &str, id: &str) -> tete::model::Event {
        self.events(account)
            .into_iter()
            .map(|s| s.event)
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("event {id} is stored"))
    }

    fn events_lists(&self) -> Vec<crate::fake_google::Recorded> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.is_events_list())
            .collect()
    }
}

fn attendee(email: &str, status: &str) -> Value {
    json!({"email": email, "responseStatus": status})
}

/// A weekly 1:1 between Alice and Bob, Tuesdays 09:00 Berlin.
fn weekly_one_on_one(id: &str) -> Value {
    json!({
        "kind": "calendar#event", "id": id, "status": "confirmed",
        "iCalUID": format!("{id}-series@example.test"),
        "summary": "Alice / Bob", "description": "<p>Agenda<br>- growth</p>",
        "updated": "2026-01-05T10:00:00.000Z", "sequence": 0,
        "organizer": {"email": ALICE, "self": true},
        "start": {"dateTime": "2026-01-06T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-01-06T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU"],
        "attendees": [
            {"email": ALICE, "organizer": true, "self": true, "responseStatus": "accepted"},
            attendee(BOB, "accepted")
        ],
        "eventType": "default"
    })
}

/// A single meeting of two people (tete keeps those: they are listed as "not recurring").
fn single(id: &str, day: u32) -> Value {
    json!({
        "kind": "calendar#event", "id": id, "status": "confirmed", "iCalUID": format!("{id}@google.com"),
        "summary": format!("Event {id}"), "updated": "2026-01-05T10:00:00.000Z",
        "start": {"dateTime": format!("2026-01-{day:02}T14:00:00Z")},
        "end": {"dateTime": format!("2026-01-{day:02}T15:00:00Z")},
        "attendees": [attendee(ALICE, "accepted"), attendee(BOB, "accepted")],
    })
}

fn instance(master: &str, original: &str, start: &str) -> Value {
    json!({
        "kind": "calendar#event", "id": format!("{master}_20260113T080000Z"), "status": "confirmed",
        "iCalUID": format!("{master}-series@example.test"),
        "summary": "Alice / Bob (moved)", "updated": "2026-01-10T10:00:00.000Z", "sequence": 1,
        "recurringEventId": master,
        "originalStartTime": {"dateTime": original, "timeZone": "Europe/Berlin"},
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": start.replace("T11:00", "T11:30"), "timeZone": "Europe/Berlin"},
        "attendees": [attendee(ALICE, "accepted"), attendee(BOB, "accepted")],
    })
}

/// A `Write` the test can read while the sign-in holds it.
#[derive(Clone, Default)]
struct SharedOutput(Arc<Mutex<Vec<u8>>>);

impl Write for SharedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOutput {
    /// Waits until the sign-in printed its authorization address, and returns it.
    async fn authorization_url(&self, prefix: &str) -> String {
        for _ in 0..200 {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            if let Some(line) = text.lines().map(str::trim).find(|l| l.starts_with(prefix)) {
                return line.to_string();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no authorization address printed")
    }
}

/// Asks the fake's `/auth` for the redirect address (as a browser would).
async fn redirect_location(auth_url: &str) -> String {
    let response = client().get(auth_url).send().await.expect("GET /auth");
    assert_eq!(response.status(), 302);
    response.headers()["location"].to_str().unwrap().to_string()
}

/// A sign-in running in the background.
type SignInTask = tokio::task::JoinHandle<Result<(GrantedTokens, CodeSource), AuthError>>;

fn start_sign_in<R>(harness: &Harness, input: R) -> (SignInTask, SharedOutput)
where
    R: tokio::io::AsyncBufRead + Unpin + Send + 'static,
{
    let output = SharedOutput::default();
    let mut writer = output.clone();
    let oauth = harness.oauth();
    let task = tokio::spawn(async move {
        let request = SignInRequest::google(vec![CALENDAR_SCOPE.to_string()]);
        sign_in(&oauth, &request, &client(), input, &mut writer).await
    });
    (task, output)
}

#[tokio::test]
async fn sign_in_through_the_loopback_redirect_gets_a_refresh_token() {
    let harness = Harness::new().await;
    harness.fake.add_user(BOB);
    harness.fake.sign_in_as(BOB);
    let (task, output) = start_sign_in(&harness, tokio::io::empty());
    let url = output.authorization_url(&harness.fake.auth_url()).await;
    let location = redirect_location(&url).await;
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    // Another local process knocking with a made-up state is turned away...
    let mut forged = Url::parse(&location).unwrap();
    forged.set_query(Some("code=injected&state=forged"));
    let refused = client()
        .get(forged.as_str())
        .send()
        .await
        .expect("loopback answers");
    assert_eq!(refused.status(), 400);
    // ...and the sign-in still waits for the real redirect.
    // The browser follows the redirect to tete's listener.
    let page = client()
        .get(&location)
        .send()
        .await
        .expect("loopback answers");
    assert_eq!(page.status(), 200);
    let (granted, source) = task.await.unwrap().expect("signed in");
    assert_eq!(source, CodeSource::Loopback);

    let auth = harness
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/auth")
        .unwrap();
    assert_eq!(auth.param("code_challenge_method"), Some("S256"));
    assert_eq!(auth.param("access_type"), Some("offline"));
    assert_eq!(auth.param("prompt"), Some("consent"));
    assert_eq!(auth.param("scope"), Some(CALENDAR_SCOPE));

    // The tokens work: saved, they sync the calendar.
    let tokens = harness.tokens("work", None);
    tokens.save_sign_in(&granted, chrono::Utc::now()).unwrap();
    harness.fake.put_event(BOB, BOB, single("e1", 7));
    let account = GoogleAccount::new(
        "work",
        Url::parse(&harness.fake.api_base()).unwrap(),
        vec![],
        Http::new(client(), fast_http()),
        tokens,
        SyncOptions::default(),
    );
    harness.sync(&account).await.expect("sync");
    assert_eq!(harness.events("work").len(), 1);
    assert_eq!(
        tete::pass::sync::account_owner(&account, &harness.store)
            .await
            .unwrap(),
        BOB
    );
    let lists = harness.events_lists();
    assert!(
        lists
            .iter()
            .all(|r| r.method == "GET" && r.user.as_deref() == Some(BOB))
    );
}

#[tokio::test]
async fn sign_in_through_a_pasted_address_checks_its_state() {
    let harness = Harness::new().await;

    // A pasted address whose state was altered is refused.
    let (reader, mut writer) = tokio::io::duplex(4096);
    let (task, output) = start_sign_in(&harness, tokio::io::BufReader::new(reader));
    let url = output.authorization_url(&harness.fake.auth_url()).await;
    let location = redirect_location(&url).await;
    let tampered = Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = tampered
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut forged = tampered.clone();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    writer
        .write_all(format!("{forged}\n").as_bytes())
        .await
        .unwrap();
    let error = task.await.unwrap().expect_err("wrong state is refused");
    assert!(matches!(error, AuthError::StateMismatch), "{error}");

    // The untouched address signs in.
    let (reader, mut writer) = tokio::io::duplex(4096);
    let (task, output) = start_sign_in(&harness, tokio::io::BufReader::new(reader));
    let url = output.authorization_url(&harness.fake.auth_url()).await;
    let location = redirect_location(&url).await;
    writer.write_all(b"\n").await.unwrap();
    writer
        .write_all(format!("  {location}  \n").as_bytes())
        .await
        .unwrap();
    let (granted, source) = task.await.unwrap().expect("signed in");
    assert_eq!(source, CodeSource::Pasted);
    assert!(
        granted
            .refresh_token
            .expose()
            .starts_with("1//fake-refresh")
    );
}

/// tete keeps only what it can brief or list: meetings of one person or of five are
/// never stored, and a single meeting that gains a third person is deleted.
#[tokio::test]
async fn only_series_and_two_person_meetings_are_stored() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("pair", 12));
    let mut alone = single("alone", 13);
    alone["attendees"] = json!([attendee(ALICE, "accepted")]);
    harness.fake.put_event(ALICE, ALICE, alone);
    let mut five = single("five", 14);
    five["attendees"] = json!(
        ["a", "b", "c", "d", "e"]
            .iter()
            .map(|p| attendee(&format!("{p}@example.test"), "accepted"))
            .collect::<Vec<_>>()
    );
    harness.fake.put_event(ALICE, ALICE, five);
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    let options = SyncOptions {
        history: Some(Duration::from_secs(400 * 24 * 3600)),
    };
    let account = harness.account_with("work", ALICE, options);
    let report = harness.sync(&account).await.expect("first sync");
    assert_eq!(report.upserted, 2, "the report counts what was stored");
    let mut stored: Vec<String> = harness
        .events("work")
        .into_iter()
        .map(|s| s.event.id)
        .collect();
    stored.sort();
    assert_eq!(stored, ["pair", "w1"]);

    harness.fake.edit_event(ALICE, ALICE, "pair", |event| {
        event["attendees"]
            .as_array_mut()
            .unwrap()
            .push(attendee(CAROL, "needsAction"));
    });
    let report = harness.sync(&account).await.expect("incremental sync");
    assert!(!report.full);
    let stored: Vec<String> = harness
        .events("work")
        .into_iter()
        .map(|s| s.event.id)
        .collect();
    assert_eq!(
        stored,
        ["w1"],
        "the meeting of three is gone from the store"
    );
}

#[tokio::test]
async fn first_sync_follows_every_page_and_incremental_syncs_send_only_the_token() {
    let harness = Harness::new().await;
    harness.fake.set_page_size(2);
    harness.fake.set_empty_first_page(true);
    for day in 1..=5 {
        harness
            .fake
            .put_event(ALICE, ALICE, single(&format!("e{day}"), 10 + day));
    }
    let options = SyncOptions {
        history: Some(Duration::from_secs(400 * 24 * 3600)),
    };
    let account = harness.account_with("work", ALICE, options);
    let report = harness.sync(&account).await.expect("first sync");
    assert!(report.full);
    assert_eq!(report.pages, 4, "an empty page, then 2 + 2 + 1 items");
    assert_eq!(harness.events("work").len(), 5);
    let lists = harness.events_lists();
    assert_eq!(lists.len(), 4);
    for (n, request) in lists.iter().enumerate() {
        assert_eq!(request.param("syncToken"), None);
        assert!(
            request.param("timeMin").is_some(),
            "history window on the full sync"
        );
        assert_eq!(request.param("singleEvents"), Some("false"));
        assert_eq!(request.param("showDeleted"), Some("true"));
        assert_eq!(request.param("maxResults"), Some("2500"));
        assert_eq!(request.param("pageToken").is_some(), n > 0);
    }

    harness.fake.clear_requests();
    harness.fake.put_event(ALICE, ALICE, single("e6", 20));
    let report = harness.sync(&account).await.expect("second sync");
    assert!(!report.full);
    assert_eq!(report.upserted, 1);
    assert_eq!(harness.events("work").len(), 6);
    for request in harness.events_lists() {
        assert!(request.param("syncToken").is_some());
        for forbidden in [
            "timeMin",
            "timeMax",
            "orderBy",
            "q",
            "updatedMin",
            "iCalUID",
        ] {
            assert_eq!(
                request.param(forbidden),
                None,
                "{forbidden} beside syncToken"
            );
        }
        assert_eq!(request.param("singleEvents"), Some("false"));
        assert_eq!(request.param("showDeleted"), Some("true"));
        assert_eq!(request.param("maxResults"), Some("2500"));
    }
}

#[tokio::test]
async fn unchanged_calendar_costs_one_request() {
    let harness = Harness::new().await;
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.clear_requests();
    let before = account.http().requests();
    let report = harness.sync(&account).await.expect("second sync");
    assert_eq!(report.upserted + report.deleted, 0);
    let requests = harness.fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].param("syncToken").is_some());
    assert_eq!(account.http().requests() - before, 1);
}

#[tokio::test]
async fn moved_instance_is_stored_as_an_override_of_its_series() {
    let harness = Harness::new().await;
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.put_event(
        ALICE,
        ALICE,
        instance(
            "w1",
            "2026-01-13T09:00:00+01:00",
            "2026-01-13T11:00:00+01:00",
        ),
    );
    harness.sync(&account).await.expect("second sync");
    let moved = harness.event("work", "w1_20260113T080000Z");
    assert_eq!(moved.uid, "w1-series@example.test");
    let berlin = Zone::Iana(chrono_tz::Europe::Berlin);
    let at = |h| EventTime::DateTime {
        local: chrono::NaiveDate::from_ymd_opt(2026, 1, 13)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap(),
        zone: berlin.clone(),
    };
    assert_eq!(moved.recurrence_id, Some(at(9)));
    assert_eq!(moved.start, at(11));
    assert_eq!(moved.status, EventStatus::Confirmed);
    let master = harness.event("work", "w1");
    assert_eq!(
        master.recurrence.unwrap().rrules,
        vec!["FREQ=WEEKLY;BYDAY=TU"]
    );
    assert_eq!(master.description, "Agenda\n- growth");
}

#[tokio::test]
async fn cancelled_instance_is_kept_as_a_cancelled_override_of_its_series() {
    let harness = Harness::new().await;
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    harness.fake.put_event(
        ALICE,
        ALICE,
        instance(
            "w1",
            "2026-01-13T09:00:00+01:00",
            "2026-01-13T11:00:00+01:00",
        ),
    );
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    // The stub Google sends keeps only id, recurringEventId and originalStartTime.
    harness
        .fake
        .delete_event(ALICE, ALICE, "w1_20260113T080000Z");
    let report = harness.sync(&account).await.expect("second sync");
    assert_eq!((report.upserted, report.deleted), (1, 0));
    let cancelled = harness.event("work", "w1_20260113T080000Z");
    assert_eq!(cancelled.status, EventStatus::Cancelled);
    assert_eq!(
        cancelled.uid, "w1-series@example.test",
        "tied to its series via the store"
    );
    assert!(cancelled.recurrence_id.is_some());
    assert_eq!(harness.events("work").len(), 2, "the series lives on");
}

#[tokio::test]
async fn deleted_series_is_removed_with_its_overrides() {
    let harness = Harness::new().await;
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    harness.fake.put_event(
        ALICE,
        ALICE,
        instance(
            "w1",
            "2026-01-13T09:00:00+01:00",
            "2026-01-13T11:00:00+01:00",
        ),
    );
    harness.fake.put_event(ALICE, ALICE, single("other", 8));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.delete_event(ALICE, ALICE, "w1");
    harness.sync(&account).await.expect("second sync");
    let ids: Vec<String> = harness
        .events("work")
        .into_iter()
        .map(|s| s.event.id)
        .collect();
    assert_eq!(ids, vec!["other".to_string()]);
}

#[tokio::test]
async fn third_attendee_added_is_seen_on_the_next_sync() {
    let harness = Harness::new().await;
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    assert_eq!(harness.event("work", "w1").attendees.len(), 2);
    harness.fake.edit_event(ALICE, ALICE, "w1", |event| {
        event["attendees"]
            .as_array_mut()
            .unwrap()
            .push(json!({"email": CAROL, "displayName": "Carol", "optional": true, "responseStatus": "needsAction"}));
        event["sequence"] = json!(1);
    });
    harness.sync(&account).await.expect("second sync");
    let event = harness.event("work", "w1");
    assert_eq!(event.attendees.len(), 3);
    let carol = &event.attendees[2];
    assert_eq!(carol.person.name.as_deref(), Some("Carol"));
    assert_eq!(carol.role, Some(tete::model::Role::Optional));
    assert_eq!(event.sequence, 1);
}

#[tokio::test]
async fn attendee_declining_updates_their_partstat() {
    let harness = Harness::new().await;
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.edit_event(ALICE, ALICE, "w1", |event| {
        event["attendees"][1]["responseStatus"] = json!("declined");
    });
    harness.sync(&account).await.expect("second sync");
    let event = harness.event("work", "w1");
    assert_eq!(event.attendees[1].partstat, Some(PartStat::Declined));
    assert_eq!(event.attendees[0].partstat, Some(PartStat::Accepted));
    assert!(event.attendees[0].is_self);
}

#[tokio::test]
async fn refused_access_token_is_refreshed_and_the_request_retried() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("e1", 7));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.expire_access_tokens();
    harness.fake.clear_requests();
    harness.sync(&account).await.expect("sync after expiry");
    let paths: Vec<String> = harness
        .fake
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    let events = "/calendar/v3/calendars/alice@example.test/events".to_string();
    assert_eq!(paths, vec![events.clone(), "/token".into(), events]);
}

#[tokio::test]
async fn api_refusing_a_fresh_token_marks_the_account_as_needing_sign_in() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("e1", 7));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.refuse_all_tokens(true);
    harness.fake.clear_requests();
    let error = harness.sync(&account).await.expect_err("refused");
    assert!(
        matches!(error.source_error(), Some(SourceError::NeedsSignIn { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("tete auth work"), "{error}");
    let paths: Vec<String> = harness
        .fake
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        paths.len(),
        3,
        "401, one refresh, 401 again, then stop: {paths:?}"
    );
    assert_eq!(paths[1], "/token");
    let state = harness.store.account_state("work").unwrap();
    assert!(state.needs_sign_in.is_some());
}

#[tokio::test]
async fn access_token_is_refreshed_ahead_of_its_expiry() {
    let harness = Harness::new().await;
    // Tokens that live 60 s are inside the 2-minute margin: refresh before each use.
    harness.fake.set_token_lifetime(60);
    let account = harness.account_expiring(
        "work",
        ALICE,
        SyncOptions::default(),
        chrono::Duration::seconds(60),
    );
    harness.fake.put_event(ALICE, ALICE, single("e1", 7));
    harness.sync(&account).await.expect("first sync");
    harness.fake.clear_requests();
    harness.sync(&account).await.expect("second sync");
    let requests = harness.fake.requests();
    assert_eq!(requests[0].path, "/token");
    assert_eq!(requests[0].param("grant_type"), Some("refresh_token"));
    assert_eq!(requests.len(), 2, "no 401 round trip: {requests:?}");
}

#[tokio::test]
async fn revoked_grant_marks_only_that_account_as_needing_sign_in() {
    let harness = Harness::new().await;
    harness.fake.add_user(BOB);
    harness.fake.put_event(ALICE, ALICE, single("a1", 7));
    harness.fake.put_event(BOB, BOB, single("b1", 8));
    let work = harness.account("work", ALICE);
    let home = harness.account("home", BOB);
    harness.sync(&work).await.expect("work syncs");
    harness.sync(&home).await.expect("home syncs");

    harness.fake.revoke(ALICE);
    harness.fake.put_event(BOB, BOB, single("b2", 9));
    let error = harness.sync(&work).await.expect_err("work is refused");
    let text = error.to_string();
    assert!(
        matches!(error.source_error(), Some(SourceError::NeedsSignIn { .. })),
        "{text}"
    );
    assert!(text.contains("tete auth work"), "{text}");
    assert!(text.contains("invalid_grant"), "{text}");
    let state = harness.store.account_state("work").unwrap();
    let needed = state.needs_sign_in.expect("marked");
    assert!(
        needed.reason.contains("Token has been expired or revoked"),
        "{}",
        needed.reason
    );

    // The other account carries on.
    harness.sync(&home).await.expect("home still syncs");
    assert_eq!(harness.events("home").len(), 2);
    assert!(
        harness
            .store
            .account_state("home")
            .unwrap()
            .needs_sign_in
            .is_none()
    );
    assert_eq!(harness.events("work").len(), 1, "work keeps what it had");

    // A dead grant is not retried on every poll.
    harness.fake.clear_requests();
    harness.sync(&work).await.expect_err("still refused");
    assert!(harness.fake.requests().is_empty());
}

#[tokio::test]
async fn expired_sync_token_triggers_a_full_resync_that_replaces_stale_events() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("keep", 7));
    harness.fake.put_event(ALICE, ALICE, single("stale", 8));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    assert_eq!(harness.events("work").len(), 2);

    // Google forgot the token and, meanwhile, the deleted event for good.
    harness.fake.invalidate_sync_tokens();
    harness.fake.delete_event(ALICE, ALICE, "stale");
    harness.fake.clear_requests();
    let report = harness.sync(&account).await.expect("resync");
    assert!(report.resynced_after_expiry && report.full);
    let ids: Vec<String> = harness
        .events("work")
        .into_iter()
        .map(|s| s.event.id)
        .collect();
    assert_eq!(ids, vec!["keep".to_string()]);
    let lists = harness.events_lists();
    assert_eq!(lists.len(), 2);
    assert!(lists[0].param("syncToken").is_some());
    assert!(lists[1].param("syncToken").is_none());

    // The new token works incrementally.
    harness.fake.clear_requests();
    harness.sync(&account).await.expect("incremental");
    assert!(harness.events_lists()[0].param("syncToken").is_some());
}

#[tokio::test]
async fn rate_limit_burst_honours_retry_after_then_succeeds() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("e1", 7));
    let account = harness.account("work", ALICE);
    harness.sync(&account).await.expect("first sync");
    harness.fake.clear_requests();
    harness.fake.put_event(ALICE, ALICE, single("e2", 8));
    harness.fake.fail_next(vec![
        Injected {
            status: 429,
            reason: "rateLimitExceeded",
            retry_after: Some(1),
        },
        Injected {
            status: 403,
            reason: "userRateLimitExceeded",
            retry_after: None,
        },
    ]);
    harness
        .sync(&account)
        .await
        .expect("succeeds after retries");
    assert_eq!(harness.events("work").len(), 2);
    let lists = harness.events_lists();
    assert_eq!(lists.len(), 3);
    let gap = lists[1].at.duration_since(lists[0].at);
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After honoured: {gap:?}"
    );

    // A burst longer than the retry budget ends as RateLimited.
    let many = (0..4)
        .map(|_| Injected {
            status: 429,
            reason: "rateLimitExceeded",
            retry_after: None,
        })
        .collect();
    harness.fake.fail_next(many);
    let error = harness.sync(&account).await.expect_err("gives up");
    assert!(
        matches!(error.source_error(), Some(SourceError::RateLimited { .. })),
        "{error}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_never_read_as_no_events() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("e1", 7));
    let account = harness.account("work", ALICE);
    let failures = (0..4)
        .map(|_| Injected {
            status: 503,
            reason: "backendError",
            retry_after: None,
        })
        .collect();
    harness.fake.fail_next(failures);
    let error = harness.sync(&account).await.expect_err("transient");
    assert!(
        matches!(error.source_error(), Some(SourceError::Transient { .. })),
        "{error}"
    );
    let cursor = harness.store.cursor(&CalendarRef {
        account: "work".into(),
        calendar: "primary".into(),
    });
    assert_eq!(cursor.unwrap(), None, "nothing applied");
    harness.sync(&account).await.expect("next pass");
    assert_eq!(harness.events("work").len(), 1);
}

#[tokio::test]
async fn malformed_items_are_skipped_and_the_rest_of_the_page_applies() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("good", 7));
    harness.fake.put_event(
        ALICE,
        ALICE,
        json!({"id": "bad", "status": "confirmed", "start": {"dateTime": "yesterday"}}),
    );
    let account = harness.account("work", ALICE);
    let report = harness.sync(&account).await.expect("sync");
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0].starts_with("bad:"),
        "{:?}",
        report.skipped
    );
    assert_eq!(harness.events("work").len(), 1);
}

#[tokio::test]
async fn tokens_never_appear_in_error_messages() {
    let harness = Harness::new().await;
    let (access, refresh) = harness.fake.issue_tokens(ALICE);
    let tokens = harness.tokens("work", None);
    tokens
        .save_sign_in(
            &GrantedTokens {
                access_token: Secret::new(access.clone()),
                refresh_token: Secret::new(refresh.clone()),
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
                scopes: vec![],
            },
            chrono::Utc::now(),
        )
        .unwrap();
    let account = GoogleAccount::new(
        "work",
        Url::parse(&harness.fake.api_base()).unwrap(),
        vec!["missing@example.test".into()],
        Http::new(client(), fast_http()),
        tokens,
        SyncOptions::default(),
    );
    let reports = tete::pass::sync::sync_calendars(&account, &harness.store, chrono::Utc::now())
        .await
        .unwrap();
    let error = reports.into_iter().next().unwrap().expect_err("404");
    assert!(
        matches!(error.source_error(), Some(SourceError::Permanent { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("Not Found"), "{error}");
    harness.fake.revoke(ALICE);
    let refused = tete::pass::sync::sync_calendars(&account, &harness.store, chrono::Utc::now())
        .await
        .expect_err("refused");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        refused.to_string(),
        format!("{refused:?}"),
    ] {
        assert!(!text.contains(&access), "access token leaked: {text}");
        assert!(!text.contains(&refresh), "refresh token leaked: {text}");
    }
}

#[tokio::test]
async fn refresh_tokens_are_sealed_at_rest_when_a_key_is_configured() {
    let harness = Harness::new().await;
    harness.fake.put_event(ALICE, ALICE, single("e1", 7));
    let key = TokenKey::from_bytes(&[42u8; 32]).unwrap();
    let (access, refresh) = harness.fake.issue_tokens(ALICE);
    let tokens = harness.tokens("work", Some(key));
    tokens
        .save_sign_in(
            &GrantedTokens {
                access_token: Secret::new(access),
                refresh_token: Secret::new(refresh.clone()),
                expires_at: chrono::Utc::now(),
                scopes: vec![],
            },
            chrono::Utc::now(),
        )
        .unwrap();
    let record = harness.store.token("work").unwrap().unwrap();
    assert!(matches!(record.refresh_token, StoredSecret::Sealed { .. }));
    let raw = format!(
        "{:?}{}",
        record,
        serde_json::to_string(&record.refresh_token).unwrap()
    );
    assert!(!raw.contains(&refresh));
    // The sealed token still refreshes (the stored access token has expired).
    let account = GoogleAccount::new(
        "work",
        Url::parse(&harness.fake.api_base()).unwrap(),
        vec![],
        Http::new(client(), fast_http()),
        tokens,
        SyncOptions::default(),
    );
    harness
        .sync(&account)
        .await
        .expect("sync with sealed tokens");
    assert_eq!(harness.events("work").len(), 1);
}

#[tokio::test]
async fn the_fake_refuses_forbidden_parameters_beside_a_sync_token() {
    // Keeps the fake honest: tete's own tests rely on this refusal.
    let harness = Harness::new().await;
    let (access, _) = harness.fake.issue_tokens(ALICE);
    let url = format!(
        "{}calendars/{ALICE}/events?syncToken=st:1:0&timeMin=2026-01-01T00:00:00Z",
        harness.fake.api_base()
    );
    let response = client().get(url).bearer_auth(access).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "syncTokenWithRequestRestrictions"
    );
}

/// `$TETE_CORPUS/api-json/google` (or `$TETE_CORPUS` itself when it holds the files).
fn corpus_dir() -> Option<std::path::PathBuf> {
    let root = std::path::PathBuf::from(std::env::var_os("TETE_CORPUS")?);
    let nested = root.join("api-json/google");
    Some(if nested.is_dir() { nested } else { root })
}

#[test]
fn corpus_events_map_faithfully() {
    let Some(dir) = corpus_dir() else {
        eprintln!("TETE_CORPUS is not set: skipping the Google corpus fixtures");
        return;
    };
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(name)).expect("corpus file");
        serde_json::from_str(&text).expect("corpus JSON")
    };
    use tete::sources::google::map_event;

    let timed = map_event(&read("libkgapi_event1_timed_attendees.json"))
        .unwrap()
        .unwrap();
    assert_eq!(timed.uid, "3if6lf59tove1e037baa75l54t@google.com");
    assert_eq!(timed.summary, "Cool Meeting about stuff");
    assert_eq!(timed.location.as_deref(), Some("Meeting Room"));
    assert_eq!(
        timed.start,
        EventTime::DateTime {
            local: chrono::NaiveDate::from_ymd_opt(2018, 4, 1)
                .unwrap()
                .and_hms_opt(10, 30, 0)
                .unwrap(),
            zone: Zone::Iana(chrono_tz::Europe::Prague),
        }
    );
    assert_eq!(timed.attendees.len(), 2);
    assert!(
        timed
            .attendees
            .iter()
            .all(|a| a.partstat == Some(PartStat::NeedsAction))
    );
    assert_eq!(timed.organizer.as_ref().unwrap().email, "konqui@kde.test");
    assert_eq!(timed.kind, EventKind::Default);
    assert!(timed.recurrence.is_none());

    let yearly = map_event(&read("libkgapi_event2_allday_yearly_recurring.json"))
        .unwrap()
        .unwrap();
    assert_eq!(yearly.uid, "009c2cc9-0781-482d-8ccd-8fc9bfeb3138");
    assert_eq!(
        yearly.start,
        EventTime::Date(chrono::NaiveDate::from_ymd_opt(2018, 4, 20).unwrap())
    );
    assert_eq!(
        yearly.end,
        Some(EventTime::Date(
            chrono::NaiveDate::from_ymd_opt(2018, 4, 23).unwrap()
        ))
    );
    assert_eq!(
        yearly.recurrence.unwrap().rrules,
        vec!["FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=20".to_string()]
    );
    assert_eq!(yearly.organizer.unwrap().email, "MockAccount");
    assert!(yearly.attendees[0].is_self);

    for page in [
        "libkgapi_events.list_page1.json",
        "libkgapi_events.list_page2.json",
    ] {
        let page = read(page);
        let items = page["items"].as_array().expect("items");
        for item in items {
            assert!(map_event(item).unwrap().is_some(), "every corpus item maps");
        }
    }
}

/// Cost of one poll cycle over 1,000 accounts whose calendars did not change, with
/// 100 ms of latency per request. Run: `cargo test --test it google::thousand -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: about 10 s"]
async fn thousand_accounts_poll_cycle_cost() {
    const ACCOUNTS: usize = 1000;
    const CONCURRENCY: usize = 50;
    let harness = Harness::new().await;
    let mut accounts = Vec::with_capacity(ACCOUNTS);
    for n in 0..ACCOUNTS {
        let user = format!("user{n}@example.test");
        harness.fake.add_user(&user);
        harness
            .fake
            .put_event(&user, &user, weekly_one_on_one(&format!("w{n}")));
        accounts.push(Arc::new(harness.account(&format!("acct{n}"), &user)));
    }
    let store = harness.store.clone();
    let cycle = |accounts: Vec<Arc<GoogleAccount>>, store: Store| async move {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for account in accounts {
            let semaphore = semaphore.clone();
            let store = store.clone();
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore");
                tete::pass::sync::sync_calendars(&account, &store, chrono::Utc::now())
                    .await
                    .expect("sync")
                    .len()
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
    };
    cycle(accounts.clone(), store.clone()).await; // first, full syncs
    harness.fake.set_latency(Duration::from_millis(100));
    harness.fake.clear_requests();
    let start = std::time::Instant::now();
    cycle(accounts.clone(), store.clone()).await;
    let elapsed = start.elapsed();
    let requests = harness.fake.requests().len();
    let ideal = Duration::from_millis(100) * ACCOUNTS.div_ceil(CONCURRENCY) as u32;
    println!(
        "google steady-state cycle: {ACCOUNTS} accounts, concurrency {CONCURRENCY}, {requests} requests, \
         {elapsed:?} (ideal {ideal:?}, ratio {:.2})",
        elapsed.as_secs_f64() / ideal.as_secs_f64()
    );
    assert_eq!(requests, ACCOUNTS, "one request per unchanged calendar");
    assert!(elapsed.as_secs_f64() <= ideal.as_secs_f64() * 1.2);
}

/// A config with one Google account `work` pointed at the fake, and the demo's
/// .ics account, written into `dir`.
fn google_config_in(dir: &std::path::Path, fake: &FakeGoogle) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secret = dir.join("work-client-secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let demo = crate::support::demo_config_in(dir);
    let mut text = std::fs::read_to_string(&demo).unwrap();
    text.push_str(&format!(
        "\n[[accounts]]\nname = \"work\"\nprovider = \"google\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_file = {secret:?}\napi_base_url = \"{}\"\nauth_url = \"{}\"\ntoken_url = \"{}\"\n",
        fake.api_base(),
        fake.auth_url(),
        fake.token_url(),
    ));
    std::fs::write(&demo, text).unwrap();
    demo
}

#[tokio::test]
async fn tete_auth_signs_in_from_a_pasted_address_on_the_terminal() {
    use std::io::BufRead;
    let harness = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = google_config_in(dir.path(), &harness.fake);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tete"))
        .args(["--config", config.to_str().unwrap(), "auth", "work"])
        .env_remove("CREDENTIALS_DIRECTORY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tete runs");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            lines_tx.send(line).ok();
        }
    });
    let prefix = harness.fake.auth_url();
    let mut printed = Vec::new();
    let url = loop {
        match lines_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) if line.trim().starts_with(&prefix) => break line.trim().to_string(),
            Ok(line) => printed.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => tokio::task::yield_now().await,
            Err(error) => panic!("tete printed no address ({error}): {printed:?}"),
        }
    };
    let location = redirect_location(&url).await;
    {
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{location}").unwrap();
    }
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = lines_rx.try_iter().collect();
    let text = rest.join("\n");
    assert!(
        output.status.success(),
        "{text}\n{}",
        crate::support::stderr(&output)
    );
    assert!(text.contains("Signed in with the pasted address"), "{text}");
    assert!(
        text.contains(&format!("reads the calendars of {ALICE}")),
        "{text}"
    );
    assert!(
        !text.contains("1//fake-refresh"),
        "no token on the terminal: {text}"
    );

    // What the pass does next: sync the configured account with the stored tokens.
    harness
        .fake
        .put_event(ALICE, ALICE, weekly_one_on_one("w1"));
    let config = tete::config::load(&config).expect("config loads");
    let account = config.accounts.iter().find(|a| a.name == "work").unwrap();
    let store = Store::open(&config.state_dir, &StoreOptions::default()).unwrap();
    harness.fake.clear_requests();
    let google =
        tete::pass::sync::google_account(account, &store, &client(), None, SyncOptions::default())
            .expect("account builds");
    let reports = tete::pass::sync::sync_calendars(&google, &store, chrono::Utc::now())
        .await
        .expect("account syncs");
    let report = reports.into_iter().next().unwrap().expect("primary syncs");
    assert_eq!(report.upserted, 1);
    assert_eq!(
        harness.fake.requests().len(),
        1,
        "owner known from sign-in, access token reused"
    );
    // The account's token source holds the store open too.
    drop(google);
    drop(store);

    // And the whole pass through the binary: the Google 1:1 is detected (the owner
    // learned at sign-in is one of the two) and both people get a brief, once.
    let mut text = std::fs::read_to_string(&config.source_path).unwrap();
    text = text.replace(
        "allowed_domains = [\"example.com\", \"partner-agency.com\"]",
        "allowed_domains = [\"example.com\", \"partner-agency.com\", \"example.test\"]",
    );
    std::fs::write(&config.source_path, text).unwrap();
    let path = config.source_path.to_str().unwrap().to_string();
    let now = "2026-01-12T12:00";
    let first = tokio::task::spawn_blocking({
        let path = path.clone();
        move || crate::support::tete(&["--config", &path, "run", "--once", "--now", now])
    })
    .await
    .unwrap();
    let shown = crate::support::stdout(&first);
    assert!(
        first.status.success(),
        "{shown}\n{}",
        crate::support::stderr(&first)
    );
    assert!(shown.contains("account work (google)"), "{shown}");
    assert!(shown.contains("Alice / Bob"), "{shown}");
    let briefs = dir.path().join("briefs");
    let to_bob = std::fs::read_dir(&briefs)
        .unwrap()
        .flatten()
        .filter(|f| {
            std::fs::read_to_string(f.path())
                .unwrap_or_default()
                .lines()
                .any(|l| l.starts_with("To:") && l.contains(BOB))
        })
        .count();
    assert_eq!(to_bob, 1, "Bob gets his brief once");
    harness.fake.clear_requests();
    let second = tokio::task::spawn_blocking(move || {
        crate::support::tete(&["--config", &path, "run", "--once", "--now", now])
    })
    .await
    .unwrap();
    assert!(
        second.status.success(),
        "{}",
        crate::support::stderr(&second)
    );
    assert_eq!(
        harness.fake.requests().len(),
        1,
        "a second pass costs one request for the unchanged calendar"
    );

    // The grant is revoked: the account is marked, the other account still works,
    // and the owner gets exactly one notice with the command to run.
    harness.fake.revoke(ALICE);
    let path = config.source_path.to_str().unwrap().to_string();
    for _ in 0..2 {
        let path = path.clone();
        let pass = tokio::task::spawn_blocking(move || {
            crate::support::tete(&["--config", &path, "run", "--once", "--now", now])
        })
        .await
        .unwrap();
        let shown = crate::support::stdout(&pass);
        assert!(pass.status.success(), "{shown}");
        assert!(shown.contains("account work (google): FAILED"), "{shown}");
        assert!(shown.contains("tete auth work"), "{shown}");
        assert!(shown.contains("account demo (ics)"), "{shown}");
    }
    let notices: Vec<String> = std::fs::read_dir(&briefs)
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .filter(|raw| raw.contains("needs you to sign in again"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice, not one per pass");
    assert!(
        notices[0].contains(&format!("To: {ALICE}")),
        "{}",
        notices[0]
    );
    assert!(notices[0].contains("tete auth work"));
}

#[test]
fn tete_auth_names_the_accounts_when_the_account_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::demo_config_in(dir.path());
    let config = config.to_str().unwrap();
    let output = crate::support::tete(&["--config", config, "auth", "nope"]);
    assert_eq!(output.status.code(), Some(78));
    let stderr = crate::support::stderr(&output);
    assert!(
        stderr.contains("no account named 'nope'") && stderr.contains("demo"),
        "{stderr}"
    );
    let output = crate::support::tete(&["--config", config, "auth", "demo"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(crate::support::stderr(&output).contains("needs no sign-in"));
    assert!(crate::support::stdout(&output).is_empty());
}

#[tokio::test]
async fn briefs_go_out_over_smtp_with_xoauth2_through_the_google_account() {
    use crate::mail::{Recorder, start_xoauth2_server};
    let harness = Harness::new().await;
    let (access, refresh) = harness.fake.issue_tokens(ALICE);
    harness
        .tokens("work", None)
        .save_sign_in(
            &GrantedTokens {
                access_token: Secret::new(access.clone()),
                refresh_token: Secret::new(refresh),
                expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
                scopes: vec![CALENDAR_SCOPE.into(), "https://mail.google.com/".into()],
            },
            chrono::Utc::now(),
        )
        .unwrap();
    let recorder = Recorder::default();
    let port = start_xoauth2_server(&recorder, &access);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let text = format!(
        "[mail]\nfrom = \"{ALICE}\"\ntransport = \"smtp\"\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nxoauth2_account = \"work\"\n\
         [[accounts]]\nname = \"work\"\nprovider = \"google\"\nowner = \"{ALICE}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_file = {secret:?}\napi_base_url = \"{}\"\nauth_url = \"{}\"\ntoken_url = \"{}\"\n",
        harness.fake.api_base(),
        harness.fake.auth_url(),
        harness.fake.token_url(),
    );
    let config = tete::config::parse(&text, &dir.path().join("tete.toml")).expect("config");
    let transport = tete::pass::xoauth2::transport(&config, &harness.store, &clients())
        .await
        .expect("an XOAUTH2 transport");
    let raw = format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: hi\r\n\r\nhello\r\n");
    transport
        .send(BOB, raw.as_bytes())
        .await
        .expect("the server accepts the token");
    assert_eq!(
        recorder.logins.lock().unwrap().clone(),
        vec![(ALICE.to_string(), access.clone())],
        "logged in as the account's owner with its access token"
    );
    assert_eq!(recorder.messages().len(), 1);
    drop(transport);

    // A token the server refuses is a permanent failure, not a silent success.
    let refusing = start_xoauth2_server(&recorder, "some-other-token");
    let text = text.replace(&format!("port = {port}"), &format!("port = {refusing}"));
    let config = tete::config::parse(&text, &dir.path().join("tete.toml")).expect("config");
    let transport = tete::pass::xoauth2::transport(&config, &harness.store, &clients())
        .await
        .unwrap();
    let error = transport
        .send(BOB, raw.as_bytes())
        .await
        .expect_err("refused");
    assert!(!error.is_transient(), "{error}");
    assert!(
        !error.to_string().contains(&access),
        "no token in errors: {error}"
    );
}

//! Integration tests: Microsoft 365 through the fake Graph and identity platform.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::json;
use std::time::Duration as StdDuration;

use crate::fake_graph::{
    FakeGraph, attendee, foreign_goid, instance_uid, single, utc, weekly_series,
};
use tete::auth::device::{DeviceTokens, PollClock};
use tete::auth::microsoft::{MicrosoftTokens, device_sign_in};
use tete::config::{AccountConfig, Provider};
use tete::model::{EventStatus, EventTime, Zone};
use tete::sources::SourceError;
use tete::sources::http::{Http, HttpOptions, RetryPolicy};
use tete::sources::microsoft::{MicrosoftAccount, WindowPolicy};
use tete::store::Store;
use tete::store::{CalendarRef, StoreOptions, StoredSecret};

const OWNER: &str = "dana@contoso.com";
const REPORT: &str = "sam@contoso.com";
const MASTER_UID: &str = "040000008200E00074C5B7101A82E00800000000824DDB122F0AD301000000000000000010000000824A8905B038D54AA7735F117B3442ED";

struct Setup {
    fake: FakeGraph,
    store: Store,
    config: AccountConfig,
    _dir: tempfile::TempDir,
}

fn config(fake: &FakeGraph, calendars: &[&str]) -> AccountConfig {
    AccountConfig {
        name: "work".into(),
        provider: Provider::Microsoft,
        owner: None,
        url: None,
        client_id: Some("11111111-2222-3333-4444-555555555555".into()),
        client_secret_file: None,
        calendars: calendars.iter().map(|c| c.to_string()).collect(),
        poll_interval: StdDuration::from_secs(300),
        tenant: None,
        api_base_url: Some(fake.api_base()),
        auth_url: None,
        token_url: Some(fake.token_url()),
        device_authorization_url: Some(fake.device_url()),
        org: None,
    }
}

fn http_options() -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            base: StdDuration::from_millis(10),
            max: StdDuration::from_secs(5),
            attempts: 4,
        },
        requests_per_second: 0.0,
        burst: 10,
        max_body_bytes: 8 * 1024 * 1024,
    }
}

/// A fake mailbox, a store, and an account signed in (without the device flow).
async fn setup(calendars: &[&str]) -> Setup {
    let fake = FakeGraph::start(OWNER).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let config = config(&fake, calendars);
    let (access, refresh) = fake.sign_in();
    let granted: DeviceTokens = serde_json::from_value(json!({
        "access_token": access, "refresh_token": refresh, "expires_in": 3599,
        "scope": "https://graph.microsoft.com/Calendars.Read offline_access"
    }))
    .unwrap();
    tokens(&config, &store)
        .save_sign_in(&granted, Utc::now())
        .unwrap();
    Setup {
        fake,
        store,
        config,
        _dir: dir,
    }
}

fn tokens(config: &AccountConfig, store: &Store) -> MicrosoftTokens {
    MicrosoftTokens::for_account(config, store, None, Http::default_client().unwrap()).unwrap()
}

impl Setup {
    fn account(&self, policy: WindowPolicy) -> MicrosoftAccount {
        MicrosoftAccount::from_config(
            &self.config,
            MicrosoftTokens::for_account(
                &self.config,
                &self.store,
                None,
                Http::default_client().unwrap(),
            )
            .unwrap(),
            Http::default_client().unwrap(),
            http_options(),
            policy,
        )
        .unwrap()
    }

    fn events(&self, calendar: &str) -> Vec<tete::model::Event> {
        let calendar = CalendarRef {
            account: "work".into(),
            calendar: calendar.into(),
        };
        self.store
            .calendar_events(&calendar)
            .unwrap()
            .into_iter()
            .map(|s| s.event)
            .collect()
    }

    fn cursor(&self) -> Option<String> {
        let calendar = CalendarRef {
            account: "work".into(),
            calendar: "primary".into(),
        };
        self.store.cursor(&calendar).unwrap()
    }

    fn stored_refresh_token(&self) -> String {
        match self.store.token("work").unwrap().unwrap().refresh_token {
            StoredSecret::Plain(token) => token,
            StoredSecret::Sealed { .. } => panic!("sealed without a key"),
        }
    }
}

fn next_week() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::days(7)
}

#[tokio::test]
async fn device_sign_in_keeps_polling_while_authorization_is_pending() {
    let fake = FakeGraph::start(OWNER).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    fake.device_behaviour(0, 2, false);
    let mut out = Vec::new();
    let clock = PollClock {
        second: StdDuration::from_millis(10),
    };
    device_sign_in(
        &config(&fake, &[]),
        &store,
        None,
        Http::default_client().unwrap(),
        &mut out,
        clock,
        false,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("https://microsoft.com/devicelogin") && text.contains("FJ5GZ3M8W"),
        "{text}"
    );
    let polls = fake.requests_to("/token");
    assert_eq!(polls.len(), 3, "two pending answers, then the tokens");
    assert!(polls.iter().all(|p| p.method == "POST"
        && p.form.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:device_code")));
    let scope = &fake.requests_to("/devicecode")[0].form["scope"];
    assert!(
        scope.contains("Calendars.Read") && scope.contains("offline_access"),
        "{scope}"
    );
    let record = store.token("work").unwrap().unwrap();
    assert_eq!(record.provider, "microsoft");
}

#[tokio::test]
async fn device_sign_in_slows_down_when_asked() {
    let fake = FakeGraph::start(OWNER).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    fake.device_behaviour(1, 1, false);
    let unit = StdDuration::from_millis(20);
    device_sign_in(
        &config(&fake, &[]),
        &store,
        None,
        Http::default_client().unwrap(),
        &mut Vec::new(),
        PollClock { second: unit },
        false,
    )
    .await
    .unwrap();
    let polls = fake.requests_to("/token");
    assert_eq!(polls.len(), 3);
    // interval 1 + 5 after slow_down, for every later poll.
    assert!(
        polls[1].at - polls[0].at >= unit * 6,
        "{:?}",
        polls[1].at - polls[0].at
    );
    assert!(
        polls[2].at - polls[1].at >= unit * 6,
        "{:?}",
        polls[2].at - polls[1].at
    );
}

#[tokio::test]
async fn a_declined_device_sign_in_says_so_and_stores_nothing() {
    let fake = FakeGraph::start(OWNER).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    fake.device_behaviour(0, 1, true);
    let error = device_sign_in(
        &config(&fake, &[]),
        &store,
        None,
        Http::default_client().unwrap(),
        &mut Vec::new(),
        PollClock {
            second: StdDuration::from_millis(5),
        },
        false,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("declined"), "{error}");
    assert!(store.token("work").unwrap().is_none());
}

#[tokio::test]
async fn first_sync_pages_through_the_round_and_stores_the_delta_link() {
    let s = setup(&[]).await;
    s.fake.cap_pages(10);
    for n in 0..25 {
        s.fake.put(
            "primary",
            single(
                &format!("ev{n:02}"),
                "Lunch",
                next_week() + Duration::hours(n),
                30,
                &[OWNER, REPORT],
            ),
        );
    }
    let report = tete::pass::sync::sync_calendar(
        &s.account(WindowPolicy::default()),
        &s.store,
        "primary",
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(report.full);
    assert_eq!(report.upserted, 25);
    assert_eq!(s.events("primary").len(), 25);
    let pages = s.fake.requests_to("calendarView/delta");
    assert_eq!(pages.len(), 3);
    assert!(
        pages[0].query.contains_key("startDateTime") && pages[0].query.contains_key("endDateTime")
    );
    assert!(
        pages[1].query.contains_key("$skiptoken") && !pages[1].query.contains_key("startDateTime")
    );
    for page in &pages {
        let prefer = page.prefer.as_deref().unwrap_or_default();
        assert!(prefer.contains("outlook.timezone=\"UTC\""), "{prefer}");
        assert!(prefer.contains("IdType=\"ImmutableId\""), "{prefer}");
        assert!(prefer.contains("odata.maxpagesize=100"), "{prefer}");
    }
    assert!(s.cursor().unwrap().contains("$deltatoken="));
}

#[tokio::test]
async fn a_round_broken_off_midway_stores_neither_events_nor_cursor() {
    let s = setup(&[]).await;
    s.fake.cap_pages(10);
    for n in 0..25 {
        s.fake.put(
            "primary",
            single(
                &format!("ev{n:02}"),
                "Lunch",
                next_week() + Duration::hours(n),
                30,
                &[OWNER, REPORT],
            ),
        );
    }
    s.fake.break_paging(true);
    let account = s.account(WindowPolicy::default());
    assert!(
        tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
            .await
            .is_err()
    );
    assert!(
        s.events("primary").is_empty(),
        "a non-2xx answer is never read as no events"
    );
    assert_eq!(s.cursor(), None);
    s.fake.break_paging(false);
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert_eq!(s.events("primary").len(), 25);
}

#[tokio::test]
async fn an_unchanged_poll_costs_exactly_one_request() {
    let s = setup(&[]).await;
    let (master, occurrences) = weekly_series(
        "M1",
        MASTER_UID,
        "Dana / Sam",
        next_week(),
        6,
        &[OWNER, REPORT],
    );
    s.fake.put_master(master);
    for occurrence in occurrences {
        s.fake.put("primary", occurrence);
    }
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let before = s.fake.requests().len();
    let counted = account.requests();
    let calendar = CalendarRef {
        account: "work".into(),
        calendar: "primary".into(),
    };
    let first_cursor = s.cursor().unwrap();
    let index = s.store.cursor_index(&calendar).unwrap().unwrap();
    assert!(index.contains("M1-occ-0"), "{index}");
    assert!(!first_cursor.contains("M1-occ"), "the index is kept apart");
    let report = tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert_eq!(s.fake.requests().len() - before, 1);
    assert_eq!(account.requests() - counted, 1);
    assert!(!report.full);
    assert_eq!(report.items, 0);
    assert_eq!(s.events("primary").len(), 2);
    assert_ne!(s.cursor().unwrap(), first_cursor, "a new delta link");
    assert_eq!(s.store.cursor_index(&calendar).unwrap().unwrap(), index);
}

#[tokio::test]
async fn a_series_is_stored_as_its_master_with_the_series_uid_and_no_occurrences() {
    let s = setup(&[]).await;
    let (master, occurrences) = weekly_series(
        "M1",
        MASTER_UID,
        "Dana / Sam",
        next_week(),
        6,
        &[OWNER, REPORT],
    );
    s.fake.put_master(master);
    for occurrence in occurrences {
        s.fake.put("primary", occurrence);
    }
    tete::pass::sync::sync_calendar(
        &s.account(WindowPolicy::default()),
        &s.store,
        "primary",
        Utc::now(),
    )
    .await
    .unwrap();
    let events = s.events("primary");
    assert_eq!(events.len(), 1, "occurrences come from tete's own engine");
    let master = &events[0];
    assert_eq!(master.id, "M1");
    assert_eq!(master.uid, MASTER_UID);
    let rule = &master.recurrence.as_ref().unwrap().rrules[0];
    assert!(rule.starts_with("FREQ=WEEKLY;BYDAY="), "{rule}");
    assert!(
        master
            .attendees
            .iter()
            .any(|a| a.is_self && a.person.email == OWNER)
    );
    assert_eq!(
        s.fake.requests_to("/me/events/M1").len(),
        1,
        "one master read per round"
    );
}

#[tokio::test]
async fn a_moved_occurrence_becomes_an_override_of_its_series() {
    let s = setup(&[]).await;
    let first = next_week();
    let (master, occurrences) =
        weekly_series("M1", MASTER_UID, "Dana / Sam", first, 6, &[OWNER, REPORT]);
    s.fake.put_master(master);
    for occurrence in &occurrences {
        s.fake.put("primary", occurrence.clone());
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let slot = first + Duration::weeks(2);
    let mut moved = occurrences[2].clone();
    moved["type"] = json!("exception");
    moved["subject"] = json!("Dana / Sam (moved)");
    moved["start"] = utc(slot + Duration::hours(2));
    moved["end"] = utc(slot + Duration::hours(2) + Duration::minutes(30));
    moved["iCalUId"] = json!(instance_uid(MASTER_UID, slot));
    s.fake.put("primary", moved);
    let report = tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert!(!report.full);
    let events = s.events("primary");
    assert_eq!(events.len(), 2);
    let exception = events.iter().find(|e| e.recurrence_id.is_some()).unwrap();
    assert_eq!(
        exception.uid, MASTER_UID,
        "members carry the series UID, not their per-instance iCalUId"
    );
    assert_eq!(exception.recurrence_id, Some(EventTime::utc(slot)));
    assert_eq!(exception.start, EventTime::utc(slot + Duration::hours(2)));
    assert_eq!(exception.summary, "Dana / Sam (moved)");
}

#[tokio::test]
async fn a_cancelled_occurrence_reaches_the_master_as_an_exdate() {
    let s = setup(&[]).await;
    let first = next_week();
    let (mut master, occurrences) =
        weekly_series("M1", MASTER_UID, "Dana / Sam", first, 6, &[OWNER, REPORT]);
    s.fake.put_master(master.clone());
    for occurrence in &occurrences {
        s.fake.put("primary", occurrence.clone());
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let slot = first + Duration::weeks(3);
    s.fake.delete("M1-occ-3");
    master["cancelledOccurrences"] = json!([format!("OID.M1.{}", slot.format("%Y-%m-%d"))]);
    s.fake.put_master(master);
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let events = s.events("primary");
    let stored = events.iter().find(|e| e.id == "M1").unwrap();
    let exdates = &stored.recurrence.as_ref().unwrap().exdates;
    assert_eq!(
        exdates,
        &vec![EventTime::DateTime {
            local: slot.naive_utc(),
            zone: Zone::Utc
        }]
    );
}

#[tokio::test]
async fn an_occurrence_cancelled_by_the_organizer_is_kept_as_a_cancelled_override() {
    let s = setup(&[]).await;
    let (master, occurrences) = weekly_series(
        "M1",
        MASTER_UID,
        "Dana / Sam",
        next_week(),
        4,
        &[OWNER, REPORT],
    );
    s.fake.put_master(master);
    for occurrence in &occurrences {
        s.fake.put("primary", occurrence.clone());
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let mut cancelled = occurrences[1].clone();
    cancelled["isCancelled"] = json!(true);
    s.fake.put("primary", cancelled);
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let events = s.events("primary");
    let stub = events.iter().find(|e| e.id == "M1-occ-1").unwrap();
    assert_eq!(stub.status, EventStatus::Cancelled);
    assert_eq!(stub.uid, MASTER_UID);
    assert!(stub.recurrence_id.is_some());
}

#[tokio::test]
async fn a_third_attendee_added_to_the_series_reaches_the_store() {
    let s = setup(&[]).await;
    let (mut master, occurrences) = weekly_series(
        "M1",
        MASTER_UID,
        "Dana / Sam",
        next_week(),
        4,
        &[OWNER, REPORT],
    );
    s.fake.put_master(master.clone());
    for occurrence in &occurrences {
        s.fake.put("primary", occurrence.clone());
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let third = attendee("lee@contoso.com", "none");
    master["attendees"]
        .as_array_mut()
        .unwrap()
        .push(third.clone());
    s.fake.put_master(master);
    for mut occurrence in occurrences {
        occurrence["attendees"]
            .as_array_mut()
            .unwrap()
            .push(third.clone());
        s.fake.put("primary", occurrence);
    }
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let events = s.events("primary");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].attendees.len(), 3);
}

#[tokio::test]
async fn a_deleted_series_leaves_the_store_with_its_overrides() {
    let s = setup(&[]).await;
    let first = next_week();
    let (master, occurrences) =
        weekly_series("M1", MASTER_UID, "Dana / Sam", first, 4, &[OWNER, REPORT]);
    s.fake.put_master(master);
    let mut moved = occurrences[1].clone();
    moved["type"] = json!("exception");
    moved["start"] = utc(first + Duration::weeks(1) + Duration::hours(1));
    for occurrence in occurrences
        .iter()
        .take(1)
        .chain(std::iter::once(&moved))
        .chain(occurrences.iter().skip(2))
    {
        s.fake.put("primary", occurrence.clone());
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert_eq!(s.events("primary").len(), 2);
    s.fake.delete_master("M1");
    for n in 0..4 {
        s.fake.delete(&format!("M1-occ-{n}"));
    }
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert!(s.events("primary").is_empty());
}

#[tokio::test]
async fn rotated_refresh_token_replaces_the_old_one() {
    let s = setup(&[]).await;
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    let old = s.stored_refresh_token();
    s.fake.expire_access_tokens();
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    let new = s.stored_refresh_token();
    assert_ne!(new, old);
    assert!(
        !s.fake.refresh_token_works(&old),
        "the fake rejects a used refresh token"
    );
    assert!(s.fake.refresh_token_works(&new));
    // An hour later the stored (rotated) token is what keeps the account alive.
    s.fake.expire_access_tokens();
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert_ne!(s.stored_refresh_token(), new);
    assert!(
        s.store
            .account_state("work")
            .unwrap()
            .needs_sign_in
            .is_none()
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_marks_the_account_as_needing_sign_in() {
    let s = setup(&[]).await;
    let old = s.stored_refresh_token();
    s.fake.revoke_refresh_tokens();
    s.fake.expire_access_tokens();
    let error =
        tete::pass::sync::sync_calendars(&s.account(WindowPolicy::default()), &s.store, Utc::now())
            .await
            .unwrap_err();
    assert!(
        matches!(error.source_error(), Some(SourceError::NeedsSignIn { .. })),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("tete auth work") && text.contains("invalid_grant"),
        "{text}"
    );
    assert!(!text.contains(&old));
    let state = s.store.account_state("work").unwrap();
    assert!(state.needs_sign_in.is_some());
    // Later polls do not ask the identity platform again.
    let token_requests = s.fake.requests_to("/token").len();
    assert!(
        tete::pass::sync::sync_calendars(&s.account(WindowPolicy::default()), &s.store, Utc::now())
            .await
            .is_err()
    );
    assert_eq!(s.fake.requests_to("/token").len(), token_requests);
}

#[tokio::test]
async fn smtp_token_is_minted_for_exchange_from_the_rotating_refresh_token() {
    let s = setup(&[]).await;
    let old = s.stored_refresh_token();
    let account = s.account(WindowPolicy::default());
    let token = account.tokens().smtp_token().await.unwrap();
    assert_eq!(
        s.fake.audience_of(token.expose()).as_deref(),
        Some("outlook")
    );
    let request = s.fake.requests_to("/token").pop().unwrap();
    let scope = &request.form["scope"];
    assert!(
        scope.contains("https://outlook.office.com/SMTP.Send") && !scope.contains("graph"),
        "{scope}"
    );
    assert_ne!(s.stored_refresh_token(), old);
    // The Graph token still works after the SMTP redeem rotated the refresh token.
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
}

#[tokio::test]
async fn throttled_requests_wait_for_retry_after() {
    let s = setup(&[]).await;
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    s.fake.throttle(1, 1);
    let started = std::time::Instant::now();
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= StdDuration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        s.fake.requests_to("calendarView/delta").len(),
        3,
        "first round, the 429, the retry"
    );
}

#[tokio::test]
async fn an_expired_delta_state_lists_the_window_again_without_duplicates() {
    let s = setup(&[]).await;
    let (master, occurrences) = weekly_series(
        "M1",
        MASTER_UID,
        "Dana / Sam",
        next_week(),
        4,
        &[OWNER, REPORT],
    );
    s.fake.put_master(master);
    for occurrence in occurrences {
        s.fake.put("primary", occurrence);
    }
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    s.fake.expire_delta_states();
    s.fake.put(
        "primary",
        single(
            "S2",
            "Offsite",
            next_week() + Duration::days(1),
            60,
            &[OWNER, REPORT],
        ),
    );
    s.fake.delete("S1");
    let report = tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert!(report.full);
    let mut ids: Vec<String> = s.events("primary").into_iter().map(|e| e.id).collect();
    ids.sort();
    assert_eq!(ids, vec!["M1".to_string(), "S2".to_string()]);
    // The next poll continues from the new delta link.
    let report = tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert!(!report.full);
}

#[tokio::test]
async fn the_window_rolls_forward_before_it_runs_out() {
    let s = setup(&[]).await;
    let policy = WindowPolicy {
        back: Duration::days(10),
        ahead: Duration::days(40),
        margin: Duration::days(30),
    };
    let now = Utc::now();
    s.fake.put(
        "primary",
        single(
            "NEAR",
            "Soon",
            now + Duration::days(5),
            60,
            &[OWNER, REPORT],
        ),
    );
    s.fake.put(
        "primary",
        single(
            "FAR",
            "Later",
            now + Duration::days(45),
            60,
            &[OWNER, REPORT],
        ),
    );
    let account = s.account(policy);
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", now)
        .await
        .unwrap();
    assert_eq!(s.events("primary").len(), 1);
    // Ten days on, more than 30 days of future are still covered: a plain poll.
    assert!(
        !tete::pass::sync::sync_calendar(&account, &s.store, "primary", now + Duration::days(10))
            .await
            .unwrap()
            .full
    );
    let report =
        tete::pass::sync::sync_calendar(&account, &s.store, "primary", now + Duration::days(13))
            .await
            .unwrap();
    assert!(report.full, "a new window is a new full listing");
    let mut ids: Vec<String> = s.events("primary").into_iter().map(|e| e.id).collect();
    ids.sort();
    assert_eq!(ids, vec!["FAR".to_string(), "NEAR".to_string()]);
    let initial: Vec<_> = s
        .fake
        .requests_to("calendarView/delta")
        .into_iter()
        .filter(|r| r.query.contains_key("startDateTime"))
        .collect();
    assert_eq!(initial.len(), 2);
    assert_ne!(
        initial[0].query["startDateTime"],
        initial[1].query["startDateTime"]
    );
}

#[tokio::test]
async fn a_second_calendar_is_read_through_its_own_view() {
    let s = setup(&["primary", "AAMkCal2="]).await;
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    s.fake.put(
        "AAMkCal2=",
        single("T1", "Team", next_week(), 60, &[OWNER, REPORT]),
    );
    let reports =
        tete::pass::sync::sync_calendars(&s.account(WindowPolicy::default()), &s.store, Utc::now())
            .await
            .unwrap();
    assert!(reports.iter().all(|r| r.is_ok()));
    assert_eq!(s.events("primary").len(), 1);
    let other = s.events("AAMkCal2=");
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].id, "T1");
    assert_eq!(
        s.fake
            .requests_to("/me/calendars/AAMkCal2=/calendarView/delta")
            .len(),
        1
    );
}

#[tokio::test]
async fn the_owner_comes_from_me_once_and_is_remembered() {
    let s = setup(&[]).await;
    let account = s.account(WindowPolicy::default());
    assert_eq!(
        tete::pass::sync::account_owner(&account, &s.store)
            .await
            .unwrap(),
        OWNER
    );
    assert_eq!(
        tete::pass::sync::account_owner(&account, &s.store)
            .await
            .unwrap(),
        OWNER
    );
    assert_eq!(
        s.fake
            .requests_to("/v1.0/me")
            .iter()
            .filter(|r| r.path == "/v1.0/me")
            .count(),
        1
    );
}

/// `$TETE_CORPUS/api-json/graph` (a relative `TETE_CORPUS` is read from the repository root).
fn graph_corpus() -> Option<std::path::PathBuf> {
    let raw = std::env::var_os("TETE_CORPUS").filter(|v| !v.is_empty())?;
    let root = std::path::PathBuf::from(raw);
    let root = if root.is_absolute() {
        root
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(root)
    };
    let nested = root.join("api-json/graph");
    Some(if nested.is_dir() { nested } else { root })
}

fn corpus_events(
    dir: &std::path::Path,
    name: &str,
) -> Vec<tete::sources::microsoft::mapping::GraphEvent> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = match json.get("value").and_then(|v| v.as_array()) {
        Some(items) => items.clone(),
        None => vec![json],
    };
    items
        .into_iter()
        .map(|item| serde_json::from_value(item).unwrap())
        .collect()
}

#[test]
fn graph_corpus_examples_map_without_error() {
    use tete::sources::microsoft::mapping::map_event;
    let Some(dir) = graph_corpus() else {
        eprintln!("TETE_CORPUS is not set: skipping the Graph corpus examples");
        return;
    };
    let mut mapped = 0;
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    names.sort();
    for path in &names {
        let name = path.file_name().unwrap().to_str().unwrap();
        for event in corpus_events(&dir, name) {
            if event.is_removed() {
                continue;
            }
            let result = map_event(&event, None, None);
            let event = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!event.uid.is_empty());
            mapped += 1;
        }
    }
    assert!(mapped >= 10, "only {mapped} events in {}", dir.display());

    // A Windows zone is resolved: 10:00 Pacific (daylight time) is 17:00 UTC.
    let get = &corpus_events(&dir, "event-get.json")[0];
    let event = map_event(get, None, None).unwrap();
    assert_eq!(
        event.start,
        EventTime::utc("2017-04-21T17:00:00Z".parse().unwrap())
    );
    assert_eq!(event.location.as_deref(), Some("Assembly Hall"));
    assert_eq!(
        event.attendees[1].partstat,
        Some(tete::model::PartStat::Tentative)
    );

    // A weekly master keeps its wall-clock time in its recurrence zone (Eastern).
    let master = &corpus_events(&dir, "group-list-events_seriesMaster_weekly_noEnd.json")[0];
    let event = map_event(master, None, None).unwrap();
    assert_eq!(
        event.recurrence.unwrap().rrules,
        vec!["FREQ=WEEKLY;BYDAY=MO,WE,FR;WKST=SU".to_string()]
    );
    let EventTime::DateTime { local, zone } = event.start else {
        panic!("timed")
    };
    assert_eq!(local.to_string(), "2017-08-14 17:00:00");
    assert_eq!(zone, Zone::Iana(chrono_tz::America::New_York));

    // Delta pages: a tombstone is recognised, members point at their master.
    let round2 = corpus_events(&dir, "calendarView-delta_round2_removed.json");
    assert!(round2[0].is_removed() && !round2[1].is_removed());
    let instances = corpus_events(&dir, "event-list-instances_exception_and_occurrences.json");
    let exception = map_event(&instances[0], Some("series"), None).unwrap();
    assert!(exception.recurrence_id.is_some() && exception.uid == "series");
}

#[tokio::test]
async fn tete_auth_signs_a_microsoft_account_in_with_the_device_code() {
    let fake = FakeGraph::start(OWNER).await;
    fake.device_behaviour(0, 1, false);
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::demo_config_in(dir.path());
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[accounts]]\nname = \"office\"\nprovider = \"microsoft\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n\
         api_base_url = \"{}\"\ntoken_url = \"{}\"\ndevice_authorization_url = \"{}\"\n",
        fake.api_base(),
        fake.token_url(),
        fake.device_url(),
    ));
    std::fs::write(&config, text).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tete"))
            .args(["--config", config.to_str().unwrap(), "auth", "office"])
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("TETE_CONFIG")
            .output()
            .expect("tete runs")
    })
    .await
    .unwrap();
    let stdout = crate::support::stdout(&output);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        crate::support::stderr(&output)
    );
    assert!(
        stdout.contains("https://microsoft.com/devicelogin") && stdout.contains("FJ5GZ3M8W"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("reads the calendars of {OWNER}")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("refresh-") && !stdout.contains("access-"),
        "no token on the terminal: {stdout}"
    );
    assert_eq!(fake.requests_to("/token").len(), 2);
}

/// The manager reads their calendar through Google, the report through Microsoft 365;
/// both see the same 1:1 (created in Google Calendar, so Exchange embeds Google's UID
/// in its Global Object ID). One store, one series, both owners.
#[tokio::test]
async fn a_one_on_one_seen_through_google_and_microsoft_is_one_series() {
    use crate::fake_google::{CLIENT_ID, CLIENT_SECRET, FakeGoogle};
    use tete::auth::Secret;
    use tete::auth::google::{AccountTokens, CALENDAR_SCOPE, OAuthClient};
    use tete::auth::loopback::GrantedTokens;
    use tete::sources::google::{GoogleAccount, SyncOptions};

    const MANAGER: &str = "mia@contoso.com";
    const UID: &str = "7kukuqrf2p5bhm4r0vgg5qsq2u@google.com";
    let first = next_week();

    // The manager, on Google.
    let google = FakeGoogle::start().await;
    google.add_user(MANAGER);
    let s = setup(&[]).await; // the report's mailbox on the fake Graph (owner: REPORT below)
    let (access, refresh) = google.issue_tokens(MANAGER);
    let oauth = OAuthClient {
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        auth_url: reqwest::Url::parse(&google.auth_url()).unwrap(),
        token_url: reqwest::Url::parse(&google.token_url()).unwrap(),
    };
    let google_tokens = AccountTokens::new(
        "manager",
        oauth,
        None,
        s.store.clone(),
        Http::default_client().unwrap(),
    );
    google_tokens
        .save_sign_in(
            &GrantedTokens {
                access_token: Secret::new(access),
                refresh_token: Secret::new(refresh),
                expires_at: Utc::now() + Duration::hours(1),
                scopes: vec![CALENDAR_SCOPE.into()],
            },
            Utc::now(),
        )
        .unwrap();
    let google_start = first.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let google_end = (first + Duration::minutes(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    google.put_event(
        MANAGER,
        MANAGER,
        json!({
            "kind": "calendar#event", "id": "7kukuqrf2p5bhm4r0vgg5qsq2u", "status": "confirmed",
            "iCalUID": UID, "summary": "Mia / Sam", "updated": "2026-01-05T10:00:00.000Z", "sequence": 0,
            "organizer": {"email": MANAGER, "self": true},
            "start": {"dateTime": google_start, "timeZone": "UTC"},
            "end": {"dateTime": google_end, "timeZone": "UTC"},
            "recurrence": ["RRULE:FREQ=WEEKLY"],
            "attendees": [
                {"email": MANAGER, "organizer": true, "self": true, "responseStatus": "accepted"},
                {"email": REPORT, "responseStatus": "accepted"}
            ],
            "eventType": "default"
        }),
    );
    let manager = GoogleAccount::new(
        "manager",
        reqwest::Url::parse(&google.api_base()).unwrap(),
        vec!["primary".into()],
        Http::new(Http::default_client().unwrap(), http_options()),
        google_tokens,
        SyncOptions::default(),
    );

    // The report, on Microsoft 365: the same meeting, as Exchange stores an invitation from Google.
    let (mut master, occurrences) = weekly_series(
        "R1",
        &foreign_goid(UID, None),
        "Mia / Sam",
        first,
        4,
        &[MANAGER, REPORT],
    );
    master["organizer"] = json!({"emailAddress": {"name": "Mia", "address": MANAGER}});
    s.fake.put_master(master);
    for mut occurrence in occurrences {
        let at = parse_start(&occurrence);
        occurrence["iCalUId"] = json!(foreign_goid(UID, Some(at)));
        s.fake.put("primary", occurrence);
    }
    let mut report_config = s.config.clone();
    report_config.name = "report".into();
    report_config.owner = Some(REPORT.into());
    let (access, refresh) = s.fake.sign_in();
    let granted: DeviceTokens = serde_json::from_value(
        json!({"access_token": access, "refresh_token": refresh, "expires_in": 3599}),
    )
    .unwrap();
    tokens(&report_config, &s.store)
        .save_sign_in(&granted, Utc::now())
        .unwrap();
    let report = MicrosoftAccount::from_config(
        &report_config,
        MicrosoftTokens::for_account(
            &report_config,
            &s.store,
            None,
            Http::default_client().unwrap(),
        )
        .unwrap(),
        Http::default_client().unwrap(),
        http_options(),
        WindowPolicy::default(),
    )
    .unwrap();

    let now = Utc::now();
    for result in tete::pass::sync::sync_calendars(&manager, &s.store, now)
        .await
        .unwrap()
    {
        result.unwrap();
    }
    for result in tete::pass::sync::sync_calendars(&report, &s.store, now)
        .await
        .unwrap()
    {
        result.unwrap();
    }
    let stored = s.store.all_events().unwrap();
    let owner_of = |account: &str| match account {
        "manager" => Some(MANAGER.to_string()),
        "report" => Some(REPORT.to_string()),
        _ => None,
    };
    let series = tete::core::series::group_by_series(stored.clone(), &owner_of);
    assert_eq!(series.len(), 1, "{series:#?}");
    assert_eq!(series[0].uid, UID);
    assert_eq!(
        series[0].owners,
        vec![MANAGER.to_string(), REPORT.to_string()]
    );
    assert_eq!(
        series[0].accounts,
        vec!["manager".to_string(), "report".to_string()]
    );

    // Through the pass: one 1:1, and exactly one brief each, never two.
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("tete.toml");
    let text = format!(
        "state_dir = \"state\"\n[brief]\nlead_time = \"10d\"\n\
         [mail]\nfrom = \"briefs@contoso.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"briefs\"\n\
         [[accounts]]\nname = \"manager\"\nprovider = \"google\"\nclient_id = \"x\"\nowner = \"{MANAGER}\"\n\
         [[accounts]]\nname = \"report\"\nprovider = \"microsoft\"\nclient_id = \"y\"\nowner = \"{REPORT}\"\n"
    );
    let config = tete::config::parse(&text, &config_path).expect("config parses");
    let owners = std::collections::HashMap::from([
        ("manager".to_string(), MANAGER.to_string()),
        ("report".to_string(), REPORT.to_string()),
    ]);
    let analysis = tete::core::analyze::analyze(
        &config,
        stored,
        &owners,
        now,
        &tete::core::calendar::Limits::timed(std::time::Instant::now),
    );
    let ones: Vec<_> = analysis.one_on_ones().collect();
    assert_eq!(ones.len(), 1, "{:#?}", analysis.series);
    let policy = tete::pass::briefs::policy(&config, &owners);
    let queue =
        tete::pass::briefs::queue_due(&config, &s.store, &analysis, &policy, None, now).unwrap();
    assert_eq!(queue.queued, 2, "one brief each");
    let again =
        tete::pass::briefs::queue_due(&config, &s.store, &analysis, &policy, None, now).unwrap();
    assert_eq!(again.queued, 0, "never two");
    let mut recipients: Vec<String> = s
        .store
        .outbox_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.key.recipient)
        .collect();
    recipients.sort();
    assert_eq!(recipients, vec![MANAGER.to_string(), REPORT.to_string()]);
}

fn parse_start(item: &serde_json::Value) -> DateTime<Utc> {
    let text = item["start"]["dateTime"].as_str().unwrap();
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc()
}

#[tokio::test]
async fn no_more_than_four_requests_are_in_flight_per_mailbox() {
    use tete::sources::microsoft::GraphApi;
    let s = setup(&[]).await;
    s.fake.set_latency(StdDuration::from_millis(250));
    let account = s.account(WindowPolicy::default());
    let url = reqwest::Url::parse(&format!("{}me", s.fake.api_base())).unwrap();
    let graph = account.graph();
    let get = || graph.get_json(&url);
    let started = std::time::Instant::now();
    let results = tokio::join!(get(), get(), get(), get(), get(), get(), get(), get());
    for result in [
        results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
    ] {
        result.unwrap();
    }
    assert_eq!(s.fake.max_in_flight(), 4);
    assert!(
        started.elapsed() >= StdDuration::from_millis(500),
        "eight requests, four at a time"
    );
}

#[tokio::test]
async fn an_unavailable_service_is_retried_after_its_retry_after() {
    let s = setup(&[]).await;
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    s.fake.throttle_with(503, 2, 1);
    let started = std::time::Instant::now();
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= StdDuration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.events("primary").len(), 1);
}

#[tokio::test]
async fn throttling_beyond_what_tete_waits_for_ends_the_sync_as_rate_limited() {
    let s = setup(&[]).await;
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    s.fake.throttle(1, 3600);
    let error =
        tete::pass::sync::sync_calendars(&s.account(WindowPolicy::default()), &s.store, Utc::now())
            .await
            .unwrap_err();
    assert!(
        matches!(error.source_error(), Some(SourceError::RateLimited { .. })),
        "{error}"
    );
    assert!(s.events("primary").is_empty());
    assert_eq!(s.cursor(), None);
}

/// What the store holds after Microsoft syncs expands, through tete's own engine, to
/// the occurrences Outlook shows: moved ones moved, cancelled ones gone.
#[tokio::test]
async fn stored_microsoft_series_expand_to_the_occurrences_outlook_shows() {
    use tete::core::calendar::{Limits, Window, expand};
    let s = setup(&[]).await;
    let first = next_week();
    let (mut master, occurrences) =
        weekly_series("M1", MASTER_UID, "Dana / Sam", first, 6, &[OWNER, REPORT]);
    s.fake.put_master(master.clone());
    for occurrence in &occurrences {
        s.fake.put("primary", occurrence.clone());
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    // Week 1 moves two hours later; week 3 is deleted.
    let moved_slot = first + Duration::weeks(1);
    let mut moved = occurrences[1].clone();
    moved["type"] = json!("exception");
    moved["start"] = utc(moved_slot + Duration::hours(2));
    moved["end"] = utc(moved_slot + Duration::hours(2) + Duration::minutes(30));
    s.fake.put("primary", moved);
    let cancelled_slot = first + Duration::weeks(3);
    s.fake.delete("M1-occ-3");
    master["cancelledOccurrences"] =
        json!([format!("OID.M1.{}", cancelled_slot.format("%Y-%m-%d"))]);
    s.fake.put_master(master);
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();

    let events = s.events("primary");
    let window = Window::instants(
        first - Duration::hours(1),
        first + Duration::weeks(6) - Duration::hours(1),
    );
    let expansion = expand(&events, &window, chrono_tz::UTC, &Limits::default());
    assert!(expansion.warnings.is_empty(), "{:?}", expansion.warnings);
    let starts: Vec<DateTime<Utc>> = expansion.occurrences.iter().map(|o| o.start_utc).collect();
    assert_eq!(
        starts,
        vec![
            first,
            moved_slot + Duration::hours(2),
            first + Duration::weeks(2),
            first + Duration::weeks(4),
            first + Duration::weeks(5),
        ]
    );
    assert!(expansion.occurrences[1].moved);
}

#[tokio::test]
async fn a_sending_account_consents_to_smtp_with_a_second_code() {
    let fake = FakeGraph::start(OWNER).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let config = config(&fake, &[]);
    let mut out = Vec::new();
    let clock = PollClock {
        second: StdDuration::from_millis(5),
    };
    device_sign_in(
        &config,
        &store,
        None,
        Http::default_client().unwrap(),
        &mut out,
        clock,
        true,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("FJ5GZ3M8W").count(), 2, "{text}");
    let scopes: Vec<String> = fake
        .requests_to("/devicecode")
        .iter()
        .map(|r| r.form["scope"].clone())
        .collect();
    assert!(scopes[0].contains("Calendars.Read") && !scopes[0].contains("SMTP.Send"));
    assert!(scopes[1].contains("SMTP.Send") && !scopes[1].contains("graph.microsoft.com"));
    // The stored refresh token serves both resources.
    let tokens = tokens(&config, &store);
    let smtp = tokens.smtp_token().await.unwrap();
    assert_eq!(fake.audience_of(smtp.expose()).as_deref(), Some("outlook"));
    fake.expire_access_tokens();
    let s_account = MicrosoftAccount::from_config(
        &config,
        MicrosoftTokens::for_account(&config, &store, None, Http::default_client().unwrap())
            .unwrap(),
        Http::default_client().unwrap(),
        http_options(),
        WindowPolicy::default(),
    )
    .unwrap();
    tete::pass::sync::sync_calendars(&s_account, &store, Utc::now())
        .await
        .unwrap();
}

#[tokio::test]
async fn tokens_stay_sealed_at_rest_across_rotations() {
    use tete::auth::TokenKey;
    let fake = FakeGraph::start(OWNER).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let config = config(&fake, &[]);
    let key = TokenKey::from_bytes(&[7u8; 32]).unwrap();
    let (access, refresh) = fake.sign_in();
    let granted: DeviceTokens = serde_json::from_value(json!({
        "access_token": access, "refresh_token": refresh, "expires_in": 3599
    }))
    .unwrap();
    let tokens = MicrosoftTokens::for_account(
        &config,
        &store,
        Some(key.clone()),
        Http::default_client().unwrap(),
    )
    .unwrap();
    tokens.save_sign_in(&granted, Utc::now()).unwrap();
    fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    fake.expire_access_tokens();
    let account = MicrosoftAccount::from_config(
        &config,
        MicrosoftTokens::for_account(&config, &store, Some(key), Http::default_client().unwrap())
            .unwrap(),
        Http::default_client().unwrap(),
        http_options(),
        WindowPolicy::default(),
    )
    .unwrap();
    tete::pass::sync::sync_calendars(&account, &store, Utc::now())
        .await
        .unwrap();
    assert!(!fake.refresh_token_works(&refresh), "rotated");
    let record = store.token("work").unwrap().unwrap();
    assert!(matches!(record.refresh_token, StoredSecret::Sealed { .. }));
    assert!(matches!(
        record.access_token,
        Some(StoredSecret::Sealed { .. })
    ));
    let debug = format!("{record:?}");
    assert!(
        !debug.contains("refresh-") && !debug.contains("access-"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_series_whose_master_is_refused_is_skipped_and_the_rest_syncs() {
    let s = setup(&[]).await;
    let (master, occurrences) = weekly_series(
        "M1",
        MASTER_UID,
        "Dana / Sam",
        next_week(),
        3,
        &[OWNER, REPORT],
    );
    s.fake.put_master(master);
    for occurrence in occurrences {
        s.fake.put("primary", occurrence);
    }
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    s.fake.forbid_master("M1");
    let report = tete::pass::sync::sync_calendar(
        &s.account(WindowPolicy::default()),
        &s.store,
        "primary",
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert!(
        report.skipped[0].contains("ErrorAccessDenied"),
        "{:?}",
        report.skipped
    );
    let ids: Vec<String> = s.events("primary").into_iter().map(|e| e.id).collect();
    assert_eq!(ids, vec!["S1".to_string()]);
    assert!(s.cursor().is_some());
}

#[tokio::test]
async fn requests_refused_together_share_one_refresh() {
    use tete::sources::microsoft::GraphApi;
    let s = setup(&[]).await;
    s.fake.set_latency(StdDuration::from_millis(20));
    let account = s.account(WindowPolicy::default());
    let url = reqwest::Url::parse(&format!("{}me", s.fake.api_base())).unwrap();
    let graph = account.graph();
    graph.get_json(&url).await.unwrap();
    s.fake.expire_access_tokens();
    let get = || graph.get_json(&url);
    let results = tokio::join!(get(), get(), get(), get());
    for result in [results.0, results.1, results.2, results.3] {
        result.unwrap();
    }
    let redeems = s
        .fake
        .requests_to("/token")
        .into_iter()
        .filter(|r| r.form.get("grant_type").map(String::as_str) == Some("refresh_token"))
        .count();
    assert_eq!(redeems, 1, "one rotation, not four");
    assert!(
        s.store
            .account_state("work")
            .unwrap()
            .needs_sign_in
            .is_none()
    );
}

#[tokio::test]
async fn series_masters_are_read_four_at_a_time() {
    let s = setup(&[]).await;
    for n in 0..8 {
        let (master, occurrences) = weekly_series(
            &format!("M{n}"),
            &format!("uid-{n}@example.test"),
            "Series",
            next_week() + Duration::hours(n),
            2,
            &[OWNER, REPORT],
        );
        s.fake.put_master(master);
        for occurrence in occurrences {
            s.fake.put("primary", occurrence);
        }
    }
    let account = s.account(WindowPolicy::default());
    tete::pass::sync::account_owner(&account, &s.store)
        .await
        .unwrap();
    s.fake.set_latency(StdDuration::from_millis(250));
    tete::pass::sync::sync_calendar(&account, &s.store, "primary", Utc::now())
        .await
        .unwrap();
    assert_eq!(s.fake.requests_to("/me/events/").len(), 8);
    assert_eq!(s.fake.max_in_flight(), 4);
    assert_eq!(s.events("primary").len(), 8);
}

#[tokio::test]
async fn a_confidential_client_sends_its_client_secret_on_every_token_request() {
    let mut s = setup(&[]).await;
    s.fake.put(
        "primary",
        single("S1", "Dentist", next_week(), 60, &[OWNER, REPORT]),
    );
    s.fake.require_client_secret("web-app-secret");
    s.fake.expire_access_tokens();
    // Without the secret configured, the identity platform refuses the refresh.
    let refused = tete::pass::sync::sync_calendar(
        &s.account(WindowPolicy::default()),
        &s.store,
        "primary",
        Utc::now(),
    )
    .await;
    assert!(refused.is_err(), "a public-client refresh is refused");

    let secret = s._dir.path().join("client-secret");
    std::fs::write(&secret, "web-app-secret\n").unwrap();
    s.config.client_secret_file = Some(secret);
    let (access, refresh) = s.fake.sign_in();
    let granted: DeviceTokens = serde_json::from_value(json!({
        "access_token": access, "refresh_token": refresh, "expires_in": 3599,
        "scope": "https://graph.microsoft.com/Calendars.Read offline_access"
    }))
    .unwrap();
    tokens(&s.config, &s.store)
        .save_sign_in(&granted, Utc::now())
        .unwrap();
    s.fake.expire_access_tokens();
    tete::pass::sync::sync_calendar(
        &s.account(WindowPolicy::default()),
        &s.store,
        "primary",
        Utc::now(),
    )
    .await
    .expect("the refresh carries the secret");
    let refreshes: Vec<_> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.path == "/token"
                && r.form.get("grant_type").map(String::as_str) == Some("refresh_token")
        })
        .collect();
    assert!(
        refreshes.last().is_some_and(
            |r| r.form.get("client_secret").map(String::as_str) == Some("web-app-secret")
        ),
        "{refreshes:?}"
    );
    assert_eq!(s.events("primary").len(), 1);
}

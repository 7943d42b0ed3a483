//! Fault injection: an SMTP server that is away for a while, a Google API that fails a
//! fraction of its requests, a dead token endpoint, and a full disk under the state dir.

use std::time::Duration;

use serde_json::{Value, json};
use tete::auth::Secret;
use tete::auth::google::{AccountTokens, CALENDAR_SCOPE, OAuthClient};
use tete::auth::loopback::GrantedTokens;
use tete::sources::SourceError;
use tete::sources::google::{GoogleAccount, SyncOptions};
use tete::sources::http::{Http, HttpOptions, RetryPolicy};
use tete::store::{CalendarRef, Store, StoreOptions};
use url::Url;

use crate::crash::{SlowServer, many_series_ics, smtp_config_in};
use crate::fake_google::{CLIENT_ID, CLIENT_SECRET, FakeGoogle, Injected};
use crate::support::{stderr, stdout, tete};

/// A loopback port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The "mail:" line of a pass's summary.
fn mail_line(output: &std::process::Output) -> String {
    stdout(output)
        .lines()
        .find(|l| l.trim_start().starts_with("mail:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn smtp_away_for_minutes_then_back_every_brief_still_arrives_before_its_meeting() {
    let dir = tempfile::tempdir().unwrap();
    let ics = dir.path().join("cal.ics");
    std::fs::write(&ics, many_series_ics(3)).unwrap();
    let port = free_port();
    let config = smtp_config_in(dir.path(), &ics, port);
    let config = config.to_str().unwrap();
    // Meetings Monday 4 Jan 2027 10:00 UTC; briefs due from Sunday 16:00.
    let pass = |now: &str| {
        let out = tete(&["--config", config, "run", "--once", "--now", now]);
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        mail_line(&out)
    };
    // Nothing listens: all six fail and are scheduled ~1 minute later.
    let first = pass("2027-01-03T18:00:00");
    assert!(first.contains("6 to retry"), "{first}");
    // Before the retry time: not attempted again (the backoff holds).
    let early = pass("2027-01-03T18:00:30");
    assert!(
        !early.contains("to retry") || early.contains(" 0 to retry"),
        "{early}"
    );
    // After ~1 minute: second attempt, next after ~2 minutes.
    let second = pass("2027-01-03T18:01:05");
    assert!(second.contains("6 to retry"), "{second}");
    let between = pass("2027-01-03T18:02:00");
    assert!(!between.contains("6 to retry"), "{between}");
    let third = pass("2027-01-03T18:03:10");
    assert!(third.contains("6 to retry"), "{third}");

    // The server comes back on the same port.
    let server = SlowServer::new(Duration::ZERO);
    server.start_on(port);
    // At the next retry time (≤ 4 minutes after the third attempt) all go through.
    let back = pass("2027-01-03T18:07:30");
    assert!(back.contains("6 sent"), "{back}");
    assert_eq!(server.count(), 6);
    let later = pass("2027-01-04T09:59:00");
    assert!(
        !later.contains("sent via") || later.contains(" 0 sent"),
        "{later}"
    );
    assert_eq!(server.count(), 6, "none twice");
}

fn fast_http() -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            base: Duration::from_millis(20),
            max: Duration::from_secs(2),
            attempts: 4,
        },
        requests_per_second: 0.0,
        burst: 1,
        max_body_bytes: 4 * 1024 * 1024,
    }
}

fn oauth(fake: &FakeGoogle, token_url: &str) -> OAuthClient {
    OAuthClient {
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        auth_url: Url::parse(&fake.auth_url()).unwrap(),
        token_url: Url::parse(token_url).unwrap(),
    }
}

/// An account signed in as `user` whose access token lives `lifetime`.
fn account(
    fake: &FakeGoogle,
    store: &Store,
    name: &str,
    user: &str,
    token_url: &str,
    lifetime: chrono::Duration,
) -> GoogleAccount {
    let (access, refresh) = fake.issue_tokens(user);
    let client = Http::default_client().unwrap();
    let tokens = AccountTokens::new(
        name,
        oauth(fake, token_url),
        None,
        store.clone(),
        client.clone(),
    );
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
        .unwrap();
    GoogleAccount::new(
        name,
        Url::parse(&fake.api_base()).unwrap(),
        vec!["primary".into()],
        Http::new(client, fast_http()),
        tokens,
        SyncOptions::default(),
    )
}

fn weekly(id: &str, user: &str, other: &str) -> Value {
    json!({
        "kind": "calendar#event", "id": id, "status": "confirmed",
        "iCalUID": format!("{id}@example.test"),
        "summary": format!("1:1 {id}"),
        "updated": "2026-01-05T10:00:00.000Z", "sequence": 0,
        "organizer": {"email": user, "self": true},
        "start": {"dateTime": "2026-01-06T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-01-06T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU"],
        "attendees": [
            {"email": user, "organizer": true, "self": true, "responseStatus": "accepted"},
            {"email": other, "responseStatus": "accepted"}
        ],
        "eventType": "default"
    })
}

fn stored_ids(store: &Store, account: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .calendar_events(&CalendarRef {
            account: account.into(),
            calendar: "primary".into(),
        })
        .unwrap()
        .into_iter()
        .map(|s| s.event.id)
        .collect();
    ids.sort();
    ids
}

fn injected(status: u16) -> Injected {
    match status {
        429 => Injected {
            status,
            reason: "rateLimitExceeded",
            retry_after: Some(0),
        },
        _ => Injected {
            status,
            reason: "backendError",
            retry_after: None,
        },
    }
}

#[tokio::test]
async fn google_failing_a_fraction_of_requests_over_many_passes_loses_no_series() {
    const ALICE: &str = "alice@example.test";
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let fake = FakeGoogle::start().await;
    fake.add_user(ALICE);
    let work = account(
        &fake,
        &store,
        "work",
        ALICE,
        &fake.token_url(),
        chrono::Duration::hours(1),
    );
    let mut expected = Vec::new();
    let (mut failed_passes, mut retried) = (0, 0);
    for pass in 0..40 {
        if pass % 4 == 0 {
            let id = format!("s{pass:02}");
            fake.put_event(
                ALICE,
                ALICE,
                weekly(&id, ALICE, &format!("p{pass}@example.test")),
            );
            expected.push(id);
        }
        // A fraction of requests fail: one 500, 503 or 429 on most passes (retried
        // within the pass), and on every seventh pass more than the retry budget.
        let failures: Vec<Injected> = match pass % 7 {
            0 => vec![injected(503); 5],
            1 | 4 => vec![injected(500)],
            2 => vec![injected(429), injected(503)],
            5 => vec![injected(429)],
            _ => Vec::new(),
        };
        retried += failures.len().min(3);
        fake.fail_next(failures);
        let reports = tete::pass::sync::sync_calendars(&work, &store, chrono::Utc::now())
            .await
            .expect("the account syncs or reports");
        for report in reports {
            if let Err(error) = report {
                assert!(
                    matches!(
                        error.source_error(),
                        Some(SourceError::Transient { .. } | SourceError::RateLimited { .. })
                    ),
                    "{error}"
                );
                failed_passes += 1;
            }
        }
        // Whatever failed, nothing already stored is lost.
        let stored = stored_ids(&store, "work");
        let known: Vec<&String> = expected
            .iter()
            .take(if pass % 7 == 0 {
                expected.len() - 1
            } else {
                expected.len()
            })
            .collect();
        for id in known {
            assert!(
                stored.contains(id),
                "pass {pass}: {id} missing from {stored:?}"
            );
        }
    }
    fake.fail_next(Vec::new());
    tete::pass::sync::sync_calendars(&work, &store, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(stored_ids(&store, "work"), expected);
    assert!(failed_passes >= 5, "{failed_passes}");
    assert!(retried > 20);
    // Backoff is visible: within a failed pass, the gaps between attempts grow.
    let lists: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is_events_list())
        .collect();
    let mut grew = 0;
    for window in lists.windows(4) {
        let gaps: Vec<Duration> = window.windows(2).map(|w| w[1].at - w[0].at).collect();
        if gaps[0] >= Duration::from_millis(10) && gaps[1] > gaps[0] && gaps[2] > gaps[1] {
            grew += 1;
        }
    }
    assert!(
        grew >= 1,
        "no growing retry gaps in {} requests",
        lists.len()
    );
}

#[tokio::test]
async fn dead_token_endpoint_fails_that_account_only() {
    const ALICE: &str = "alice@example.test";
    const BOB: &str = "bob@example.test";
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    let fake = FakeGoogle::start().await;
    fake.add_user(ALICE);
    fake.add_user(BOB);
    fake.put_event(ALICE, ALICE, weekly("a1", ALICE, "x@example.test"));
    fake.put_event(BOB, BOB, weekly("b1", BOB, "y@example.test"));
    let dead = format!("http://127.0.0.1:{}/token", free_port());
    // Alice's access token has expired and her token endpoint is dead.
    let alice = account(
        &fake,
        &store,
        "alice",
        ALICE,
        &dead,
        chrono::Duration::seconds(-60),
    );
    let bob = account(
        &fake,
        &store,
        "bob",
        BOB,
        &fake.token_url(),
        chrono::Duration::hours(1),
    );
    let started = std::time::Instant::now();
    let alice_result = tete::pass::sync::sync_calendars(&alice, &store, chrono::Utc::now()).await;
    let failed = match &alice_result {
        Err(_) => true,
        Ok(reports) => reports.iter().all(Result::is_err),
    };
    assert!(failed, "{alice_result:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let bob_reports = tete::pass::sync::sync_calendars(&bob, &store, chrono::Utc::now())
        .await
        .expect("bob syncs");
    assert!(bob_reports.iter().all(Result::is_ok), "{bob_reports:?}");
    assert_eq!(stored_ids(&store, "bob"), ["b1"]);
    assert!(stored_ids(&store, "alice").is_empty());
}

/// Mounts a small tmpfs (needs root and mount rights; CI runs as root). `None` with the
/// reason printed when it cannot.
fn small_tmpfs(size: &str) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("full");
    std::fs::create_dir(&mount).unwrap();
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&mount)
        .output();
    match out {
        Ok(out) if out.status.success() => Some((dir, mount)),
        Ok(out) => {
            eprintln!(
                "skipped: cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        Err(error) => {
            eprintln!("skipped: cannot run mount: {error}");
            None
        }
    }
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_under_the_state_dir_fails_clearly_corrupts_nothing_and_recovers() {
    let Some((dir, mount)) = small_tmpfs("8m") else {
        return;
    };
    let _unmount = Unmount(mount.clone());
    let ics = dir.path().join("cal.ics");
    std::fs::write(&ics, many_series_ics(40)).unwrap();
    let out_dir = dir.path().join("out");
    let config = dir.path().join("tete.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = {:?}\ntimezone = \"UTC\"\n[brief]\nlead_time = \"18h\"\n[mail]\n\
             from = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = {:?}\n\
             [[accounts]]\nname = \"cal\"\nprovider = \"ics\"\nurl = {:?}\nowner = \"owner@example.com\"\n",
            mount.join("state").display().to_string(),
            out_dir.display().to_string(),
            ics.display().to_string()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    // A first pass with nothing due creates the store.
    let first = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-02T12:00",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    // Fill the disk.
    let filler = mount.join("filler");
    let mut chunk = 0;
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() && file.sync_all().is_ok() {
            chunk += 1;
        }
    }
    assert!(chunk > 0);
    // 80 briefs due: the pass fails with a clear message, exits with an error status
    // rather than panicking, and sends nothing it cannot record.
    let full = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-03T18:00",
    ]);
    let message = stderr(&full);
    assert!(!full.status.success(), "{}", stdout(&full));
    assert!(!message.contains("panicked"), "{message}");
    assert!(
        message.contains("No space left") && !message.contains("is the daemon running"),
        "unclear error: {message}"
    );
    let sent_while_full = std::fs::read_dir(&out_dir).map(|d| d.count()).unwrap_or(0);
    // Space returns: the store opens (nothing corrupted) and every brief goes out, once.
    std::fs::remove_file(&filler).unwrap();
    let after = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-03T18:05",
    ]);
    assert!(
        after.status.success(),
        "{}\n{}",
        stdout(&after),
        stderr(&after)
    );
    let again = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-03T18:10",
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    let files = std::fs::read_dir(&out_dir).unwrap().count();
    assert_eq!(
        files,
        80,
        "{sent_while_full} written while full; {}",
        stdout(&after)
    );
    eprintln!("disk full: {}", message.lines().last().unwrap_or_default());
}

//! Integration tests: mail. Briefs are planned, rendered, queued in a real store and
//! delivered to a real SMTP server running in-process on loopback (mailin-embedded, or
//! mailin's session machine directly where plaintext AUTH is needed), then read back
//! and parsed as MIME.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use mailin::{AuthMechanism, Handler, Response, response};

use tete::config::{SmtpConfig, SmtpSecurity};
use tete::core::brief::{self, BriefInput, ItemView};
use tete::core::plan::{self, BriefPolicy, DueBrief, Ledger, PlannedSeries};
use tete::mail::{
    self, FileTransport, OutboxState, SmtpAuth, SmtpTransport, Transport, message_id, queue_brief,
};
use tete::model::{EventStatus, EventTime, Occurrence, Person, SeriesId};
use tete::store::{Store, StoreOptions};

const FROM: &str = "1:1 briefs <briefs@example.com>";

// ---------------------------------------------------------------------------------
// The SMTP server
// ---------------------------------------------------------------------------------

/// One message as the server received it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Received {
    envelope_from: String,
    pub(crate) envelope_to: Vec<String>,
    pub(crate) data: Vec<u8>,
}

/// A mailin handler that records every message; cloned per connection, sharing `inbox`.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    inbox: Arc<Mutex<Vec<Received>>>,
    pub(crate) logins: Arc<Mutex<Vec<(String, String)>>>,
    /// RCPT TO of this address is refused with 550.
    reject: Option<String>,
    /// RCPT TO of this address is deferred with 451.
    defer: Option<String>,
    /// AUTH PLAIN accepts only this user and password.
    credentials: Option<(String, String)>,
    /// Connections accepted, and QUIT commands received (plain sessions).
    pub(crate) connections: Arc<std::sync::atomic::AtomicUsize>,
    pub(crate) quits: Arc<std::sync::atomic::AtomicUsize>,
    current: Received,
}

impl Recorder {
    /// A recorder whose server accepts AUTH PLAIN for `user` and `password` only.
    pub(crate) fn with_credentials(user: &str, password: &str) -> Self {
        Recorder {
            credentials: Some((user.into(), password.into())),
            ..Recorder::default()
        }
    }

    pub(crate) fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        if self.reject.as_deref() == Some(to) {
            response::NO_MAILBOX
        } else if self.defer.as_deref() == Some(to) {
            response::INTERNAL_ERROR
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Received {
            envelope_from: from.to_string(),
            envelope_to: to.to_vec(),
            data: Vec::new(),
        };
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.inbox
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.current));
        response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.logins
            .lock()
            .unwrap()
            .push((user.to_string(), password.to_string()));
        match &self.credentials {
            Some((u, p)) if u == user && p == password => response::AUTH_OK,
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

/// Serves SMTP on `listener` in background threads, one per connection, with mailin's
/// session machine (a real SMTP server implementation; `auth` offers AUTH PLAIN without
/// TLS, which only a loopback test may do). Runs until the test binary exits.
fn serve(recorder: &Recorder, listener: TcpListener, auth: bool) {
    let recorder = recorder.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let recorder = recorder.clone();
            std::thread::spawn(move || session(stream, recorder, auth));
        }
    });
}

/// A server on a free loopback port; returns the port.
pub(crate) fn start_server(recorder: &Recorder) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    serve(recorder, listener, false);
    port
}

/// A server that also offers AUTH XOAUTH2 (RFC-less but documented by Google and
/// Microsoft: `user=<mailbox>\x01auth=Bearer <token>\x01\x01`, base64). mailin has no
/// XOAUTH2, so this session answers EHLO with the mechanism added and checks the
/// AUTH line itself (recording `(user, token)` in `logins`), and hands everything
/// else to mailin. Only `token` is accepted. Loopback only, for tests.
pub(crate) fn start_xoauth2_server(recorder: &Recorder, token: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let recorder = recorder.clone();
    let token = token.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (recorder, token) = (recorder.clone(), token.clone());
            std::thread::spawn(move || xoauth2_session(stream, recorder, &token));
        }
    });
    port
}

fn xoauth2_session(stream: TcpStream, recorder: Recorder, token: &str) -> std::io::Result<()> {
    use base64::Engine;
    let logins = recorder.logins.clone();
    let builder = mailin::SessionBuilder::new("xoauth2.localhost");
    let peer = stream.peer_addr()?.ip();
    let mut session = builder.build(peer, recorder);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = text.to_ascii_uppercase();
        if let Some(encoded) = upper.strip_prefix("AUTH XOAUTH2 ").map(|_| &text[13..]) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            let mut parts = decoded.split('\x01');
            let user = parts
                .next()
                .unwrap_or("")
                .trim_start_matches("user=")
                .to_string();
            let bearer = parts
                .next()
                .unwrap_or("")
                .trim_start_matches("auth=Bearer ")
                .to_string();
            let ok = bearer == token;
            logins.lock().unwrap().push((user, bearer));
            let answer: &[u8] = if ok {
                b"235 2.7.0 Accepted\r\n"
            } else {
                b"535 5.7.8 Username and Password not accepted\r\n"
            };
            writer.write_all(answer)?;
            writer.flush()?;
            continue;
        }
        let reply = session.process(&line);
        let mut bytes = Vec::new();
        reply.write_to(&mut bytes)?;
        if upper.starts_with("EHLO") {
            // Advertise XOAUTH2 as the second line of the EHLO answer.
            let answer = String::from_utf8_lossy(&bytes).into_owned();
            let (first, rest) = answer.split_once("\r\n").unwrap_or((&answer, ""));
            let first = first.replacen("250 ", "250-", 1);
            let rest = if rest.is_empty() {
                "250 8BITMIME\r\n"
            } else {
                rest
            };
            bytes = format!("{first}\r\n250-AUTH XOAUTH2\r\n{rest}").into_bytes();
        }
        match reply.action {
            mailin::Action::Reply => writer.write_all(&bytes)?,
            mailin::Action::Close | mailin::Action::UpgradeTls => {
                writer.write_all(&bytes)?;
                return Ok(());
            }
            mailin::Action::NoReply => {}
        }
        writer.flush()?;
    }
}

/// A server that offers AUTH PLAIN without TLS (loopback only, for tests).
pub(crate) fn start_auth_server(recorder: &Recorder) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    serve(recorder, listener, true);
    port
}

fn session(stream: TcpStream, recorder: Recorder, auth: bool) -> std::io::Result<()> {
    let mut builder = mailin::SessionBuilder::new("test.localhost");
    if auth {
        builder
            .enable_auth(AuthMechanism::Plain)
            .insecure_enable_plaintext_auth();
    }
    let peer = stream.peer_addr()?.ip();
    use std::sync::atomic::Ordering::SeqCst;
    recorder.connections.fetch_add(1, SeqCst);
    let quits = recorder.quits.clone();
    let mut session = builder.build(peer, recorder);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.eq_ignore_ascii_case(b"QUIT\r\n") {
            quits.fetch_add(1, SeqCst);
        }
        let reply = session.process(&line);
        match reply.action {
            mailin::Action::Reply => reply.write_to(&mut writer)?,
            mailin::Action::Close | mailin::Action::UpgradeTls => {
                reply.write_to(&mut writer)?;
                return Ok(());
            }
            mailin::Action::NoReply => {}
        }
        writer.flush()?;
    }
}

/// A loopback port nothing listens on (yet).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password_file: None,
        xoauth2_account: None,
    }
}

// ---------------------------------------------------------------------------------
// Fixtures: one weekly 1:1, planned and rendered for both people
// ---------------------------------------------------------------------------------

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn alex() -> Person {
    Person {
        email: "alex@example.com".into(),
        name: Some("Alex Roe".into()),
    }
}

fn dana() -> Person {
    Person {
        email: "dana@example.com".into(),
        name: Some("Dana Kim".into()),
    }
}

/// The meeting: Tuesday 1 December 2026, 10:00 Berlin.
fn meeting_start() -> DateTime<Utc> {
    at("2026-12-01T09:00:00Z")
}

/// Planning happens the afternoon before.
fn now() -> DateTime<Utc> {
    at("2026-11-30T16:00:00Z")
}

fn due_briefs() -> Vec<DueBrief> {
    let start = meeting_start();
    let end = start + TimeDelta::minutes(30);
    let occurrence = Occurrence {
        uid: "weekly-alex-dana@example.com".into(),
        recurrence_id: Some(EventTime::utc(start)),
        start: EventTime::utc(start),
        end: EventTime::utc(end),
        start_utc: start,
        end_utc: end,
        summary: "Alex / Dana weekly".into(),
        description: Default::default(),
        location: Some("Room 4.12".into()),
        status: EventStatus::Confirmed,
        attendees: Default::default(),
        organizer: None,
        is_override: false,
        moved: false,
    };
    let series = [PlannedSeries {
        series: SeriesId::from_uid(&occurrence.uid),
        participants: [alex(), dana()],
        owner: "alex@example.com".into(),
        occurrences: vec![occurrence],
    }];
    let plan = plan::plan(&series, now(), &policy(), &Ledger::empty());
    assert_eq!(plan.due.len(), 2, "{plan:?}");
    plan.due
}

fn policy() -> BriefPolicy {
    BriefPolicy {
        lead_time: TimeDelta::hours(18),
        send_at: None,
        default_zone: chrono_tz::Europe::Berlin,
        zones: HashMap::new(),
        allowed_domains: vec!["example.com".into()],
        opt_out: Vec::new(),
        digests: Default::default(),
        default_digest: None,
        chart: Default::default(),
        names: Default::default(),
    }
}

fn item(id: &str, text: &str) -> ItemView {
    ItemView {
        id: id.into(),
        text: text.into(),
        carried: None,
    }
}

/// The brief of one due entry: each person's items first, their own private note.
fn input_for(due: &DueBrief) -> BriefInput {
    let alex_items = vec![item("a1b2", "Send the Q3 numbers")];
    let dana_items = vec![item("c3d4", "Book the offsite room")];
    let is_alex = due.recipient.email == "alex@example.com";
    let (mine, theirs) = if is_alex {
        (alex_items, dana_items)
    } else {
        (dana_items, alex_items)
    };
    let mut input = tete::core::brief::base_input(
        due,
        &policy(),
        "Reply \"unsubscribe\" to stop these briefs.",
    );
    input.recipient_zone = chrono_tz::Europe::Berlin;
    input.items_mine = mine;
    input.items_theirs = theirs;
    input.talking_points = vec!["Promotion timeline".into()];
    input.private_notes = vec![if is_alex {
        "ALEX-PRIVATE: ask about the conference talk".into()
    } else {
        "DANA-PRIVATE: mention the new role".into()
    }];
    input
}

/// Plans, renders and queues both briefs; returns them.
fn queue_both(store: &Store) -> Vec<DueBrief> {
    let due = due_briefs();
    for brief in &due {
        let rendered = brief::render(&input_for(brief)).unwrap();
        let queued = queue_brief(
            store,
            FROM,
            &rendered,
            &brief.recipient,
            &brief.key,
            brief.occurrence.start_utc,
            now(),
        )
        .unwrap();
        assert!(queued, "{}", brief.key);
    }
    due
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    (dir, store)
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn both_participants_get_exactly_their_own_brief_over_smtp() {
    let recorder = Recorder::default();
    let port = start_server(&recorder);
    let (_dir, store) = temp_store();
    let due = queue_both(&store);
    let transport = SmtpTransport::from_config(&smtp_config(port), FROM).unwrap();

    let report = mail::drain(&store, &transport, now()).await.unwrap();
    assert_eq!(
        (report.sent, report.retried, report.dead, report.expired),
        (2, 0, 0, 0)
    );
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(
        recorder.connections.load(SeqCst),
        1,
        "one connection for the drain"
    );
    assert_eq!(recorder.quits.load(SeqCst), 1, "ended with QUIT");

    let received = recorder.messages();
    assert_eq!(received.len(), 2);
    for brief in &due {
        let mine: Vec<&Received> = received
            .iter()
            .filter(|r| r.envelope_to == [brief.recipient.email.clone()])
            .collect();
        assert_eq!(mine.len(), 1, "one message for {}", brief.recipient.email);
        let raw = &mine[0].data;
        assert_eq!(mine[0].envelope_from, "briefs@example.com");
        let message = MessageParser::default().parse(raw).unwrap();

        let to: Vec<&str> = message
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        assert_eq!(to, [brief.recipient.email.as_str()]);
        assert!(message.cc().is_none() && message.bcc().is_none());
        let expected_id = message_id(&brief.key, "example.com");
        assert_eq!(
            format!("<{}>", message.message_id().unwrap()),
            expected_id,
            "deterministic Message-ID"
        );
        assert_eq!(
            message.subject().unwrap(),
            format!(
                "1:1 with {} \u{2014} Tue 1 Dec, 10:00",
                brief.other.display_name()
            )
        );
        assert_eq!(
            message.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert!(
            message
                .header_raw("List-Unsubscribe")
                .unwrap()
                .contains("mailto:briefs@example.com")
        );

        // multipart/alternative: text/plain first, text/html last.
        let root = message.root_part().content_type().unwrap();
        assert_eq!(
            (root.ctype(), root.subtype()),
            ("multipart", Some("alternative"))
        );
        let kinds: Vec<(String, String)> = message.parts[1..]
            .iter()
            .map(|p| {
                let ct = p.content_type().unwrap();
                (
                    ct.ctype().to_string(),
                    ct.subtype().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("text".into(), "plain".into()),
                ("text".into(), "html".into())
            ]
        );

        let text = message.body_text(0).unwrap();
        let html = message.body_html(0).unwrap();
        let (own, other_item) = if brief.recipient.email == "alex@example.com" {
            ("Send the Q3 numbers", "Book the offsite room")
        } else {
            ("Book the offsite room", "Send the Q3 numbers")
        };
        let own_at = text.find(own).unwrap();
        let theirs_at = text.find(other_item).unwrap();
        assert!(
            text.find("YOUR OPEN ITEMS").unwrap() < own_at && own_at < theirs_at,
            "{text}"
        );
        assert!(html.contains(own) && html.contains(other_item));

        // Private notes never reach the other person.
        let (visible, hidden) = if brief.recipient.email == "alex@example.com" {
            ("ALEX-PRIVATE", "DANA-PRIVATE")
        } else {
            ("DANA-PRIVATE", "ALEX-PRIVATE")
        };
        assert!(text.contains(visible));
        assert!(!String::from_utf8_lossy(raw).contains(hidden));
        assert!(!text.contains(hidden) && !html.contains(hidden));
        assert!(store.is_sent(&brief.key).unwrap());
    }

    // Nothing is sent twice, and the same briefs cannot be queued again.
    let again = mail::drain(&store, &transport, now() + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(
        (again.sent, again.retried, again.dead, again.expired),
        (0, 0, 0, 0)
    );
    assert_eq!(recorder.messages().len(), 2);
    for brief in &due {
        let rendered = brief::render(&input_for(brief)).unwrap();
        let queued = queue_brief(
            &store,
            FROM,
            &rendered,
            &brief.recipient,
            &brief.key,
            meeting_start(),
            now(),
        )
        .unwrap();
        assert!(!queued);
    }
    let summary = store.outbox_summary().unwrap();
    assert_eq!((summary.queued, summary.retrying, summary.sent), (0, 0, 2));
}

#[tokio::test]
async fn server_down_means_retry_with_backoff_then_delivery_once_it_is_up() {
    let port = free_port();
    let (_dir, store) = temp_store();
    queue_both(&store);
    let transport = SmtpTransport::from_config(&smtp_config(port), FROM).unwrap();

    let report = mail::drain(&store, &transport, now()).await.unwrap();
    assert_eq!((report.sent, report.retried), (0, 2));
    for entry in store.outbox_entries().unwrap() {
        match entry.state {
            OutboxState::Retrying {
                attempts,
                next_at,
                last_error,
            } => {
                assert_eq!(attempts, 1);
                assert!(
                    next_at > now() + TimeDelta::seconds(47)
                        && next_at <= now() + TimeDelta::minutes(1)
                );
                assert!(!last_error.is_empty());
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    // Before the retry time nothing is attempted.
    let early = mail::drain(&store, &transport, now() + TimeDelta::seconds(30))
        .await
        .unwrap();
    assert_eq!((early.sent, early.retried), (0, 0));

    // Still down at the first retry: the delay doubles.
    let second = mail::drain(&store, &transport, now() + TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(second.retried, 2);
    for entry in store.outbox_entries().unwrap() {
        let OutboxState::Retrying {
            attempts, next_at, ..
        } = entry.state
        else {
            panic!("expected a retry");
        };
        assert_eq!(attempts, 2);
        assert!(
            next_at > now() + TimeDelta::seconds(60 + 95)
                && next_at <= now() + TimeDelta::minutes(3)
        );
    }

    // The server comes up on that port; the next retry delivers both.
    let recorder = Recorder::default();
    serve(
        &recorder,
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        false,
    );
    let third = mail::drain(&store, &transport, now() + TimeDelta::minutes(3))
        .await
        .unwrap();
    assert_eq!((third.sent, third.retried), (2, 0));
    assert_eq!(recorder.messages().len(), 2);
    assert_eq!(store.outbox_summary().unwrap().sent, 2);
}

#[tokio::test]
async fn rejected_recipient_is_dead_and_the_other_is_still_delivered() {
    let recorder = Recorder {
        reject: Some("dana@example.com".into()),
        ..Recorder::default()
    };
    let port = start_server(&recorder);
    let (_dir, store) = temp_store();
    queue_both(&store);
    let transport = SmtpTransport::from_config(&smtp_config(port), FROM).unwrap();

    let report = mail::drain(&store, &transport, now()).await.unwrap();
    assert_eq!((report.sent, report.dead), (1, 1));
    let received = recorder.messages();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].envelope_to, ["alex@example.com"]);
    let summary = store.outbox_summary().unwrap();
    assert_eq!(summary.dead.len(), 1);
    assert_eq!(summary.dead[0].0.recipient, "dana@example.com");
    assert!(summary.dead[0].1.contains("550"), "{}", summary.dead[0].1);

    // Dead stays dead: later drains do not try again.
    let later = mail::drain(&store, &transport, now() + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!((later.sent, later.dead, later.retried), (0, 0, 0));
    assert_eq!(recorder.messages().len(), 1);
}

#[tokio::test]
async fn deferred_recipient_is_retried_not_given_up() {
    let recorder = Recorder {
        defer: Some("dana@example.com".into()),
        ..Recorder::default()
    };
    let port = start_server(&recorder);
    let (_dir, store) = temp_store();
    queue_both(&store);
    let transport = SmtpTransport::from_config(&smtp_config(port), FROM).unwrap();

    let report = mail::drain(&store, &transport, now()).await.unwrap();
    assert_eq!((report.sent, report.retried, report.dead), (1, 1, 0));
    let entries = store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    let OutboxState::Retrying { last_error, .. } = &entries[0].state else {
        panic!("expected a retry, got {:?}", entries[0].state);
    };
    assert!(last_error.contains("451"), "{last_error}");
}

#[tokio::test]
async fn retries_stop_at_the_meeting_start() {
    let port = free_port();
    let (_dir, store) = temp_store();
    queue_both(&store);
    let transport = SmtpTransport::from_config(&smtp_config(port), FROM).unwrap();

    // Ten minutes before the start, a 30-minute backoff is cut to the start...
    let late = meeting_start() - TimeDelta::minutes(10);
    for key in store
        .outbox_entries()
        .unwrap()
        .iter()
        .map(|e| e.key.clone())
    {
        for _ in 0..6 {
            store.mark_retry(&key, "connection refused", now()).unwrap();
        }
    }
    mail::drain(&store, &transport, late).await.unwrap();
    for entry in store.outbox_entries().unwrap() {
        let OutboxState::Retrying {
            next_at, attempts, ..
        } = entry.state
        else {
            panic!("expected a retry");
        };
        assert_eq!(attempts, 7);
        assert_eq!(next_at, meeting_start());
    }
    // ...where the entries expire, naming the last error.
    let report = mail::drain(&store, &transport, meeting_start())
        .await
        .unwrap();
    assert_eq!(report.expired, 2);
    let summary = store.outbox_summary().unwrap();
    assert!(
        summary
            .dead
            .iter()
            .all(|(_, reason)| reason.starts_with("meeting already started; last error:")),
        "{summary:?}"
    );
}

#[tokio::test]
async fn brief_whose_meeting_started_is_never_sent() {
    let recorder = Recorder::default();
    let port = start_server(&recorder);
    let (_dir, store) = temp_store();
    queue_both(&store);
    let transport = SmtpTransport::from_config(&smtp_config(port), FROM).unwrap();

    let report = mail::drain(&store, &transport, meeting_start())
        .await
        .unwrap();
    assert_eq!((report.sent, report.expired), (0, 2));
    assert!(recorder.messages().is_empty());
    let summary = store.outbox_summary().unwrap();
    assert!(
        summary
            .dead
            .iter()
            .all(|(_, reason)| reason == mail::outbox::EXPIRED_REASON)
    );
}

#[tokio::test]
async fn smtp_auth_plain_uses_the_password_file() {
    let recorder = Recorder {
        credentials: Some(("briefs".into(), "correct horse".into())),
        ..Recorder::default()
    };
    let port = start_auth_server(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, "correct horse\n").unwrap();
    let mut config = smtp_config(port);
    config.username = Some("briefs".into());
    config.password_file = Some(password_file);
    let transport = SmtpTransport::from_config(&config, FROM).unwrap();

    let (_state, store) = temp_store();
    queue_both(&store);
    let report = mail::drain(&store, &transport, now()).await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    assert_eq!(recorder.messages().len(), 2);
    assert!(
        recorder
            .logins
            .lock()
            .unwrap()
            .iter()
            .all(|(u, p)| u == "briefs" && p == "correct horse")
    );

    // A wrong password is a permanent failure (535).
    let wrong = SmtpTransport::new(
        &smtp_config(port),
        FROM,
        SmtpAuth::Password {
            username: "briefs".into(),
            password: "wrong".into(),
        },
    )
    .unwrap();
    let error = wrong
        .send("alex@example.com", b"Subject: x\r\n\r\nx\r\n")
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error}");
}

#[tokio::test]
async fn file_transport_writes_parseable_eml_files() {
    let (_dir, store) = temp_store();
    let due = queue_both(&store);
    let out = tempfile::tempdir().unwrap();
    let transport = FileTransport::new(out.path().join("briefs"));

    let report = mail::drain(&store, &transport, now()).await.unwrap();
    assert_eq!(report.sent, 2);
    for brief in &due {
        let id = message_id(&brief.key, "example.com");
        let stem = id.trim_start_matches('<').split('@').next().unwrap();
        let raw = std::fs::read(out.path().join("briefs").join(format!("{stem}.eml"))).unwrap();
        let message = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(format!("<{}>", message.message_id().unwrap()), id);
        let to: Vec<&str> = message
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        assert_eq!(to, [brief.recipient.email.as_str()]);
        assert!(message.body_text(0).unwrap().contains("YOUR OPEN ITEMS"));
        assert!(message.body_html(0).unwrap().contains("max-width:600px"));
    }
    assert_eq!(
        std::fs::read_dir(out.path().join("briefs"))
            .unwrap()
            .count(),
        2
    );
}

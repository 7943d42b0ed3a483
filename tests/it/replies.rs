//! Replies by email, end to end: a daemon sends briefs through a real SMTP server,
//! replies are delivered into a real IMAP server (Dovecot) with APPEND, and the daemon
//! applies them, answers through SMTP, and shows the change in the next brief.

use std::path::Path;
use std::time::{Duration, Instant};

use tete::control::{self, Forwarded, Request};

use crate::dovecot::Dovecot;
use crate::mail::{Received, Recorder, start_server};
use crate::support::{demo_config_in, repo_root, stdout, tete};

/// The demo's Dana / Alex series and Dana's open item in it.
const SERIES: &str = "def764be6d";
const DANAS_ITEM: &str = "5211d042";
const ALEXS_ITEM: &str = "f57e1c08";

/// The demo config, sending through `smtp_port` and reading replies from `dovecot`.
fn config_with_mailboxes(dir: &Path, smtp_port: u16, dovecot: &Dovecot) -> std::path::PathBuf {
    let path = demo_config_in(dir);
    let password = dir.join("imap-password");
    std::fs::write(&password, format!("{}\n", dovecot.password)).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "transport = \"file\"",
            &format!(
                "transport = \"smtp\"\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\n"
            )
            .replace("\n\n[mail.smtp]", "\n[mail.smtp]"),
        )
        .replace(
            "[inbox]\n",
            &format!(
                "[inbox]\nhost = \"localhost\"\nport = {}\nca_file = {:?}\nusername = {:?}\npassword_file = {:?}\npoll_interval = \"30s\"\n",
                dovecot.port,
                dovecot.ca_file.display().to_string(),
                dovecot.user,
                password.display().to_string()
            ),
        );
    // [mail.smtp] must come after the [mail] keys it interrupts: move the rest of
    // [mail] (allowed_domains) above it.
    let text = text.replace(
        "# Priya works for an agency: her domain must be allowed explicitly.\nallowed_domains = [\"example.com\", \"partner-agency.com\"]\n",
        "",
    );
    let text = text.replace(
        "transport = \"smtp\"\n",
        "transport = \"smtp\"\nallowed_domains = [\"example.com\", \"partner-agency.com\"]\n",
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split("\r\n\r\n").next()?.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The message as text, quoted-printable soft line breaks joined.
fn text_of(message: &Received) -> String {
    String::from_utf8_lossy(&message.data).replace("=\r\n", "")
}

/// Waits until `found` holds for the recorded messages.
fn wait_for_mail(recorder: &Recorder, what: &str, found: impl Fn(&[Received]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if found(&recorder.messages()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{what}: not seen within 60 s; {} message(s) recorded",
        recorder.messages().len()
    );
}

/// A reply from `from` to the brief whose headers are `brief`, as Gmail would deliver
/// it (with `auth` as its Authentication-Results), saying `body`.
fn reply(brief: &str, from: &str, auth: Option<&str>, message_id: &str, body: &str) -> Vec<u8> {
    let reply_to = header(brief, "Reply-To").expect("the brief has a Reply-To");
    let brief_id = header(brief, "Message-ID").expect("the brief has a Message-ID");
    let auth = auth
        .map(|a| format!("Authentication-Results: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "Return-Path: <{from}>\r\n{auth}From: {from}\r\nTo: {reply_to}\r\nSubject: Re: your 1:1\r\nDate: Tue, 1 Dec 2026 09:30:00 +0000\r\nMessage-ID: {message_id}\r\nIn-Reply-To: {brief_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nOn Tue, 1 Dec 2026, 1:1 briefs wrote:\r\n> done {ALEXS_ITEM}\r\n"
    )
    .into_bytes()
}

fn ask(config: &tete::config::Config, command: Forwarded) -> String {
    let request = Request { command, now: None };
    let reply = control::ask_daemon(config, &request)
        .expect("the socket answers")
        .expect("the daemon is found");
    assert_eq!(reply.code, 0, "{}", reply.stderr);
    reply.stdout
}

const PASSED: &str =
    "mx.example.com; dkim=pass header.i=@example.com; dmarc=pass header.from=example.com";

/// A Dovecot, an SMTP server and the demo config pointed at both.
struct Mailboxes {
    dovecot: Dovecot,
    recorder: Recorder,
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    config: tete::config::Config,
}

impl Mailboxes {
    fn new() -> Mailboxes {
        let dovecot = Dovecot::start();
        let recorder = Recorder::default();
        let smtp_port = start_server(&recorder);
        let dir = tempfile::tempdir().unwrap();
        let path = config_with_mailboxes(dir.path(), smtp_port, &dovecot);
        let config = tete::config::load(&path).expect("the config loads");
        Mailboxes {
            dovecot,
            recorder,
            dir,
            path,
            config,
        }
    }

    /// The daemon, in-process, its clock starting on Wednesday 2 December 16:00 UTC.
    fn start_daemon(&self) -> tete::daemon::DaemonHandle {
        let now = "2026-12-02T16:00:00Z".parse().unwrap();
        let options = tete::daemon::DaemonOptions { now: Some(now) };
        tete::daemon::start(&self.path, self.config.clone(), options).expect("the daemon starts")
    }
}

#[test]
fn a_reply_is_applied_once_answered_and_shown_in_the_next_brief_and_forgeries_are_not() {
    let setup = Mailboxes::new();
    let (dovecot, recorder, config) = (&setup.dovecot, &setup.recorder, &setup.config);
    let daemon = setup.start_daemon();

    // The first pass sends Dana her brief of the Dana / Alex 1:1, with a reply address.
    let to_dana = |messages: &[Received]| -> Option<String> {
        messages
            .iter()
            .map(text_of)
            .find(|t| header(t, "To").is_some_and(|to| to.contains("dana@")))
    };
    wait_for_mail(recorder, "Dana's brief", |m| to_dana(m).is_some());
    let brief = to_dana(&recorder.messages()).unwrap();
    assert!(
        header(&brief, "Reply-To").unwrap().starts_with("briefs+"),
        "{brief}"
    );
    assert!(
        header(&brief, "Message-ID").unwrap().starts_with("<tete."),
        "{brief}"
    );

    // Forgeries first: Alex answering with Dana's token, and Dana without a verdict of
    // the receiving server. Neither may change anything.
    let forged = reply(
        &brief,
        "alex@example.com",
        Some(PASSED),
        "<forged-1@example.com>",
        &format!("done {DANAS_ITEM}"),
    );
    dovecot.append("INBOX", &forged);
    let unverified = reply(
        &brief,
        "dana@example.com",
        None,
        "<unverified-1@example.com>",
        &format!("done {DANAS_ITEM}"),
    );
    dovecot.append("INBOX", &unverified);
    let out_of_office = String::from_utf8(reply(
        &brief,
        "dana@example.com",
        Some(PASSED),
        "<ooo-1@example.com>",
        "I am out of the office until Monday.",
    ))
    .unwrap()
    .replace(
        "Subject: Re: your 1:1",
        "Subject: Automatic reply: your 1:1\r\nAuto-Submitted: auto-replied",
    );
    dovecot.append("INBOX", out_of_office.as_bytes());

    // The real reply, delivered twice (a server that delivers one message twice).
    let genuine = reply(
        &brief,
        "Dana Kim <dana@example.com>",
        Some(PASSED),
        "<genuine-1@mail.example.com>",
        &format!("done {DANAS_ITEM}\r\ntodo: book the offsite venue"),
    );
    dovecot.append("INBOX", &genuine);
    dovecot.append("INBOX", &genuine);

    // The confirmation comes back through SMTP, threaded under the reply.
    let confirmations = |messages: &[Received]| -> Vec<String> {
        messages
            .iter()
            .map(text_of)
            .filter(|t| header(t, "In-Reply-To").is_some())
            .collect()
    };
    wait_for_mail(recorder, "the confirmation", |m| {
        !confirmations(m).is_empty()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while dovecot
        .flags("INBOX")
        .iter()
        .filter(|(_, f)| f.iter().any(|f| f == "\\Seen"))
        .count()
        < 5
    {
        assert!(
            Instant::now() < deadline,
            "not all replies were read: {:?}\n{}",
            dovecot.flags("INBOX"),
            dovecot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Give a second confirmation (which must not come) a moment to show up.
    std::thread::sleep(Duration::from_secs(2));
    let answered = confirmations(&recorder.messages());
    assert_eq!(answered.len(), 1, "exactly one confirmation: {answered:#?}");
    let confirmation = &answered[0];
    assert_eq!(
        header(confirmation, "In-Reply-To"),
        Some("<genuine-1@mail.example.com>")
    );
    assert!(
        header(confirmation, "To")
            .unwrap()
            .contains("dana@example.com")
    );
    assert!(
        confirmation.contains("Closed: send the December 2026 metrics"),
        "{confirmation}"
    );

    // The store: Dana's item closed, the new one open, Alex's untouched.
    let items = ask(
        config,
        Forwarded::Items(tete::control::ItemsAction::List {
            series: SERIES.into(),
            json: false,
        }),
    );
    let line = |id: &str| {
        items
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line(DANAS_ITEM).contains("done"), "{items}");
    assert!(line(ALEXS_ITEM).contains("open"), "{items}");
    assert!(items.contains("book the offsite venue"), "{items}");

    // The next brief shows it.
    let preview = ask(
        config,
        Forwarded::Preview {
            series: SERIES.into(),
            to: Some("dana@example.com".into()),
            html: false,
        },
    );
    assert!(preview.contains("book the offsite venue"), "{preview}");
    assert!(
        !preview.contains("send the December 2026 metrics summary"),
        "{preview}"
    );

    // Status says what was ignored and why.
    let status = ask(config, Forwarded::Status { json: false });
    assert!(status.contains("Replies: 1 applied, 4 ignored"), "{status}");
    assert!(
        status.contains("Reply mailbox: reading, last looked"),
        "{status}"
    );
    daemon.stop().expect("a clean stop");
}

#[test]
fn a_reply_too_large_to_read_is_kept_flagged_and_shown_in_status() {
    let setup = Mailboxes::new();
    let (dovecot, config) = (&setup.dovecot, &setup.config);
    let mut big = b"From: dana@example.com\r\nTo: briefs@example.com\r\nSubject: big\r\nMessage-ID: <big@example.com>\r\n\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    dovecot.append("INBOX", &big);
    let daemon = setup.start_daemon();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dovecot
        .flags("INBOX")
        .iter()
        .any(|(_, f)| f.iter().any(|f| f == "\\Flagged"))
    {
        assert!(
            Instant::now() < deadline,
            "not flagged: {:?}",
            dovecot.flags("INBOX")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(dovecot.flags("INBOX").len(), 1, "the message stays");
    let status = ask(config, Forwarded::Status { json: false });
    assert!(
        status.contains("larger than inbox.max_message_size"),
        "{status}"
    );
    daemon.stop().expect("a clean stop");
}

/// `tete reply FILE.eml --json` on the bundled demo fixture: the stable keys.
#[test]
fn tete_reply_json_reports_the_demo_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let (_config, reply) = demo_with_store(dir.path());
    let fixture = std::fs::read(repo_root().join("config/demo-reply.eml")).unwrap();
    let output = reply(&fixture, &["--json"]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["authenticated"], true, "{json:#}");
    assert_eq!(json["binding"]["series"], SERIES);
    assert_eq!(json["binding"]["person"], "dana@example.com");
    assert!(
        json["visible_text"]
            .as_str()
            .unwrap()
            .starts_with("done 5211d042")
    );
    assert_eq!(json["commands"].as_array().unwrap().len(), 4, "{json:#}");
    assert!(json["rejected"].as_array().unwrap().is_empty());
    assert!(json["ignored"].is_null());
}

/// The demo fixture with its body replaced (headers, token and authentication kept).
fn demo_reply_with_body(body: &[u8]) -> Vec<u8> {
    let fixture = std::fs::read(repo_root().join("config/demo-reply.eml")).unwrap();
    let split = fixture
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let mut raw = fixture[..split + 4].to_vec();
    raw.extend_from_slice(body);
    raw
}

/// A demo store after one pass, and a function that runs `tete reply` on bytes.
fn demo_with_store(
    dir: &Path,
) -> (
    std::path::PathBuf,
    impl Fn(&[u8], &[&str]) -> std::process::Output,
) {
    let config = demo_config_in(dir);
    let pass = tete(&[
        "--config",
        config.to_str().unwrap(),
        "run",
        "--once",
        "--now",
        "2026-12-02T16:00",
    ]);
    assert!(pass.status.success(), "{pass:?}");
    let message = dir.join("message.eml");
    let config_arg = config.clone();
    let run = move |raw: &[u8], extra: &[&str]| {
        std::fs::write(&message, raw).unwrap();
        let mut args = vec![
            "--config",
            config_arg.to_str().unwrap(),
            "reply",
            message.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--now", "2026-12-02T16:00"]);
        tete(&args)
    };
    (config, run)
}

#[test]
fn hostile_replies_are_reported_not_applied_and_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (_config, reply) = demo_with_store(dir.path());
    let json = |raw: &[u8]| -> serde_json::Value {
        let output = reply(raw, &["--json"]);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_str(&stdout(&output)).unwrap()
    };
    let fixture = std::fs::read_to_string(repo_root().join("config/demo-reply.eml")).unwrap();

    // A token with one character changed, everywhere it appears: forged.
    let token_at = fixture.find("briefs+").unwrap() + "briefs+".len();
    let token = &fixture[token_at..token_at + 40];
    let altered = format!(
        "{}{}",
        if token.starts_with('a') { "b" } else { "a" },
        &token[1..]
    );
    let forged = fixture.replace(token, &altered);
    let report = json(forged.as_bytes());
    assert!(report["binding"].is_null(), "{report:#}");
    assert_eq!(report["authenticated"], false);
    assert!(
        report["ignored"]
            .as_str()
            .unwrap()
            .contains("bound to no brief"),
        "{report:#}"
    );

    // An expired token: the fixture's token expires at the start of 2031.
    let output = {
        let config = dir.path().join("tete.toml");
        let message = dir.path().join("expired.eml");
        std::fs::write(&message, &fixture).unwrap();
        tete(&[
            "--config",
            config.to_str().unwrap(),
            "reply",
            message.to_str().unwrap(),
            "--json",
            "--now",
            "2031-02-01T00:00",
        ])
    };
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        report["binding_error"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{report:#}"
    );

    // 1,000 commands: at most 100 are read, the rest reported, nothing panics.
    let many: String = (0..1000)
        .map(|i| format!("todo: task number {i}\r\n"))
        .collect();
    let report = json(&demo_reply_with_body(many.as_bytes()));
    let commands = report["commands"].as_array().unwrap().len();
    assert!(commands <= 100, "{commands} commands read");
    assert!(
        !report["rejected"].as_array().unwrap().is_empty(),
        "{report:#}"
    );

    // Invalid UTF-8 in the body: read lossily, commands still found.
    let mut body = b"done 5211d042\r\nsome \xff\xfe bytes \xc3\x28 here\r\n".to_vec();
    body.extend_from_slice(b"todo: book the offsite venue\r\n");
    let report = json(&demo_reply_with_body(&body));
    assert_eq!(report["authenticated"], true, "{report:#}");
    assert_eq!(
        report["commands"].as_array().unwrap().len(),
        2,
        "{report:#}"
    );

    // Not a message at all.
    let report = json(b"\xff\xff\xff\x00\x01 garbage");
    assert!(report["ignored"].is_string(), "{report:#}");

    // From someone else, with Dana's token and a passing verdict: not her.
    let report = json(
        fixture
            .replace(
                "From: Dana Kim <dana@example.com>",
                "From: Alex <alex@example.com>",
            )
            .as_bytes(),
    );
    assert_eq!(report["authenticated"], false, "{report:#}");
    assert!(
        report["ignored"]
            .as_str()
            .unwrap()
            .contains("not the person"),
        "{report:#}"
    );

    // Dana, but her server's verdict is missing.
    let unverified = fixture.replace(
        "Authentication-Results: mx.example.com;",
        "X-Old-Results: mx.example.com;",
    );
    let report = json(unverified.as_bytes());
    assert_eq!(report["authenticated"], false, "{report:#}");
    assert!(
        report["sender_check"]
            .as_str()
            .unwrap()
            .contains("no Authentication-Results"),
        "{report:#}"
    );
}

/// SIGKILL while replies are applied: every reply ends up applied exactly once. Each
/// reply adds a private note whose id depends on the time it was applied, so applying
/// one twice would leave two notes.
#[test]
fn replies_killed_while_being_applied_are_applied_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _reply) = demo_with_store(dir.path());
    let count = 24;
    let messages: Vec<std::path::PathBuf> = (0..count)
        .map(|i| {
            let raw = String::from_utf8(demo_reply_with_body(
                format!("private: crash note {i}\r\n").as_bytes(),
            ))
            .unwrap()
            .replace(
                "<CAF=demo-reply-1@mail.example.com>",
                &format!("<crash-{i}@mail.example.com>"),
            );
            let path = dir.path().join(format!("crash-{i}.eml"));
            std::fs::write(&path, raw).unwrap();
            path
        })
        .collect();
    let apply = |path: &Path| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tete"));
        command
            .args([
                "--config",
                config.to_str().unwrap(),
                "reply",
                "--apply",
                path.to_str().unwrap(),
                "--now",
                "2026-12-02T16:00",
            ])
            .env_remove("TETE_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    // Kill each first attempt at a different moment (0 to ~115 ms in).
    for (i, path) in messages.iter().enumerate() {
        let mut child = apply(path).spawn().unwrap();
        std::thread::sleep(Duration::from_millis((i as u64 * 5) % 120));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Then every message is read again, as after a restart.
    for path in &messages {
        let status = apply(path).status().unwrap();
        assert!(status.success());
    }
    let notes = tete(&[
        "--config",
        config.to_str().unwrap(),
        "notes",
        "list",
        SERIES,
    ]);
    let text = stdout(&notes);
    for i in 0..count {
        let needle = format!("crash note {i}");
        let found = text
            .lines()
            .filter(|l| l.ends_with(&needle) || l.contains(&format!("{needle} ")))
            .count();
        assert_eq!(found, 1, "{needle}: {found} times in\n{text}");
    }
    let status = tete(&["--config", config.to_str().unwrap(), "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(status["replies"]["applied"], count, "{status:#}");
    assert_eq!(
        status["outbox"]["queued"], count,
        "one confirmation each: {status:#}"
    );
}

/// A private note sent by reply reaches its author's brief and nobody else's; the
/// demo fixture applied with `--apply` shows up in the next brief.
#[test]
fn a_private_note_by_reply_reaches_only_its_author() {
    let dir = tempfile::tempdir().unwrap();
    let (config, reply) = demo_with_store(dir.path());
    let fixture = std::fs::read(repo_root().join("config/demo-reply.eml")).unwrap();
    let applied = reply(&fixture, &["--apply"]);
    assert!(
        stdout(&applied).starts_with("applied: 4 change(s)"),
        "{applied:?}"
    );
    let preview = |to: &str| {
        let output = tete(&[
            "--config",
            config.to_str().unwrap(),
            "preview",
            SERIES,
            "--to",
            to,
            "--now",
            "2026-12-02T16:00",
        ]);
        assert!(output.status.success(), "{output:?}");
        stdout(&output)
    };
    let dana = preview("dana@example.com");
    let alex = preview("alex@example.com");
    assert!(
        dana.contains("ask Alex about the conference budget"),
        "{dana}"
    );
    assert!(
        !alex.contains("conference budget"),
        "Dana's private note reached Alex:\n{alex}"
    );
    assert!(alex.contains("book the offsite venue"), "{alex}");
    assert!(
        !alex.contains("send the December 2026 metrics summary"),
        "{alex}"
    );
}

/// A mailbox tete cannot log in to: `tete status` says so (without the password), the
/// briefs still go out, and the reader keeps trying.
#[test]
fn a_mailbox_that_refuses_the_login_shows_in_status_and_briefs_still_go_out() {
    let setup = Mailboxes::new();
    // The password is read at each login, not when the config loads.
    std::fs::write(
        setup.dir.path().join("imap-password"),
        "not-the-password-42\n",
    )
    .unwrap();
    let (recorder, config) = (&setup.recorder, &setup.config);
    let daemon = setup.start_daemon();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = ask(config, Forwarded::Status { json: false });
        if status.contains("Reply mailbox: FAILING") {
            break status;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.contains("not-the-password-42"), "{status}");
    wait_for_mail(recorder, "the briefs", |m| !m.is_empty());
    daemon.stop().expect("a clean stop");
}

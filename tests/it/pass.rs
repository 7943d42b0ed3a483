//! Integration tests: whole passes of the binary, on the demo and on small fixtures,
//! with briefs written to files or sent to a real SMTP server.

use std::path::{Path, PathBuf};

use crate::mail::{Recorder, start_server};
use crate::support::{demo_config_in, repo_root, stderr, stdout, tete};

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn header(raw: &str, name: &str) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw.as_bytes())?;
    message
        .header(name)
        .and_then(|h| h.as_text().map(str::to_string))
}

fn text_body(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable message");
    message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default()
}

fn to_address(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable message");
    message
        .to()
        .and_then(|to| to.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string()
}

/// A config for `tests/fixtures/pass/weekly.ics` (Ana's calendar) whose mail goes
/// through `mail` (a TOML fragment for `[mail]`), state in `dir`.
fn weekly_config(dir: &Path, mail: &str) -> PathBuf {
    let ics = repo_root().join("tests/fixtures/pass/weekly.ics");
    let text = format!(
        r#"state_dir = "state"
timezone = "Europe/Berlin"

[brief]
lead_time = "18h"

{mail}

[[accounts]]
name = "ana"
provider = "ics"
url = {ics:?}
owner = "ana@example.com"
"#,
        ics = ics.display().to_string()
    );
    let path = dir.join("tete.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn demo_pass_writes_one_brief_per_person_per_upcoming_one_on_one_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    // One brief each: no digest for Alex, no cadence notes (tests/it/followups.rs has them).
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("delivery = \"digest\"\n", "")
        .replace("[recap]\n", "[cadence]\nalerts = false\n\n[recap]\n");
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    // A Tuesday morning: every demo 1:1 has a meeting within the demo's 14-day lead time.
    let first = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2026-12-01T08:00",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let briefs = eml_files(&dir.path().join("briefs"));
    assert_eq!(
        briefs.len(),
        8,
        "4 one-on-ones x 2 people\n{}",
        stdout(&first)
    );
    let mut recipients: Vec<String> = briefs
        .iter()
        .map(|p| to_address(&std::fs::read(p).unwrap()))
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        [
            "alex@example.com",
            "alex@example.com",
            "alex@example.com",
            "alex@example.com",
            "dana@example.com",
            "jordan@example.com",
            "priya@partner-agency.com",
            "sam@example.com",
        ]
    );
    // Nobody outside the 1:1s, not the standup's people, not the room.
    for brief in &briefs {
        let raw = std::fs::read_to_string(brief).unwrap();
        assert_eq!(
            header(&raw, "Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
        assert!(!raw.contains("chris@example.com") && !raw.contains("rooms.example.com"));
    }

    let second = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2026-12-01T08:05",
    ]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        eml_files(&dir.path().join("briefs")).len(),
        8,
        "a second pass sends nothing"
    );
    assert!(
        stdout(&second).contains("briefs: 0 queued"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn demo_series_explains_every_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let output = tete(&[
        "--config",
        config.to_str().unwrap(),
        "series",
        "--now",
        "2026-12-01T08:00",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "1:1 between Alex Rivera and Dana Kim",
        "1:1 between Alex Rivera and Sam Okafor",
        "1:1 between Alex Rivera and Priya Natarajan",
        "1:1 between Alex Rivera and Jordan Lee",
        "Team standup  (every weekday) — 5 people",
        "excluded by title rule 'lunch'",
        "excluded by title rule 'interview'",
        "only 1 person once 1 room or resource is set aside",
        "Coffee with Chris  (once) — not recurring",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn both_people_get_their_brief_through_a_real_smtp_server_and_only_once() {
    let recorder = Recorder::default();
    let port = start_server(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let mail = format!(
        "[mail]\nfrom = \"Briefs <briefs@example.com>\"\ntransport = \"smtp\"\n\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\""
    );
    let config = weekly_config(dir.path(), &mail);
    let config = config.to_str().unwrap();
    let run = |now: &str| tete(&["--config", config, "run", "--once", "--now", now]);

    // Sunday evening before Monday 4 Jan 2027, 10:00: within the 18h lead time.
    let first = run("2027-01-03T18:00");
    assert!(first.status.success(), "{}", stderr(&first));
    let messages = recorder.messages();
    assert_eq!(messages.len(), 2, "{}", stdout(&first));
    let mut to: Vec<String> = messages.iter().map(|m| m.envelope_to.join(",")).collect();
    to.sort();
    assert_eq!(to, ["ana@example.com", "ben@example.com"]);
    for message in &messages {
        let body = text_body(&message.data);
        let recipient = to_address(&message.data);
        assert!(body.contains("write the release summary"), "{body}");
        assert!(body.contains("book the offsite room"), "{body}");
        assert!(body.contains("pick a date for the retro"), "{body}");
        // "Your open items" come first: Ben's item leads in Ben's brief.
        let ben_item = body.find("write the release summary").unwrap();
        let ana_item = body.find("book the offsite room").unwrap();
        if recipient == "ben@example.com" {
            assert!(ben_item < ana_item, "{body}");
        } else {
            assert!(ana_item < ben_item, "{body}");
        }
    }

    // The same pass again, later the same evening: nothing new.
    let again = run("2027-01-03T19:00");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(recorder.messages().len(), 2);
}

#[test]
fn done_item_is_gone_and_cancelled_meeting_gets_no_brief() {
    let dir = tempfile::tempdir().unwrap();
    let config = weekly_config(
        dir.path(),
        "[mail]\nfrom = \"briefs@example.com\"\ntransport = \"file\"\n\n[mail.file]\ndir = \"briefs\"",
    );
    let config = config.to_str().unwrap();
    let briefs = dir.path().join("briefs");

    let first = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-03T18:00",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(eml_files(&briefs).len(), 2);

    // Find the item's id and mark it done from the command line.
    let list = tete(&[
        "--config",
        config,
        "items",
        "list",
        "weekly-ana-ben@tests.example",
    ]);
    assert!(list.status.success(), "{}", stderr(&list));
    let listing = stdout(&list);
    let id = listing
        .lines()
        .find(|l| l.contains("write the release summary"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the item is listed")
        .to_string();
    let done = tete(&["--config", config, "items", "done", &id]);
    assert!(done.status.success(), "{}", stderr(&done));

    // 11 Jan is cancelled: the next brief is for Monday 18 Jan, without the done item.
    let later = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-10T18:00",
    ]);
    assert!(later.status.success(), "{}", stderr(&later));
    assert_eq!(
        eml_files(&briefs).len(),
        2,
        "no brief for the cancelled meeting"
    );
    let last = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-17T18:00",
    ]);
    assert!(last.status.success(), "{}", stderr(&last));
    let files = eml_files(&briefs);
    assert_eq!(files.len(), 4);
    let new: Vec<String> = files
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .filter(|raw| text_body(raw).contains("18 January"))
        .map(|raw| text_body(&raw))
        .collect();
    assert_eq!(new.len(), 2, "both briefs of 18 Jan");
    for body in new {
        assert!(
            !body.contains("write the release summary"),
            "done item carried: {body}"
        );
        assert!(
            body.contains("book the offsite room"),
            "open item dropped: {body}"
        );
    }
}

#[test]
fn preview_refuses_anyone_but_the_two_people() {
    let dir = tempfile::tempdir().unwrap();
    let config = weekly_config(
        dir.path(),
        "[mail]\nfrom = \"briefs@example.com\"\ntransport = \"file\"\n\n[mail.file]\ndir = \"briefs\"",
    );
    let config = config.to_str().unwrap();
    let sync = tete(&["--config", config, "series", "--now", "2027-01-03T18:00"]);
    assert!(sync.status.success(), "{}", stderr(&sync));
    let series = "weekly-ana-ben@tests.example";
    let ok = tete(&[
        "--config",
        config,
        "preview",
        series,
        "--to",
        "ben@example.com",
        "--now",
        "2027-01-03T18:00",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("To: ben@example.com"));
    let refused = tete(&[
        "--config",
        config,
        "preview",
        series,
        "--to",
        "cy@example.com",
        "--now",
        "2027-01-03T18:00",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("is not one of the two people"));
    assert!(
        eml_files(&dir.path().join("briefs")).is_empty(),
        "preview sends nothing"
    );
}

#[test]
fn a_private_note_reaches_only_its_author() {
    let dir = tempfile::tempdir().unwrap();
    let config = weekly_config(
        dir.path(),
        "[mail]\nfrom = \"briefs@example.com\"\ntransport = \"file\"\n\n[mail.file]\ndir = \"briefs\"",
    );
    let config = config.to_str().unwrap();
    let series = "weekly-ana-ben@tests.example";
    // `notes add` stamps notes with the real clock, so the pass runs just before the
    // first Monday meeting that is at least two hours away from now.
    use chrono::{Datelike, TimeZone};
    let berlin = chrono_tz::Europe::Berlin;
    let real_now = chrono::Utc::now();
    let mut day = real_now.with_timezone(&berlin).date_naive();
    let meeting = loop {
        day = day.succ_opt().unwrap();
        if day.weekday() == chrono::Weekday::Mon {
            let at = berlin
                .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .with_timezone(&chrono::Utc);
            // The fixture cancels the meeting of 11 January 2027.
            let cancelled = day == chrono::NaiveDate::from_ymd_opt(2027, 1, 11).unwrap();
            if at - real_now > chrono::TimeDelta::hours(2) && !cancelled {
                break at;
            }
        }
    };
    let pass_at = (meeting - chrono::TimeDelta::hours(1)).to_rfc3339();
    let sync = tete(&["--config", config, "series", "--now", &pass_at]);
    assert!(sync.status.success(), "{}", stderr(&sync));
    let private = tete(&[
        "--config",
        config,
        "notes",
        "add",
        series,
        "Ben sounded stretched; ask about load",
        "--private",
    ]);
    assert!(private.status.success(), "{}", stderr(&private));
    let shared = tete(&[
        "--config",
        config,
        "notes",
        "add",
        series,
        "Agreed to try async standups",
    ]);
    assert!(shared.status.success(), "{}", stderr(&shared));

    let pass = tete(&["--config", config, "run", "--once", "--now", &pass_at]);
    assert!(pass.status.success(), "{}", stderr(&pass));
    let briefs = eml_files(&dir.path().join("briefs"));
    assert_eq!(briefs.len(), 2, "{}", stdout(&pass));
    for brief in briefs {
        let raw = std::fs::read(&brief).unwrap();
        let body = text_body(&raw);
        let whole = String::from_utf8_lossy(&raw).into_owned();
        let to = to_address(&raw);
        assert!(
            body.contains("Agreed to try async standups"),
            "{to}: {body}"
        );
        if to == "ana@example.com" {
            assert!(
                body.contains("Ben sounded stretched"),
                "the author sees it: {body}"
            );
        } else {
            assert!(
                !body.contains("stretched") && !whole.contains("stretched"),
                "leaked to {to}"
            );
        }
    }
}

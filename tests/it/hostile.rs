//! Hostile input: header injection through titles and names, HTML and scripts in names
//! and descriptions, a 10 MB description, 10,000 attendees, RRULE bombs, invalid UTF-8
//! and unknown time zones. A pass over them must finish in bounded time, keep every brief
//! safe (escaped, no injected header, exactly one recipient) and still brief the
//! ordinary series beside them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mail_parser::MessageParser;

use crate::support::{repo_root, stderr, stdout, tete};

/// A pass in debug build over all of it takes a few seconds; this bound catches a bomb.
const PASS_BOUND: Duration = Duration::from_secs(60);

fn config_in(dir: &Path, calendars: &[(&str, PathBuf)]) -> PathBuf {
    let mut text = String::from(
        "state_dir = \"state\"\ntimezone = \"UTC\"\n\n[brief]\nlead_time = \"18h\"\n\n\
         [mail]\nfrom = \"Briefs <briefs@example.com>\"\ntransport = \"file\"\n\n[mail.file]\ndir = \"out\"\n",
    );
    for (name, path) in calendars {
        let _ = write!(
            text,
            "\n[[accounts]]\nname = \"{name}\"\nprovider = \"ics\"\nurl = {:?}\nowner = \"ana@example.com\"\n",
            path.display().to_string()
        );
    }
    let path = dir.join("tete.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One weekly 1:1 between Ana and `other` with a 10 MB description, and one weekly
/// meeting with 10,000 attendees.
fn huge_ics() -> String {
    let mut description = String::from("Action items:\\n- [ ] Olga: read this\\n");
    let line = "<div>lorem ipsum <b>dolor</b> sit amet &amp; consectetur</div>\\n";
    while description.len() < 10 * 1024 * 1024 {
        description.push_str(line);
    }
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//huge//EN\r\n");
    let _ = write!(
        ics,
        "BEGIN:VEVENT\r\nUID:big-description@hostile\r\nDTSTAMP:20260101T000000Z\r\n\
         SUMMARY:Ana / Olga\r\nDTSTART:20270104T110000Z\r\nDTEND:20270104T113000Z\r\n\
         RRULE:FREQ=WEEKLY\r\nORGANIZER:mailto:ana@example.com\r\n\
         ATTENDEE:mailto:ana@example.com\r\nATTENDEE:mailto:olga@example.com\r\n\
         DESCRIPTION:{description}\r\nEND:VEVENT\r\n"
    );
    ics.push_str(
        "BEGIN:VEVENT\r\nUID:crowd@hostile\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:All hands\r\n\
         DTSTART:20270104T120000Z\r\nDTEND:20270104T130000Z\r\nRRULE:FREQ=WEEKLY\r\n\
         ORGANIZER:mailto:ana@example.com\r\nATTENDEE:mailto:ana@example.com\r\n",
    );
    for n in 0..10_000 {
        let _ = write!(
            ics,
            "ATTENDEE;CN=Person {n}:mailto:crowd{n}@example.com\r\n"
        );
    }
    ics.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    ics
}

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

/// Asserts one message is safe; returns its recipient and subject.
fn assert_safe(raw: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(raw);
    let (head, _) = text.split_once("\r\n\r\n").expect("headers end");
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.starts_with("bcc:")
                && !lower.starts_with("x-evil:")
                && !lower.starts_with("cc:"),
            "injected header {line:?} in\n{head}"
        );
        assert!(!line.contains('\r') && !line.contains('\n'));
    }
    let message = MessageParser::default().parse(raw).expect("parseable");
    let to: Vec<String> = message
        .to()
        .map(|to| {
            to.iter()
                .filter_map(|a| a.address())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(to.len(), 1, "exactly one recipient: {to:?}\n{head}");
    assert!(message.cc().is_none() && message.bcc().is_none(), "{head}");
    let subject = message.subject().unwrap_or_default().to_string();
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    for html in (0..message.html_body_count()).filter_map(|i| message.body_html(i)) {
        let lower = html.to_ascii_lowercase();
        for bad in ["<script", "<img", "href=\"javascript:", "<style>body"] {
            assert!(!lower.contains(bad), "unescaped {bad:?} in the HTML part");
        }
    }
    (to[0].clone(), subject)
}

#[test]
fn hostile_calendars_are_briefed_safely_in_bounded_time_and_the_ordinary_series_still_is() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.ics");
    std::fs::write(&huge, huge_ics()).unwrap();
    let hostile = repo_root().join("tests/fixtures/hostile/hostile.ics");
    let config = config_in(dir.path(), &[("hostile", hostile), ("huge", huge)]);
    let config = config.to_str().unwrap();

    let started = Instant::now();
    let pass = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-03T18:00",
    ]);
    let took = started.elapsed();
    assert!(
        pass.status.success(),
        "{}\n{}",
        stdout(&pass),
        stderr(&pass)
    );
    assert!(took < PASS_BOUND, "the pass took {took:?}");

    let files = eml_files(&dir.path().join("out"));
    let mut recipients = Vec::new();
    for file in &files {
        let raw = std::fs::read(file).unwrap();
        assert!(
            raw.len() < 2 * 1024 * 1024,
            "{} is {} bytes",
            file.display(),
            raw.len()
        );
        recipients.push(assert_safe(&raw));
    }
    let to = |who: &str| recipients.iter().filter(|(r, _)| r == who).count();
    // The ordinary series: both people, once.
    assert_eq!(
        to("ben@example.com"),
        1,
        "{recipients:?}\n{}",
        stdout(&pass)
    );
    // The 10 MB description's series is briefed too (its item made it), bounded in size.
    assert_eq!(to("olga@example.com"), 1, "{recipients:?}");
    // Nobody outside a 1:1 and no injected address ever gets mail.
    assert_eq!(to("eve@evil.example"), 0);
    assert!(recipients.iter().all(|(r, _)| !r.starts_with("crowd")));

    // The daemon keeps working: a second pass is quick and sends nothing new.
    let started = Instant::now();
    let again = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2027-01-03T19:00",
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(started.elapsed() < PASS_BOUND);
    assert_eq!(eml_files(&dir.path().join("out")).len(), files.len());

    // `series` explains the crowd and survives the bombs.
    let series = tete(&["--config", config, "series", "--now", "2027-01-03T19:00"]);
    assert!(series.status.success(), "{}", stderr(&series));
    // Titles reach the terminal on one line: no CR, no line of their own.
    for output in [stdout(&pass), stdout(&series)] {
        assert!(!output.contains('\r'), "{output}");
        assert!(
            !output.lines().any(|l| l.trim_start().starts_with("Bcc:")),
            "{output}"
        );
    }
}

#[path = "../../fuzz/logic.rs"]
mod fuzz_logic;

/// Every input a fuzzer found (`tests/fixtures/fuzz-regressions/<target>/`) runs through
/// its target again, without panicking and in bounded time.
#[test]
fn fuzz_regressions_stay_fixed() {
    let root = repo_root().join("tests/fixtures/fuzz-regressions");
    let mut ran = 0;
    for (name, target) in fuzz_logic::TARGETS.iter().chain(fuzz_logic::RENDERED) {
        let Ok(entries) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for entry in entries.flatten() {
            let input = std::fs::read(entry.path()).unwrap();
            let started = Instant::now();
            target(&input);
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(10),
                "{}: {took:?}",
                entry.path().display()
            );
            ran += 1;
        }
    }
    assert!(
        ran > 0,
        "no regression inputs found under {}",
        root.display()
    );
}

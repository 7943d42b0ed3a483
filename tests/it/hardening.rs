//! Input from the adversarial run against the release binary that used to abort or
//! panic the process: components nested thousands deep and config durations that
//! overflow date arithmetic. Each must now be a warning or a line-precise error.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::support::{stderr, stdout, tete};

/// A weekly 1:1 between Ana and Olga whose VEVENT holds `depth` nested `X-FOO` blocks
/// (36 KB at 1,500 levels, as in the issue), followed by an ordinary event.
fn nested_ics(depth: usize) -> String {
    let mut ics = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//deep//EN\r\n\
         BEGIN:VEVENT\r\nUID:deep@hostile\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Ana / Olga\r\n\
         DTSTART:20270104T110000Z\r\nDTEND:20270104T113000Z\r\nRRULE:FREQ=WEEKLY\r\n\
         ORGANIZER:mailto:ana@example.com\r\nATTENDEE:mailto:ana@example.com\r\n\
         ATTENDEE:mailto:olga@example.com\r\n",
    );
    for level in 0..depth {
        let _ = write!(ics, "BEGIN:X-FOO\r\nX-LEVEL:{level}\r\n");
    }
    ics.push_str(&"END:X-FOO\r\n".repeat(depth));
    ics.push_str(
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:plain@hostile\r\nDTSTAMP:20260101T000000Z\r\n\
         SUMMARY:Review\r\nDTSTART:20270105T090000Z\r\nDTEND:20270105T100000Z\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n",
    );
    ics
}

/// Line of the first BEGIN:X-FOO that is dropped (the fifth: four levels are kept).
const FIRST_DROPPED_LINE: usize = 14 + 4 * 2;

fn write_nested(dir: &Path, depth: usize) -> PathBuf {
    let path = dir.join(format!("deep-{depth}.ics"));
    std::fs::write(&path, nested_ics(depth)).unwrap();
    path
}

#[test]
fn expand_drops_components_nested_1500_and_10000_deep_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    for depth in [1_500, 10_000] {
        let path = write_nested(dir.path(), depth);
        let file = path.to_str().unwrap();
        let out = tete(&[
            "expand",
            file,
            "--from",
            "2027-01-01",
            "--to",
            "2027-01-20",
            "--json",
        ]);
        assert!(out.status.success(), "depth {depth}: {}", stderr(&out));
        let warning = format!(
            "warning: {file}:{FIRST_DROPPED_LINE}: VEVENT: sub-components nested deeper than 4 levels dropped"
        );
        assert_eq!(stderr(&out).trim_end(), warning, "depth {depth}");
        let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let uids: Vec<&str> = items.iter().filter_map(|i| i["uid"].as_str()).collect();
        assert_eq!(
            uids,
            vec![
                "deep@hostile",
                "plain@hostile",
                "deep@hostile",
                "deep@hostile"
            ],
            "{}",
            stdout(&out)
        );
    }
}

/// A config reading `calendar` as an ics account owned by Ana, briefs to files.
fn config_with(dir: &Path, calendar: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "state_dir = \"state\"\ntimezone = \"UTC\"\n{extra}\n\
         [mail]\nfrom = \"Briefs <briefs@example.com>\"\ntransport = \"file\"\n\n[mail.file]\ndir = \"out\"\n\n\
         [[accounts]]\nname = \"deep\"\nprovider = \"ics\"\nurl = {:?}\nowner = \"ana@example.com\"\n",
        calendar.display().to_string()
    );
    let path = dir.join("tete.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_once_and_series_survive_a_calendar_nested_10000_deep_and_still_see_the_1_1() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = write_nested(dir.path(), 10_000);
    let config = config_with(dir.path(), &calendar, "");
    let config_arg = config.to_str().unwrap();
    let run = tete(&[
        "--config",
        config_arg,
        "run",
        "--once",
        "--now",
        "2027-01-03T08:00",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("sub-components nested deeper than 4 levels dropped"),
        "{}",
        stderr(&run)
    );
    let series = tete(&[
        "--config",
        config_arg,
        "series",
        "--now",
        "2027-01-03T08:00",
    ]);
    assert!(series.status.success(), "{}", stderr(&series));
    assert!(
        stdout(&series).contains("Ana / Olga"),
        "{}",
        stdout(&series)
    );
}

#[test]
fn check_rejects_overflowing_durations_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = write_nested(dir.path(), 1);
    let cases = [
        (
            "[brief]\nlead_time = \"18446744073709551615s\"\n",
            "brief.lead_time",
        ),
        (
            "[detection]\nhorizon = \"99999999d\"\n",
            "detection.horizon",
        ),
        (
            "[detection]\nhistory = \"99999999d\"\n",
            "detection.history",
        ),
    ];
    for (extra, key) in cases {
        let config = config_with(dir.path(), &calendar, extra);
        let out = tete(&["--config", config.to_str().unwrap(), "check"]);
        assert_eq!(out.status.code(), Some(1), "{key}: {}", stderr(&out));
        // The value sits on line 4 (after state_dir, timezone and the table header),
        // column 1 + the key's length + " = ".
        let name = key.rsplit('.').next().unwrap();
        let prefix = format!("{}:4:{}: {key}: ", config.display(), name.len() + 4);
        let err = stderr(&out);
        assert!(
            err.lines()
                .any(|l| l.starts_with(&prefix) && l.contains("longer than the maximum")),
            "no {prefix:?} in:\n{err}"
        );
        // Every other command refuses the file too, instead of panicking later.
        let status = tete(&["--config", config.to_str().unwrap(), "status"]);
        assert_eq!(status.status.code(), Some(78), "{}", stderr(&status));
    }
    let poll = config_with(dir.path(), &calendar, "")
        .to_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&poll).unwrap().replace(
        "owner = ",
        "poll_interval = \"18446744073709551615s\"\nowner = ",
    );
    std::fs::write(&poll, &text).unwrap();
    let out = tete(&["--config", &poll, "check"]);
    let line = text
        .lines()
        .position(|l| l.starts_with("poll_interval"))
        .unwrap()
        + 1;
    let prefix = format!("{poll}:{line}:17: accounts[0].poll_interval: ");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).lines().any(|l| l.starts_with(&prefix)),
        "no {prefix:?} in:\n{}",
        stderr(&out)
    );
}

/// A weekly 1:1 between Ana and `other` with `rule` as its RRULE.
fn one_on_one(uid: &str, other: &str, rule: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Ana / {other}\r\n\
         DTSTART:20270104T110000Z\r\nDTEND:20270104T113000Z\r\nRRULE:{rule}\r\n\
         ORGANIZER:mailto:ana@example.com\r\nATTENDEE:mailto:ana@example.com\r\n\
         ATTENDEE:mailto:{other}@example.com\r\nEND:VEVENT\r\n"
    )
}

#[test]
fn invalid_and_capped_rules_warn_once_per_series_in_run_and_are_no_1_1s_in_series() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = dir.path().join("rules.ics");
    let body = [
        one_on_one("secondly@hostile", "sec", "FREQ=SECONDLY"),
        one_on_one("fortnightly@hostile", "fort", "FREQ=FORTNIGHTLY"),
        one_on_one("ordinal@hostile", "ord", "FREQ=MONTHLY;BYDAY=99999999999MO"),
        one_on_one("fine@hostile", "olga", "FREQ=WEEKLY"),
    ]
    .concat();
    std::fs::write(
        &calendar,
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{body}END:VCALENDAR\r\n"),
    )
    .unwrap();
    let config = config_with(dir.path(), &calendar, "");
    let config_arg = config.to_str().unwrap();
    let now = "2027-01-03T08:00";
    let run = tete(&["--config", config_arg, "run", "--once", "--now", now]);
    assert!(run.status.success(), "{}", stderr(&run));
    let log = stderr(&run);
    for uid in ["secondly@hostile", "fortnightly@hostile", "ordinal@hostile"] {
        let lines = log.lines().filter(|l| l.contains(uid)).count();
        assert_eq!(lines, 1, "one warning about {uid} in:\n{log}");
    }
    assert!(!log.contains("fine@hostile"), "{log}");
    assert!(
        stdout(&run).contains("series: 1 1:1s among 4"),
        "{}",
        stdout(&run)
    );

    let series = tete(&["--config", config_arg, "series", "--now", now]);
    assert!(series.status.success(), "{}", stderr(&series));
    let listing = stdout(&series);
    for title in ["Ana / sec", "Ana / fort", "Ana / ord"] {
        let line = listing
            .lines()
            .find(|l| l.contains(title))
            .unwrap_or_else(|| panic!("{title} in:\n{listing}"));
        assert!(
            line.ends_with("— invalid recurrence rule"),
            "{line}\n{listing}"
        );
    }
    assert!(listing.starts_with("1:1 series (1):"), "{listing}");
    // The series command warns the same way the pass does.
    assert!(
        stderr(&series).contains("fortnightly@hostile"),
        "{}",
        stderr(&series)
    );
}

#[test]
fn a_file_with_hundreds_of_bad_lines_logs_twenty_warnings_and_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = dir.path().join("noisy.ics");
    let noise = "this line is no property\r\n".repeat(250);
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:noisy@hostile\r\n\
         DTSTART:20270104T110000Z\r\n{noise}END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    std::fs::write(&calendar, text).unwrap();
    let config = config_with(dir.path(), &calendar, "");
    let run = tete(&[
        "--config",
        config.to_str().unwrap(),
        "run",
        "--once",
        "--now",
        "2027-01-03T08:00",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let log = stderr(&run);
    let about_file = log.lines().filter(|l| l.contains("noisy.ics")).count();
    assert_eq!(about_file, 21, "{log}");
    assert!(
        log.contains("noisy.ics: 230 more warnings about this file not shown"),
        "{log}"
    );
}

//! Integration tests: a series' context belongs to its two people. When the organizer
//! edits a weekly 1:1 so that someone else attends, the new pair starts fresh; the old
//! pair's items and notes reach nobody else, and come back when that pair does.

use std::path::Path;

use crate::support::{stderr, stdout, tete};

const UID: &str = "weekly-alex@tests.example";

/// Alex's weekly Monday 1:1 (10:00 Berlin) with `other`, described by `description`
/// (iCalendar-escaped).
fn calendar(other: &str, description: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{UID}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Weekly 1:1\r\n\
         DTSTART;TZID=Europe/Berlin:20261102T100000\r\nDTEND;TZID=Europe/Berlin:20261102T103000\r\n\
         RRULE:FREQ=WEEKLY;BYDAY=MO\r\nORGANIZER:mailto:alex@example.com\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:alex@example.com\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:{other}\r\nDESCRIPTION:{description}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn config(dir: &Path) -> String {
    let text = r#"state_dir = "state"
timezone = "Europe/Berlin"

[brief]
lead_time = "18h"

[mail]
from = "briefs@example.com"
transport = "file"

[mail.file]
dir = "briefs"

[[accounts]]
name = "alex"
provider = "ics"
url = "alex.ics"
owner = "alex@example.com"
"#;
    let path = dir.join("tete.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs a pass at `now` and returns the text of the briefs it wrote, by recipient.
fn pass(dir: &Path, config: &str, now: &str) -> Vec<(String, String)> {
    let briefs = dir.join("briefs");
    let before: Vec<_> = std::fs::read_dir(&briefs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let output = tete(&["--config", config, "run", "--once", "--now", now]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut written = Vec::new();
    for entry in std::fs::read_dir(&briefs).unwrap().flatten() {
        let path = entry.path();
        if before.contains(&path) {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let to = message
            .to()
            .and_then(|to| to.first())
            .and_then(|a| a.address())
            .unwrap()
            .to_string();
        let text = format!(
            "{}\n{}",
            message.body_text(0).unwrap_or_default(),
            message.body_html(0).unwrap_or_default()
        );
        written.push((to, text));
    }
    written.sort();
    written
}

fn series_id(config: &str) -> String {
    let output = tete(&["--config", config, "series", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let series: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    series
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uid"] == UID)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const SECRETS: [&str; 4] = [
    "prepare for the PIP meeting",
    "Dana is worried about the review",
    "send the self-review",
    "thinking of moving Dana",
];

#[test]
fn a_series_whose_second_person_changes_shows_the_new_pair_none_of_the_old_context() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let ics = dir.path().join("alex.ics");
    std::fs::write(
        &ics,
        calendar(
            "dana@example.com",
            "Action items:\\n- [ ] Dana: prepare for the PIP meeting\\n\\nNotes:\\nDana is worried about the review.",
        ),
    )
    .unwrap();

    // Sunday evening before the 1:1 of Monday 23 Nov: both get a brief with Dana's item.
    let first = pass(dir.path(), &config, "2026-11-22T18:00");
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first[0].1.contains("prepare for the PIP meeting"));
    let series = series_id(&config);
    let added = tete(&[
        "--config",
        &config,
        "items",
        "add",
        &series,
        "send the self-review",
        "--owner",
        "dana@example.com",
    ]);
    assert!(added.status.success(), "{}", stderr(&added));
    let noted = tete(&[
        "--config",
        &config,
        "notes",
        "add",
        &series,
        "thinking of moving Dana",
        "--private",
    ]);
    assert!(noted.status.success(), "{}", stderr(&noted));

    // The organizer edits the series: Eve attends instead of Dana, new description.
    std::fs::write(&ics, calendar("eve@example.com", "Agenda:\\n- the roadmap")).unwrap();
    let handed_over = pass(dir.path(), &config, "2026-11-29T18:00");
    let recipients: Vec<&str> = handed_over.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(recipients, ["alex@example.com", "eve@example.com"]);
    for (to, text) in &handed_over {
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "{to}'s brief shows {secret:?}:\n{text}"
            );
        }
    }
    let listed = tete(&["--config", &config, "items", "list", &series]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        !stdout(&listed).contains("PIP") && !stdout(&listed).contains("self-review"),
        "{}",
        stdout(&listed)
    );

    // Dana comes back: her context, items and Alex's private note, is there again.
    std::fs::write(
        &ics,
        calendar("dana@example.com", "Agenda:\\n- the roadmap"),
    )
    .unwrap();
    let back = pass(dir.path(), &config, "2026-12-06T18:00");
    let dana = back
        .iter()
        .find(|(to, _)| to == "dana@example.com")
        .expect("Dana gets a brief again");
    assert!(dana.1.contains("prepare for the PIP meeting"), "{}", dana.1);
    assert!(dana.1.contains("send the self-review"), "{}", dana.1);
    assert!(
        !dana.1.contains("thinking of moving Dana"),
        "private to Alex"
    );
    let alex = back
        .iter()
        .find(|(to, _)| to == "alex@example.com")
        .unwrap();
    assert!(alex.1.contains("thinking of moving Dana"), "{}", alex.1);
}

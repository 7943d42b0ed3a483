//! Integration tests: `tete expand` on the small fixtures in `tests/fixtures/ics/`.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ics")
        .join(name)
}

fn tete(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tete"))
        .args(args)
        .output()
        .expect("the tete binary runs")
}

/// `tete expand FIXTURE --from FROM --to TO --json`, parsed; panics unless exit 0.
fn expand_json(name: &str, from: &str, to: &str) -> (Vec<Value>, String) {
    let path = fixture(name);
    let path = path.to_str().expect("fixture path is UTF-8");
    let out = tete(&["expand", path, "--from", from, "--to", to, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tete expand {name} failed: {stderr}");
    let value: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let items = value.as_array().expect("one JSON array").clone();
    (items, stderr)
}

fn starts(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["start"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn json_output_has_exactly_the_documented_shape() {
    let (items, _) = expand_json("simple.ics", "2024-01-01", "2025-01-01");
    assert_eq!(
        Value::Array(items),
        json!([{
            "uid": "simple@example.com",
            "summary": "Simple",
            "start": "2024-06-01T09:00:00+00:00",
            "end": "2024-06-01T09:30:00+00:00",
            "recurrence_id": null,
            "status": "confirmed",
            "attendees": [{"email": "ana@example.com", "name": "Ana", "role": null, "partstat": "TENTATIVE", "cutype": null}],
            "organizer": {"email": "org@example.com", "name": null}
        }])
    );
}

#[test]
fn moved_instance_replaces_its_slot_and_cancelled_ones_are_kept_or_excluded() {
    let (items, _) = expand_json("series.ics", "2024-01-01", "2025-01-01");
    assert_eq!(
        starts(&items),
        vec![
            "2024-03-04T10:00:00+01:00",
            "2024-03-12T15:00:00+01:00", // moved from the 11th
            "2024-03-18T10:00:00+01:00", // cancelled by an override, kept and marked
            // the 25th is removed by EXDATE
            "2024-04-01T10:00:00+02:00", // DST: still 10:00, offset now +02:00
            "2024-04-08T10:00:00+02:00",
        ]
    );
    assert_eq!(items[1]["recurrence_id"], "2024-03-11T10:00:00+01:00");
    assert_eq!(items[1]["summary"], "Dana / Sam 1:1 (moved)");
    assert_eq!(items[2]["status"], "cancelled");
    assert_eq!(items[0]["recurrence_id"], "2024-03-04T10:00:00+01:00");
    assert_eq!(
        items[0]["attendees"][0],
        json!({"email": "dana@example.com", "name": "Dana Lee", "role": "CHAIR", "partstat": "ACCEPTED", "cutype": "INDIVIDUAL"})
    );
    assert_eq!(
        items[0]["organizer"],
        json!({"email": "dana@example.com", "name": "Dana Lee"})
    );
}

#[test]
fn windows_and_outlook_display_name_tzids_resolve_to_iana_zones() {
    let (items, stderr) = expand_json("windows.ics", "2024-01-01", "2025-01-01");
    assert_eq!(
        starts(&items),
        vec!["2024-01-15T09:00:00-05:00", "2024-07-01T09:00:00+02:00"]
    );
    assert!(stderr.is_empty(), "no warnings expected: {stderr}");
}

#[test]
fn a_vtimezone_without_iana_equivalent_is_used_as_written() {
    let (items, _) = expand_json("custom_zone.ics", "2024-01-01", "2025-01-01");
    assert_eq!(starts(&items), vec!["2024-06-01T12:00:00+05:17"]);
}

#[test]
fn all_day_floating_rdate_and_date_only_until_come_out_in_their_own_forms() {
    let (items, _) = expand_json("kinds.ics", "2024-06-01", "2024-07-01");
    let by_uid = |uid: &str| -> Vec<(String, String)> {
        items
            .iter()
            .filter(|i| i["uid"] == uid)
            .map(|i| {
                (
                    i["start"].as_str().unwrap_or("").to_string(),
                    i["end"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        by_uid("all-day"),
        vec![("2024-06-10".into(), "2024-06-12".into())]
    );
    assert_eq!(
        by_uid("floating"),
        vec![("2024-06-11T08:00:00".into(), "2024-06-11T08:45:00".into())]
    );
    let rdates: Vec<String> = by_uid("rdates").into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        rdates,
        vec![
            "2024-06-03T14:00:00+00:00",
            "2024-06-05T14:00:00+00:00",
            "2024-06-07T14:00:00+00:00",
            "2024-06-09T14:00:00+00:00"
        ]
    );
    // UNTIL=20240605 with a New York start includes the whole of June 5.
    assert_eq!(by_uid("date-until").len(), 3);
}

#[test]
fn the_window_is_floating_dates_with_overlap_semantics() {
    // The two-day all-day event starting June 10 overlaps a window that starts June 11.
    let (items, _) = expand_json("kinds.ics", "2024-06-11", "2024-06-12");
    let uids: Vec<&str> = items
        .iter()
        .map(|i| i["uid"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(uids, vec!["all-day", "floating"]);
}

#[test]
fn a_broken_event_is_skipped_with_a_warning_naming_its_line_and_the_rest_loads() {
    let (items, stderr) = expand_json("broken.ics", "2024-01-01", "2025-01-01");
    let uids: Vec<&str> = items
        .iter()
        .map(|i| i["uid"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(uids, vec!["good-1", "good-2", "good-3"]);
    assert!(
        stderr.contains("broken.ics:10: VEVENT skipped: DTSTART"),
        "{stderr}"
    );
    assert!(
        stderr.contains("broken.ics:21: VEVENT is never closed"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid UTF-8"), "{stderr}");
    assert!(
        stderr.contains("broken.ics:30: bad-rule: series skipped"),
        "{stderr}"
    );
}

#[test]
fn the_table_lists_start_end_status_summary_and_attendee_count() {
    let path = fixture("series.ics");
    let out = tete(&[
        "expand",
        path.to_str().unwrap_or(""),
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-05",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("START"));
    assert!(
        lines[1].contains("2024-03-04T10:00:00+01:00")
            && lines[1].contains("confirmed")
            && lines[1].ends_with('2')
    );
}

#[test]
fn a_missing_file_or_a_bad_date_exits_1_with_a_clear_message() {
    let out = tete(&[
        "expand",
        "/nonexistent/cal.ics",
        "--from",
        "2024-01-01",
        "--to",
        "2024-02-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cal.ics"));

    let path = fixture("simple.ics");
    let out = tete(&[
        "expand",
        path.to_str().unwrap_or(""),
        "--from",
        "01/02/2024",
        "--to",
        "2024-02-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--from") && stderr.contains("YYYY-MM-DD"),
        "{stderr}"
    );
}

#[test]
fn an_exchange_custom_tzid_falls_back_to_the_calendar_zone_instead_of_dropping_the_meeting() {
    let (items, stderr) = expand_json("unknown_tzid.ics", "2027-01-01", "2027-02-01");
    assert_eq!(
        starts(&items),
        vec![
            "2027-01-04T10:00:00+01:00",
            "2027-01-05T09:00:00+01:00",
            "2027-01-11T10:00:00+01:00",
            "2027-01-18T10:00:00+01:00",
        ]
    );
    // One warning for the file, at the first event using the TZID, quoted or not.
    let path = fixture("unknown_tzid.ics");
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        warnings,
        vec![format!(
            "warning: {}:5: unknown time zone \"tzone://Microsoft/Custom\" (not IANA, not a Windows name, \
             no VTIMEZONE in the file); its times are read in the calendar's X-WR-TIMEZONE Europe/Berlin",
            path.display()
        )]
    );
}

#[test]
fn a_tzid_with_stray_whitespace_is_read_in_its_vtimezone() {
    let (items, stderr) = expand_json("tzid_whitespace.ics", "2027-01-01", "2027-02-01");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(
        starts(&items),
        vec!["2027-01-04T10:00:00+05:30", "2027-01-11T10:00:00+05:30"]
    );
    assert_eq!(items[0]["end"], "2027-01-04T10:30:00+05:30");
}

//! The logic of each fuzz target, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`), the stable-Rust mutation loop (`benches/fuzz_stable.rs`)
//! and the regression test over `tests/fixtures/fuzz-regressions/` (tests/it/hostile.rs).
//!
//! Each function takes arbitrary bytes and must return without panicking, in bounded
//! time, whatever the bytes are.

#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

/// One target: arbitrary bytes in, nothing out; must not panic.
pub type Target = fn(&[u8]);

/// The targets by name (the folder names under `fuzz/corpus/` and
/// `tests/fixtures/fuzz-regressions/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("ics_expand", ics_expand),
    ("description", description),
    ("html_to_text", html_to_text),
    ("google_map_event", google_map_event),
    ("graph_map_event", graph_map_event),
    ("config_parse", config_parse),
    ("reply", reply),
];

/// Folders of `tests/fixtures/fuzz-regressions/` that hold what a structure-aware target
/// (`fuzz/grammar/`) rendered, run through the byte-level target that takes that text.
pub const RENDERED: &[(&str, Target)] = &[
    ("ics_grammar", ics_expand),
    ("config_grammar", config_parse),
];

/// `.ics` bytes → events → occurrences in a bounded window (and the cadence of each).
pub fn ics_expand(data: &[u8]) {
    let parsed = tete::sources::ics::parse_ics_bytes(data, "fuzz.ics");
    let start: DateTime<Utc> = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    let window = tete::core::calendar::Window::instants(
        start - TimeDelta::days(60),
        start + TimeDelta::days(35),
    );
    let limits = tete::core::calendar::Limits {
        max_per_series: 500,
        max_steps_per_series: 20_000,
        max_time_per_series: std::time::Duration::from_millis(50),
        // A feed of thousands of hostile series (the grammar's count bombs) stops
        // after this, well inside libFuzzer's -timeout.
        max_time_total: std::time::Duration::from_secs(2),
        ..tete::core::calendar::Limits::timed(std::time::Instant::now)
    };
    let expansion = tete::core::calendar::expand(&parsed.events, &window, chrono_tz::UTC, &limits);
    std::hint::black_box(expansion);
    for event in &parsed.events {
        if let Some(rec) = &event.recurrence {
            std::hint::black_box(tete::core::calendar::describe_cadence(rec));
        }
    }
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A description (plain text) → action items, notes, talking points.
pub fn description(data: &[u8]) {
    let people = [
        tete::model::Person {
            email: "ana@example.com".into(),
            name: Some("Ana Silva".into()),
        },
        tete::model::Person {
            email: "ben@example.com".into(),
            name: Some("Ben".into()),
        },
    ];
    std::hint::black_box(tete::core::context::parse_description(&text(data), &people));
}

/// HTML (Outlook/Google bodies) → plain text.
pub fn html_to_text(data: &[u8]) {
    std::hint::black_box(tete::core::context::html_to_text(&text(data)));
}

/// Arbitrary JSON → a Google event mapped to the model.
pub fn google_map_event(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = std::hint::black_box(tete::sources::google::map_event(&value));
    }
}

/// Arbitrary JSON → a Microsoft Graph event mapped to the model (as a series member
/// with the master's UID, and as itself).
pub fn graph_map_event(data: &[u8]) {
    use tete::sources::microsoft::mapping::{GraphEvent, map_event};
    if let Ok(event) = serde_json::from_slice::<GraphEvent>(data) {
        let _ = std::hint::black_box(map_event(&event, None, Some("owner@example.com")));
        let _ = std::hint::black_box(map_event(&event, Some("master-uid"), None));
    }
}

/// A TOML config → validated `Config` or precise errors.
pub fn config_parse(data: &[u8]) {
    let _ = std::hint::black_box(tete::config::parse(
        &text(data),
        Path::new("/nonexistent/fuzz.toml"),
    ));
}

/// A message as a mailbox delivers it → what tete would make of it as a reply to a brief
/// (robot check, binding token, visible text, commands, the Authentication-Results
/// verdict).
pub fn reply(data: &[u8]) {
    let Some(message) = mail_parser::MessageParser::default().parse(data) else {
        return;
    };
    let person = |email: &str| tete::model::Person {
        email: email.into(),
        name: None,
    };
    let people = [person("alex@example.com"), person("dana@example.com")];
    let now = DateTime::<Utc>::from_timestamp(1_796_000_000, 0).unwrap_or_default();
    let report = tete::core::reply::examine(&message, &[7u8; 32], now, |_| Some(people));
    let verdict = tete::core::reply::authres::sender_authenticated(
        &message,
        "mx.example.com",
        report.sender.as_deref().unwrap_or("dana@example.com"),
    );
    let _ = std::hint::black_box((report, verdict.is_ok()));
}

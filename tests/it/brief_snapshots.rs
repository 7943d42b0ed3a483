//! Snapshot tests of rendered briefs (insta): the demo's Alex / Dana 1:1 as each of
//! the two receives it, text and HTML, at a fixed clock. A template or composition
//! change shows in review as a diff of `tests/it/snapshots/`; accept an intended one
//! with `INSTA_UPDATE=always cargo test --test it brief_snapshots` (or `cargo insta
//! review`).

use crate::support::{demo_config_in, stderr, stdout, tete};

fn preview(to: &str, html: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    // One pass reads the calendar and harvests items, notes and history (its briefs
    // go to files in the temp dir).
    let synced = tete(&[
        "--config",
        config.to_str().unwrap(),
        "run",
        "--once",
        "--now",
        "2026-12-01T08:00",
    ]);
    assert!(synced.status.success(), "{}", stderr(&synced));
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "preview",
        "def764be6d",
        "--to",
        to,
        "--now",
        "2026-12-01T08:00",
    ];
    if html {
        args.push("--html");
    }
    let output = tete(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn danas_brief_as_text() {
    insta::assert_snapshot!(preview("dana@example.com", false));
}

#[test]
fn alexs_brief_as_text() {
    insta::assert_snapshot!(preview("alex@example.com", false));
}

#[test]
fn danas_brief_as_html() {
    insta::assert_snapshot!(preview("dana@example.com", true));
}

//! Integration test: a store written by schema version 1 must open in every
//! later tete, with everything in it. A format change then needs a migration, not a
//! "newer schema refused".
//!
//! `tests/fixtures/store-v1/` holds such a store (its sled log gzipped: 5 KB instead of
//! 512 KB) and the config that wrote it, from `tests/fixtures/pass/weekly.ics`:
//! `run --once --now 2026-12-06T18:00` (two briefs sent), then `items add 677dafae7d
//! "bring the Q1 numbers" --owner ben@example.com`, `notes add 677dafae7d "ask about the
//! team move" --private` and `skip 677dafae7d --date 2026-12-14`.

use std::path::Path;
use std::process::Command;

use crate::support::{repo_root, stderr, stdout, tete};

/// Copies the fixture into `dir` (state in `dir/state`), returns the config path.
fn unpack(dir: &Path) -> String {
    let fixture = repo_root().join("tests/fixtures/store-v1");
    let store = dir.join("state/store");
    std::fs::create_dir_all(&store).unwrap();
    for file in ["conf", "snap.000000000000688E"] {
        std::fs::copy(fixture.join("store").join(file), store.join(file)).unwrap();
    }
    let db = Command::new("gzip")
        .arg("-dc")
        .arg(fixture.join("store/db.gz"))
        .output()
        .expect("gzip runs");
    assert!(db.status.success());
    std::fs::write(store.join("db"), db.stdout).unwrap();
    let text = std::fs::read_to_string(fixture.join("tete.toml"))
        .unwrap()
        .replace(
            "url = \"../pass/weekly.ics\"",
            &format!(
                "url = {:?}",
                repo_root()
                    .join("tests/fixtures/pass/weekly.ics")
                    .display()
                    .to_string()
            ),
        );
    let config = dir.join("tete.toml");
    std::fs::write(&config, text).unwrap();
    config.to_str().unwrap().to_string()
}

#[test]
fn a_store_of_schema_1_opens_with_its_items_notes_skips_and_sent_briefs() {
    let dir = tempfile::tempdir().unwrap();
    let config = unpack(dir.path());
    let now = ["--now", "2026-12-06T18:30"];

    // Schema 2 indexes events by series: the upgrade builds the index from the events
    // already stored, so the series is found before any sync ran.
    let series = tete(&["--config", &config, "series", "--json"]);
    assert!(series.status.success(), "{}", stderr(&series));
    assert!(
        stdout(&series).contains("677dafae7d"),
        "{}",
        stdout(&series)
    );

    let items = tete(&["--config", &config, "items", "list", "677dafae7d"]);
    assert!(items.status.success(), "{}", stderr(&items));
    let listed = stdout(&items);
    for text in [
        "bring the Q1 numbers",
        "write the release summary",
        "book the offsite room",
    ] {
        assert!(listed.contains(text), "{text}:\n{listed}");
    }
    let notes = tete(&["--config", &config, "notes", "list", "677dafae7d"]);
    assert!(
        stdout(&notes).contains("ask about the team move"),
        "{}",
        stdout(&notes)
    );

    // The briefs of Monday 7 December were sent when the store was written: a pass now
    // sends nothing again, and the skipped meeting of the 14th gets none either.
    let pass = tete(&[&["--config", &config, "run", "--once"][..], &now[..]].concat());
    assert!(pass.status.success(), "{}", stderr(&pass));
    assert!(
        stdout(&pass).contains("briefs: 0 queued"),
        "{}",
        stdout(&pass)
    );
    let later = tete(&[
        "--config",
        &config,
        "run",
        "--once",
        "--now",
        "2026-12-13T18:00",
    ]);
    assert!(later.status.success(), "{}", stderr(&later));
    assert!(
        stdout(&later).contains("briefs: 0 queued"),
        "{}",
        stdout(&later)
    );
    let status = tete(&["--config", &config, "status"]);
    assert!(
        stdout(&status).contains("2 sent in all"),
        "{}{}",
        stdout(&status),
        stderr(&status)
    );
}

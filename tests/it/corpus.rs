//! Integration tests: the real-world corpus (`$TETE_CORPUS`) against the independent
//! reference expansion (Python `icalendar` + `recurring-ical-events`).
//!
//! For every `ics/**.ics` with an `expected/<same path>.json`, tete expands
//! [2020-01-01, 2030-01-01) with floating-date window semantics, keeps its earliest 500
//! (as the reference does) and compares the set of (uid, start, end). Files where tete
//! deliberately disagrees are listed in [`KNOWN_DIFFERENCES`] with the RFC reason, and
//! the difference must be exactly the recorded one.

use chrono::{DateTime, NaiveDate};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tete::cli::expand::{JsonOccurrence, expand_file};
use tete::sources::ics::parse_ics_bytes;

/// A file where tete and the reference disagree on purpose.
struct Known {
    file: &'static str,
    /// How many (uid, start, end) only the reference has, and the start of the first.
    missing: (usize, Option<&'static str>),
    /// How many only tete has, and the start of the first.
    extra: (usize, Option<&'static str>),
    /// Why tete is right (or the input undecidable), with the RFC section.
    reason: &'static str,
}

const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        file: "allenporter__ical/office_365_invalid_timezone.ics",
        missing: (1, Some("2024-04-26T14:00:00+02:00")),
        extra: (1, Some("2024-04-26T14:00:00")),
        reason: "TZID=Customized Time Zone names no VTIMEZONE in the file (RFC 5545 §3.2.19 requires \
                 one) and is neither IANA nor Windows, and the file has no X-WR-TIMEZONE; tete keeps \
                 the event as floating time with a warning (the pass reads it in the configured \
                 timezone) instead of guessing an offset (the reference printed +02:00)",
    },
    Known {
        file: "ical4j__ical4j/google_aus_holidays.ics",
        missing: (70, Some("2020-04-25T00:00:00-07:00")),
        extra: (70, Some("2020-04-25")),
        reason: "DTSTART;TZID=America/Los_Angeles:20041225 is a DATE value without VALUE=DATE; a TZID \
                 must not be applied to a DATE (RFC 5545 §3.2.19), so tete reads these holidays as \
                 all-day dates, the reference as midnight date-times in Los Angeles (same days)",
    },
    Known {
        file: "jazzband__icalevents/cest.ics",
        missing: (1, Some("2021-07-02")),
        extra: (0, None),
        reason: "all-day series with a UTC date-time UNTIL (RFC 5545 §3.3.10 requires a DATE when \
                 DTSTART is a DATE): tete compares it with the days read in the floating zone, ending \
                 the series on 2021-06-30; the reference ends the same series there in \
                 recurrenceid_ms.ics but adds 2021-07-02 here, so it is not consistent",
    },
    Known {
        file: "niccokunzmann__python-recurring-ical-events/issue_201_mixed_datetime_and_date.ics",
        missing: (1, Some("2023-07-24T00:00:00+00:00")),
        extra: (1, Some("2023-07-24")),
        reason: "DTSTART is a DATE and DTEND a UTC DATE-TIME; RFC 5545 §3.8.2.2 requires the same \
                 value type and DTSTART decides: tete keeps the event all-day, the reference turns \
                 it into a date-time",
    },
    Known {
        file: "niccokunzmann__python-recurring-ical-events/issue_75_range_parameter.ics",
        missing: (0, None),
        extra: (1, Some("2025-09-21T14:22:00+00:00")),
        reason: "UNTIL=20250920 (a DATE) with a date-time DTSTART: UNTIL bounds the rule inclusively \
                 (RFC 5545 §3.3.10), so the 2025-09-20 12:00Z instance belongs to the set (moved by \
                 the RANGE=THISANDFUTURE override to 2025-09-21, §3.8.4.4); the reference cuts at \
                 midnight",
    },
];

const LIMIT: usize = 500;

type Key = (String, String, String);

fn corpus_dir() -> Option<PathBuf> {
    let raw = std::env::var_os("TETE_CORPUS").filter(|v| !v.is_empty())?;
    let path = PathBuf::from(raw);
    Some(if path.is_absolute() {
        path
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    })
}

fn ics_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            ics_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "ics") {
            out.push(path);
        }
    }
}

/// Equal instants written with equal offsets compare equal (`Z` = `+00:00`).
fn normalize(start: &str) -> String {
    match DateTime::parse_from_rfc3339(start) {
        Ok(at) => at.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => start.to_string(),
    }
}

fn expected_keys(path: &Path) -> Result<BTreeSet<Key>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let items = value
        .as_array()
        .ok_or_else(|| format!("{}: not an array", path.display()))?;
    Ok(items
        .iter()
        .map(|item| {
            let field = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            (
                field("uid"),
                normalize(&field("start")),
                normalize(&field("end")),
            )
        })
        .collect())
}

fn tete_keys(path: &Path) -> Result<BTreeSet<Key>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let origin = path.display().to_string();
    let result = std::panic::catch_unwind(move || {
        let parsed = parse_ics_bytes(&bytes, &origin);
        let from = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let to = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or_default();
        let expansion = expand_file(&parsed.events, from, to);
        expansion
            .occurrences
            .iter()
            .take(LIMIT)
            .map(|occ| {
                let json = JsonOccurrence::from(occ);
                (json.uid, normalize(&json.start), normalize(&json.end))
            })
            .collect::<BTreeSet<Key>>()
    });
    result.map_err(|_| format!("{}: tete panicked", path.display()))
}

#[test]
fn corpus_matches_the_reference_or_differs_exactly_as_recorded() {
    let Some(corpus) = corpus_dir() else {
        println!("corpus: TETE_CORPUS is not set; skipping the corpus comparison");
        return;
    };
    let mut files = Vec::new();
    ics_files(&corpus.join("ics"), &mut files);
    let verbose = std::env::var_os("TETE_CORPUS_VERBOSE").is_some();
    let mut failures = Vec::new();
    // Every file, with or without a reference, must load without panicking.
    for file in &files {
        if let Err(error) = tete_keys(file) {
            failures.push(error);
        }
    }
    let (mut total, mut exact) = (0, 0);
    let mut compared: Vec<String> = Vec::new();
    for file in &files {
        let Ok(relative) = file.strip_prefix(corpus.join("ics")) else {
            continue;
        };
        let name = relative.display().to_string();
        let expected_path = corpus.join("expected").join(format!("{name}.json"));
        if !expected_path.exists() {
            continue;
        }
        total += 1;
        compared.push(name.clone());
        let (expected, ours) = match (expected_keys(&expected_path), tete_keys(file)) {
            (Ok(e), Ok(o)) => (e, o),
            (Err(e), _) | (_, Err(e)) => {
                failures.push(e);
                continue;
            }
        };
        let missing: Vec<&Key> = expected.difference(&ours).collect();
        let extra: Vec<&Key> = ours.difference(&expected).collect();
        if verbose && (!missing.is_empty() || !extra.is_empty()) {
            println!("{name}: {} missing, {} extra", missing.len(), extra.len());
            for key in missing.iter().take(5) {
                println!("  missing {key:?}");
            }
            for key in extra.iter().take(5) {
                println!("  extra   {key:?}");
            }
        }
        let known = KNOWN_DIFFERENCES.iter().find(|k| k.file == name);
        let first = |keys: &[&Key]| keys.first().map(|(_, start, _)| start.clone());
        let seen = (
            (missing.len(), first(&missing)),
            (extra.len(), first(&extra)),
        );
        match known {
            None if missing.is_empty() && extra.is_empty() => exact += 1,
            None => failures.push(format!(
                "{name}: {} occurrences only in the reference (first {:?}), {} only in tete (first {:?})",
                missing.len(),
                missing.first(),
                extra.len(),
                extra.first()
            )),
            Some(k) => {
                let recorded = (
                    (k.missing.0, k.missing.1.map(str::to_string)),
                    (k.extra.0, k.extra.1.map(str::to_string)),
                );
                if recorded != seen {
                    failures.push(format!(
                        "{name}: the recorded difference ({}) changed: now {seen:?}, recorded {recorded:?}",
                        k.reason
                    ));
                }
            }
        }
    }
    for k in KNOWN_DIFFERENCES {
        if !compared.iter().any(|name| name == k.file) {
            failures.push(format!(
                "{}: recorded as a known difference but not in the corpus",
                k.file
            ));
        }
    }
    println!("corpus: {exact} of {total} files match the reference exactly");
    assert!(
        failures.is_empty(),
        "corpus differences:\n{}",
        failures.join("\n")
    );
}

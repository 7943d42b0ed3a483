//! Fuzzing on stable Rust: each target of `fuzz/logic.rs` runs under a simple mutation
//! loop over its seeds for a fixed time. Inputs that panic (or take longer than a
//! second) are written to `target/fuzz-findings/<target>/` and counted.
//!
//! ```sh
//! TETE_CORPUS=/work/shared/corpus TETE_FUZZ_SECS=120 cargo bench --bench fuzz_stable
//! TETE_FUZZ_SECS=30 cargo bench --bench fuzz_stable -- ics_expand   # one target
//! ```
//!
//! Seeds: `fuzz/corpus/<target>/`, the repository's fixtures (`tests/fixtures`,
//! `config/`) and, when `TETE_CORPUS` is set, the shared corpus (`.ics` files for
//! `ics_expand`, Google API JSON and each of its `items` for `google_map_event`).
//! Not coverage-guided: a random mutator (bit flips, byte and chunk edits, splices
//! between seeds, dictionary tokens) seeded from the clock, printed for reproduction.

#[path = "../fuzz/logic.rs"]
mod logic;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TOKENS: &[&str] = &[
    "\r\n",
    "\r\n ",
    "\n",
    ":",
    ";",
    "=",
    ",",
    "\"",
    "\\n",
    "\\,",
    "BEGIN:VEVENT\r\n",
    "END:VEVENT\r\n",
    "BEGIN:VCALENDAR\r\n",
    "END:VCALENDAR\r\n",
    "BEGIN:VTIMEZONE\r\n",
    "END:VTIMEZONE\r\n",
    "RRULE:FREQ=SECONDLY",
    "RRULE:FREQ=YEARLY;BYSETPOS=-1;BYDAY=MO,TU",
    ";BYMONTHDAY=-31",
    ";BYWEEKNO=53",
    ";BYYEARDAY=-366",
    ";INTERVAL=0",
    ";COUNT=4294967296",
    ";UNTIL=99991231T235959Z",
    "EXDATE:",
    "RDATE;VALUE=PERIOD:",
    "RECURRENCE-ID;RANGE=THISANDFUTURE:",
    "DTSTART;TZID=",
    "DTSTART;VALUE=DATE:",
    "20270104T100000Z",
    "20270104",
    "TZID=W. Europe Standard Time",
    "TZOFFSETFROM:+2500",
    "ATTENDEE;CUTYPE=ROOM:mailto:",
    "mailto:",
    "@",
    "<",
    ">",
    "&amp;",
    "<script>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<br>",
    "<li>",
    "- [ ] ",
    "- [x] ",
    "TODO:",
    "Action items:",
    "@ana",
    "Notes:",
    "{\"",
    "\":",
    "null",
    "[]",
    "{}",
    "\"dateTime\":\"",
    "\"recurrence\":[\"",
    "\"attendees\":[",
    "\"start\":{",
    "-9999999999",
    "1e400",
    "\u{feff}",
    "\u{0}",
    "\u{202e}",
    "é",
    "\u{10ffff}",
    "[[accounts]]\n",
    "[mail]\n",
    "poll_interval = \"",
    "lead_time = \"",
    "timezone = \"",
    "0s\"",
    "999999999999d\"",
    "\"\n",
];

fn files_under(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if ext.is_empty()
            || path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ext.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
}

fn seeds(target: &str, root: &Path) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    files_under(&root.join("fuzz/corpus").join(target), &[], &mut paths);
    files_under(
        &root.join("tests/fixtures/fuzz-regressions").join(target),
        &[],
        &mut paths,
    );
    let corpus = std::env::var_os("TETE_CORPUS").map(PathBuf::from);
    match target {
        "ics_expand" => {
            files_under(&root.join("tests/fixtures"), &["ics"], &mut paths);
            files_under(&root.join("config"), &["ics"], &mut paths);
            if let Some(corpus) = &corpus {
                files_under(corpus, &["ics"], &mut paths);
            }
        }
        "google_map_event" => {
            if let Some(corpus) = &corpus {
                files_under(&corpus.join("api-json/google"), &["json"], &mut paths);
            }
        }
        "graph_map_event" => {
            if let Some(corpus) = &corpus {
                files_under(&corpus.join("api-json/graph"), &["json"], &mut paths);
            }
        }
        "config_parse" => {
            files_under(&root.join("tests/fixtures/config"), &["toml"], &mut paths);
            files_under(&root.join("config"), &["toml"], &mut paths);
        }
        "reply" => {
            files_under(&root.join("tests/fixtures/replies"), &["eml"], &mut paths);
        }
        "description" | "html_to_text" => {
            if let Some(corpus) = &corpus {
                files_under(&corpus.join("api-json"), &["json"], &mut paths);
            }
        }
        _ => {}
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        // JSON corpus files: each item (and each description) is a seed of its own.
        if path.extension().is_some_and(|e| e == "json") {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                let items = value
                    .get("items")
                    .or_else(|| value.get("value"))
                    .and_then(|v| v.as_array())
                    .cloned()
                    .unwrap_or_else(|| vec![value.clone()]);
                for item in items {
                    match target {
                        "google_map_event" | "graph_map_event" => {
                            out.push(serde_json::to_vec(&item).unwrap_or_default())
                        }
                        _ => {
                            for key in ["description", "body"] {
                                let text = match item.get(key) {
                                    Some(serde_json::Value::String(s)) => s.clone(),
                                    Some(other) => other
                                        .get("content")
                                        .and_then(|c| c.as_str())
                                        .unwrap_or_default()
                                        .to_string(),
                                    None => String::new(),
                                };
                                if !text.is_empty() {
                                    out.push(text.into_bytes());
                                }
                            }
                        }
                    }
                }
                if target.ends_with("_map_event") {
                    continue;
                }
            }
            if !target.ends_with("_map_event") {
                continue;
            }
        }
        if bytes.len() <= 1 << 20 {
            out.push(bytes);
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    let edits = 1 + rng.gen_range(0..8);
    for _ in 0..edits {
        let len = input.len();
        match rng.gen_range(0..9) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                input[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                input[i] = rng.r#gen();
            }
            2 if len > 0 => {
                let start = rng.gen_range(0..len);
                let end = (start + rng.gen_range(1..64)).min(len);
                input.drain(start..end);
            }
            3 | 4 => {
                let token = TOKENS[rng.gen_range(0..TOKENS.len())].as_bytes();
                let at = rng.gen_range(0..=len);
                input.splice(at..at, token.iter().copied());
            }
            5 if len > 0 => {
                // Duplicate a chunk (repeated lines, nested components).
                let start = rng.gen_range(0..len);
                let end = (start + rng.gen_range(1..256)).min(len);
                let chunk = input[start..end].to_vec();
                let times = rng.gen_range(1..4);
                for _ in 0..times {
                    let at = rng.gen_range(0..=input.len());
                    input.splice(at..at, chunk.iter().copied());
                }
            }
            6 => {
                // Splice a piece of another seed.
                let other = &seeds[rng.gen_range(0..seeds.len())];
                if !other.is_empty() {
                    let start = rng.gen_range(0..other.len());
                    let end = (start + rng.gen_range(1..512)).min(other.len());
                    let at = rng.gen_range(0..=len);
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            7 if len > 0 => {
                // Digits: numbers are where limits live.
                let i = rng.gen_range(0..len);
                input[i] = b'0' + rng.gen_range(0..10);
            }
            _ => {
                let at = rng.gen_range(0..=len);
                input.insert(at, rng.r#gen());
            }
        }
    }
    input.truncate(2 << 20);
}

fn save(target: &str, input: &[u8], kind: &str) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    input.hash(&mut hasher);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/fuzz-findings")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind}-{:016x}", hasher.finish()));
    std::fs::write(&path, input).unwrap();
    path
}

fn main() {
    let secs: u64 = std::env::var("TETE_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seed: u64 = std::env::var("TETE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Panics are expected findings: keep their messages short.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("  panic: {info}");
    }));
    let mut total_findings = 0;
    for (name, target) in logic::TARGETS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let seeds = seeds(name, root);
        let mut rng = StdRng::seed_from_u64(seed);
        let started = Instant::now();
        let (mut runs, mut panics, mut slow) = (0u64, 0, 0);
        let mut slowest = Duration::ZERO;
        // Every seed once, unmodified.
        let mut queue: Vec<Vec<u8>> = seeds.clone();
        while started.elapsed() < Duration::from_secs(secs) {
            let input = match queue.pop() {
                Some(input) => input,
                None => {
                    let mut input = seeds[rng.gen_range(0..seeds.len())].clone();
                    mutate(&mut rng, &seeds, &mut input);
                    input
                }
            };
            let t = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
            let took = t.elapsed();
            runs += 1;
            slowest = slowest.max(took);
            if result.is_err() {
                panics += 1;
                let path = save(name, &input, "crash");
                eprintln!("  {name}: panic, input saved to {}", path.display());
            } else if took > Duration::from_secs(1) {
                slow += 1;
                let path = save(name, &input, "slow");
                eprintln!("  {name}: {took:?}, input saved to {}", path.display());
            }
        }
        total_findings += panics + slow;
        println!(
            "{name:18} {secs} s, {runs} runs ({:.0}/s) from {} seeds, seed {seed}: {panics} panics, {slow} inputs over 1 s, slowest {:.1} ms",
            runs as f64 / started.elapsed().as_secs_f64(),
            seeds.len(),
            slowest.as_secs_f64() * 1e3
        );
    }
    if total_findings > 0 {
        println!("findings in target/fuzz-findings/");
    }
}

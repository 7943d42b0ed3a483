//! Per-pass compute: parse, expand, detect and plan 100,000 synthetic events, then
//! render 10,000 briefs. Prints one line per step with a per-second figure.
//!
//! ```sh
//! cargo bench --bench pass            # release profile
//! TETE_BENCH_EVENTS=20000 cargo bench --bench pass
//! TETE_BENCH_STORE=10000x200 cargo bench --bench pass   # per-series rounds on a store
//! ```
//!
//! The second part builds the store a sync of N accounts × M events leaves
//! (`TETE_BENCH_STORE`, default 1000x200; `0` skips it), calendars shaped like the sync
//! bench's mailboxes (one weekly 1:1 per 50 events with a cancelled and a moved
//! exception, the rest single meetings of 2 to 6 people with a ~400-byte description),
//! of which the store keeps what a sync keeps (`detect::worth_keeping`: the series and
//! the two-person singles, about a quarter of the events; `TETE_BENCH_STORE_ALL=1`
//! writes every event), then measures the rounds of a long-running
//! pass after its sync (`pass::analyze_and_queue`: analysis, harvest, the brief
//! queue and the follow-ups; no delivery): the first, full round (series by series, calendar by calendar), rounds in
//! which nothing changed, rounds in which k series changed, each with its time and its
//! peak memory (VmHWM, reset before each step through `/proc/self/clear_refs`), and a
//! day of rounds a minute apart (`TETE_BENCH_DAY=0` skips it: at the 10,000 × 2,000
//! corner it queues 400,000 more briefs, and takes longer than the rest together).
//! `TETE_BENCH_STORE_KEEP=<dir>` writes the store into `<dir>` and keeps it;
//! `TETE_BENCH_STORE_AT=<dir> TETE_BENCH_STORE=NxM` runs the rounds again on it (the
//! earlier run's rounds have left their queued briefs and renames in it).
//!
//! The calendar: weekly two-person series (every fourth one has three people, so it is
//! no 1:1), each with a few moved or cancelled occurrences (overrides), plus single
//! events; about 88% of the events are overrides of a series, 8% masters, 12% singles.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use tete::core::brief::{self, BriefInput, ItemView};
use tete::core::plan::{self, Ledger};
use tete::model::Person;
use tete::pass::{self, briefs};
use tete::sources::ics::parse_ics;
use tete::store::{CalendarRef, StoredEvent};

const OVERRIDES_PER_SERIES: usize = 10;

fn synthetic_ics(events: usize) -> (String, usize) {
    let singles = events * 12 / 100;
    let series = (events - singles) / (OVERRIDES_PER_SERIES + 1);
    let mut ics = String::with_capacity(events * 400);
    ics.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//bench//EN\r\n");
    let first: DateTime<Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
    for n in 0..series {
        let start = first
            + TimeDelta::minutes(i64::try_from(n % 40).unwrap() * 15)
            + TimeDelta::days(i64::try_from(n % 5).unwrap());
        let stamp = start.format("%Y%m%dT%H%M%SZ");
        let end = (start + TimeDelta::minutes(30)).format("%Y%m%dT%H%M%SZ");
        let third = if n % 4 == 3 {
            format!("ATTENDEE:mailto:third{n}@example.com\r\n")
        } else {
            String::new()
        };
        let _ = write!(
            ics,
            "BEGIN:VEVENT\r\nUID:s{n}@bench\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Owner / P{n}\r\n\
             DTSTART:{stamp}\r\nDTEND:{end}\r\nRRULE:FREQ=WEEKLY\r\n\
             ORGANIZER:mailto:owner@example.com\r\nATTENDEE:mailto:owner@example.com\r\n\
             ATTENDEE;CN=Person {n}:mailto:p{n}@example.com\r\n{third}\
             DESCRIPTION:Action items:\\n- [ ] P{n}: send the numbers\\n- [ ] Owner: book a room\r\n\
             END:VEVENT\r\n"
        );
        for k in 0..OVERRIDES_PER_SERIES {
            let original = start + TimeDelta::weeks(i64::try_from(k * 5 + 2).unwrap());
            let moved = original + TimeDelta::hours(2);
            let rid = original.format("%Y%m%dT%H%M%SZ");
            let status = if k % 3 == 0 {
                "STATUS:CANCELLED\r\n"
            } else {
                ""
            };
            let _ = write!(
                ics,
                "BEGIN:VEVENT\r\nUID:s{n}@bench\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:{rid}\r\n\
                 SUMMARY:Owner / P{n} (moved)\r\nDTSTART:{}\r\nDTEND:{}\r\n{status}\
                 ORGANIZER:mailto:owner@example.com\r\nATTENDEE:mailto:owner@example.com\r\n\
                 ATTENDEE:mailto:p{n}@example.com\r\n{third}END:VEVENT\r\n",
                moved.format("%Y%m%dT%H%M%SZ"),
                (moved + TimeDelta::minutes(30)).format("%Y%m%dT%H%M%SZ"),
            );
        }
    }
    for n in 0..singles {
        let start = first + TimeDelta::hours(i64::try_from(n % 8000).unwrap());
        let _ = write!(
            ics,
            "BEGIN:VEVENT\r\nUID:single{n}@bench\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Single {n}\r\n\
             DTSTART:{}\r\nDTEND:{}\r\nORGANIZER:mailto:owner@example.com\r\n\
             ATTENDEE:mailto:owner@example.com\r\nATTENDEE:mailto:x{n}@example.com\r\nEND:VEVENT\r\n",
            start.format("%Y%m%dT%H%M%SZ"),
            (start + TimeDelta::hours(1)).format("%Y%m%dT%H%M%SZ"),
        );
    }
    ics.push_str("END:VCALENDAR\r\n");
    (ics, series)
}

fn rate(count: usize, seconds: f64) -> String {
    format!("{:.0}/s", count as f64 / seconds)
}

fn person(email: &str, name: &str) -> Person {
    Person {
        email: email.into(),
        name: Some(name.into()),
    }
}

fn brief_input(n: usize) -> BriefInput {
    let start: DateTime<Utc> = "2027-01-04T10:00:00Z".parse().unwrap();
    let item = |id: &str, text: String| ItemView {
        id: id.into(),
        text,
        carried: Some("carried since 3 Nov, 4 meetings".into()),
    };
    BriefInput {
        series: tete::model::SeriesId(format!("{n:010x}")),
        title: format!("Owner / P{n} weekly"),
        start,
        end: start + TimeDelta::minutes(30),
        location: Some("Room 4 <b>".into()),
        recipient: person("owner@example.com", "Owner"),
        other: person(&format!("p{n}@example.com"), &format!("Person {n}")),
        recipient_zone: chrono_tz::Europe::Berlin,
        items_mine: vec![item("a1b2", format!("Send the Q{} numbers", n % 4))],
        items_theirs: vec![
            item("c3d4", "Book the offsite room".into()),
            item("e5f6", "Draft the plan".into()),
        ],
        items_unassigned: vec![item("0a0b", "Pick a date for the retro".into())],
        talking_points: vec!["Promotion timeline".into()],
        last_notes: vec!["Agreed to revisit the roadmap".into()],
        private_notes: vec!["ask about the conference talk".into()],
        prompt: Some("What is motivating you lately?".into()),
        consistency: Some("You met 9 of the last 10 weeks.".into()),
        relation: None,
        opt_out_hint: "Reply \"unsubscribe\" to stop these briefs.".into(),
        replies: false,
    }
}

/// Plans the briefs of `analysis` at `now` against an in-memory ledger in which
/// nothing was sent or skipped: the 1:1s as planned, and the plan.
fn plan_in_memory(
    config: &tete::config::Config,
    owners: &HashMap<String, String>,
    analysis: &tete::core::analyze::Analysis,
    now: DateTime<Utc>,
) -> (Vec<plan::PlannedSeries>, plan::Plan) {
    let policy = briefs::policy(config, owners);
    let planned = briefs::planned_series(analysis);
    let is_done = |_: &plan::BriefKey| false;
    let is_skipped = |_: &tete::model::SeriesId, _: &tete::model::Occurrence, _: &str| false;
    let ledger = Ledger {
        is_done: &is_done,
        is_skipped: &is_skipped,
    };
    let plan = plan::plan(&planned, now, &policy, &ledger);
    (planned, plan)
}

/// A field of `/proc/self/status` in kB (0 where there is no such file).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS, so the next reading is the peak of what follows.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One account's calendar for the store part, with `ACCT` where the account goes.
fn account_template(events: usize) -> Vec<tete::model::Event> {
    let first: DateTime<Utc> = "2026-10-05T09:00:00Z".parse().unwrap();
    let series = events / 50;
    let singles = events - series * 3;
    let description = "<p>Agenda: numbers, hiring, the offsite. ".repeat(10);
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//bench//EN\r\n");
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    for n in 0..series {
        let start = first
            + TimeDelta::days(i64::try_from(n % 5).unwrap())
            + TimeDelta::hours(i64::try_from(n).unwrap());
        let people = format!(
            "ORGANIZER:mailto:owner-ACCT@example.com\r\nATTENDEE:mailto:owner-ACCT@example.com\r\n\
             ATTENDEE;CN=Report {n}:mailto:r{n}-ACCT@example.com\r\n"
        );
        let _ = write!(
            ics,
            "BEGIN:VEVENT\r\nUID:s{n}-ACCT@bench\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:1:1 {n}\r\n\
             DTSTART:{}\r\nDTEND:{}\r\nRRULE:FREQ=WEEKLY\r\n{people}DESCRIPTION:{description}\r\nEND:VEVENT\r\n",
            stamp(start),
            stamp(start + TimeDelta::minutes(30)),
        );
        for (k, cancelled) in [(3, true), (10, false)] {
            let original = start + TimeDelta::weeks(k);
            let moved = if cancelled {
                original
            } else {
                original + TimeDelta::hours(2)
            };
            let status = if cancelled {
                "STATUS:CANCELLED\r\n"
            } else {
                ""
            };
            let _ = write!(
                ics,
                "BEGIN:VEVENT\r\nUID:s{n}-ACCT@bench\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:{}\r\n\
                 SUMMARY:1:1 {n}\r\nDTSTART:{}\r\nDTEND:{}\r\n{status}{people}END:VEVENT\r\n",
                stamp(original),
                stamp(moved),
                stamp(moved + TimeDelta::minutes(30)),
            );
        }
    }
    for n in 0..singles {
        let start = first + TimeDelta::hours(i64::try_from(n * 7 % 2400).unwrap());
        let mut people = String::from(
            "ORGANIZER:mailto:owner-ACCT@example.com\r\nATTENDEE:mailto:owner-ACCT@example.com\r\n",
        );
        let others = if n % 5 == 0 { 1 } else { 2 + n % 5 };
        for k in 0..others {
            let _ = write!(people, "ATTENDEE:mailto:x{k}-{n}@example.com\r\n");
        }
        let _ = write!(
            ics,
            "BEGIN:VEVENT\r\nUID:m{n}-ACCT@bench\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Meeting {n}\r\n\
             DTSTART:{}\r\nDTEND:{}\r\n{people}DESCRIPTION:{description}\r\nEND:VEVENT\r\n",
            stamp(start),
            stamp(start + TimeDelta::hours(1)),
        );
    }
    ics.push_str("END:VCALENDAR\r\n");
    let parsed = parse_ics(&ics, "bench.ics");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    parsed.events
}

/// The template's events for account `a`.
fn account_events(template: &[tete::model::Event], a: usize) -> Vec<tete::model::Event> {
    let name = a.to_string();
    template
        .iter()
        .map(|event| {
            let mut event = event.clone();
            event.uid = event.uid.replace("ACCT", &name);
            event.id = event.id.replace("ACCT", &name);
            if let Some(organizer) = &mut event.organizer {
                organizer.email = organizer.email.replace("ACCT", &name);
            }
            for attendee in &mut event.attendees {
                attendee.person.email = attendee.person.email.replace("ACCT", &name);
            }
            event
        })
        .collect()
}

/// A config with `accounts` calendars `acct{a}` owned by `owner-{a}@example.com`.
fn store_config(accounts: usize, dir: &Path) -> tete::config::Config {
    let mut text = format!(
        "state_dir = \"{dir}\"\ntimezone = \"UTC\"\n[brief]\nlead_time = \"18h\"\n\
         [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"{dir}\"\n",
        dir = dir.display()
    );
    for a in 0..accounts {
        let _ = write!(
            text,
            "[[accounts]]\nname = \"acct{a}\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"owner-{a}@example.com\"\n"
        );
    }
    tete::config::parse(&text, Path::new("/tmp/bench-store.toml")).expect("store config")
}

/// The store part (see the header). The store is written here, then the rounds run
/// in a child process (this binary again, with `TETE_BENCH_STORE_AT` naming the
/// store), so their memory is that of a daemon starting on an existing store, not of
/// a process that just wrote gigabytes.
fn store_rounds(accounts: usize, per_account: usize) {
    use tete::store::{CalendarChanges, Store, StoreOptions};
    // A large store takes long to write (5 min at the corner): kept on request,
    // for the rounds to run again on it with `TETE_BENCH_STORE_AT`.
    let (_temp, dir) = match std::env::var_os("TETE_BENCH_STORE_KEEP") {
        Some(dir) => (None, std::path::PathBuf::from(dir)),
        None => {
            let temp = tempfile::tempdir().expect("temp dir");
            let dir = temp.path().to_path_buf();
            (Some(temp), dir)
        }
    };
    let mut template = account_template(per_account);
    // What a sync stores of these calendars: it drops the meetings tete has no use
    // for (singles of three or more people, 80% of the singles here) before they
    // reach the store. `TETE_BENCH_STORE_ALL=1` writes them anyway, the store the
    // figures before 2026-12-03 were taken on (4x larger).
    if std::env::var("TETE_BENCH_STORE_ALL").is_ok_and(|all| all == "1") {
        println!("store           every event written, including those a sync drops");
    } else {
        template.retain(tete::core::detect::worth_keeping);
    }
    let calendar = |a: usize| CalendarRef {
        account: format!("acct{a}"),
        calendar: "primary".into(),
    };
    let store = Store::open(&dir.join("store"), &StoreOptions::default()).expect("store");
    let t = Instant::now();
    for a in 0..accounts {
        let changes = CalendarChanges {
            full: true,
            upserted: account_events(&template, a),
            cursor: Some("c".into()),
            ..CalendarChanges::default()
        };
        store.apply_changes(&calendar(a), &changes).expect("write");
    }
    store.flush().expect("flush");
    println!(
        "store           {accounts} accounts x {} events written ({per_account} in each calendar) in {:.1} s, {:.1} MB on disk",
        template.len(),
        t.elapsed().as_secs_f64(),
        store.size_on_disk().unwrap_or(0) as f64 / 1e6
    );
    drop(store);
    let status = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .env("TETE_BENCH_STORE_AT", &dir)
        .env("TETE_BENCH_STORE", format!("{accounts}x{per_account}"))
        .status()
        .expect("rounds");
    assert!(status.success(), "the rounds failed: {status}");
}

/// The rounds on the store in `dir` (see [`store_rounds`]).
fn rounds_on(dir: &Path, accounts: usize, per_account: usize) {
    use tete::pass::PassState;
    use tete::store::{CalendarChanges, Store, StoreOptions};
    let template = account_template(per_account);
    let calendar = |a: usize| CalendarRef {
        account: format!("acct{a}"),
        calendar: "primary".into(),
    };
    let config = store_config(accounts, dir);
    let store = Store::open(&dir.join("store"), &StoreOptions::default()).expect("reopen");
    println!(
        "                a new process: RSS {:.1} MB with the store open and the config of {accounts} accounts read",
        status_kb("VmRSS:") as f64 / 1e3
    );
    if std::env::var_os("TETE_BENCH_SCAN_FIRST").is_some() {
        // What reading every series' events costs the process by itself (sled's
        // share of a first round), before any analysis.
        reset_peak();
        let t = Instant::now();
        let mut events = 0;
        for uid in store.series_uids_by_calendar() {
            events += store
                .series_events(&uid.expect("uid"))
                .expect("events")
                .len();
        }
        println!(
            "scan            {events} events read series by series in {:.1} s; VmHWM {:.1} MB, RSS after {:.1} MB",
            t.elapsed().as_secs_f64(),
            status_kb("VmHWM:") as f64 / 1e3,
            status_kb("VmRSS:") as f64 / 1e3
        );
    }
    let mut state = PassState::default();
    let mut now: DateTime<Utc> = "2026-12-06T18:00:00Z".parse().unwrap();
    // One round of a long-running pass after its sync, all but the delivery: the
    // analysis of what changed or came due (harvesting each 1:1 it looks at), the
    // brief plan and queue, the follow-ups.
    let round = |state: &mut PassState, label: &str, now: DateTime<Utc>| {
        let rss_before = status_kb("VmRSS:");
        reset_peak();
        let t = Instant::now();
        let owners = pass::account_owners(&config, &store).expect("owners");
        let policy = briefs::policy(&config, &owners);
        let queued = pass::analyze_and_queue(&config, &store, &owners, &policy, None, now, state)
            .expect("round");
        let (work, queue, followups) = (queued.work, queued.queue, queued.followups);
        let seconds = t.elapsed().as_secs_f64();
        let peak = status_kb("VmHWM:");
        let counts = state.analysis.counts();
        println!(
            "{label:<15} {} series analysed ({} 1:1s, {} other recurring) in {seconds:.4} s \
             ({} briefs, {} follow-ups queued); VmHWM {:.1} MB, {:.1} MB above the RSS before",
            work.analysed,
            counts.one_on_ones,
            counts.other_recurring,
            queue.queued,
            followups.recaps + followups.cadence_notes,
            peak as f64 / 1e3,
            peak.saturating_sub(rss_before) as f64 / 1e3,
        );
    };
    round(&mut state, "first round", now);
    let (timed, listed) = state.analysis.entries();
    println!(
        "                RSS after the first round {:.1} MB; the cache holds {timed} series to look at again, {listed} listed",
        status_kb("VmRSS:") as f64 / 1e3
    );
    for _ in 0..4 {
        now += TimeDelta::seconds(30);
        round(&mut state, "nothing changed", now);
    }
    for k in [1usize, 10, 100, 1000] {
        if k > accounts {
            break;
        }
        // k accounts rename one 1:1 each: k series change.
        for a in 0..k {
            let mut events = account_events(&template, a);
            events.retain(|e| e.uid.starts_with("s0-") && e.recurrence_id.is_none());
            for event in &mut events {
                event.summary = format!("renamed at {now}");
                event.sequence += 1;
            }
            let changes = CalendarChanges {
                upserted: events,
                cursor: Some("d".into()),
                ..CalendarChanges::default()
            };
            store.apply_changes(&calendar(a), &changes).expect("write");
        }
        now += TimeDelta::seconds(30);
        round(&mut state, &format!("{k} changed"), now);
    }
    if std::env::var("TETE_BENCH_DAY").is_ok_and(|day| day == "0") {
        return;
    }
    // A day of rounds a minute apart, nothing changing: the series whose briefs, starts
    // and revisits come due, and what the rounds cost.
    let t = Instant::now();
    let (mut rounds, mut slowest) = (0, 0.0f64);
    let day_end = now + TimeDelta::days(1);
    while now < day_end {
        now += TimeDelta::minutes(1);
        let started = Instant::now();
        let owners = pass::account_owners(&config, &store).expect("owners");
        let policy = briefs::policy(&config, &owners);
        pass::analyze_and_queue(&config, &store, &owners, &policy, None, now, &mut state)
            .expect("round");
        slowest = slowest.max(started.elapsed().as_secs_f64());
        rounds += 1;
    }
    println!(
        "a day          {rounds} rounds a minute apart in {:.1} s (slowest {slowest:.3} s); {} briefs queued in all; VmRSS {:.1} MB",
        t.elapsed().as_secs_f64(),
        store.outbox_entries().map(|o| o.len()).unwrap_or(0),
        status_kb("VmRSS:") as f64 / 1e3
    );
}

fn main() {
    if let Ok(dir) = std::env::var("TETE_BENCH_STORE_AT") {
        let size = std::env::var("TETE_BENCH_STORE").unwrap_or_default();
        let (n, m) = size.split_once('x').expect("TETE_BENCH_STORE=NxM");
        rounds_on(
            Path::new(&dir),
            n.parse().expect("accounts"),
            m.parse().expect("events"),
        );
        return;
    }
    let events: usize = std::env::var("TETE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let renders: usize = std::env::var("TETE_BENCH_BRIEFS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let config = tete::config::parse(
        "state_dir = \"/tmp/tete-bench\"\ntimezone = \"UTC\"\n[brief]\nlead_time = \"18h\"\n\
         [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"/tmp/tete-bench\"\n\
         [[accounts]]\nname = \"cal\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"owner@example.com\"\n",
        Path::new("/tmp/bench.toml"),
    )
    .expect("bench config");
    let now: DateTime<Utc> = "2026-12-06T18:00:00Z".parse().unwrap();

    let (text, series) = synthetic_ics(events);
    let t = Instant::now();
    let parsed = parse_ics(&text, "bench.ics");
    let parse_s = t.elapsed().as_secs_f64();
    let count = parsed.events.len();
    println!(
        "parse .ics      {count} events ({series} series, {:.1} MB) in {parse_s:.3} s = {} events",
        text.len() as f64 / 1e6,
        rate(count, parse_s)
    );
    let calendar = CalendarRef {
        account: "cal".into(),
        calendar: "bench.ics".into(),
    };
    let stored: Vec<StoredEvent> = parsed
        .events
        .into_iter()
        .map(|event| StoredEvent {
            calendar: calendar.clone(),
            event,
        })
        .collect();
    let owners = HashMap::from([("cal".to_string(), "owner@example.com".to_string())]);

    let t = Instant::now();
    let analysis = pass::analyze(
        &config,
        stored,
        &owners,
        now,
        &tete::core::calendar::Limits::timed(std::time::Instant::now),
    );
    let analyze_s = t.elapsed().as_secs_f64();
    let occurrences: usize = analysis.series.iter().map(|s| s.occurrences.len()).sum();
    let one_on_ones = analysis.one_on_ones().count();
    println!(
        "expand+detect   {count} events -> {} series, {one_on_ones} 1:1s, {occurrences} occurrences in {analyze_s:.3} s = {} events",
        analysis.series.len(),
        rate(count, analyze_s)
    );

    let t = Instant::now();
    let (planned, planned_briefs) = plan_in_memory(&config, &owners, &analysis, now);
    let plan_s = t.elapsed().as_secs_f64();
    println!(
        "plan            {} 1:1 series -> {} due in {plan_s:.3} s = {} series",
        planned.len(),
        planned_briefs.due.len(),
        rate(planned.len(), plan_s)
    );
    // What every pass adds for cadence notes: each 1:1's streak (recaps only look at
    // meetings that just ended, and the store lookups happen only for alerts).
    let t = Instant::now();
    let alerts = analysis
        .one_on_ones()
        .filter_map(|view| view.streak(now, &config.cadence))
        .filter(|streak| streak.alert.is_some())
        .count();
    let streak_s = t.elapsed().as_secs_f64();
    println!(
        "cadence streaks {one_on_ones} 1:1 series -> {alerts} alerts in {streak_s:.3} s = {} series",
        rate(one_on_ones, streak_s)
    );
    println!(
        "whole pass      {count} events in {:.3} s (parse+expand+detect+plan) = {} events",
        parse_s + analyze_s + plan_s,
        rate(count, parse_s + analyze_s + plan_s)
    );

    let inputs: Vec<BriefInput> = (0..renders).map(brief_input).collect();
    let t = Instant::now();
    let mut bytes = 0;
    for input in &inputs {
        let rendered = brief::render(input).expect("render");
        bytes += rendered.text.len() + rendered.html.len();
    }
    let render_s = t.elapsed().as_secs_f64();
    println!(
        "brief::render   {renders} briefs ({:.1} KB each) in {render_s:.3} s = {} briefs",
        bytes as f64 / renders as f64 / 1e3,
        rate(renders, render_s)
    );

    let size = std::env::var("TETE_BENCH_STORE").unwrap_or_else(|_| "1000x200".into());
    if let Some((n, m)) = size.split_once('x') {
        let (n, m): (usize, usize) = (n.parse().expect("accounts"), m.parse().expect("events"));
        store_rounds(n, m);
    }
}

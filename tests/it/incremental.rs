//! Integration test: the rounds of a long-running pass, which look only at the series
//! the store marked changed or whose time came (`pass::analysis::AnalysisCache`), queue
//! exactly the briefs, recaps and cadence notes that full rounds queue, round after
//! round of random calendar changes on a seeded random store: series added, moved,
//! cancelled, attendees changed (a 1:1 becoming a group meeting and back), a series
//! split by "this and following", single meetings, while the clock moves on.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tete::core::analyze::Analysis;
use tete::model::Event;
use tete::pass::analysis::RoundWork;
use tete::pass::{self, PassState, briefs};
use tete::sources::ics::parse_ics;
use tete::store::{CalendarChanges, CalendarRef, Store, StoreOptions};

const OWNERS: [&str; 2] = ["a@example.com", "b@example.com"];

/// One meeting series (or single meeting) of the random calendars.
#[derive(Clone, Debug)]
struct Series {
    uid: String,
    /// Which accounts' calendars hold it.
    calendars: Vec<usize>,
    start: DateTime<Utc>,
    /// `None` for a single meeting.
    weekly: bool,
    until: Option<DateTime<Utc>>,
    /// People besides the organizer (the first calendar's owner).
    attendees: Vec<String>,
    /// Week number → moved by hours (0: cancelled), with a third person or not.
    overrides: BTreeMap<u32, (i64, bool)>,
    sequence: u32,
    title: String,
}

impl Series {
    fn ics(&self, out: &mut String) {
        let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let organizer = OWNERS[self.calendars[0]];
        let people = |extra: bool| {
            let mut text =
                format!("ORGANIZER:mailto:{organizer}\r\nATTENDEE:mailto:{organizer}\r\n");
            for person in &self.attendees {
                let _ = write!(text, "ATTENDEE:mailto:{person}\r\n");
            }
            if extra {
                text.push_str("ATTENDEE:mailto:guest@example.com\r\n");
            }
            text
        };
        let rule = match (self.weekly, self.until) {
            (false, _) => String::new(),
            (true, None) => "RRULE:FREQ=WEEKLY\r\n".into(),
            (true, Some(until)) => format!("RRULE:FREQ=WEEKLY;UNTIL={}\r\n", stamp(until)),
        };
        let _ = write!(
            out,
            "BEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:{}\r\nSUMMARY:{}\r\n\
             DTSTART:{}\r\nDTEND:{}\r\n{rule}{}\
             DESCRIPTION:Action items:\\n- [ ] send the numbers\r\nEND:VEVENT\r\n",
            self.uid,
            self.sequence,
            self.title,
            stamp(self.start),
            stamp(self.start + TimeDelta::minutes(30)),
            people(false),
        );
        if !self.weekly {
            return;
        }
        for (week, (hours, extra)) in &self.overrides {
            let original = self.start + TimeDelta::weeks(i64::from(*week));
            let moved = original + TimeDelta::hours(*hours);
            let status = if *hours == 0 {
                "STATUS:CANCELLED\r\n"
            } else {
                ""
            };
            let _ = write!(
                out,
                "BEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:{}\r\nRECURRENCE-ID:{}\r\n\
                 SUMMARY:{} (moved)\r\nDTSTART:{}\r\nDTEND:{}\r\n{status}{}END:VEVENT\r\n",
                self.uid,
                self.sequence,
                stamp(original),
                self.title,
                stamp(moved),
                stamp(moved + TimeDelta::minutes(30)),
                people(*extra),
            );
        }
    }
}

/// The random calendars and how they change.
struct World {
    rng: StdRng,
    series: Vec<Series>,
    next_uid: usize,
    now: DateTime<Utc>,
}

impl World {
    fn new(seed: u64, now: DateTime<Utc>) -> World {
        let mut world = World {
            rng: StdRng::seed_from_u64(seed),
            series: Vec::new(),
            next_uid: 0,
            now,
        };
        for _ in 0..40 {
            world.add();
        }
        world
    }

    fn add(&mut self) {
        let n = self.next_uid;
        self.next_uid += 1;
        let calendars = match self.rng.gen_range(0..4) {
            0 => vec![0, 1],
            1 => vec![1],
            _ => vec![0],
        };
        // A series held in both calendars is the manager's and the report's 1:1.
        let mut attendees = if calendars.len() == 2 {
            vec![OWNERS[1].to_string()]
        } else {
            vec![format!("p{n}@example.com")]
        };
        if self.rng.gen_bool(0.25) {
            attendees.push(format!("q{n}@example.com"));
        }
        let days = self.rng.gen_range(-60..20);
        let quarter = self.rng.gen_range(0..40);
        let start = (self.now + TimeDelta::days(days))
            .date_naive()
            .and_hms_opt(8, 0, 0)
            .unwrap()
            .and_utc()
            + TimeDelta::minutes(15 * quarter);
        self.series.push(Series {
            uid: format!("s{n}@random"),
            calendars,
            start,
            weekly: self.rng.gen_bool(0.8),
            until: None,
            attendees,
            overrides: BTreeMap::new(),
            sequence: 0,
            title: format!("Meeting {n}"),
        });
    }

    /// One random change to the calendars.
    fn change(&mut self) {
        if self.series.is_empty() {
            self.add();
            return;
        }
        let i = self.rng.gen_range(0..self.series.len());
        let weeks_now = u32::try_from(
            (self
                .now
                .signed_duration_since(self.series[i].start)
                .num_days()
                / 7)
            .max(0),
        )
        .unwrap_or(0);
        match self.rng.gen_range(0..8) {
            0 => self.add(),
            1 => {
                // Cancelled: gone from the calendars.
                self.series.remove(i);
            }
            2 => {
                // Moved by some hours, or (0) cancelled.
                let week = weeks_now + self.rng.gen_range(0..4);
                let hours = if self.rng.gen_bool(0.3) {
                    0
                } else {
                    self.rng.gen_range(-30..30)
                };
                let s = &mut self.series[i];
                s.overrides.insert(week, (hours, false));
                s.sequence += 1;
            }
            3 => {
                // One meeting gains a guest (no 1:1 that day), or loses them.
                let week = weeks_now + self.rng.gen_range(0..3);
                let s = &mut self.series[i];
                let entry = s.overrides.entry(week).or_insert((1, false));
                entry.1 = !entry.1;
                s.sequence += 1;
            }
            4 => {
                // A third person joins the series (a group meeting now), or leaves it.
                let s = &mut self.series[i];
                if s.attendees.len() > 1 {
                    s.attendees.truncate(1);
                } else {
                    s.attendees
                        .push(format!("joined{}@example.com", s.uid.len()));
                }
                s.sequence += 1;
            }
            5 if self.series[i].weekly && self.series[i].until.is_none() => {
                // "This and following": the series ends, a new one (new UID) goes on,
                // sometimes with another person.
                let split_week = weeks_now + self.rng.gen_range(0..3);
                let mut old = self.series[i].clone();
                let split = old.start + TimeDelta::weeks(i64::from(split_week));
                old.until = Some(split - TimeDelta::seconds(1));
                old.sequence += 1;
                let n = self.next_uid;
                self.next_uid += 1;
                let mut new = old.clone();
                new.uid = format!("s{n}@random");
                new.start = split + TimeDelta::hours(1);
                new.until = None;
                new.sequence = 0;
                new.overrides.clear();
                if self.rng.gen_bool(0.5) && new.calendars.len() == 1 {
                    new.attendees[0] = format!("p{n}@example.com");
                }
                self.series[i] = old;
                self.series.push(new);
            }
            6 => {
                // The whole series moves by a day.
                let s = &mut self.series[i];
                s.start += TimeDelta::days(1);
                s.sequence += 1;
            }
            _ => {
                let s = &mut self.series[i];
                s.title = format!("{} again", s.title);
                s.sequence += 1;
            }
        }
    }

    /// Each account's events as its calendar now lists them.
    fn calendars(&self) -> [Vec<Event>; 2] {
        let mut texts = [String::new(), String::new()];
        for series in &self.series {
            for &calendar in &series.calendars {
                series.ics(&mut texts[calendar]);
            }
        }
        texts.map(|body| {
            let text = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n"
            );
            let parsed = parse_ics(&text, "random.ics");
            assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
            parsed.events
        })
    }
}

fn calendar(account: usize) -> CalendarRef {
    CalendarRef {
        account: format!("acct{account}"),
        calendar: "random.ics".into(),
    }
}

/// Writes each calendar's new listing: a full listing the first time, then what changed
/// (upserts and deletions), as the providers' incremental syncs deliver it.
fn sync(store: &Store, listed: &mut [HashMap<String, Event>; 2], fresh: [Vec<Event>; 2]) {
    for (account, events) in fresh.into_iter().enumerate() {
        let new: HashMap<String, Event> = events.into_iter().map(|e| (e.id.clone(), e)).collect();
        let old = &listed[account];
        let changes = CalendarChanges {
            full: old.is_empty(),
            upserted: new
                .values()
                .filter(|e| old.get(&e.id) != Some(*e))
                .cloned()
                .collect(),
            deleted: old
                .keys()
                .filter(|id| !new.contains_key(*id))
                .cloned()
                .collect(),
            cursor: Some("c".into()),
            index: None,
        };
        store.apply_changes(&calendar(account), &changes).unwrap();
        listed[account] = new;
    }
}

/// What must agree: every listed series with its verdict and occurrences, in order.
fn series_of(analysis: &Analysis) -> Vec<String> {
    analysis
        .series
        .iter()
        .map(|view| {
            let occurrences: Vec<String> = view
                .occurrences
                .iter()
                .map(|o| {
                    format!(
                        "{} {:?} {} {}",
                        o.start_utc,
                        o.status,
                        o.summary,
                        o.attendees.len()
                    )
                })
                .collect();
            format!(
                "{} {} {:?} {} {:?} {:?} {:?} next={:?} {occurrences:?}",
                view.id().0,
                view.verdict.title,
                view.verdict.one_on_one,
                view.verdict.reason,
                view.verdict.participants,
                view.accounts,
                view.first_start,
                view.next(analysis.now).map(|o| o.start_utc),
            )
        })
        .collect()
}

/// One round of a pass after the sync, without delivery: analyse (as `state` keeps
/// it), queue the due briefs and follow-ups into the store's outbox.
fn queue_round(
    config: &tete::config::Config,
    store: &Store,
    state: &mut PassState,
    now: DateTime<Utc>,
) -> (Analysis, RoundWork) {
    let owners = pass::account_owners(config, store).unwrap();
    let policy = briefs::policy(config, &owners);
    let queued =
        pass::analyze_and_queue(config, store, &owners, &policy, None, now, state).unwrap();
    (queued.analysis, queued.work)
}

/// Every key the outbox holds (nothing is delivered, so it is every message queued).
fn queued(store: &Store) -> Vec<String> {
    let mut keys: Vec<String> = store
        .outbox_entries()
        .unwrap()
        .iter()
        .map(|entry| entry.key.to_string())
        .collect();
    keys.sort();
    keys
}

fn config_with_followups() -> tete::config::Config {
    tete::config::parse(
        "state_dir = \"/tmp/unused\"\ntimezone = \"UTC\"\n[brief]\nlead_time = \"2d\"\n\
         [recap]\nenabled = true\ndelay = \"1h\"\nmax_late = \"6h\"\n\
         [cadence]\nalerts = true\ncancelled_in_row = 1\nweeks_without = 2\n\
         [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"/tmp/unused\"\n\
         [[accounts]]\nname = \"acct0\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"a@example.com\"\n\
         [[accounts]]\nname = \"acct1\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"b@example.com\"\n",
        Path::new("/tmp/incremental.toml"),
    )
    .expect("config")
}

#[test]
fn per_series_rounds_queue_what_full_rounds_queue() {
    let config = config_with_followups();
    // Two stores fed the same calendars: one with a long-running pass's state (rounds
    // look only at what changed or came due), one analysed and planned in full every
    // round, as `run --once` does.
    let (dir_kept, dir_full) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let kept_store = Store::open(dir_kept.path(), &StoreOptions::default()).unwrap();
    let full_store = Store::open(dir_full.path(), &StoreOptions::default()).unwrap();
    let owners = pass::account_owners(&config, &full_store).unwrap();
    let mut now: DateTime<Utc> = "2026-12-01T07:00:00Z".parse().unwrap();
    let mut world = World::new(16, now);
    let (mut listed_kept, mut listed_full) = (
        [HashMap::new(), HashMap::new()],
        [HashMap::new(), HashMap::new()],
    );
    let mut state = PassState::default();
    let (mut partial_rounds, mut quiet_rounds) = (0, 0);
    for round in 0..40 {
        if round > 0 {
            for _ in 0..world.rng.gen_range(0..4) {
                world.change();
            }
            // Some rounds minutes apart, some hours, some days: briefs, starts, recap
            // windows and expiries come due in between.
            let minutes = match world.rng.gen_range(0..3) {
                0 => world.rng.gen_range(1..90),
                1 => world.rng.gen_range(90..900),
                _ => world.rng.gen_range(900..4000),
            };
            now += TimeDelta::minutes(minutes);
            world.now = now;
        }
        let calendars = world.calendars();
        sync(&kept_store, &mut listed_kept, calendars.clone());
        sync(&full_store, &mut listed_full, calendars);

        let (full, _) = queue_round(&config, &full_store, &mut PassState::one_shot(), now);
        let (kept, work) = queue_round(&config, &kept_store, &mut state, now);
        assert_eq!(
            queued(&kept_store),
            queued(&full_store),
            "round {round} at {now}"
        );
        // The full round's views are those of an analysis from scratch.
        let scratch = pass::analyze(
            &config,
            full_store.all_events().unwrap(),
            &owners,
            now,
            &briefs::expansion_limits(),
        );
        assert_eq!(series_of(&full), series_of(&scratch), "round {round}");
        assert!(kept.series.is_empty(), "a long-running round keeps no view");
        let counts = state.analysis.counts();
        assert_eq!(
            counts.one_on_ones,
            full.one_on_ones().count(),
            "round {round}"
        );
        assert_eq!(
            counts.other_recurring,
            full.other_series().count(),
            "round {round}"
        );
        assert!(
            !kept_store.has_dirty_series().unwrap(),
            "the round cleared them"
        );
        if round > 0 {
            assert!(!work.full, "round {round} re-did everything");
            if work.analysed < full.series.len() {
                partial_rounds += 1;
            }
            if work.analysed == 0 {
                quiet_rounds += 1;
            }
        }
    }
    let messages = queued(&full_store);
    let recaps = messages.iter().filter(|k| k.contains("/recap")).count();
    let cadence = messages.iter().filter(|k| k.contains("cadence/")).count();
    assert!(
        messages.len() - recaps - cadence > 10 && recaps > 3 && cadence > 0,
        "only {} messages compared ({recaps} recaps, {cadence} cadence notes)",
        messages.len()
    );
    assert!(
        partial_rounds > 20,
        "only {partial_rounds} rounds were incremental"
    );
    assert!(quiet_rounds > 0, "no round without work");
}

#[test]
fn a_round_without_changes_analyses_nothing_and_a_restart_starts_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = tete::config::parse(
        "state_dir = \"/tmp/unused\"\ntimezone = \"UTC\"\n\
         [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"/tmp/unused\"\n\
         [[accounts]]\nname = \"acct0\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"a@example.com\"\n",
        Path::new("/tmp/incremental.toml"),
    )
    .expect("config");
    let now: DateTime<Utc> = "2026-12-01T07:00:00Z".parse().unwrap();
    let mut world = World::new(7, now);
    for series in &mut world.series {
        series.calendars = vec![0];
    }
    let mut listed = [HashMap::new(), HashMap::new()];
    {
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut state = PassState::default();
        sync(&store, &mut listed, world.calendars());
        let (_, first) = queue_round(&config, &store, &mut state, now);
        assert!(first.full);
        let (_, quiet) = queue_round(&config, &store, &mut state, now + TimeDelta::seconds(30));
        assert_eq!(quiet.analysed, 0, "nothing changed");
        // A sync whose analysis never ran (the process dies here) ...
        world.series[0].title = "Renamed".into();
        world.series[0].sequence += 1;
        sync(&store, &mut listed, world.calendars());
        let (_, one) = queue_round(&config, &store, &mut state, now + TimeDelta::seconds(60));
        assert_eq!(one.analysed, 1, "only the renamed series");
        world.series[1].title = "Renamed too".into();
        world.series[1].sequence += 1;
        sync(&store, &mut listed, world.calendars());
    }
    // ... is still marked after a restart, and the first round reads everything anew.
    let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
    assert_eq!(store.dirty_series().unwrap().len(), 1);
    let mut state = PassState::one_shot();
    let (analysis, work) = queue_round(&config, &store, &mut state, now + TimeDelta::seconds(90));
    assert!(work.full);
    assert!(
        analysis
            .series
            .iter()
            .any(|s| s.verdict.title == "Renamed too")
    );
    assert!(!store.has_dirty_series().unwrap());
}

#[test]
fn many_briefs_due_at_once_are_queued_in_batches_with_one_digest_per_person() {
    // 300 weekly 1:1s of a@ (who takes a digest) with 300 people, all on Wednesday
    // morning: more views due in one round than a batch holds.
    let config = tete::config::parse(
        "state_dir = \"/tmp/unused\"\ntimezone = \"UTC\"\n\
         [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"/tmp/unused\"\n\
         [[people]]\nemail = \"a@example.com\"\ndelivery = \"digest\"\ndigest_at = \"07:30\"\n\
         [[accounts]]\nname = \"acct0\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"a@example.com\"\n",
        Path::new("/tmp/incremental.toml"),
    )
    .expect("config");
    let first: DateTime<Utc> = "2026-11-25T09:00:00Z".parse().unwrap();
    let series: Vec<Series> = (0..300)
        .map(|n| Series {
            uid: format!("batch{n}@random"),
            calendars: vec![0],
            start: first + TimeDelta::minutes(n),
            weekly: true,
            until: None,
            attendees: vec![format!("p{n}@example.com")],
            overrides: BTreeMap::new(),
            sequence: 0,
            title: format!("1:1 {n}"),
        })
        .collect();
    let mut text = String::new();
    for one in &series {
        one.ics(&mut text);
    }
    let events = parse_ics(
        &format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{text}END:VCALENDAR\r\n"),
        "batch.ics",
    )
    .events;
    let now: DateTime<Utc> = "2026-12-02T08:00:00Z".parse().unwrap();
    let mut outboxes = Vec::new();
    for mut state in [PassState::default(), PassState::one_shot()] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut listed = [HashMap::new(), HashMap::new()];
        sync(&store, &mut listed, [events.clone(), Vec::new()]);
        let (_, work) = queue_round(&config, &store, &mut state, now);
        assert!(work.full);
        outboxes.push(queued(&store));
    }
    assert_eq!(
        outboxes[0], outboxes[1],
        "batched and whole rounds queue the same"
    );
    let keys = &outboxes[0];
    let digests: Vec<&String> = keys.iter().filter(|k| k.starts_with("digest/")).collect();
    assert_eq!(digests, ["digest/2026-12-02/a@example.com"]);
    let own = keys
        .iter()
        .filter(|k| k.ends_with("/a@example.com"))
        .count();
    assert_eq!(own, 1, "a@ gets the digest only: {keys:?}");
    let others = keys.iter().filter(|k| k.contains("/20261202T")).count();
    assert_eq!(others, 300, "each other person gets their own brief");
}

//! When each account is polled next: on its own timer, at a stable offset within its
//! poll interval, later after failures.
//!
//! Every account has a *phase*: an offset in `[0, poll_interval)` derived from a hash
//! of its name. Its polls fall on the instants `phase + k × poll_interval` (counted
//! from the Unix epoch), so 10,000 accounts with the same interval are spread evenly
//! over it instead of polling in one thundering cycle, and the spread survives
//! restarts and reloads (it depends on nothing but the name and the interval).
//!
//! The accounts can change between polls (a reload, org-wide mode listing people at
//! run time): [`PollSchedule::set_accounts`] takes the current list; accounts new to
//! the schedule are due at once, accounts gone from it are forgotten.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::config::{AccountConfig, MAX_POLL_INTERVAL};

/// Most intervals a failing account waits: the wait doubles with each failure in a
/// row, up to this many.
const MAX_BACKOFF_INTERVALS: i64 = 8;

/// The next poll of each known account. An account handed out by
/// [`PollSchedule::take_due`] is *running* and not due again until its poll is
/// recorded ([`PollSchedule::record`]) or put back ([`PollSchedule::retry_at`]).
#[derive(Debug, Default)]
pub struct PollSchedule {
    entries: HashMap<String, Entry>,
    /// The timers, earliest first. Entries are never removed from the middle: a timer
    /// whose account moved on (or is gone) is skipped when it comes up, which keeps
    /// every operation O(log n) at 10,000 accounts.
    timers: BinaryHeap<Reverse<(DateTime<Utc>, String)>>,
}

#[derive(Debug)]
struct Entry {
    next: DateTime<Utc>,
    failures: u32,
    running: bool,
}

impl PollSchedule {
    /// Makes `accounts` the accounts to poll: new ones are due at `now`, ones no longer
    /// listed are dropped (a running poll of one still completes; its record is then
    /// ignored). Accounts already known keep their timers.
    pub fn set_accounts(&mut self, accounts: &[AccountConfig], now: DateTime<Utc>) {
        let listed: std::collections::HashSet<&str> =
            accounts.iter().map(|a| a.name.as_str()).collect();
        self.entries
            .retain(|name, _| listed.contains(name.as_str()));
        for account in accounts {
            if !self.entries.contains_key(&account.name) {
                self.schedule(&account.name, now, 0);
            }
        }
        if self.timers.len() > 2 * self.entries.len() + 64 {
            // Many stale timers (accounts dropped): rebuild rather than let them pile up.
            self.timers = self
                .entries
                .iter()
                .filter(|(_, e)| !e.running)
                .map(|(name, e)| Reverse((e.next, name.clone())))
                .collect();
        }
    }

    /// The accounts due at `now`, earliest first; each is marked running.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut due = Vec::new();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, name))) = self.timers.pop() else {
                break;
            };
            if let Some(entry) = self.entries.get_mut(&name)
                && !entry.running
                && entry.next == at
            {
                entry.running = true;
                due.push(name);
            }
        }
        due
    }

    /// Records the poll of `account` that started at `started`: the next one is the
    /// first instant of the account's phase after it; after `failed` polls in a row
    /// the wait doubles each time, up to [`MAX_BACKOFF_INTERVALS`] intervals.
    pub fn record(&mut self, account: &AccountConfig, started: DateTime<Utc>, failed: bool) {
        let Some(entry) = self.entries.get(&account.name) else {
            return; // no longer listed
        };
        let failures = if failed {
            entry.failures.saturating_add(1)
        } else {
            0
        };
        let interval = interval_ms(account.poll_interval);
        let backoff = (1_i64 << failures.min(3)).min(MAX_BACKOFF_INTERVALS) - 1;
        let after = add_ms(started, interval.saturating_mul(backoff));
        let next = next_slot(&account.name, interval, after);
        self.schedule(&account.name, next, failures);
    }

    /// Puts a taken account back, due at `at` with its failures unchanged (its poll
    /// did not happen, or did not count: the store failed under it).
    pub fn retry_at(&mut self, account: &str, at: DateTime<Utc>) {
        if let Some(failures) = self.entries.get(account).map(|e| e.failures) {
            self.schedule(account, at, failures);
        }
    }

    /// The earliest timer of an account that is not running. It can be a timer that
    /// no longer counts (then the daemon wakes once for nothing, never too late).
    pub fn next_poll(&self) -> Option<DateTime<Utc>> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    fn schedule(&mut self, account: &str, next: DateTime<Utc>, failures: u32) {
        self.entries.insert(
            account.to_string(),
            Entry {
                next,
                failures,
                running: false,
            },
        );
        self.timers.push(Reverse((next, account.to_string())));
    }
}

/// The poll interval in milliseconds, within the bounds validation sets: a panic here
/// would stop the daemon, so even an unchecked value is capped.
fn interval_ms(poll_interval: Duration) -> i64 {
    let capped = poll_interval.min(MAX_POLL_INTERVAL);
    i64::try_from(capped.as_millis())
        .unwrap_or(86_400_000)
        .max(1)
}

fn add_ms(at: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    TimeDelta::try_milliseconds(ms)
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The account's offset within its interval, in milliseconds: from a hash of its
/// name, so it is the same in every process and spread evenly over the interval.
fn phase_ms(account: &str, interval_ms: i64) -> i64 {
    let digest = Sha256::digest(account.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let interval = u64::try_from(interval_ms).unwrap_or(1).max(1);
    // The remainder is below the interval, which came from an i64.
    i64::try_from(u64::from_be_bytes(first) % interval).unwrap_or(0)
}

/// The first instant strictly after `after` at which `account` polls: on its phase
/// within a grid of `interval_ms` counted from the Unix epoch.
fn next_slot(account: &str, interval_ms: i64, after: DateTime<Utc>) -> DateTime<Utc> {
    let phase = phase_ms(account, interval_ms);
    let t = after.timestamp_millis();
    let k = (t - phase).div_euclid(interval_ms) + 1;
    let slot = k.saturating_mul(interval_ms).saturating_add(phase);
    DateTime::<Utc>::from_timestamp_millis(slot).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn account(name: &str, poll_interval: Duration) -> AccountConfig {
        let text = "[mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
                    [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"a.ics\"\nowner = \"a@example.com\"\n";
        let config = crate::config::parse(text, Path::new("/etc/tete/tete.toml")).unwrap();
        let mut account = config.accounts[0].clone();
        account.name = name.to_string();
        account.poll_interval = poll_interval;
        account
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(seconds, 0).unwrap()
    }

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn new_accounts_are_due_at_once_and_then_not_until_recorded() {
        let mut schedule = PollSchedule::default();
        let a = account("a", FIVE_MINUTES);
        schedule.set_accounts(std::slice::from_ref(&a), at(1_800_000_000));
        assert_eq!(schedule.take_due(at(1_800_000_000)), vec!["a".to_string()]);
        // Running: not handed out twice.
        assert!(schedule.take_due(at(1_800_000_999)).is_empty());
        schedule.record(&a, at(1_800_000_000), false);
        let next = schedule.next_poll().unwrap();
        assert!(
            next > at(1_800_000_000) && next <= at(1_800_000_300),
            "{next}"
        );
        assert!(
            schedule
                .take_due(next - TimeDelta::milliseconds(1))
                .is_empty()
        );
        assert_eq!(schedule.take_due(next), vec!["a".to_string()]);
    }

    #[test]
    fn polls_repeat_exactly_every_interval_on_the_accounts_phase() {
        let mut schedule = PollSchedule::default();
        let a = account("someone@example.com", FIVE_MINUTES);
        schedule.set_accounts(std::slice::from_ref(&a), at(1_800_000_000));
        schedule.take_due(at(1_800_000_000));
        schedule.record(&a, at(1_800_000_000), false);
        let first = schedule.next_poll().unwrap();
        // A poll that started late (the concurrency limit queued it) keeps the grid.
        schedule.take_due(first);
        schedule.record(&a, first + TimeDelta::seconds(40), false);
        assert_eq!(
            schedule.next_poll().unwrap(),
            first + TimeDelta::seconds(300)
        );
    }

    #[test]
    fn ten_thousand_accounts_are_spread_evenly_over_the_interval() {
        let accounts: Vec<_> = (0..10_000)
            .map(|n| account(&format!("person{n}@example.com"), FIVE_MINUTES))
            .collect();
        let mut schedule = PollSchedule::default();
        let start = at(1_800_000_000);
        schedule.set_accounts(&accounts, start);
        assert_eq!(schedule.take_due(start).len(), 10_000);
        for a in &accounts {
            schedule.record(a, start, false);
        }
        // Ten buckets of 30 s: each holds about a tenth of the polls.
        let mut buckets = [0usize; 10];
        let mut now = start;
        while now < start + TimeDelta::seconds(300) {
            now += TimeDelta::seconds(30);
            let bucket = ((now - start).num_seconds() / 30 - 1) as usize;
            buckets[bucket] = schedule.take_due(now).len();
        }
        assert_eq!(buckets.iter().sum::<usize>(), 10_000, "{buckets:?}");
        for count in buckets {
            assert!((850..=1150).contains(&count), "{buckets:?}");
        }
    }

    #[test]
    fn failures_back_off_up_to_eight_intervals_and_success_resets() {
        let mut schedule = PollSchedule::default();
        let a = account("a", FIVE_MINUTES);
        let start = at(1_800_000_000);
        schedule.set_accounts(std::slice::from_ref(&a), start);
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..5 {
            schedule.take_due(now);
            schedule.record(&a, now, true);
            let next = schedule.next_poll().unwrap();
            waits.push((next - now).num_seconds());
            now = next;
        }
        // Doubling: 2, 4, 8, 8, 8 intervals (on the grid, so exactly that after the first).
        assert_eq!(&waits[1..], &[1200, 2400, 2400, 2400], "{waits:?}");
        schedule.take_due(now);
        schedule.record(&a, now, false);
        assert_eq!((schedule.next_poll().unwrap() - now).num_seconds(), 300);
    }

    #[test]
    fn accounts_gone_from_the_list_are_forgotten_and_new_ones_due() {
        let mut schedule = PollSchedule::default();
        let (a, b) = (account("a", FIVE_MINUTES), account("b", FIVE_MINUTES));
        let start = at(1_800_000_000);
        schedule.set_accounts(&[a.clone(), b.clone()], start);
        schedule.take_due(start);
        schedule.record(&a, start, false);
        schedule.record(&b, start, false);
        let c = account("c", FIVE_MINUTES);
        schedule.set_accounts(&[a.clone(), c.clone()], start + TimeDelta::seconds(1));
        let due = schedule.take_due(start + TimeDelta::seconds(301));
        assert!(due.contains(&"a".to_string()) && due.contains(&"c".to_string()));
        assert!(!due.contains(&"b".to_string()), "{due:?}");
        // A record of a dropped account is ignored.
        schedule.record(&b, start, false);
        assert!(
            schedule
                .take_due(start + TimeDelta::days(1))
                .iter()
                .all(|n| n != "b")
        );
    }

    #[test]
    fn an_absurd_poll_interval_schedules_within_the_maximum_instead_of_panicking() {
        let now = at(1_800_000_000);
        let mut schedule = PollSchedule::default();
        let absurd = account("a", Duration::from_secs(u64::MAX));
        schedule.set_accounts(std::slice::from_ref(&absurd), now);
        for _ in 0..4 {
            schedule.take_due(DateTime::<Utc>::MAX_UTC);
            schedule.record(&absurd, now, true);
        }
        let next = schedule.next_poll().unwrap();
        assert!(next > now, "{next}");
        let max_wait = TimeDelta::from_std(MAX_POLL_INTERVAL).unwrap() * 9;
        assert!(next <= now + max_wait, "{next}");
    }
}

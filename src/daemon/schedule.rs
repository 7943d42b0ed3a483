//! When each account is polled next: its interval with jitter, longer after failures.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::config::{AccountConfig, MAX_POLL_INTERVAL};

/// The next poll time of each account; accounts never polled are due at once.
#[derive(Debug, Default)]
pub struct PollSchedule {
    next: HashMap<String, DateTime<Utc>>,
    failures: HashMap<String, u32>,
}

impl PollSchedule {
    /// True when `account` should be polled at `now`.
    pub fn is_due(&self, account: &str, now: DateTime<Utc>) -> bool {
        self.next.get(account).is_none_or(|at| *at <= now)
    }

    /// Records a poll at `now`: the next one follows the interval, minus up to 10 %
    /// jitter (so many accounts don't poll in lockstep); after failures the wait
    /// doubles each time, up to 8 intervals.
    pub fn record(&mut self, account: &AccountConfig, now: DateTime<Utc>, failed: bool) {
        let failures = if failed {
            let n = self.failures.entry(account.name.clone()).or_default();
            *n = n.saturating_add(1);
            *n
        } else {
            self.failures.remove(&account.name);
            0
        };
        // Capped and checked like every date computed from config values: validation
        // bounds the interval, but a panic here would stop the daemon.
        let interval = TimeDelta::from_std(account.poll_interval.min(MAX_POLL_INTERVAL))
            .unwrap_or(TimeDelta::minutes(5));
        let wait = interval
            .checked_mul(2_i32.pow(failures.min(3)))
            .unwrap_or(interval);
        let jitter = jitter_fraction(&account.name, now) * 0.1;
        let wait_ms = wait.num_milliseconds() as f64 * (1.0 - jitter);
        let wait = TimeDelta::try_milliseconds(wait_ms as i64).unwrap_or(wait);
        self.next.insert(
            account.name.clone(),
            now.checked_add_signed(wait)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        );
    }

    /// The earliest next poll among `accounts` (never-polled ones count as now).
    pub fn next_poll(&self, accounts: &[AccountConfig]) -> Option<DateTime<Utc>> {
        accounts
            .iter()
            .filter_map(|a| self.next.get(&a.name).copied())
            .min()
    }
}

/// A deterministic fraction in [0, 1) from the account and the time: spreads polls
/// without a random number generator.
fn jitter_fraction(account: &str, now: DateTime<Utc>) -> f64 {
    let digest = Sha256::new()
        .chain_update(account.as_bytes())
        .chain_update(now.timestamp_millis().to_be_bytes())
        .finalize();
    f64::from(u16::from_be_bytes([digest[0], digest[1]])) / 65_536.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn account(poll_interval: std::time::Duration) -> AccountConfig {
        let text = "[mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
                    [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"a.ics\"\nowner = \"a@example.com\"\n";
        let config = crate::config::parse(text, Path::new("/etc/tete/tete.toml")).unwrap();
        let mut account = config.accounts[0].clone();
        account.poll_interval = poll_interval;
        account
    }

    #[test]
    fn an_absurd_poll_interval_schedules_within_the_maximum_instead_of_panicking() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut schedule = PollSchedule::default();
        let absurd = account(std::time::Duration::from_secs(u64::MAX));
        for _ in 0..4 {
            schedule.record(&absurd, now, true);
        }
        let next = schedule.next_poll(&[absurd]).unwrap();
        assert!(next > now, "{next}");
        let max_wait = TimeDelta::from_std(MAX_POLL_INTERVAL).unwrap() * 8;
        assert!(next <= now + max_wait, "{next}");
    }
}

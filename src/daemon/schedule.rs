//! When each account is polled next: its interval with jitter, longer after failures.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::config::AccountConfig;

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
        let interval = TimeDelta::from_std(account.poll_interval).unwrap_or(TimeDelta::minutes(5));
        let wait = interval * 2_i32.pow(failures.min(3));
        let jitter = jitter_fraction(&account.name, now) * 0.1;
        let wait_ms = wait.num_milliseconds() as f64 * (1.0 - jitter);
        self.next.insert(
            account.name.clone(),
            now + TimeDelta::milliseconds(wait_ms as i64),
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

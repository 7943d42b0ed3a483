//! The last sync of each account, for `tete status`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, decode, encode};

/// How an account's last sync went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// When the last attempt ended.
    pub at: DateTime<Utc>,
    /// When the last successful sync ended (changed or not).
    pub last_success: Option<DateTime<Utc>>,
    /// The last attempt's error, if it failed (never holds secrets: source errors
    /// name URLs without credentials).
    pub error: Option<String>,
    /// Failed attempts in a row.
    pub failures_in_a_row: u32,
    /// Events held for the account after the last successful sync that changed something.
    pub events: Option<usize>,
}

impl Store {
    /// Records an attempt: `Ok(Some(n))` stored n events, `Ok(None)` found nothing new,
    /// `Err(message)` failed.
    pub fn record_sync(
        &self,
        account: &str,
        at: DateTime<Utc>,
        result: Result<Option<usize>, String>,
    ) -> Result<SyncRecord, StoreError> {
        let previous = self.last_sync(account)?;
        let record = match result {
            Ok(events) => SyncRecord {
                at,
                last_success: Some(at),
                error: None,
                failures_in_a_row: 0,
                events: events.or(previous.and_then(|p| p.events)),
            },
            Err(error) => SyncRecord {
                at,
                last_success: previous.as_ref().and_then(|p| p.last_success),
                error: Some(error),
                failures_in_a_row: previous.as_ref().map_or(0, |p| p.failures_in_a_row) + 1,
                events: previous.and_then(|p| p.events),
            },
        };
        self.trees
            .syncs
            .insert(account.as_bytes(), encode("syncs", &record)?)?;
        Ok(record)
    }

    /// The last recorded sync of `account`.
    pub fn last_sync(&self, account: &str) -> Result<Option<SyncRecord>, StoreError> {
        match self.trees.syncs.get(account.as_bytes())? {
            Some(bytes) => Ok(Some(decode("syncs", &bytes)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn failures_count_up_and_keep_the_last_success() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let t = |h: u32| {
            chrono::DateTime::parse_from_rfc3339(&format!("2026-12-01T{h:02}:00:00Z"))
                .unwrap()
                .with_timezone(&Utc)
        };
        store.record_sync("a", t(1), Ok(Some(5))).unwrap();
        store.record_sync("a", t(2), Err("boom".into())).unwrap();
        let record = store.record_sync("a", t(3), Err("boom".into())).unwrap();
        assert_eq!(record.failures_in_a_row, 2);
        assert_eq!(record.last_success, Some(t(1)));
        assert_eq!(record.events, Some(5));
        let record = store.record_sync("a", t(4), Ok(None)).unwrap();
        assert_eq!(record.failures_in_a_row, 0);
        assert_eq!(record.events, Some(5));
        assert_eq!(store.last_sync("b").unwrap(), None);
    }
}

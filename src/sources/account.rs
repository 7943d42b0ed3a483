//! One generic account over a [`CalendarProvider`]: the provider-independent half of a
//! sync (which calendars, whose calendar it is, one report type). Sources never touch
//! the store: the pass reads what a calendar's sync needs ([`StoredState`], the known
//! owner, stored events when [`CalendarSync::needs_stored_events`]), hands it over as
//! plain values, and writes back the [`CalendarChanges`] a sync returns.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::future::Future;

use super::SourceError;
use crate::model::stored::{CalendarChanges, StoredEvent};

/// A calendar's cursor and index as the store holds them.
#[derive(Clone, Debug, Default)]
pub struct StoredState {
    /// The cursor (sync token, delta link, feed validators), rewritten at every poll.
    pub cursor: Option<String>,
    /// The source's index beside the cursor (Graph's occurrence index), rewritten only
    /// when it changes.
    pub index: Option<String>,
}

/// How a provider uses the account owner's address when syncing a calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerUse {
    /// Not at all.
    Unused,
    /// The calendar cannot be addressed without it (Google's `primary` is the owner's
    /// address): failing to learn it fails the calendar.
    Required,
    /// It only marks the owner's own attendee entry: failing to learn it is logged and
    /// the calendar syncs without it (unless the failure is account-wide).
    Optional,
}

/// The account owner's address and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The address.
    pub address: String,
    /// True when just asked of the provider: the caller should remember it.
    pub learned: bool,
}

/// A calendar service: Google Calendar, Microsoft Graph. One value per account; it
/// holds the account's HTTP helper and credentials, never the store.
pub trait CalendarProvider: Send + Sync {
    /// True when an incremental sync may need the calendar's stored events
    /// ([`CalendarSync::tie_to_stored_series`]): the pass reads them only then.
    const TIES_TO_STORED_SERIES: bool = false;

    /// The owner's address when the configuration fixes it (used before anything stored).
    fn configured_owner(&self) -> Option<&str> {
        None
    }

    /// Asks the provider whose account this is.
    fn fetch_owner(&self) -> impl Future<Output = Result<String, SourceError>> + Send;

    /// Whether syncing `calendar` needs the owner's address.
    fn owner_use(&self, calendar: &str) -> OwnerUse;

    /// Fetches one calendar's changes since `stored` (or everything when there is no
    /// usable cursor). `calendar` is as configured (`primary` or an id).
    fn sync_calendar(
        &self,
        calendar: &str,
        owner: Option<&str>,
        stored: &StoredState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<CalendarSync, SourceError>> + Send;
}

/// What one sync of one calendar produced: the changes for the store and what to report.
#[derive(Debug, Default)]
pub struct CalendarSync {
    /// The changes, with the new cursor (and index, when it changed).
    pub changes: CalendarChanges,
    /// Pages fetched.
    pub pages: u32,
    /// Items the provider delivered (tombstones included).
    pub items: usize,
    /// True when the stored cursor had expired and a full listing replaced it.
    pub resynced_after_expiry: bool,
    /// Items skipped as unusable: `what: why`.
    pub skipped: Vec<String>,
    /// Overrides whose series UID the provider did not send (`event id`, master id);
    /// their `uid` is a guess to be corrected from the stored master
    /// ([`CalendarSync::tie_to_stored_series`]).
    pub guessed_uids: Vec<(String, String)>,
}

impl CalendarSync {
    /// True when [`CalendarSync::tie_to_stored_series`] needs the calendar's stored
    /// events: an incremental listing with guessed UIDs or deletions.
    pub fn needs_stored_events(&self) -> bool {
        !self.changes.full && (!self.guessed_uids.is_empty() || !self.changes.deleted.is_empty())
    }

    /// Fixes what an incremental listing cannot know alone, from the calendar's stored
    /// events: the series UID of a cancelled-instance stub (Google guarantees only its
    /// id, `recurringEventId` and `originalStartTime`), and the overrides of a deleted
    /// series, which go with it.
    pub fn tie_to_stored_series(&mut self, stored: &[StoredEvent]) {
        if !self.needs_stored_events() {
            return;
        }
        let changes = &mut self.changes;
        let master_uid: BTreeMap<&str, &str> = stored
            .iter()
            .filter(|s| s.event.recurrence.is_some())
            .map(|s| (s.event.id.as_str(), s.event.uid.as_str()))
            .collect();
        for (event_id, master) in &self.guessed_uids {
            if let Some(uid) = master_uid.get(master.as_str())
                && let Some(event) = changes.upserted.iter_mut().find(|e| &e.id == event_id)
            {
                event.uid = uid.to_string();
            }
        }
        let deleted_series: Vec<&str> = changes
            .deleted
            .iter()
            .filter_map(|id| master_uid.get(id.as_str()).copied())
            .collect();
        if !deleted_series.is_empty() {
            let kept: Vec<&str> = changes.upserted.iter().map(|e| e.id.as_str()).collect();
            let orphans: Vec<String> = stored
                .iter()
                .filter(|s| s.event.recurrence_id.is_some())
                .filter(|s| deleted_series.contains(&s.event.uid.as_str()))
                .filter(|s| !kept.contains(&s.event.id.as_str()))
                .map(|s| s.event.id.clone())
                .collect();
            changes.deleted.extend(orphans);
        }
    }
}

/// What one calendar's sync did, for every provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarReport {
    /// The calendar as configured (`primary` or an id).
    pub calendar: String,
    /// True for a full listing (first sync, window roll-over, expired cursor).
    pub full: bool,
    /// True when an expired cursor forced the full listing.
    pub resynced_after_expiry: bool,
    /// Events stored or replaced.
    pub upserted: usize,
    /// Events removed.
    pub deleted: usize,
    /// Items the provider delivered.
    pub items: usize,
    /// Items skipped as unusable (`what: why`).
    pub skipped: Vec<String>,
    /// Pages fetched.
    pub pages: u32,
}

impl CalendarReport {
    /// The report of `sync` of `calendar`, counting the changes as they will be stored.
    pub fn new(calendar: &str, sync: CalendarSync) -> CalendarReport {
        CalendarReport {
            calendar: calendar.to_string(),
            full: sync.changes.full,
            resynced_after_expiry: sync.resynced_after_expiry,
            upserted: sync.changes.upserted.len(),
            deleted: sync.changes.deleted.len(),
            items: sync.items,
            skipped: sync.skipped,
            pages: sync.pages,
        }
    }

    /// True when the calendar changed (a full listing always counts).
    pub fn changed(&self) -> bool {
        self.full || self.upserted > 0 || self.deleted > 0
    }
}

/// An account ready to sync: its name, its calendars and its provider (HTTP helper,
/// credentials, request counter). Build one per account and keep it across passes.
#[derive(Debug)]
pub struct Account<P> {
    name: String,
    calendars: Vec<String>,
    provider: P,
}

impl<P: CalendarProvider> Account<P> {
    /// An account of `provider`; no configured calendars means the primary one.
    pub fn with_provider(name: &str, calendars: Vec<String>, provider: P) -> Account<P> {
        let calendars = if calendars.is_empty() {
            vec!["primary".to_string()]
        } else {
            calendars
        };
        Account {
            name: name.to_string(),
            calendars,
            provider,
        }
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendars to sync, as configured.
    pub fn calendars(&self) -> &[String] {
        &self.calendars
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The owner's address: configured, else `stored` (what the store remembers), else
    /// asked of the provider ([`Owner::learned`]: the caller remembers it).
    pub async fn owner(&self, stored: Option<&str>) -> Result<Owner, SourceError> {
        if let Some(address) = self.provider.configured_owner().or(stored) {
            return Ok(Owner {
                address: address.to_string(),
                learned: false,
            });
        }
        let address = self.provider.fetch_owner().await?;
        Ok(Owner {
            address,
            learned: true,
        })
    }

    /// The owner as syncing `calendar` needs it ([`CalendarProvider::owner_use`]).
    pub async fn owner_for(
        &self,
        calendar: &str,
        stored: Option<&str>,
    ) -> Result<Option<Owner>, SourceError> {
        match self.provider.owner_use(calendar) {
            OwnerUse::Unused => Ok(None),
            OwnerUse::Required => self.owner(stored).await.map(Some),
            OwnerUse::Optional => match self.owner(stored).await {
                Ok(owner) => Ok(Some(owner)),
                Err(error) if error.is_account_wide() => Err(error),
                Err(error) => {
                    tracing::warn!(account = %self.name, %error, "account owner unknown");
                    Ok(None)
                }
            },
        }
    }

    /// Fetches one calendar's changes; see [`CalendarProvider::sync_calendar`].
    pub async fn fetch_calendar(
        &self,
        calendar: &str,
        owner: Option<&str>,
        stored: &StoredState,
        now: DateTime<Utc>,
    ) -> Result<CalendarSync, SourceError> {
        self.provider
            .sync_calendar(calendar, owner, stored, now)
            .await
    }
}

//! The analysis step of a pass, series by series.
//!
//! A one-off caller ([`analyze_series_of_store`]) walks the store's per-series index and
//! analyses one series at a time, so memory follows the largest series plus the views
//! kept, never the whole store. A long-running caller keeps an [`AnalysisCache`]: after
//! its first (full) round, a round re-analyses only the series a sync marked dirty and
//! those whose analysis time has run out ([`SeriesAnalysis::valid_until`], or the next
//! instant the pass has something to do with a 1:1); a round in which none of that
//! happened decodes no event and expands no series.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::core::analyze::{Analysis, SeriesAnalysis, SeriesView, analyze_series};
use crate::core::calendar::Limits;
use crate::core::series::group_by_series;
use crate::store::{DirtySeries, Store, StoreError};

/// Analyses one series of the store at `now`, reading only its events.
fn analyze_one(
    config: &Config,
    store: &Store,
    uid: &str,
    owners: &HashMap<String, String>,
    now: DateTime<Utc>,
    limits: &Limits,
    track_validity: bool,
) -> Result<SeriesAnalysis, StoreError> {
    let owner_of = |account: &str| owners.get(account).cloned();
    let events = store.series_events(uid)?;
    // The index holds one UID per prefix, so this is one group (none once deleted).
    let mut found = SeriesAnalysis {
        view: None,
        warning: None,
        valid_until: None,
        recurring: false,
    };
    for group in group_by_series(events, &owner_of) {
        found = analyze_series(config, group, now, limits, track_validity);
    }
    Ok(found)
}

/// Analyses every series of the store at `now`, one series at a time (the events of
/// one series are in memory at once, never the whole store's).
pub fn analyze_series_of_store(
    config: &Config,
    store: &Store,
    owners: &HashMap<String, String>,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<Analysis, StoreError> {
    let mut series = Vec::new();
    // By UID, as a long-running pass keeps them: the walk's order is the store's
    // layout, not something to show.
    let mut warnings = std::collections::BTreeMap::new();
    for uid in store.series_uids_by_calendar() {
        let uid = uid?;
        let found = analyze_one(config, store, &uid, owners, now, limits, false)?;
        series.extend(found.view);
        if let Some(warning) = found.warning {
            warnings.insert(uid, warning);
        }
    }
    Ok(Analysis::from_parts(
        now,
        series,
        warnings.into_values().collect(),
    ))
}

/// Analyses the series with the given UIDs at `now` (each once), reading only their
/// events.
pub fn analyze_uids(
    config: &Config,
    store: &Store,
    owners: &HashMap<String, String>,
    uids: &BTreeSet<String>,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<Analysis, StoreError> {
    let mut series = Vec::new();
    let mut warnings = Vec::new();
    for uid in uids {
        let found = analyze_one(config, store, uid, owners, now, limits, false)?;
        series.extend(found.view);
        warnings.extend(found.warning);
    }
    Ok(Analysis::from_parts(now, series, warnings))
}

/// A series UID as the cache holds it: one allocation per series, shared by the five
/// maps that name a listed series (a `String` in each cost 12–13 MB more at 400,000
/// series, docs/benchmarks.md).
type Uid = Arc<str>;

/// Instants keyed by series UID, soonest first: when each series' analysis runs out,
/// or when its next brief is due.
#[derive(Debug, Default)]
struct TimeIndex {
    /// (instant, UID), in time order.
    by_time: BTreeSet<(DateTime<Utc>, Uid)>,
    /// The instant of each UID in `by_time`, to find its entry there.
    of: HashMap<Uid, DateTime<Utc>>,
}

impl TimeIndex {
    /// Removes the instant of `uid`, if it has one.
    fn remove(&mut self, uid: &str) {
        if let Some((uid, old)) = self.of.remove_entry(uid) {
            self.by_time.remove(&(old, uid));
        }
    }

    /// Sets (or, with `None`, removes) the instant of `uid`.
    fn set(&mut self, uid: &Uid, at: Option<DateTime<Utc>>) {
        self.remove(uid);
        if let Some(at) = at {
            self.by_time.insert((at, Uid::clone(uid)));
            self.of.insert(Uid::clone(uid), at);
        }
    }

    /// The UID as this index holds it, if it holds it.
    fn shared(&self, uid: &str) -> Option<&Uid> {
        self.of.get_key_value(uid).map(|(uid, _)| uid)
    }

    /// Removes and returns the UIDs whose instant is at or before `now`.
    fn pop_until(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut popped = Vec::new();
        while self.by_time.first().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, uid)) = self.by_time.pop_first() {
                self.of.remove(&uid);
                popped.push(uid.to_string());
            }
        }
        popped
    }

    /// The soonest instant.
    fn first(&self) -> Option<DateTime<Utc>> {
        self.by_time.first().map(|(at, _)| *at)
    }
}

/// What a visitor of an analysed series tells the cache about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attention {
    /// When the series must be analysed again even if its events stay the same (see
    /// [`crate::core::attention::next_change`]); `None`: only when time moves its
    /// window.
    pub revisit: Option<DateTime<Utc>>,
    /// When its next brief is due, if it has one.
    pub next_brief: Option<DateTime<Utc>>,
}

/// The kind of a listed series, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    OneOnOne,
    /// Recurring, not a 1:1.
    Recurring,
}

/// How many series the cache knows of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesCounts {
    /// Detected 1:1 series.
    pub one_on_ones: usize,
    /// Recurring series that are not 1:1s.
    pub other_recurring: usize,
}

/// What a long-running caller keeps from one round to the next: no series view, only
/// when each series must be looked at again (and why not sooner), its kind, its
/// warning and its next brief. A round hands the series it analysed to a visitor
/// and keeps nothing of them but those facts, so memory follows the number of
/// series, at some 100 bytes each, not their events.
#[derive(Debug, Default)]
pub struct AnalysisCache {
    /// Set once a full round ran.
    ready: bool,
    /// A fingerprint of what the rounds depend on besides the events (see
    /// [`crate::pass::round_inputs`]): when it changes, everything is analysed again.
    inputs: u64,
    /// When each series must be analysed again.
    expiries: TimeIndex,
    /// When each 1:1's next brief is due.
    briefs: TimeIndex,
    /// The 1:1s and recurring series (single meetings are not counted).
    listed: HashMap<Uid, Kind>,
    /// The expansion warning of each series that has one, in UID order (the order
    /// [`analyze_series_of_store`] gives them too).
    warnings: std::collections::BTreeMap<String, String>,
}

/// What one cached round did, for logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundWork {
    /// True when everything was analysed (the first round, or after the config changed).
    pub full: bool,
    /// Series analysed in this round (all, dirty, run out or due for a look).
    pub analysed: usize,
}

/// Visits each series a round analysed (its view, when it is listed) and says when to
/// look at it again.
pub type Visitor<'a, E> = dyn FnMut(SeriesView) -> Result<Attention, E> + 'a;

impl AnalysisCache {
    /// Brings the cache up to date at `now`: analyses the series the store marked
    /// dirty, those whose analysis ran out and those due for a look, or every series
    /// (one at a time) the first time and whenever `inputs` changed; hands each view
    /// to `visit`. Clears the dirty marks it analysed.
    #[allow(clippy::too_many_arguments)]
    pub fn update<E: From<StoreError>>(
        &mut self,
        config: &Config,
        store: &Store,
        owners: &HashMap<String, String>,
        now: DateTime<Utc>,
        limits: &Limits,
        inputs: u64,
        visit: &mut Visitor<'_, E>,
    ) -> Result<RoundWork, E> {
        // Read before the analysis: a sync that marks a series meanwhile gives it a
        // new mark, which the clearing below leaves.
        let dirty: Vec<DirtySeries> = if store.has_dirty_series()? {
            store.dirty_series()?
        } else {
            Vec::new()
        };
        let work = if self.ready && self.inputs == inputs {
            let mut uids: BTreeSet<String> = dirty.iter().map(|d| d.uid.clone()).collect();
            uids.extend(self.expiries.pop_until(now));
            for uid in &uids {
                let found = analyze_one(config, store, uid, owners, now, limits, true)?;
                self.keep(uid, found, visit)?;
            }
            RoundWork {
                full: false,
                analysed: uids.len(),
            }
        } else {
            *self = AnalysisCache {
                inputs,
                ..AnalysisCache::default()
            };
            let mut analysed = 0;
            for uid in store.series_uids_by_calendar() {
                let uid = uid?;
                analysed += 1;
                let found = analyze_one(config, store, &uid, owners, now, limits, true)?;
                self.keep(&uid, found, visit)?;
            }
            self.ready = true;
            RoundWork {
                full: true,
                analysed,
            }
        };
        store.clear_dirty(&dirty)?;
        Ok(work)
    }

    /// Records what the analysis of one series found, after `visit` saw its view.
    fn keep<E>(
        &mut self,
        uid: &str,
        found: SeriesAnalysis,
        visit: &mut Visitor<'_, E>,
    ) -> Result<(), E> {
        match found.warning {
            Some(warning) => {
                self.warnings.insert(uid.to_string(), warning);
            }
            None => {
                self.warnings.remove(uid);
            }
        }
        // A single meeting never becomes a 1:1 or a recurring series, so time changes
        // nothing the cache keeps about it: it is looked at again only when a sync
        // changes it. (Most of a store's series are single meetings.)
        let valid_until = found.valid_until.filter(|_| found.recurring);
        let Some(view) = found.view else {
            self.listed.remove(uid);
            self.briefs.remove(uid);
            // Most series of a store end here (single meetings, kept nowhere): no
            // shared UID to make for them.
            match valid_until {
                Some(at) => {
                    let uid = self.shared_uid(uid);
                    self.expiries.set(&uid, Some(at));
                }
                None => self.expiries.remove(uid),
            }
            return Ok(());
        };
        let uid = self.shared_uid(uid);
        let kind = if view.verdict.one_on_one {
            Some(Kind::OneOnOne)
        } else if view.cadence != "once" {
            Some(Kind::Recurring)
        } else {
            None
        };
        match kind {
            Some(kind) => {
                self.listed.insert(Uid::clone(&uid), kind);
            }
            None => {
                self.listed.remove(&uid);
            }
        }
        let attention = visit(view)?;
        let expiry = [valid_until, attention.revisit].into_iter().flatten().min();
        self.expiries.set(&uid, expiry);
        self.briefs.set(&uid, attention.next_brief);
        Ok(())
    }

    /// The allocation the maps already share for `uid`, or a new one.
    fn shared_uid(&self, uid: &str) -> Uid {
        self.listed
            .get_key_value(uid)
            .map(|(uid, _)| uid)
            .or_else(|| self.expiries.shared(uid))
            .or_else(|| self.briefs.shared(uid))
            .map_or_else(|| Uid::from(uid), Uid::clone)
    }

    /// How many 1:1s and other recurring series there are.
    pub fn counts(&self) -> SeriesCounts {
        let one_on_ones = self
            .listed
            .values()
            .filter(|kind| **kind == Kind::OneOnOne)
            .count();
        SeriesCounts {
            one_on_ones,
            other_recurring: self.listed.len() - one_on_ones,
        }
    }

    /// The expansion warnings, one per series, in UID order.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.values().cloned().collect()
    }

    /// When the next series must be looked at again.
    pub fn next_revisit(&self) -> Option<DateTime<Utc>> {
        self.expiries.first()
    }

    /// How many series the cache holds an instant for (to be looked at again), and how
    /// many it lists: what its memory follows.
    pub fn entries(&self) -> (usize, usize) {
        (self.expiries.of.len(), self.listed.len())
    }

    /// When the next brief the cache knows of is due.
    pub fn next_brief(&self) -> Option<DateTime<Utc>> {
        self.briefs.first()
    }
}

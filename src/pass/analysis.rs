//! The analysis step of a pass, series by series.
//!
//! A one-off caller ([`analyze_series_of_store`]) walks the store's per-series index and
//! analyses one series at a time, so memory follows the largest series plus the views
//! kept, never the whole store. A long-running caller keeps an [`AnalysisCache`]: after
//! its first (full) round, a round re-analyses only the series a sync marked dirty and
//! those whose analysis time has run out ([`SeriesAnalysis::valid_until`]); a round in
//! which neither happened decodes no event and expands no series.

use std::collections::{BTreeSet, HashMap, HashSet};
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
    let mut warnings = Vec::new();
    for uid in store.series_uids() {
        let found = analyze_one(config, store, &uid?, owners, now, limits, false)?;
        series.extend(found.view);
        warnings.extend(found.warning);
    }
    Ok(Analysis::from_parts(now, series, warnings))
}

/// What a long-running caller keeps from one analysis to the next.
#[derive(Debug, Default)]
pub struct AnalysisCache {
    /// The last analysis, shared with the round's report (rounds that change nothing
    /// copy nothing).
    analysis: Option<Arc<Analysis>>,
    /// What the analysis depended on besides the events (owners, detection rules,
    /// zone): when it changes, everything is analysed again.
    inputs: String,
    /// (valid until, UID) of every series whose analysis runs out with time.
    expiries: BTreeSet<(DateTime<Utc>, String)>,
    /// The expiry of each UID in `expiries`, to find its entry there.
    expiry_of: HashMap<String, DateTime<Utc>>,
    /// The expansion warning of each series that has one, in UID order (the order a
    /// full analysis gives them).
    warnings: std::collections::BTreeMap<String, String>,
}

/// What one cached round did, for logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundWork {
    /// True when everything was analysed (the first round, or after the config changed).
    pub full: bool,
    /// Series analysed again in this round (dirty or run out).
    pub analysed: usize,
}

/// The inputs of an analysis other than the events and the time, in one comparable
/// string.
fn inputs_of(config: &Config, owners: &HashMap<String, String>) -> String {
    let mut owners: Vec<(&String, &String)> = owners.iter().collect();
    owners.sort();
    format!(
        "{:?}|{:?}|{owners:?}",
        config.detection,
        config.timezone.name()
    )
}

impl AnalysisCache {
    /// The analysis at `now`: the cached one brought up to date with what the store
    /// marked dirty and what ran out, or a full one (series by series) the first time
    /// and whenever the config or the owners changed. Clears the dirty marks it
    /// analysed. `bind` points each fresh 1:1 view at its context.
    pub fn update(
        &mut self,
        config: &Config,
        store: &Store,
        owners: &HashMap<String, String>,
        now: DateTime<Utc>,
        limits: &Limits,
        bind: &dyn Fn(&mut SeriesView) -> Result<(), StoreError>,
    ) -> Result<(Arc<Analysis>, RoundWork), StoreError> {
        let inputs = inputs_of(config, owners);
        // Read before the analysis: a sync that marks a series meanwhile gives it a
        // new mark, which the clearing below leaves.
        let dirty: Vec<DirtySeries> = if store.has_dirty_series()? {
            store.dirty_series()?
        } else {
            Vec::new()
        };
        let cached = self.analysis.take().filter(|_| self.inputs == inputs);
        let work = match cached {
            Some(mut analysis) => {
                let mut uids: HashSet<String> = dirty.iter().map(|d| d.uid.clone()).collect();
                while let Some((at, _)) = self.expiries.first() {
                    if *at > now {
                        break;
                    }
                    if let Some((_, uid)) = self.expiries.pop_first() {
                        self.expiry_of.remove(&uid);
                        uids.insert(uid);
                    }
                }
                if uids.is_empty() {
                    if analysis.now != now {
                        Arc::make_mut(&mut analysis).now = now;
                    }
                } else {
                    let mut fresh = Vec::new();
                    for uid in &uids {
                        let found = analyze_one(config, store, uid, owners, now, limits, true)?;
                        if let Some(mut view) = self.keep(uid, found) {
                            bind(&mut view)?;
                            fresh.push(view);
                        }
                    }
                    let changed = Arc::make_mut(&mut analysis);
                    changed.now = now;
                    changed.replace_series(&uids, fresh);
                    changed.warnings = self.warnings.values().cloned().collect();
                }
                self.analysis = Some(analysis);
                RoundWork {
                    full: false,
                    analysed: uids.len(),
                }
            }
            _ => {
                *self = AnalysisCache {
                    inputs,
                    ..AnalysisCache::default()
                };
                let mut series = Vec::new();
                let mut analysed = 0;
                for uid in store.series_uids() {
                    let uid = uid?;
                    analysed += 1;
                    let found = analyze_one(config, store, &uid, owners, now, limits, true)?;
                    if let Some(mut view) = self.keep(&uid, found) {
                        bind(&mut view)?;
                        series.push(view);
                    }
                }
                let warnings = self.warnings.values().cloned().collect();
                self.analysis = Some(Arc::new(Analysis::from_parts(now, series, warnings)));
                RoundWork {
                    full: true,
                    analysed,
                }
            }
        };
        store.clear_dirty(&dirty)?;
        let analysis = self
            .analysis
            .clone()
            .unwrap_or_else(|| Arc::new(Analysis::from_parts(now, Vec::new(), Vec::new())));
        Ok((analysis, work))
    }

    /// Records the expiry and warning of a freshly analysed series, returning its view.
    fn keep(&mut self, uid: &str, found: SeriesAnalysis) -> Option<SeriesView> {
        if let Some(old) = self.expiry_of.remove(uid) {
            self.expiries.remove(&(old, uid.to_string()));
        }
        if let Some(at) = found.valid_until {
            self.expiries.insert((at, uid.to_string()));
            self.expiry_of.insert(uid.to_string(), at);
        }
        match found.warning {
            Some(warning) => {
                self.warnings.insert(uid.to_string(), warning);
            }
            None => {
                self.warnings.remove(uid);
            }
        }
        found.view
    }
}

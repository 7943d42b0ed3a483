//! One pass: sync every account, expand, detect, harvest context, plan, queue, send.
//!
//! `tete run --once` runs one pass; the daemon runs the same steps on its timers.
//! Data flows one way; each step hands plain values to the next.

pub mod analyze;
pub mod briefs;
pub mod series;
pub mod sync;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::mail::DrainReport;
use crate::store::{Store, StoreError};

pub use analyze::{Analysis, SeriesView, analyze};
pub use briefs::{BriefStepError, QueueReport};
pub use sync::{AccountSync, SyncOutcome};

/// What one pass did.
#[derive(Debug)]
pub struct PassReport {
    /// Per-account sync results.
    pub syncs: Vec<AccountSync>,
    /// Series found.
    pub analysis: Analysis,
    /// Briefs queued and withheld.
    pub queue: QueueReport,
    /// What the transport did with the outbox.
    pub delivery: DrainReport,
}

/// Errors that stop a pass (one account's failure does not: see [`AccountSync`]).
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Composing, queueing or sending failed as a whole.
    #[error(transparent)]
    Briefs(#[from] BriefStepError),
}

/// An HTTP client for the sources: rustls, bounded timeouts, an honest user agent.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("tete/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(15))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap_or_default()
}

/// Syncs, then analyzes the store at `now` (what `series` and `preview` need).
pub async fn sync_and_analyze(
    config: &Config,
    store: &Store,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<(Vec<AccountSync>, Analysis), StoreError> {
    let syncs = sync::sync_all(config, store, http).await;
    let stored = store.all_events()?;
    Ok((syncs, analyze(config, &stored, now)))
}

/// Runs one whole pass at `now`.
pub async fn run_once(
    config: &Config,
    store: &Store,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<PassReport, PassError> {
    let (syncs, analysis) = sync_and_analyze(config, store, http, now).await?;
    briefs::refresh_context(store, &analysis, now)?;
    let queue = briefs::queue_due(config, store, &analysis, now)?;
    let delivery = briefs::deliver(config, store, now).await?;
    store.flush()?;
    Ok(PassReport {
        syncs,
        analysis,
        queue,
        delivery,
    })
}

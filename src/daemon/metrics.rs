//! The metrics endpoint (`[metrics] listen`): OpenMetrics text on `GET /metrics`.
//!
//! Two kinds of numbers. What happens during rounds (briefs queued and sent, sync
//! errors, pass durations) is counted by the daemon as it happens, in
//! [`Metrics::record_sync`] and [`Metrics::record_round`]. What the store holds (the
//! outbox, each account's last success, sign-ins, replies, the store's size) is read
//! at scrape time by [`StoreView`], from the same [`account_statuses`] and
//! summaries `tete status` prints, so an age grows while the daemon sleeps and the two
//! never disagree.
//!
//! Privacy: the only label values are account names (chosen by the operator in the
//! config) and fixed words; no series id, title or address is ever a label.
//!
//! The HTTP side is the least a scraper needs: one request per connection, a head of
//! at most [`MAX_REQUEST`] bytes read within [`REQUEST_TIMEOUT`], at most
//! [`MAX_CONNECTIONS`] at once, `Connection: close`. Nothing of the request is echoed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::control::server::{Clock, ControlState};
use crate::control::status::account_statuses;
use crate::pass::{AccountSync, RoundReport, SyncOutcome};

/// The largest request head read; a scraper's GET is a few hundred bytes.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long one connection may take, request and answer together.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once, so a flood cannot pile up
/// store reads.
pub const MAX_CONNECTIONS: usize = 4;

/// A label set: fixed label names, values that are account names or fixed words.
type Labels = Vec<(&'static str, String)>;

/// The daemon's metrics. Counters move as rounds happen; the store's numbers are read
/// at each scrape through the [`StoreView`] registered with them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    briefs: Family<Labels, Counter>,
    followups: Family<Labels, Counter>,
    syncs: Family<Labels, Counter>,
    sync_errors: Family<Labels, Counter>,
    passes: Family<Labels, Counter>,
    pass_duration: Histogram,
    series: Family<Labels, Gauge>,
}

impl Metrics {
    /// Metrics whose store numbers are read from the daemon's current `state` at the
    /// time `clock` tells.
    pub fn new(state: watch::Receiver<ControlState>, clock: Clock) -> Metrics {
        let mut registry = Registry::with_prefix("tete");
        let briefs = Family::<Labels, Counter>::default();
        registry.register(
            "briefs",
            "Messages (briefs, digests, recaps, notes) by outcome: queued, sent, retried (a temporary failure), failed (for good), expired (the meeting began unsent)",
            briefs.clone(),
        );
        let followups = Family::<Labels, Counter>::default();
        registry.register(
            "followups_queued",
            "Messages queued after and between meetings, by kind: recap, cadence (a note that 1:1s stopped happening)",
            followups.clone(),
        );
        let syncs = Family::<Labels, Counter>::default();
        registry.register(
            "account_syncs",
            "Account syncs by account and result (ok, failed)",
            syncs.clone(),
        );
        let sync_errors = Family::<Labels, Counter>::default();
        registry.register(
            "account_sync_errors",
            "Failed account syncs by account and kind: throttled, auth, transient, permanent, store, internal",
            sync_errors.clone(),
        );
        let passes = Family::<Labels, Counter>::default();
        registry.register(
            "passes",
            "Daemon rounds (sync of the due accounts, then the pass) by result (ok, failed)",
            passes.clone(),
        );
        // 10 ms to about 5 minutes: an idle round is milliseconds, a first full sync
        // of many accounts minutes.
        let pass_duration = Histogram::new(exponential_buckets(0.01, 4.0, 9));
        registry.register_with_unit(
            "pass_duration",
            "How long a round took",
            Unit::Seconds,
            pass_duration.clone(),
        );
        let series = Family::<Labels, Gauge>::default();
        registry.register(
            "series",
            "Recurring series the last pass handled, by kind (one_on_one, other)",
            series.clone(),
        );
        registry.register_collector(Box::new(StoreView { state, clock }));
        Metrics {
            registry,
            briefs,
            followups,
            syncs,
            sync_errors,
            passes,
            pass_duration,
            series,
        }
    }

    /// Counts one account's sync.
    pub fn record_sync(&self, sync: &AccountSync) {
        let result = match &sync.outcome {
            SyncOutcome::Failed(error) => {
                self.sync_errors
                    .get_or_create(&labels(&[
                        ("account", &sync.account),
                        ("kind", error.kind()),
                    ]))
                    .inc();
                "failed"
            }
            SyncOutcome::Updated { .. } | SyncOutcome::Unchanged => "ok",
        };
        self.syncs
            .get_or_create(&labels(&[("account", &sync.account), ("result", result)]))
            .inc();
    }

    /// Counts what a pass queued and delivered, and the series it handled.
    pub fn record_pass(&self, round: &RoundReport) {
        let delivery = &round.delivery;
        for (outcome, count) in [
            // Recaps and cadence notes leave through the same outbox: counted here
            // too, so `queued` and `sent` describe the same messages.
            (
                "queued",
                round.queue.queued + round.followups.recaps + round.followups.cadence_notes,
            ),
            ("sent", delivery.sent),
            ("retried", delivery.retried),
            ("failed", delivery.dead),
            ("expired", delivery.expired),
        ] {
            self.briefs
                .get_or_create(&labels(&[("outcome", outcome)]))
                .inc_by(count as u64);
        }
        for (kind, count) in [
            ("recap", round.followups.recaps),
            ("cadence", round.followups.cadence_notes),
        ] {
            self.followups
                .get_or_create(&labels(&[("kind", kind)]))
                .inc_by(count as u64);
        }
        let one_on_ones = round.counts.one_on_ones;
        let other = round.counts.other_recurring;
        for (kind, count) in [("one_on_one", one_on_ones), ("other", other)] {
            self.series
                .get_or_create(&labels(&[("kind", kind)]))
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// Counts a round that took `elapsed` and went through or failed.
    pub fn record_round(&self, elapsed: Duration, failed: bool) {
        self.pass_duration.observe(elapsed.as_secs_f64());
        let result = if failed { "failed" } else { "ok" };
        self.passes
            .get_or_create(&labels(&[("result", result)]))
            .inc();
    }

    /// The OpenMetrics text. Reads the store: call it off the async workers.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!("metrics: cannot encode: {error}");
        }
        text
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| (*name, (*value).to_string()))
        .collect()
}

/// The store's numbers, read at each scrape.
struct StoreView {
    state: watch::Receiver<ControlState>,
    clock: Clock,
}

impl std::fmt::Debug for StoreView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreView")
    }
}

/// What a scrape read from the store.
struct Snapshot {
    outbox: crate::model::outbox::OutboxSummary,
    accounts: Vec<crate::control::status::AccountStatus>,
    replies: Option<crate::model::replies::ReplySummary>,
    size_on_disk: Option<u64>,
}

impl StoreView {
    /// `None` while the store is being reopened (the daemon's own counters still
    /// answer) or when reading it fails (logged).
    fn snapshot(&self, now: DateTime<Utc>) -> Option<Snapshot> {
        // A clone, not the borrow: the watch must not stay locked during the reads.
        let state = self.state.borrow().clone();
        let store = state.store?;
        let read = || -> Result<Snapshot, crate::store::StoreError> {
            Ok(Snapshot {
                outbox: store.outbox_summary()?,
                accounts: account_statuses(&state.config, &store, now)?,
                replies: match state.config.inbox {
                    Some(_) => Some(store.reply_summary()?),
                    None => None,
                },
                size_on_disk: store.size_on_disk().ok(),
            })
        };
        read()
            .map_err(|error| tracing::warn!("metrics: cannot read the store: {error}"))
            .ok()
    }
}

/// Seconds from `then` to `now`, never negative (a `--now` clock or a clock step
/// can put a record in the future).
fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    (now - then).as_seconds_f64().max(0.0)
}

/// Encodes one metric without labels.
fn one(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    let metric_encoder = encoder.encode_descriptor(name, help, unit, metric.metric_type())?;
    metric.encode(metric_encoder)
}

/// Encodes one metric family: one sample per label set.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    (name, help, unit): (&str, &str, Option<&Unit>),
    metric_type: MetricType,
    samples: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric_encoder = encoder.encode_descriptor(name, help, unit, metric_type)?;
    for (labels, metric) in samples {
        metric.encode(metric_encoder.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for StoreView {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = (self.clock)();
        let Some(snapshot) = self.snapshot(now) else {
            return Ok(());
        };
        let outbox = &snapshot.outbox;
        family(
            &mut encoder,
            (
                "outbox_entries",
                "Briefs in the outbox by state: queued, retrying, failed (kept so they are never queued again).",
                None,
            ),
            MetricType::Gauge,
            [
                ("queued", outbox.queued),
                ("retrying", outbox.retrying),
                ("failed", outbox.dead.len()),
            ]
            .map(|(state, n)| (labels(&[("state", state)]), ConstGauge::new(n as i64))),
        )?;
        one(
            &mut encoder,
            "outbox_oldest_entry_age",
            "Age of the oldest brief waiting to be sent (0: none waits).",
            Some(&Unit::Seconds),
            &ConstGauge::new(outbox.oldest_waiting.map_or(0.0, |at| age(now, at))),
        )?;
        one(
            &mut encoder,
            "briefs_sent_recorded",
            "Briefs in the store's log of sent briefs (survives restarts).",
            None,
            &ConstGauge::new(outbox.sent as i64),
        )?;
        let accounts = &snapshot.accounts;
        family(
            &mut encoder,
            (
                "account_last_success_age",
                "Time since the account's last successful sync (absent: never synced).",
                Some(&Unit::Seconds),
            ),
            MetricType::Gauge,
            accounts.iter().filter_map(|a| {
                let at = a.last_success?;
                Some((
                    labels(&[("account", &a.name)]),
                    ConstGauge::new(age(now, at)),
                ))
            }),
        )?;
        family(
            &mut encoder,
            (
                "account_failures_in_a_row",
                "Failed syncs of the account since its last success.",
                None,
            ),
            MetricType::Gauge,
            accounts.iter().map(|a| {
                let failures = i64::from(a.failures_in_a_row);
                (labels(&[("account", &a.name)]), ConstGauge::new(failures))
            }),
        )?;
        family(
            &mut encoder,
            (
                "account_needs_sign_in",
                "1 when the account must sign in again (`tete auth ACCOUNT`).",
                None,
            ),
            MetricType::Gauge,
            accounts.iter().map(|a| {
                let needs = i64::from(a.needs_sign_in.is_some());
                (labels(&[("account", &a.name)]), ConstGauge::new(needs))
            }),
        )?;
        family(
            &mut encoder,
            (
                "account_events",
                "Events the store holds for the account after its last sync.",
                None,
            ),
            MetricType::Gauge,
            accounts.iter().filter_map(|a| {
                let events = i64::try_from(a.events?).unwrap_or(i64::MAX);
                Some((labels(&[("account", &a.name)]), ConstGauge::new(events)))
            }),
        )?;
        if let Some(size) = snapshot.size_on_disk {
            one(
                &mut encoder,
                "store_size",
                "Size of the store on disk.",
                Some(&Unit::Bytes),
                &ConstGauge::new(i64::try_from(size).unwrap_or(i64::MAX)),
            )?;
        }
        if let Some(replies) = &snapshot.replies {
            family(
                &mut encoder,
                (
                    "replies",
                    "Replies read from the mailbox by outcome: applied, ignored (not authenticated, robots, ...).",
                    None,
                ),
                MetricType::Counter,
                [("applied", replies.applied), ("ignored", replies.ignored)].map(|(outcome, n)| {
                    (labels(&[("outcome", outcome)]), ConstCounter::new(n as u64))
                }),
            )?;
            one(
                &mut encoder,
                "replies_unreadable",
                "Replies kept in the mailbox because they could not be read (too large).",
                None,
                &ConstGauge::new(replies.failed.len() as i64),
            )?;
        }
        Ok(())
    }
}

/// Binds the endpoint's address (a failure stops the start: an operator who asked
/// for metrics must not get a daemon that silently has none).
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// Answers scrapes on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("metrics endpoint: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Busy: dropping the stream closes it.
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            match tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, metrics)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::debug!("metrics connection: {error}"),
                Err(_) => {
                    tracing::debug!("metrics connection timed out after {:?}", started.elapsed())
                }
            }
            drop(slot);
        });
    }
}

/// What a request asks for, judged from its head alone.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
    TooLarge,
}

/// Judges a request head (the bytes up to the blank line, or all read so far).
fn judge(head: &[u8], complete: bool) -> Asked {
    if !complete {
        return if head.len() >= MAX_REQUEST {
            Asked::TooLarge
        } else {
            Asked::BadRequest
        };
    }
    let Some(line) = head.split(|b| *b == b'\n').next() else {
        return Asked::BadRequest;
    };
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Asked::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Asked::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => Asked::Metrics,
        ("GET", _) => Asked::NotFound,
        _ => Asked::MethodNotAllowed,
    }
}

/// Reads the request head (bounded), then writes the one answer.
async fn answer(mut stream: TcpStream, metrics: Arc<Metrics>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    let complete = loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break true;
        }
        if head.len() >= MAX_REQUEST {
            break false;
        }
        let want = buffer.len().min(MAX_REQUEST - head.len());
        let read = stream.read(&mut buffer[..want]).await?;
        if read == 0 {
            break false;
        }
        head.extend_from_slice(&buffer[..read]);
    };
    let (status, content_type, body) = match judge(&head, complete) {
        Asked::Metrics => {
            // Encoding reads the store (sled): a blocking thread, not an async worker.
            let body = tokio::task::spawn_blocking(move || metrics.render())
                .await
                .unwrap_or_default();
            (
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                body,
            )
        }
        Asked::NotFound => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        Asked::MethodNotAllowed => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
        Asked::BadRequest => ("400 Bad Request", "text/plain", "bad request\n".into()),
        Asked::TooLarge => (
            "431 Request Header Fields Too Large",
            "text/plain",
            "request too large\n".into(),
        ),
    };
    let allow = if status.starts_with("405") {
        "Allow: GET\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_of_the_metrics_path_is_answered_with_metrics() {
        let get = |line: &str| judge(format!("{line}\r\nHost: x\r\n\r\n").as_bytes(), true);
        assert_eq!(get("GET /metrics HTTP/1.1"), Asked::Metrics);
        assert_eq!(get("GET /metrics?x=1 HTTP/1.0"), Asked::Metrics);
        assert_eq!(get("GET / HTTP/1.1"), Asked::NotFound);
        assert_eq!(get("POST /metrics HTTP/1.1"), Asked::MethodNotAllowed);
        assert_eq!(get("GET /metrics"), Asked::BadRequest);
        assert_eq!(get("GET /metrics SPDY/3"), Asked::BadRequest);
        assert_eq!(get("GET  /metrics HTTP/1.1"), Asked::BadRequest);
        assert_eq!(judge(b"\xff\xfe\r\n\r\n", true), Asked::BadRequest);
    }

    #[test]
    fn a_head_that_never_ends_is_refused_by_its_size() {
        assert_eq!(judge(&vec![b'a'; MAX_REQUEST], false), Asked::TooLarge);
        assert_eq!(
            judge(b"GET /metrics HTTP/1.1\r\n", false),
            Asked::BadRequest
        );
    }

    #[test]
    fn an_age_is_never_negative() {
        let now: DateTime<Utc> = "2026-12-01T08:00:00Z".parse().unwrap();
        let later: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
        assert_eq!(age(now, later), 0.0);
        assert_eq!(age(later, now), 3600.0);
    }
}

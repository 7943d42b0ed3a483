//! `tete run`: the daemon.
//!
//! Startup in a fixed order: config (exit 78 when invalid) and logging (both by the
//! caller, `cli::run`), store, runtime, then `READY=1`.
//!
//! Each account is polled on its own timer ([`schedule`]: a stable offset within its
//! `poll_interval`, so many accounts spread over the interval), as its own task
//! ([`pollers`]: at most `PARALLEL_ACCOUNTS` at once, one per mailbox). The planner,
//! [`pass::plan_and_deliver`], runs at its own `now` after polls finish (at most
//! every few seconds, see `PLAN_GAP`) and when a brief or an outbox retry is due;
//! it never waits for a slow or hanging poll. The first plan waits for the polls of
//! the start, for at most `STARTUP_WAIT`. Between those the loop sleeps until the
//! earliest of: a poll finishing, the next poll, the next plan, a stop or reload
//! request, or the watchdog. An idle daemon wakes only for those timers.
//!
//! [`run`] is the binary's daemon: SIGTERM/SIGINT stop it, SIGHUP reloads. [`start`]
//! runs the same daemon on its own thread and takes the same two requests from a
//! [`DaemonHandle`] instead of signals, so tests can run it in-process. A stop lets
//! a send in flight finish (a pass is never interrupted halfway), flushes the store
//! and ends cleanly; a reload with an invalid new config is logged and the old one kept.

mod inbox;
mod metrics;
mod notify;
mod pollers;
mod schedule;

pub use crate::control::DaemonHealth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::config::{self, Config};
use crate::control::server::{self as control, ControlState};
use crate::control::{CommandError, open_store};
use crate::pass::{self, PassState, sync};
use crate::sources::SourceError;
use crate::store::{Store, StoreError, StoreOptions};
use pollers::Pollers;
use schedule::PollSchedule;
use std::sync::Arc;

/// The longest the daemon sleeps without looking at the clock again (it also
/// bounds the effect of a wall-clock jump on timers).
const MAX_SLEEP: Duration = Duration::from_secs(15 * 60);

/// How soon a round is tried again after the store failed (and was reopened, or could
/// not be): well inside the shortest poll interval, so a disk that has space again is
/// in use again within one poll interval.
const STORE_RETRY: Duration = Duration::from_secs(10);

/// [`STORE_RETRY`] on the daemon's clock.
fn store_retry() -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(STORE_RETRY).unwrap_or(chrono::TimeDelta::seconds(10))
}

/// The planner's gap after polls finished: at least the first (what a poll brought is
/// planned for a second later), at most the second (a brief that became due is queued
/// within a poll interval of the change: the shortest interval allowed is 30 s).
const PLAN_GAP: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(15));

/// How long the first plan waits for the polls at the start: the first round plans
/// with every account synced, unless some account takes longer than this.
const STARTUP_WAIT: Duration = Duration::from_secs(15);

/// The shortest sleep of the loop (it never spins, whatever a timer says).
const MIN_SLEEP: Duration = Duration::from_millis(10);

/// How long the blocking threads of control requests may take to end once the daemon
/// stops (a request stuck in a failing store must not keep the process alive past
/// systemd's `TimeoutStopSec`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the daemon could not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened; carries the exit code the command line uses
    /// (78 for a store written by a newer tete, else 1).
    #[error(transparent)]
    OpenStore(CommandError),
    /// The control socket could not be created.
    #[error("cannot create the control socket (state dir {}): {error}", state_dir.display())]
    ControlSocket {
        /// The state directory the socket or its pointer file goes into.
        state_dir: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The metrics endpoint (`[metrics] listen`) could not listen.
    #[error("cannot listen for metrics on {address}: {error}")]
    MetricsEndpoint {
        /// The configured address.
        address: std::net::SocketAddr,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The runtime, a signal handler or the daemon's thread could not be set up.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The HTTP clients could not be built.
    #[error(transparent)]
    Clients(#[from] SourceError),
    /// The store failed to flush at the stop.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The daemon's thread panicked (see the log).
    #[error("the daemon's thread panicked")]
    Panicked,
}

/// How to start the daemon.
#[derive(Clone, Debug, Default)]
pub struct DaemonOptions {
    /// Fixes the clock's starting point (`--now`, tests); the daemon then advances with
    /// real time from there. `None`: the real clock.
    pub now: Option<DateTime<Utc>>,
}

/// What a signal asks of the daemon; [`DaemonHandle`] sends the same requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    /// SIGTERM/SIGINT: finish the round in progress, flush, stop.
    Stop,
    /// SIGHUP: read the config file again.
    Reload,
}

/// Runs the daemon on `config` (loaded from `config_path`, which SIGHUP reads again)
/// in this thread until SIGTERM/SIGINT.
pub fn run(config_path: &Path, config: Config, options: DaemonOptions) -> Result<(), DaemonError> {
    let daemon = Daemon::open(config_path, config, &options)?;
    let runtime = daemon_runtime()?;
    let result = runtime.block_on(async {
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let (requests, received) = mpsc::unbounded_channel();
        // Signals become requests; the task ends with the runtime.
        tokio::spawn(async move {
            loop {
                let request = tokio::select! {
                    _ = terminate.recv() => Request::Stop,
                    _ = interrupt.recv() => Request::Stop,
                    _ = hangup.recv() => Request::Reload,
                };
                if requests.send(request).is_err() {
                    break;
                }
            }
        });
        daemon.serve(received, None).await
    });
    // Dropping a runtime waits for every blocking thread; a control request stuck in
    // sled would hold the stop forever.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    result
}

/// Starts the daemon on `config` on its own thread and runtime, and returns once its
/// control socket answers (or the start failed). The handle stops it the way SIGTERM
/// does and reloads it the way SIGHUP does; dropping the handle stops it too.
pub fn start(
    config_path: &Path,
    config: Config,
    options: DaemonOptions,
) -> Result<DaemonHandle, DaemonError> {
    let daemon = Daemon::open(config_path, config, &options)?;
    let (requests, received) = mpsc::unbounded_channel();
    let (ready, started) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("tete-daemon".into())
        .spawn(move || {
            let runtime = daemon_runtime()?;
            let result = runtime.block_on(daemon.serve(received, Some(ready)));
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
            result
        })?;
    match started.recv() {
        Ok(Started { socket, metrics }) => Ok(DaemonHandle {
            requests,
            thread: Some(thread),
            socket,
            metrics,
        }),
        // The daemon ended before its socket was up: its result says why.
        Err(_) => match thread.join() {
            Ok(Ok(())) => Err(DaemonError::Panicked),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(DaemonError::Panicked),
        },
    }
}

/// A daemon started with [`start`].
pub struct DaemonHandle {
    requests: mpsc::UnboundedSender<Request>,
    thread: Option<std::thread::JoinHandle<Result<(), DaemonError>>>,
    socket: PathBuf,
    metrics: Option<std::net::SocketAddr>,
}

/// What a started daemon tells [`start`]: where it answers.
struct Started {
    socket: PathBuf,
    metrics: Option<std::net::SocketAddr>,
}

impl DaemonHandle {
    /// The control socket the daemon answers on (also published in
    /// `<state_dir>/daemon.json`, which is what the command line reads).
    pub fn control_socket_path(&self) -> &Path {
        &self.socket
    }

    /// Where the metrics endpoint listens (`None` without `[metrics] listen`); with
    /// port 0 in the config, the port the system picked.
    pub fn metrics_address(&self) -> Option<std::net::SocketAddr> {
        self.metrics
    }

    /// What SIGHUP does: reload the config file (an invalid one is logged and the old
    /// one kept). Returns at once; the reload happens between rounds.
    pub fn reload(&self) {
        let _ = self.requests.send(Request::Reload);
    }

    /// What SIGTERM does: the round in progress finishes, the store is flushed, the
    /// socket removed. Waits until the daemon has stopped.
    pub fn stop(mut self) -> Result<(), DaemonError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), DaemonError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let _ = self.requests.send(Request::Stop);
        thread.join().unwrap_or(Err(DaemonError::Panicked))
    }
}

impl Drop for DaemonHandle {
    fn drop(&mut self) {
        if let Err(error) = self.stop_and_join() {
            tracing::error!("the daemon did not stop cleanly: {error}");
        }
    }
}

/// The daemon's runtime: two workers (the control socket answers during a round).
fn daemon_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// How long a stop request waits for the round in progress.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// Lets a round finish after a stop request, for at most [`STOP_GRACE`].
async fn finish_round(round: impl std::future::Future<Output = ()>) {
    notify::stopping();
    tracing::info!("stop requested; finishing the round in progress");
    if tokio::time::timeout(STOP_GRACE, round).await.is_err() {
        tracing::warn!("the round did not finish in {STOP_GRACE:?}; stopping anyway");
    }
}

/// How often the daemon looks whether an org's directory is due to be read again
/// (reading it happens every `directory_refresh`, a day by default).
const ROSTER_CHECK: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

struct Daemon {
    config_path: PathBuf,
    /// The config as the file says it (without org people).
    file_config: Arc<Config>,
    /// What rounds use: the file's config plus each org's covered people as accounts
    /// (see [`pass::org::with_org_people`]). Shared with the poll tasks (one copy,
    /// however many accounts poll).
    config: Arc<Config>,
    /// When the org directories are next looked at (`None`: no orgs).
    next_roster_check: Option<DateTime<Utc>>,
    /// Each account's position in `config.accounts`, by name.
    account_index: HashMap<String, usize>,
    /// `None` while the store is being reopened after an engine failure.
    store: Option<Store>,
    clients: pass::Clients,
    clock_offset: chrono::TimeDelta,
    polls: PollSchedule,
    /// The polls running and waiting for a slot.
    pollers: Pollers,
    /// The accounts whose last poll failed, with the error.
    failing: HashMap<String, String>,
    /// Polls finished since the planner last ran.
    plan_pending: bool,
    /// The planner runs at once (a reply queued a confirmation).
    plan_now: bool,
    /// When the planner last ended, and how long it took.
    last_plan: Option<(DateTime<Utc>, Duration)>,
    /// The next brief due or outbox retry, as the last plan found.
    next_due: Option<DateTime<Utc>>,
    /// The next brief due, as the last round knew it (for the unit's status line).
    next_brief: Option<DateTime<Utc>>,
    /// Until the first plan: when it runs even though polls of the start still run.
    startup: Option<DateTime<Utc>>,
    /// A store failure seen by a poll, handled at the top of the loop.
    store_failure: Option<String>,
    /// When to try opening the store again, while it is unavailable.
    store_retry_at: Option<DateTime<Utc>>,
    health: DaemonHealth,
    /// What the pass keeps between rounds (warnings logged, sends to record).
    pass: PassState,
    /// Rung by the reply reader when a reply queued a confirmation.
    wake: std::sync::Arc<tokio::sync::Notify>,
    /// Written by the reply reader, shown by `tete status`.
    mailbox: std::sync::Arc<std::sync::Mutex<crate::control::MailboxHealth>>,
}

impl Daemon {
    /// Opens the store and builds the clients: what can fail before the loop runs.
    fn open(
        config_path: &Path,
        config: Config,
        options: &DaemonOptions,
    ) -> Result<Daemon, DaemonError> {
        // The one real-clock read that fixes the offset; rounds add it to the clock.
        let clock_offset = match options.now {
            Some(now) => now - Utc::now(),
            None => chrono::TimeDelta::zero(),
        };
        let store = open_store(&config).map_err(DaemonError::OpenStore)?;
        if store.was_shut_down_uncleanly() {
            tracing::info!("store recovered after an unclean shutdown");
        }
        tracing::info!(
            state_dir = %config.state_dir.display(),
            size_on_disk = store.size_on_disk().unwrap_or(0),
            "store open"
        );
        let mut polls = PollSchedule::default();
        let started = Utc::now() + clock_offset;
        let file_config = Arc::new(config);
        // Org people as the store last knew them; the first loop reads the
        // directories that are due and updates this.
        let config = Arc::new(
            pass::org::with_org_people(&file_config, &store)
                .map_err(|e| DaemonError::OpenStore(e.into()))?,
        );
        polls.set_accounts(&config.accounts, started);
        Ok(Daemon {
            config_path: config_path.to_path_buf(),
            account_index: index_accounts(&config),
            next_roster_check: (!file_config.orgs.is_empty()).then_some(started),
            file_config,
            config,
            store: Some(store),
            clients: pass::Clients::new()?,
            clock_offset,
            polls,
            pollers: Pollers::default(),
            failing: HashMap::new(),
            plan_pending: true,
            plan_now: false,
            last_plan: None,
            next_due: None,
            next_brief: None,
            startup: chrono::TimeDelta::from_std(STARTUP_WAIT)
                .ok()
                .map(|wait| started + wait),
            store_failure: None,
            store_retry_at: None,
            health: DaemonHealth::default(),
            pass: PassState::default(),
            wake: std::sync::Arc::default(),
            mailbox: std::sync::Arc::default(),
        })
    }

    /// The daemon's clock: the real one plus the `--now` offset.
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// The loop, until a stop request (or every sender is gone). `ready` is told the
    /// control socket's path once it is bound.
    async fn serve(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        ready: Option<std::sync::mpsc::Sender<Started>>,
    ) -> Result<(), DaemonError> {
        let watchdog = notify::watchdog_interval();
        let (state_tx, state_rx) = tokio::sync::watch::channel(self.control_state());
        let socket = control::bind(&self.config).map_err(|error| DaemonError::ControlSocket {
            state_dir: self.config.state_dir.clone(),
            error,
        })?;
        let socket_path = socket.path().to_path_buf();
        let offset = self.clock_offset;
        let clock: control::Clock = std::sync::Arc::new(move || Utc::now() + offset);
        let replies = tokio::spawn(inbox::run(
            state_rx.clone(),
            self.clients.api.clone(),
            clock.clone(),
            self.wake.clone(),
            self.mailbox.clone(),
        ));
        let metrics = std::sync::Arc::new(metrics::Metrics::new(state_rx.clone(), clock.clone()));
        let (metrics_task, metrics_address) = match &self.config.metrics {
            Some(config) => {
                let listener = metrics::bind(config.listen).await.map_err(|error| {
                    DaemonError::MetricsEndpoint {
                        address: config.listen,
                        error,
                    }
                })?;
                let address = listener.local_addr()?;
                tracing::info!(%address, "metrics endpoint listening");
                let task = tokio::spawn(metrics::serve(listener, metrics.clone()));
                (Some(task), Some(address))
            }
            None => (None, None),
        };
        let control = tokio::spawn(control::serve(socket, state_rx, clock));
        notify::ready(&format!("{} account(s)", self.config.accounts.len()));
        tracing::info!(accounts = self.config.accounts.len(), "tete started");
        if let Some(ready) = ready {
            let _ = ready.send(Started {
                socket: socket_path,
                metrics: metrics_address,
            });
        }
        let mut last_watchdog = std::time::Instant::now();
        loop {
            // A stop request during a plan lets it finish (a send in flight completes
            // and is recorded), bounded so systemd's stop timeout is kept. A reload
            // waits for the plan's end (the plan borrows the config).
            let mut reload = false;
            let mut stop = false;
            self.recover_pending(&state_tx, &metrics).await;
            if self.store.is_none() {
                self.retry_store(&state_tx, &metrics);
            }
            self.refresh_orgs().await;
            self.start_polls();
            if self.plan_is_due() {
                {
                    let plan = self.plan_round(&state_tx, &metrics);
                    tokio::pin!(plan);
                    loop {
                        tokio::select! {
                            () = &mut plan => break,
                            request = requests.recv() => match request {
                                Some(Request::Reload) => reload = true,
                                Some(Request::Stop) | None => {
                                    finish_round(plan).await;
                                    stop = true;
                                    break;
                                }
                            },
                        }
                    }
                }
                if stop {
                    break;
                }
                let _ = state_tx.send(self.control_state());
                // Polls may have finished meanwhile: start the next ones first.
                self.start_polls();
            }
            if !reload {
                let sleep = self
                    .next_wake()
                    .min(MAX_SLEEP)
                    .min(watchdog.unwrap_or(MAX_SLEEP));
                tokio::select! {
                    polled = self.pollers.next_finished() => {
                        self.finished(polled, &metrics);
                    }
                    _ = tokio::time::sleep(sleep) => {}
                    // A reply queued a confirmation: send it now.
                    _ = self.wake.notified() => self.plan_now = true,
                    request = requests.recv() => match request {
                        Some(Request::Reload) => reload = true,
                        Some(Request::Stop) | None => break,
                    },
                }
            }
            if reload {
                self.reload();
                let _ = state_tx.send(self.control_state());
            }
            if let Some(interval) = watchdog
                && last_watchdog.elapsed() >= interval
            {
                notify::watchdog();
                last_watchdog = std::time::Instant::now();
            }
        }
        // Polls in flight are abandoned: each is redone at the next start.
        self.pollers.abandon().await;
        notify::stopping();
        tracing::info!("stopping");
        replies.abort();
        let _ = replies.await;
        if let Some(task) = metrics_task {
            task.abort();
            let _ = task.await;
        }
        control.abort();
        // Dropping the task drops the socket, which removes it and its pointer file.
        let _ = control.await;
        let _ = state_tx.send(ControlState::stopped(&self.config));
        if let Some(store) = &self.store {
            store.flush()?;
        }
        Ok(())
    }

    /// What the control socket answers from: the current config, store and health.
    fn control_state(&self) -> ControlState {
        let mut health = self.health.clone();
        health.unrecorded_sends = self.pass.unrecorded.len();
        let reads_imap = self.config.inbox.as_ref().is_some_and(|i| i.host.is_some());
        ControlState {
            config: Config::clone(&self.config),
            store: self.store.clone(),
            health,
            mailbox: reads_imap.then(|| self.mailbox.clone()),
        }
    }

    /// Drops the failed store and opens it again (sled keeps an I/O error for the
    /// life of a handle, so this is the way back once the disk has space again).
    /// Returns whether the store is open.
    fn reopen_store(&mut self, state: &tokio::sync::watch::Sender<ControlState>) -> bool {
        // Every handle must go before the folder's lock is free: ours, and the control
        // socket's (requests in flight let go of theirs as they end; opening waits).
        self.store = None;
        let _ = state.send(self.control_state());
        let options = StoreOptions {
            cache_capacity: self.config.store.cache_capacity,
        };
        match Store::open(&self.config.state_dir, &options) {
            Ok(store) => {
                tracing::info!("store reopened");
                // What the rounds learned may include writes the failed store lost:
                // the next round reads everything from the reopened one.
                self.pass.analysis = pass::analysis::AnalysisCache::default();
                self.store = Some(store);
                self.health.store_unavailable = None;
            }
            Err(error) => {
                tracing::error!(
                    "cannot reopen the store: {error}; trying again in {STORE_RETRY:?}"
                );
                self.health.store_unavailable = Some(error.to_string());
            }
        }
        let _ = state.send(self.control_state());
        self.store.is_some()
    }

    /// Org mode: reads the directories that are due (a day old, or read for other
    /// coverage settings) and, when one was read, makes the org people the new
    /// accounts: new people are polled at once, people no longer covered stop being
    /// polled, everyone else keeps their timer. Looked at once a minute at most.
    async fn refresh_orgs(&mut self) {
        let now = self.now();
        let (Some(check), Some(store)) = (self.next_roster_check, self.store.clone()) else {
            return;
        };
        if check > now {
            return;
        }
        self.next_roster_check = Some(now + ROSTER_CHECK);
        let refreshed = pass::org::refresh_rosters(
            &self.file_config,
            &store,
            &self.clients.orgs,
            &self.clients.api,
            now,
        )
        .await;
        if refreshed.iter().all(|r| r.outcome.is_err()) {
            return;
        }
        match pass::org::with_org_people(&self.file_config, &store) {
            Ok(effective) => {
                self.account_index = index_accounts(&effective);
                self.config = Arc::new(effective);
                self.polls.set_accounts(&self.config.accounts, now);
                self.failing
                    .retain(|name, _| self.account_index.contains_key(name));
                self.plan_pending = true;
            }
            Err(error) => tracing::warn!("cannot read the org rosters: {error}"),
        }
    }

    /// Starts the polls that are due, as far as the limits allow (none while the
    /// store is unavailable: they stay due).
    fn start_polls(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let now = self.now();
        self.pollers.enqueue(self.polls.take_due(now));
        let (config, index) = (&self.config, &self.account_index);
        let lookup = |name: &str| index.get(name).and_then(|&i| config.accounts.get(i));
        self.pollers
            .start(lookup, &self.config, &store, &self.clients, now);
    }

    /// Takes in a finished poll: schedules the account's next one and asks for a plan
    /// (what the poll brought may make a brief due).
    fn finished(&mut self, polled: pollers::Polled, metrics: &metrics::Metrics) {
        let now = self.now();
        self.plan_pending = true;
        let account = polled.account;
        let result = polled.sync.unwrap_or_else(|| sync::AccountSync {
            account: account.name.clone(),
            outcome: sync::SyncOutcome::Failed(sync::SyncError::Crashed),
            warnings: Vec::new(),
            elapsed: Duration::ZERO,
        });
        metrics.record_sync(&result);
        let failed = match &result.outcome {
            sync::SyncOutcome::Failed(failed)
                if failed
                    .store_error()
                    .is_some_and(|error| error.is_engine_failure()) =>
            {
                // Not the account's fault: it stays due, and is polled again as soon
                // as the store works.
                self.polls.retry_at(&account.name, now);
                if self.store_failure.is_none() {
                    self.store_failure = failed.store_error().map(ToString::to_string);
                }
                return;
            }
            sync::SyncOutcome::Failed(error) => {
                self.failing.insert(account.name.clone(), error.to_string());
                true
            }
            _ => {
                self.failing.remove(&account.name);
                false
            }
        };
        self.polls.record(&account, polled.started, failed);
    }

    /// True when the planner should run now: a reply asked for it, a brief or retry is
    /// due, or polls finished since the last plan and the planner's gap has passed.
    fn plan_is_due(&self) -> bool {
        if self.store.is_none() {
            return false;
        }
        let now = self.now();
        if let Some(deadline) = self.startup
            && now < deadline
            && !self.pollers.is_idle()
        {
            return self.plan_now;
        }
        self.plan_now
            || self.next_due.is_some_and(|at| at <= now)
            || (self.plan_pending && self.next_plan_allowed() <= now)
    }

    /// The earliest the planner runs again after polls finished: a gap of four times
    /// its last run, within [`PLAN_GAP`], so planning takes at most about a fifth of
    /// the daemon's time however many polls finish, and a change is planned for
    /// within [`PLAN_GAP`]'s upper end of its poll.
    fn next_plan_allowed(&self) -> DateTime<Utc> {
        match self.last_plan {
            Some((ended, took)) => {
                let gap = (took * 4).clamp(PLAN_GAP.0, PLAN_GAP.1);
                ended + chrono::TimeDelta::from_std(gap).unwrap_or(chrono::TimeDelta::zero())
            }
            None => DateTime::<Utc>::MIN_UTC,
        }
    }

    /// How long the loop may sleep: until the next poll, plan, brief due, outbox retry
    /// or store retry, whichever comes first.
    fn next_wake(&self) -> Duration {
        let now = self.now();
        let store_open = self.store.is_some();
        let wake = [
            self.polls.next_poll().filter(|_| store_open),
            self.next_due.filter(|_| store_open),
            self.plan_pending
                .then(|| self.next_plan_allowed())
                .filter(|_| store_open),
            self.store_retry_at.filter(|_| !store_open),
            self.startup.filter(|_| store_open),
        ]
        .into_iter()
        .flatten()
        .min();
        match wake {
            // Never a zero sleep: whatever is due runs in the next turn of the loop.
            Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO).max(MIN_SLEEP),
            None => MAX_SLEEP,
        }
    }

    /// The store failed under a poll or a plan (a full disk): the polls in flight are
    /// abandoned (they stay due), the store is reopened, and without it the daemon
    /// tries again every [`STORE_RETRY`]. Nothing waits a whole poll interval for it.
    async fn recover_store(
        &mut self,
        error: String,
        state: &tokio::sync::watch::Sender<ControlState>,
        metrics: &metrics::Metrics,
    ) {
        tracing::error!("the store failed: {error}; reopening it");
        let now = self.now();
        for account in self.pollers.abandon().await {
            self.polls.retry_at(&account, now);
        }
        metrics.record_round(Duration::ZERO, true);
        self.health.record_round(now, Some(error));
        notify::status("store failing; reopening it");
        self.plan_pending = true;
        if !self.reopen_store(state) {
            self.store_retry_at = Some(now + store_retry());
        }
    }

    /// Tries to open the store again once [`STORE_RETRY`] has passed.
    fn retry_store(
        &mut self,
        state: &tokio::sync::watch::Sender<ControlState>,
        metrics: &metrics::Metrics,
    ) {
        let now = self.now();
        if self.store_retry_at.is_some_and(|at| at > now) {
            return;
        }
        if self.reopen_store(state) {
            self.store_retry_at = None;
            return;
        }
        metrics.record_round(Duration::ZERO, true);
        let error = self.health.store_unavailable.clone();
        self.health.record_round(now, error);
        notify::status("store unavailable; retrying");
        self.store_retry_at = Some(now + store_retry());
    }

    /// The planner: plan, queue and send at the daemon's `now` (one clock for the
    /// whole plan), then report on the unit's status line. Polls keep running while it
    /// does; what they bring is planned for in the next round.
    async fn plan_round(
        &mut self,
        state: &tokio::sync::watch::Sender<ControlState>,
        metrics: &metrics::Metrics,
    ) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let started = std::time::Instant::now();
        let now = self.now();
        self.plan_pending = false;
        self.plan_now = false;
        self.startup = None;
        let mut round_error = None;
        match self.plan_and_send(&store, now, metrics).await {
            // Something due already (a brief withheld, a retry that failed again):
            // planned again in a second, not in a tight loop.
            Ok((next_due, next_brief)) => {
                let soonest = self.now() + chrono::TimeDelta::seconds(1);
                self.next_due = next_due.map(|at| at.max(soonest));
                self.next_brief = next_brief;
            }
            Err(error) => {
                tracing::error!("pass failed: {error}");
                self.next_due = None;
                match error.store_error() {
                    Some(store_error) if store_error.is_engine_failure() => {
                        drop(store);
                        self.store_failure = Some(store_error.to_string());
                        self.recover_pending(state, metrics).await;
                        return;
                    }
                    _ => round_error = Some(error.to_string()),
                }
            }
        }
        let took = started.elapsed();
        self.last_plan = Some((self.now(), took));
        metrics.record_round(took, round_error.is_some());
        self.health.record_round(self.now(), round_error);
        let status = match (self.failing.len(), self.next_brief) {
            (0, Some(at)) => format!("next brief due {}", at.format("%Y-%m-%d %H:%M UTC")),
            (0, None) => "no brief due in the horizon".to_string(),
            (n, _) => format!("{n} account(s) failing"),
        };
        notify::status(&status);
    }

    /// Handles a store failure recorded by a poll or the planner.
    async fn recover_pending(
        &mut self,
        state: &tokio::sync::watch::Sender<ControlState>,
        metrics: &metrics::Metrics,
    ) {
        if let Some(error) = self.store_failure.take() {
            self.recover_store(error, state, metrics).await;
        }
    }
    /// The pass after the sync ([`pass::plan_and_deliver`]), with the daemon's log
    /// line when the outbox moved; returns when there may be work again, and when the
    /// next brief is due.
    async fn plan_and_send(
        &mut self,
        store: &Store,
        now: DateTime<Utc>,
        metrics: &metrics::Metrics,
    ) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), pass::PassError> {
        let round =
            pass::plan_and_deliver(&self.config, store, &self.clients, now, &mut self.pass).await?;
        metrics.record_pass(&round);
        let delivery = &round.delivery;
        if delivery.sent + delivery.retried + delivery.dead + delivery.expired > 0 {
            tracing::info!(
                sent = delivery.sent,
                retried = delivery.retried,
                dead = delivery.dead,
                expired = delivery.expired,
                "outbox drained"
            );
        }
        Ok((round.next_due(), round.next_brief))
    }

    /// SIGHUP: the new config replaces the running one only when everything `check`
    /// runs and everything a round derives from it succeeds; otherwise the old one
    /// stays, with the problems logged and in the unit's status line.
    fn reload(&mut self) {
        notify::reloading();
        // The round after a reload reports, whether the new config was taken or not.
        self.plan_pending = true;
        let candidate = config::load_checked(&self.config_path)
            .map_err(|errors| errors.lines())
            .and_then(
                |loaded| match derived_problems(&loaded.config, self.now()) {
                    problems if problems.is_empty() => Ok(loaded),
                    problems => Err(problems),
                },
            );
        match candidate {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    tracing::warn!("{warning}");
                }
                if loaded.config.state_dir != self.config.state_dir {
                    tracing::warn!("state_dir changed: takes effect at the next restart");
                }
                if loaded.config.metrics != self.config.metrics {
                    tracing::warn!("[metrics] changed: takes effect at the next restart");
                }
                self.file_config = Arc::new(loaded.config);
                let effective = match &self.store {
                    Some(store) => pass::org::with_org_people(&self.file_config, store)
                        .unwrap_or_else(|error| {
                            tracing::warn!("cannot read the org rosters: {error}");
                            Config::clone(&self.file_config)
                        }),
                    None => Config::clone(&self.file_config),
                };
                self.account_index = index_accounts(&effective);
                self.config = Arc::new(effective);
                // Changed coverage keys are read at once (their fingerprint changed).
                self.next_roster_check = (!self.file_config.orgs.is_empty()).then_some(self.now());
                // Known accounts keep their timers (a reload is no thundering cycle);
                // new ones are polled at once. Changed settings apply from the next poll.
                self.polls.set_accounts(&self.config.accounts, self.now());
                self.failing
                    .retain(|name, _| self.account_index.contains_key(name));
                tracing::info!("config reloaded");
                notify::ready("config reloaded");
            }
            Err(problems) => {
                for line in &problems {
                    tracing::error!("{line}");
                }
                tracing::error!("new config is invalid; keeping the old one");
                notify::ready(&format!(
                    "config reload failed ({} problem(s)); running with the old config",
                    problems.len()
                ));
            }
        }
    }
}

/// Each account's position in `config.accounts`, by name.
fn index_accounts(config: &Config) -> HashMap<String, usize> {
    config
        .accounts
        .iter()
        .enumerate()
        .map(|(i, account)| (account.name.clone(), i))
        .collect()
}

/// The dates a round derives from `config` at `now`, computed checked: the
/// expansion window (history back, horizon ahead), the earliest brief (lead time
/// before the horizon's end) and the latest poll (eight poll intervals with backoff).
/// Validation bounds every duration, so this finds nothing for a config `check`
/// accepts; it is the reload's guard against a gap there, which would otherwise
/// panic in the next round and take the daemon down.
fn derived_problems(config: &Config, now: DateTime<Utc>) -> Vec<String> {
    let delta = |duration: Duration| chrono::TimeDelta::from_std(duration).ok();
    let later = |at: DateTime<Utc>, duration: Duration, times: i32| {
        delta(duration)
            .and_then(|d| d.checked_mul(times))
            .and_then(|d| at.checked_add_signed(d))
    };
    let earlier = |at: DateTime<Utc>, duration: Duration| {
        delta(duration).and_then(|d| at.checked_sub_signed(d))
    };
    let mut problems = Vec::new();
    let mut out_of_range = |key: &str, duration: Duration| {
        problems.push(format!(
            "{}: {key}: {} reaches past the dates tete can compute with",
            config.source_path.display(),
            config::format_duration(duration)
        ));
    };
    if earlier(now, config.detection.history).is_none() {
        out_of_range("detection.history", config.detection.history);
    }
    match later(now, config.detection.horizon, 1) {
        Some(end) if earlier(end, config.brief.lead_time).is_none() => {
            out_of_range("brief.lead_time", config.brief.lead_time);
        }
        Some(_) => {}
        None => out_of_range("detection.horizon", config.detection.horizon),
    }
    for account in &config.accounts {
        if later(now, account.poll_interval, 8).is_none() {
            out_of_range(
                &format!("accounts.{}.poll_interval", account.name),
                account.poll_interval,
            );
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = "[mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
                    [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"a.ics\"\nowner = \"a@example.com\"\n";
        config::parse(text, Path::new("/etc/tete/tete.toml")).unwrap()
    }

    #[test]
    fn a_valid_config_derives_without_problems() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(derived_problems(&config(), now), Vec::<String>::new());
    }

    #[test]
    fn durations_past_chronos_range_are_problems_naming_their_key() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut config = config();
        config.detection.history = Duration::from_secs(99_999_999 * 86_400);
        config.detection.horizon = Duration::from_secs(u64::MAX);
        config.accounts[0].poll_interval = Duration::from_secs(u64::MAX / 2);
        let problems = derived_problems(&config, now);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains(": detection.history: "),
            "{problems:?}"
        );
        assert!(
            problems[1].contains(": detection.horizon: "),
            "{problems:?}"
        );
        assert!(
            problems[2].contains(": accounts.a.poll_interval: "),
            "{problems:?}"
        );
    }
}

//! The daemon's side of the control socket: `tete status`, `series`, `items`, `notes`,
//! `preview` and `skip` run here while the daemon holds the store.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::{
    DaemonHealth, DaemonInfo, EXIT_FAILURE, EXIT_SOFTWARE, MAX_LINE, Reply, Request, Session,
    answer, daemon_info_path, socket_path,
};
use crate::config::Config;
use crate::store::Store;

/// The daemon's clock ("now" for a request: the real clock plus the `--now` offset the
/// daemon was started with). The daemon owns the clock; the socket only asks it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The bound socket and the pointer file that advertises it; both are removed on drop.
pub struct ControlSocket {
    listener: UnixListener,
    socket: PathBuf,
    info: PathBuf,
}

impl ControlSocket {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.socket
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.info);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Binds the socket (mode 0600) and publishes its path in `<state_dir>/daemon.json`.
pub fn bind(config: &Config) -> std::io::Result<ControlSocket> {
    let socket = socket_path(config);
    if socket.exists() {
        // Left behind by a daemon that was killed; we hold the store lock, so no
        // other daemon can be using it.
        std::fs::remove_file(&socket)?;
    }
    let listener = UnixListener::bind(&socket)?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    let info = daemon_info_path(config);
    let pointer = DaemonInfo {
        pid: std::process::id(),
        socket: socket.clone(),
    };
    write_private(&info, &serde_json::to_vec(&pointer).unwrap_or_default())?;
    Ok(ControlSocket {
        listener,
        socket,
        info,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, bytes)?;
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&temp, path)
}

/// What the control socket answers from; the daemon publishes a new one after each
/// round, reload and store reopening.
#[derive(Clone)]
pub struct ControlState {
    /// The config in force.
    pub config: Config,
    /// The store, `None` while it is being reopened.
    pub store: Option<Store>,
    /// How the daemon's rounds go.
    pub health: DaemonHealth,
    /// The reply reader's health, live (it changes between rounds); `None` without
    /// an IMAP `[inbox]`.
    pub mailbox: Option<std::sync::Arc<std::sync::Mutex<super::MailboxHealth>>>,
}

impl ControlState {
    /// The state once the daemon stops: no store, so no request holds it any longer.
    pub fn stopped(config: &Config) -> ControlState {
        ControlState {
            config: config.clone(),
            store: None,
            health: DaemonHealth {
                store_unavailable: Some("the daemon is stopping".into()),
                ..DaemonHealth::default()
            },
            mailbox: None,
        }
    }
}

/// How long a request may take before the client is told the daemon is busy (a
/// request stuck in a failing store must not hold the client for ever).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Serves requests until the task is dropped. Each request runs on a blocking thread
/// against the daemon's store and config as they are when it arrives.
pub async fn serve(socket: ControlSocket, state: watch::Receiver<ControlState>, clock: Clock) {
    loop {
        let stream = match socket.listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("control socket: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        let state = state.borrow().clone();
        let now = clock();
        tokio::spawn(async move {
            if let Err(error) = handle(stream, state, now).await {
                tracing::debug!("control connection: {error}");
            }
        });
    }
}

async fn handle(
    stream: UnixStream,
    state: ControlState,
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_LINE as u64));
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let reply = match (serde_json::from_str::<Request>(&line), state.store) {
        (Ok(request), Some(store)) => {
            let mut health = state.health;
            if let Some(mailbox) = &state.mailbox {
                health.mailbox = mailbox.lock().ok().map(|m| m.clone());
            }
            let session = Session {
                config: state.config,
                store,
                now,
                daemon: Some(health),
            };
            let work = tokio::task::spawn_blocking(move || answer(&session, request));
            match tokio::time::timeout(REQUEST_TIMEOUT, work).await {
                Ok(Ok(reply)) => reply,
                Ok(Err(_)) => Reply::failure(EXIT_SOFTWARE, "the daemon failed to run the command"),
                Err(_) => Reply::failure(
                    EXIT_SOFTWARE,
                    &format!("the daemon did not answer within {REQUEST_TIMEOUT:?}"),
                ),
            }
        }
        (Ok(_), None) => {
            let health = state.health;
            let reason = health
                .store_unavailable
                .or(health.last_error)
                .unwrap_or_else(|| "it is being reopened".into());
            let since = health
                .failing_since
                .map(|at| format!(" since {}", at.format("%Y-%m-%d %H:%M:%S UTC")))
                .unwrap_or_default();
            Reply::failure(
                EXIT_FAILURE,
                &format!(
                    "the daemon cannot use its store{since}: {reason}; it tries again every few \
                     seconds (see `journalctl -u tete`)"
                ),
            )
        }
        (Err(error), _) => Reply::failure(EXIT_FAILURE, &format!("unreadable request: {error}")),
    };
    let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    write.shutdown().await
}

//! The daemon's control socket: `tete status`, `series`, `items`, `notes`, `preview`
//! and `skip` run here while the daemon holds the store.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{TimeDelta, Utc};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::cli::control::{DaemonInfo, MAX_LINE, Reply, Request, answer, daemon_info_path};
use crate::cli::session::Session;
use crate::config::Config;
use crate::store::Store;

/// The bound socket and the pointer file that advertises it; both are removed on drop.
pub struct ControlSocket {
    listener: UnixListener,
    socket: PathBuf,
    info: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.info);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Where the socket goes: systemd's `RuntimeDirectory=` when set, else the state dir.
fn socket_path(config: &Config) -> PathBuf {
    let runtime = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|dirs| std::env::split_paths(&dirs).next())
        .filter(|dir| !dir.as_os_str().is_empty());
    runtime
        .unwrap_or_else(|| config.state_dir.clone())
        .join("tete.sock")
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

/// Serves requests until the task is dropped. Each request runs on a blocking thread
/// against the daemon's store and current config.
pub async fn serve(
    socket: ControlSocket,
    store: Store,
    config: watch::Receiver<Config>,
    clock_offset: TimeDelta,
) {
    loop {
        let stream = match socket.listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("control socket: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
        };
        let store = store.clone();
        let config = config.borrow().clone();
        tokio::spawn(async move {
            if let Err(error) = handle(stream, store, config, clock_offset).await {
                tracing::debug!("control connection: {error}");
            }
        });
    }
}

async fn handle(
    stream: UnixStream,
    store: Store,
    config: Config,
    clock_offset: TimeDelta,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_LINE as u64));
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(request) => {
            let session = Session {
                config,
                store,
                now: Utc::now() + clock_offset,
            };
            tokio::task::spawn_blocking(move || answer(&session, request))
                .await
                .unwrap_or_else(|_| Reply {
                    code: crate::cli::EXIT_SOFTWARE,
                    stdout: String::new(),
                    stderr: "tete: the daemon failed to run the command\n".into(),
                })
        }
        Err(error) => Reply {
            code: crate::cli::EXIT_FAILURE,
            stdout: String::new(),
            stderr: format!("tete: unreadable request: {error}\n"),
        },
    };
    let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    write.shutdown().await
}

//! The commands that read or change state (`status`, `series`, `items`, `notes`,
//! `preview`, `skip`) and the control-socket protocol that carries them to a running
//! daemon.
//!
//! sled lets one process open a store, so while the daemon runs these commands must
//! run inside it; when no daemon runs, the command line runs them on the store itself.
//! Both sides call the same [`execute`] here, which is why this module sits between
//! `cli/` and `daemon/` rather than in either: the daemon must not import the command
//! line, and the command line must not import the daemon's loop to print a status.
//!
//! Protocol: one JSON [`Request`] line in, one JSON [`Reply`] line out, per connection.
//! The socket is created mode 0600 in the daemon's runtime directory; its path is
//! published in `<state_dir>/daemon.json` so the command line can find it
//! ([`ask_daemon`] is the client, [`server`] the daemon's side).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{self, Config};
use crate::store::StoreError;

mod health;
pub mod items;
pub mod notes;
pub mod preview;
pub mod reply;
pub mod series;
pub mod server;
pub mod session;
pub mod skip;
pub mod status;

pub use health::{DaemonHealth, MailboxHealth};
pub use items::ItemsAction;
pub use notes::NotesAction;
pub use session::{Session, open_store, parse_now, series_info};

/// Exit status when a command's own work failed (for example `check` found problems).
pub const EXIT_FAILURE: u8 = 1;
/// Internal error (sysexits `EX_SOFTWARE`).
pub const EXIT_SOFTWARE: u8 = 70;
/// Temporary failure (sysexits `EX_TEMPFAIL`): a mail server that piped a reply to
/// `tete reply --apply` keeps it and tries again.
pub const EXIT_TEMPFAIL: u8 = 75;
/// Configuration error (sysexits `EX_CONFIG`); the unit's `RestartPreventExitStatus=78`.
pub const EXIT_CONFIG: u8 = 78;

/// Largest request or reply line accepted (a preview's HTML fits easily).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// Why a command did not go through. [`CommandError::Failed`] is the command's own
/// verdict and carries its exit code and complete message; every other variant is an
/// internal error (exit 70) whose cause chain the command line prints.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The command failed on its own terms (unknown series, empty text, ...).
    #[error("{message}")]
    Failed {
        /// Process exit code ([`EXIT_FAILURE`] or [`EXIT_CONFIG`]).
        code: u8,
        /// What to tell the user (already complete; printed as is).
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Composing or rendering a brief failed.
    #[error(transparent)]
    Briefs(#[from] crate::pass::BriefStepError),
    /// Rendering a brief failed.
    #[error(transparent)]
    Render(#[from] crate::core::brief::BriefError),
    /// JSON could not be written or read.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Writing the output or talking to the daemon failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl CommandError {
    /// The command's own failure (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        CommandError::Failed {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// A configuration problem (exit 78).
    pub fn config(message: impl Into<String>) -> Self {
        CommandError::Failed {
            code: EXIT_CONFIG,
            message: message.into(),
        }
    }

    /// The exit code this error calls for.
    pub fn code(&self) -> u8 {
        match self {
            CommandError::Failed { code, .. } => *code,
            _ => EXIT_SOFTWARE,
        }
    }
}

/// A command that can run in the daemon.
#[derive(Debug, Serialize, Deserialize)]
pub enum Forwarded {
    /// `tete status`
    Status {
        /// JSON output.
        json: bool,
    },
    /// `tete series`
    Series {
        /// JSON output.
        json: bool,
    },
    /// `tete items ...`
    Items(ItemsAction),
    /// `tete notes ...`
    Notes(NotesAction),
    /// `tete preview ...`
    Preview {
        /// Series id or UID.
        series: String,
        /// Recipient.
        to: Option<String>,
        /// HTML instead of text.
        html: bool,
    },
    /// `tete reply FILE.eml`
    Reply {
        /// The message, base64.
        raw: String,
        /// JSON output.
        json: bool,
        /// Apply it (exactly once), not only examine it.
        apply: bool,
    },
    /// `tete skip ...`
    Skip {
        /// Series id or UID.
        series: String,
        /// Date of the occurrence.
        date: Option<String>,
    },
}

/// What the command line sends.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The command.
    pub command: Forwarded,
    /// `--now`, if given.
    pub now: Option<String>,
}

/// What the daemon answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    /// The exit code the command chose.
    pub code: u8,
    /// What it printed.
    pub stdout: String,
    /// Its error message, if any.
    pub stderr: String,
}

impl Reply {
    /// A reply that carries only a failure: `tete: MESSAGE` on stderr and its code.
    pub fn failure(code: u8, message: &str) -> Reply {
        Reply {
            code,
            stdout: String::new(),
            stderr: format!("tete: {message}\n"),
        }
    }
}

/// Where the daemon publishes its control socket.
#[derive(Debug, Serialize, Deserialize)]
pub struct DaemonInfo {
    /// The daemon's process id.
    pub pid: u32,
    /// The control socket.
    pub socket: PathBuf,
}

/// The file in the state directory that points at the running daemon's socket.
pub fn daemon_info_path(config: &Config) -> PathBuf {
    config.state_dir.join("daemon.json")
}

/// Where the daemon binds its socket: systemd's `RuntimeDirectory=` when set, else
/// the state dir. Clients do not guess this; they read [`daemon_info_path`].
pub fn socket_path(config: &Config) -> PathBuf {
    let runtime = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|dirs| std::env::split_paths(&dirs).next())
        .filter(|dir| !dir.as_os_str().is_empty());
    runtime
        .unwrap_or_else(|| config.state_dir.clone())
        .join("tete.sock")
}

/// Runs one command against an open session, writing its output to `out`; returns
/// the exit code it chose.
pub fn execute(
    session: &Session,
    command: Forwarded,
    out: &mut String,
) -> Result<u8, CommandError> {
    let code = match command {
        Forwarded::Status { json } => status::execute(session, json, out)?,
        Forwarded::Series { json } => series::execute(session, json, out)?,
        Forwarded::Items(action) => {
            let analysis = session.analysis()?;
            let lookup = |wanted: &str| series_info(&analysis, wanted);
            let mut buffer = Vec::new();
            let code = items::execute(&session.store, action, &lookup, session.now, &mut buffer)?;
            out.push_str(&String::from_utf8_lossy(&buffer));
            code
        }
        Forwarded::Notes(action) => {
            let analysis = session.analysis()?;
            let lookup = |wanted: &str| series_info(&analysis, wanted);
            let mut buffer = Vec::new();
            let code = notes::execute(&session.store, action, &lookup, session.now, &mut buffer)?;
            out.push_str(&String::from_utf8_lossy(&buffer));
            code
        }
        Forwarded::Preview { series, to, html } => {
            preview::execute(session, &series, to.as_deref(), html, out)?
        }
        Forwarded::Reply { raw, json, apply } => reply::execute(session, &raw, json, apply, out)?,
        Forwarded::Skip { series, date } => skip::execute(session, &series, date.as_deref(), out)?,
    };
    Ok(code)
}

/// The daemon's answer, or `None` when no daemon is listening (then the store is
/// opened directly; if a daemon holds it anyway, opening says so).
pub fn ask_daemon(config: &Config, request: &Request) -> Result<Option<Reply>, CommandError> {
    let Ok(text) = std::fs::read_to_string(daemon_info_path(config)) else {
        return Ok(None);
    };
    let Ok(info) = serde_json::from_str::<DaemonInfo>(&text) else {
        return Ok(None);
    };
    let Ok(mut stream) = UnixStream::connect(&info.socket) else {
        // A pointer left by a daemon that died: nobody listens, use the store.
        return Ok(None);
    };
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reader = BufReader::new(std::io::Read::take(stream, MAX_LINE as u64));
    let mut answer = String::new();
    reader.read_line(&mut answer)?;
    let reply: Reply = serde_json::from_str(&answer).map_err(|e| {
        CommandError::failed(format!(
            "the daemon's answer on {} is unreadable: {e}",
            info.socket.display()
        ))
    })?;
    Ok(Some(reply))
}

/// Runs a request in the daemon and packs the result as a [`Reply`]: failures become
/// their exit code and message, exactly as the command line would print them.
pub fn answer(session: &Session, request: Request) -> Reply {
    let mut out = String::new();
    let now = match request.now.as_deref() {
        None => Ok(session.now),
        Some(text) => config::parse_now(text, session.config.timezone),
    };
    let session = match now {
        Ok(now) => Session {
            config: session.config.clone(),
            store: session.store.clone(),
            now,
            daemon: session.daemon.clone(),
        },
        Err(error) => return Reply::failure(EXIT_FAILURE, &format!("--now: {error}")),
    };
    match execute(&session, request.command, &mut out) {
        Ok(code) => Reply {
            code,
            stdout: out,
            stderr: String::new(),
        },
        Err(error) => {
            let message = match &error {
                CommandError::Failed { message, .. } => message.clone(),
                other => format!("error: {other}"),
            };
            Reply {
                code: error.code(),
                stdout: out,
                stderr: format!("tete: {message}\n"),
            }
        }
    }
}

//! Commands that read or change state, run either against the store directly or,
//! while the daemon holds the store (sled allows one process), through the daemon's
//! control socket. Same command code, same output either way: the daemon runs
//! [`execute`] on its own store and sends back what it printed.
//!
//! Protocol: one JSON [`Request`] line in, one JSON [`Reply`] line out, per connection.
//! The socket is created mode 0600 in the daemon's runtime directory; its path is
//! published in `<state_dir>/daemon.json` so the command line can find it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Failure;
use super::items::ItemsAction;
use super::notes::NotesAction;
use super::session::{Session, open_store, parse_now_arg};
use crate::config::{self, Config};

/// Largest request or reply line accepted (a preview's HTML fits easily).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

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

/// Runs `command` through the daemon when it is up, else locally. `prepare` runs
/// first in the local case only (e.g. `series` syncs the accounts itself).
pub fn run(
    config_path: &Path,
    now: Option<&str>,
    command: Forwarded,
    prepare: impl FnOnce(&Session) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    let config = config::load_or_exit(config_path)?;
    crate::logging::init("warn");
    let request = Request {
        command,
        now: now.map(str::to_string),
    };
    if let Some(reply) = ask_daemon(&config, &request)? {
        if !reply.stderr.is_empty() {
            eprint!("{}", reply.stderr);
        }
        super::emit(&reply.stdout)?;
        return Ok(ExitCode::from(reply.code));
    }
    let now = parse_now_arg(now, &config)?;
    let store = open_store(&config)?;
    let session = Session {
        config,
        store,
        now,
        daemon: None,
    };
    prepare(&session)?;
    let mut out = String::new();
    let code = execute(&session, request.command, &mut out)?;
    session.store.flush()?;
    super::emit(&out)?;
    Ok(ExitCode::from(code))
}

/// Runs one command against an open session, writing its output to `out`.
pub fn execute(session: &Session, command: Forwarded, out: &mut String) -> anyhow::Result<u8> {
    let code = match command {
        Forwarded::Status { json } => super::status::execute(session, json, out)?,
        Forwarded::Series { json } => super::series::execute(session, json, out)?,
        Forwarded::Items(action) => {
            let analysis = session.analysis()?;
            let lookup = |wanted: &str| super::session::series_info(&analysis, wanted);
            let mut buffer = Vec::new();
            let code =
                super::items::execute(&session.store, action, &lookup, session.now, &mut buffer)?;
            out.push_str(&String::from_utf8_lossy(&buffer));
            exit_code_number(code)
        }
        Forwarded::Notes(action) => {
            let analysis = session.analysis()?;
            let lookup = |wanted: &str| super::session::series_info(&analysis, wanted);
            let mut buffer = Vec::new();
            let code =
                super::notes::execute(&session.store, action, &lookup, session.now, &mut buffer)?;
            out.push_str(&String::from_utf8_lossy(&buffer));
            exit_code_number(code)
        }
        Forwarded::Preview { series, to, html } => {
            super::preview::execute(session, &series, to.as_deref(), html, out)?
        }
        Forwarded::Skip { series, date } => {
            super::skip::execute(session, &series, date.as_deref(), out)?
        }
    };
    Ok(code)
}

fn exit_code_number(code: ExitCode) -> u8 {
    if code == ExitCode::SUCCESS {
        0
    } else {
        super::EXIT_FAILURE
    }
}

/// The daemon's answer, or `None` when no daemon is listening (then the store is
/// opened directly; if a daemon holds it anyway, opening says so).
fn ask_daemon(config: &Config, request: &Request) -> anyhow::Result<Option<Reply>> {
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
        Failure::failed(format!(
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
        Err(error) => {
            return Reply {
                code: super::EXIT_FAILURE,
                stdout: String::new(),
                stderr: format!("tete: --now: {error}\n"),
            };
        }
    };
    match execute(&session, request.command, &mut out) {
        Ok(code) => Reply {
            code,
            stdout: out,
            stderr: String::new(),
        },
        Err(error) => {
            let (code, message) = match error.downcast_ref::<Failure>() {
                Some(failure) => (failure.code, failure.message.clone()),
                None => (super::EXIT_SOFTWARE, format!("error: {error}")),
            };
            Reply {
                code,
                stdout: out,
                stderr: format!("tete: {message}\n"),
            }
        }
    }
}

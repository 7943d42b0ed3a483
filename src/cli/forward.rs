//! Runs a state command through the daemon when it is up, else on the store itself.
//! Same handler, same output either way: the daemon runs [`control::execute`] on its
//! own store and sends back what it printed (see [`crate::control`]).

use std::path::Path;
use std::process::ExitCode;

use super::session::{command_error, load_or_exit, open_store, parse_now_arg};
use crate::control::{self, Forwarded, Request, Session};

/// Runs `command` through the daemon when it is up, else locally. `prepare` runs
/// first in the local case only (e.g. `series` syncs the accounts itself).
pub fn run(
    config_path: &Path,
    now: Option<&str>,
    command: Forwarded,
    prepare: impl FnOnce(&Session) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    let config = load_or_exit(config_path)?;
    crate::logging::init("warn");
    let request = Request {
        command,
        now: now.map(str::to_string),
    };
    if let Some(reply) = control::ask_daemon(&config, &request).map_err(command_error)? {
        if !reply.stderr.is_empty() {
            eprint!("{}", reply.stderr);
        }
        super::emit(&reply.stdout)?;
        return Ok(ExitCode::from(reply.code));
    }
    let now = parse_now_arg(now, &config)?;
    let store = open_store(&config)?;
    // Org people (from the stored directory rosters) count like configured accounts.
    let config = crate::pass::org::with_org_people(&config, &store)
        .map_err(crate::control::CommandError::from)?;
    let session = Session {
        config,
        store,
        now,
        daemon: None,
    };
    prepare(&session)?;
    let mut out = String::new();
    let code = control::execute(&session, request.command, &mut out).map_err(command_error)?;
    session.store.flush()?;
    super::emit(&out)?;
    Ok(ExitCode::from(code))
}

//! The command line: argument definitions, dispatch, and exit codes.
//!
//! One file per subcommand: its clap arguments and how its result is printed. The
//! commands that read or change state run their work through [`crate::control`]
//! (locally or in the daemon); [`forward`] picks which. Each returns
//! `anyhow::Result<ExitCode>`; errors that carry a [`Failure`] choose their own exit
//! code, anything else is an internal error.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

pub mod auth;
pub mod check;
pub mod completions;
pub mod expand;
pub mod forward;
pub mod items;
pub mod man;
pub mod notes;
pub mod preview;
pub mod reply;
pub mod run;
pub mod series;
pub mod session;
pub mod skip;
pub mod status;

// The exit codes are part of the control protocol (a daemon's reply carries them), so
// they are defined there; the command line is where they mean a process status.
pub use crate::control::{EXIT_CONFIG, EXIT_FAILURE, EXIT_SOFTWARE};

/// The default config path when neither `--config` nor `$TETE_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/tete/tete.toml";

/// An error that knows which exit code it deserves. Attach it with
/// `Err(Failure::config(..))?` or wrap with `anyhow::Error::new`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What to tell the user (already complete; printed as is).
    pub message: String,
}

impl Failure {
    /// A configuration problem (exit 78).
    pub fn config(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_CONFIG,
            message: message.into(),
        }
    }

    /// The command's own failure (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// A handler's error with its exit code. Meant for handlers that only fail on their
    /// own terms; an internal error is flattened to `error: ...` (use
    /// [`session::command_error`] to keep its cause chain).
    pub fn from_command(error: crate::control::CommandError) -> Self {
        let code = error.code();
        let message = match error {
            crate::control::CommandError::Failed { message, .. } => message,
            other => format!("error: {other}"),
        };
        Failure { code, message }
    }
}

/// tete: emails both people of every recurring 1:1 a prep brief with carried-over action items.
#[derive(Debug, Parser)]
#[command(name = "tete", version, about, long_about = None)]
pub struct Cli {
    /// Config file [default: $TETE_CONFIG, else /etc/tete/tete.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon; with --once, one full pass and exit.
    Run(run::Args),
    /// Validate the config file.
    Check(check::Args),
    /// Sign an account in (OAuth) and store its tokens.
    Auth(auth::Args),
    /// Detected 1:1 series, with why each recurring meeting was (not) chosen.
    Series(series::Args),
    /// Occurrences of an .ics file in a date range.
    Expand(expand::Args),
    /// Accounts, last sync, series, next briefs, outbox.
    Status(status::Args),
    /// Render the next brief of a series without sending it.
    Preview(preview::Args),
    /// Action items of a series.
    Items(items::Args),
    /// Notes of a series.
    Notes(notes::Args),
    /// Skip the brief of one occurrence.
    Skip(skip::Args),
    /// Show what tete makes of a reply to a brief (.eml), changing nothing.
    Reply(reply::Args),
    /// Print the manual page (roff), or write all pages to a folder; for packagers.
    #[command(hide = true)]
    Man(man::Args),
    /// Print a shell completion script; for packagers.
    #[command(hide = true)]
    Completions(completions::Args),
}

impl Cli {
    /// The config path: `--config`, else `$TETE_CONFIG`, else [`DEFAULT_CONFIG_PATH`].
    pub fn config_path(&self) -> PathBuf {
        if let Some(path) = &self.config {
            return path.clone();
        }
        match std::env::var_os("TETE_CONFIG") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => PathBuf::from(DEFAULT_CONFIG_PATH),
        }
    }
}

/// Parses the command line, runs the command, and maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_path = cli.config_path();
    let result = match cli.command {
        Command::Run(args) => run::run(&config_path, args),
        Command::Check(args) => check::run(&config_path, args),
        Command::Auth(args) => auth::run(&config_path, args),
        Command::Series(args) => series::run(&config_path, args),
        Command::Expand(args) => expand::run(args),
        Command::Status(args) => status::run(&config_path, args),
        Command::Preview(args) => preview::run(&config_path, args),
        Command::Items(args) => items::run(&config_path, args),
        Command::Notes(args) => notes::run(&config_path, args),
        Command::Skip(args) => skip::run(&config_path, args),
        Command::Reply(args) => reply::run(&config_path, args),
        Command::Man(args) => man::run(args),
        Command::Completions(args) => completions::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => report(&error),
    }
}

/// Writes a command's output to stdout. A closed pipe (`tete series | head`) ends the
/// command quietly instead of failing it; other write errors are reported.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

/// Prints an error with its causes and returns the exit code it calls for.
fn report(error: &anyhow::Error) -> ExitCode {
    let broken_pipe = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
    if broken_pipe {
        // The reader went away (`| head`): nothing left to tell anyone.
        return ExitCode::SUCCESS;
    }
    if let Some(failure) = error.downcast_ref::<Failure>() {
        eprintln!("tete: {}", failure.message);
        return ExitCode::from(failure.code);
    }
    // A handler's own failure that reached here through `?` rather than
    // `session::command_error`: the same message and code.
    if let Some(crate::control::CommandError::Failed { code, message }) =
        error.downcast_ref::<crate::control::CommandError>()
    {
        eprintln!("tete: {message}");
        return ExitCode::from(*code);
    }
    eprintln!("tete: error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitCode::from(EXIT_SOFTWARE)
}

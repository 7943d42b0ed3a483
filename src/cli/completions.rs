//! `tete completions <SHELL>`: a shell completion script, generated from the command-line
//! definition.
//!
//! Hidden from `--help`: packagers call it (`packaging/build-deb.sh`) and install the
//! output where each shell looks; users of `cargo install` can do the same by hand.

use super::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `tete completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    write_completions(args.shell, &mut stdout);
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    // The binary's installed name, not the crate's, is what the shell completes.
    clap_complete::generate(shell, &mut Cli::command(), "tete", out);
}

//! `tete reply FILE.eml [--json] [--apply] [--now TIME]`: what tete makes of a reply
//! (changing nothing), or with `--apply` applying it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;

use crate::control::Forwarded;
use crate::control::reply::MAX_REPLY_FILE;

/// Arguments of `tete reply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The message, as saved from a mail client (.eml, RFC 5322); `-` reads stdin.
    pub file: PathBuf,
    /// Print the stable JSON form (visible_text, binding, authenticated, commands,
    /// rejected, outcomes, ignored).
    #[arg(long)]
    pub json: bool,
    /// Apply it, exactly once (for a mail server that delivers replies through a pipe,
    /// or to try the demo); without it nothing changes.
    #[arg(long)]
    pub apply: bool,
    /// Evaluate as of this time (RFC 3339 or YYYY-MM-DDTHH:MM in the config's zone).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Runs the command: the visible text kept, the series and person the message binds
/// to (or why none), whether the sender passed the checks, and each command understood
/// or not. Nothing is applied, answered or marked.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let raw = read_message(&args.file)?;
    let request = Forwarded::Reply {
        raw: base64::engine::general_purpose::STANDARD.encode(&raw),
        json: args.json,
        apply: args.apply,
    };
    super::forward::run(config_path, args.now.as_deref(), request, |_| Ok(()))
}

fn read_message(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut raw = Vec::new();
    let limit = MAX_REPLY_FILE as u64 + 1;
    if path == Path::new("-") {
        std::io::stdin().take(limit).read_to_end(&mut raw)?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(limit).read_to_end(&mut raw))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    if raw.len() > MAX_REPLY_FILE {
        anyhow::bail!(
            "{}: larger than {} MiB; tete does not read replies that large",
            path.display(),
            MAX_REPLY_FILE >> 20
        );
    }
    Ok(raw)
}

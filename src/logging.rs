//! Logging through `tracing`, shaped for where the output goes.
//!
//! Under systemd (`JOURNAL_STREAM` set) journald adds its own timestamps, so lines carry
//! none; elsewhere they are plain readable lines on stderr. `RUST_LOG` overrides the
//! configured level. Nothing secret is ever logged at any level: modules log keys,
//! ids and counts, never tokens, passwords or message bodies.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber at `level` (`error` … `trace`). Safe to call twice:
/// the second call is ignored (tests may set their own).
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,tete={level}")));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if under_journald {
        builder.without_time().with_ansi(false).try_init()
    } else {
        use std::io::IsTerminal;
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
    // Already installed (tests, or a reload): keep the first one.
    let _ = result;
}

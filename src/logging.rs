//! Logging through `tracing`, shaped for where the output goes.
//!
//! Under systemd (`JOURNAL_STREAM` set) journald adds its own timestamps, so lines carry
//! none; elsewhere they are plain readable lines on stderr. `RUST_LOG` overrides the
//! configured level. Nothing secret is ever logged at any level: modules log keys,
//! ids and counts, never tokens, passwords or message bodies.
//!
//! That promise covers the crates tete uses too. lettre logs every SMTP line it
//! writes at `debug`, `AUTH PLAIN <base64 of user and password>` and
//! `AUTH XOAUTH2 <bearer token>` included, so whatever `RUST_LOG` asks for, the
//! wire-level targets in [`CAPPED_TARGETS`] never log below `info`.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::FilterFn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Targets (and their sub-modules) that log protocol lines carrying credentials at
/// `debug`/`trace`: capped at `info` whatever the environment asks for.
pub const CAPPED_TARGETS: &[&str] = &["lettre"];

/// Whether an event or span passes the credential cap (see [`CAPPED_TARGETS`]).
pub fn passes_credential_cap(metadata: &Metadata<'_>) -> bool {
    let capped = CAPPED_TARGETS.iter().any(|target| {
        metadata
            .target()
            .strip_prefix(target)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    !capped || *metadata.level() <= Level::INFO
}

/// The filter of `level` (`error` … `trace`) for tete's own modules, overridden by
/// `RUST_LOG` when set.
fn env_filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,tete={level}")))
}

/// A subscriber for `directives` (written as `RUST_LOG` would be, e.g. `"trace"`)
/// writing to `writer`, with the credential cap the daemon's has, not installed. Tests
/// use it to check what a given `RUST_LOG` prints.
pub fn subscriber<W>(directives: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_target(true)
            .with_ansi(false)
            .with_filter(EnvFilter::new(directives))
            .with_filter(FilterFn::new(passes_credential_cap)),
    )
}

/// Installs the global subscriber at `level` (`error` … `trace`). Safe to call twice:
/// the second call is ignored (tests may set their own).
pub fn init(level: &str) {
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if under_journald {
        let layer = layer
            .with_ansi(false)
            .event_format(JournaldLine)
            .with_filter(env_filter(level))
            .with_filter(FilterFn::new(passes_credential_cap));
        tracing_subscriber::registry().with(layer).try_init()
    } else {
        use std::io::IsTerminal;
        let layer = layer
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(env_filter(level))
            .with_filter(FilterFn::new(passes_credential_cap));
        tracing_subscriber::registry().with(layer).try_init()
    };
    // Already installed (tests, or a reload): keep the first one.
    let _ = result;
}

/// One line per event for journald: a syslog priority prefix (`<3>` error … `<7>`
/// debug, which journald turns into the entry's level), no timestamp (journald adds
/// its own), then the message and its fields.
struct JournaldLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JournaldLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            tracing::Level::DEBUG | tracing::Level::TRACE => 7,
        };
        write!(writer, "<{priority}>")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

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
        builder
            .with_ansi(false)
            .event_format(JournaldLine)
            .try_init()
    } else {
        use std::io::IsTerminal;
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
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

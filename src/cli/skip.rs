//! `tete skip <series> [--date DATE]`: snooze the brief of one occurrence.

use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;

use super::Failure;
use super::control::{self, Forwarded};
use super::session::Session;
use crate::model::EventStatus;
use crate::plan::original_start;

/// Arguments of `tete skip`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Series id or UID.
    pub series: String,
    /// The occurrence's date (default: the next one).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
}

/// Runs the command: no brief for the series' meeting on `--date` (in the config's
/// zone), or for its next meeting.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let request = Forwarded::Skip {
        series: args.series,
        date: args.date,
    };
    control::run(config_path, None, request, |_| Ok(()))
}

/// Records the skip and says so in `out`.
pub fn execute(
    session: &Session,
    series: &str,
    date: Option<&str>,
    out: &mut String,
) -> anyhow::Result<u8> {
    let analysis = session.analysis()?;
    let zone = session.config.timezone;
    let Some(view) = analysis.find(series).filter(|v| v.verdict.one_on_one) else {
        return Err(Failure::failed(format!(
            "unknown series '{}'; `tete series` lists the 1:1 series and their ids",
            series
        ))
        .into());
    };
    let meeting = match date {
        None => view.next(session.now),
        Some(text) => {
            let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| Failure::failed(format!("--date {text:?}: expected YYYY-MM-DD")))?;
            view.occurrences.iter().find(|o| {
                o.start_utc >= session.now
                    && o.status != EventStatus::Cancelled
                    && o.start_utc.with_timezone(&zone).date_naive() == date
            })
        }
    };
    let Some(meeting) = meeting else {
        return Err(Failure::failed(format!(
            "\"{}\" has no upcoming meeting {}",
            view.verdict.title,
            date.map(|d| format!("on {d}"))
                .unwrap_or_else(|| "in the horizon".into())
        ))
        .into());
    };
    session
        .store
        .skip_occurrence(&view.context, original_start(meeting))?;
    session.store.flush()?;
    out.push_str(&format!(
        "No brief will be sent for \"{}\" on {}.\n",
        view.verdict.title,
        meeting
            .start_utc
            .with_timezone(&zone)
            .format("%a %-d %b %Y, %H:%M")
    ));
    Ok(0)
}

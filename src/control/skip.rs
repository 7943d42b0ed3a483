//! `tete skip <series> [--date DATE]`: snooze the brief of one occurrence.

use chrono::NaiveDate;

use super::{CommandError, Session};
use crate::core::plan::original_start;
use crate::model::EventStatus;

/// Records the skip and says so in `out`.
pub fn execute(
    session: &Session,
    series: &str,
    date: Option<&str>,
    out: &mut String,
) -> Result<u8, CommandError> {
    let analysis = session.analysis()?;
    let zone = session.config.timezone;
    let Some(view) = analysis.find(series).filter(|v| v.verdict.one_on_one) else {
        return Err(CommandError::failed(format!(
            "unknown series '{}'; `tete series` lists the 1:1 series and their ids",
            series
        )));
    };
    let meeting = match date {
        None => view.next(session.now),
        Some(text) => {
            let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                CommandError::failed(format!("--date {text:?}: expected YYYY-MM-DD"))
            })?;
            view.occurrences.iter().find(|o| {
                o.start_utc >= session.now
                    && o.status != EventStatus::Cancelled
                    && o.start_utc.with_timezone(&zone).date_naive() == date
            })
        }
    };
    let Some(meeting) = meeting else {
        return Err(CommandError::failed(format!(
            "\"{}\" has no upcoming meeting {}",
            view.verdict.title,
            date.map(|d| format!("on {d}"))
                .unwrap_or_else(|| "in the horizon".into())
        )));
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

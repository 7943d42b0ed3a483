//! `tete series [--json]`: every recurring series, its verdict and the reason, from
//! the store (the command line syncs first when no daemon runs; see `cli::series`).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{CommandError, Session};
use crate::pass::Analysis;

/// Prints the series of the store (no sync).
pub fn execute(session: &Session, json: bool, out: &mut String) -> Result<u8, CommandError> {
    let analysis = session.analysis()?;
    let zone = session.config.timezone;
    if json {
        let summaries: Vec<_> = analysis
            .series
            .iter()
            .map(|s| s.summary(session.now, zone, &session.config.cadence))
            .collect();
        out.push_str(&serde_json::to_string_pretty(&summaries)?);
        out.push('\n');
    } else {
        if session
            .daemon
            .as_ref()
            .is_some_and(|d| d.last_round.is_none())
        {
            out.push_str(
                "The daemon's first pass is still running: the calendars are being read, so \
                 this list may be incomplete. Ask again in a moment.\n",
            );
        }
        out.push_str(&table(
            &analysis,
            session.now,
            zone,
            &session.config.cadence,
        ));
    }
    Ok(0)
}

/// The readable listing: 1:1s first, each with the two people and the next meeting,
/// then every other series with the reason it is not one.
pub fn table(
    analysis: &Analysis,
    now: DateTime<Utc>,
    zone: chrono_tz::Tz,
    rules: &crate::config::CadenceConfig,
) -> String {
    let mut out = String::new();
    let (ones, others): (Vec<_>, Vec<_>) =
        analysis.series.iter().partition(|s| s.verdict.one_on_one);
    let _ = writeln!(out, "1:1 series ({}):", ones.len());
    if ones.is_empty() {
        let _ = writeln!(out, "  none found");
    }
    for view in &ones {
        let next = view
            .next(now)
            .map(|o| {
                o.start_utc
                    .with_timezone(&zone)
                    .format("%a %-d %b %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "none in the horizon".into());
        let _ = writeln!(
            out,
            "  {}  {}",
            view.id(),
            crate::core::brief::one_line(&view.verdict.title)
        );
        let _ = writeln!(
            out,
            "      {}; {}; next: {}",
            view.verdict.reason, view.cadence, next
        );
        if let Some(streak) = view.streak(now, rules) {
            let sentence = streak.sentence(zone);
            if !sentence.is_empty() {
                let _ = writeln!(out, "      {sentence}");
            }
        }
    }
    let _ = writeln!(out, "\nNot 1:1s ({}):", others.len());
    if others.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for view in &others {
        let _ = writeln!(
            out,
            "  {}  {}  ({}) — {}",
            view.id(),
            crate::core::brief::one_line(&view.verdict.title),
            view.cadence,
            view.verdict.reason
        );
    }
    out
}

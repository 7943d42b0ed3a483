//! `tete expand FILE.ics --from DATE --to DATE [--json]`: occurrences of an .ics file.

use crate::cli::Failure;
use crate::core::calendar::{self, Limits, Window};
use crate::model::{EventTime, Occurrence, Zone};
use crate::sources::ics::parse_ics_bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `tete expand`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The .ics file.
    pub file: PathBuf,
    /// First day of the window (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last day of the window (YYYY-MM-DD, exclusive).
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let from = parse_day("--from", &args.from)?;
    let to = parse_day("--to", &args.to)?;
    if to < from {
        return Err(Failure::failed(format!("--to ({to}) is before --from ({from})")).into());
    }
    let origin = args.file.display().to_string();
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Failure::failed(format!("cannot read {origin}: {e}")))?;
    let parsed = parse_ics_bytes(&bytes, &origin);
    for warning in &parsed.warnings {
        eprintln!("warning: {warning}");
    }
    let expansion = expand_file(&parsed.events, from, to);
    for warning in &expansion.warnings {
        // Engine warnings start with the series UID; point at its VEVENT.
        let line = parsed
            .events
            .iter()
            .find(|e| warning.starts_with(&format!("{}: ", e.uid)))
            .and_then(|e| parsed.line_of_uid(&e.uid))
            .unwrap_or(0);
        eprintln!("warning: {origin}:{line}: {warning}");
    }
    let rows: Vec<JsonOccurrence> = expansion
        .occurrences
        .iter()
        .map(JsonOccurrence::from)
        .collect();
    if args.json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
    } else {
        super::emit(&table(&rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Occurrences of parsed events in the floating-date window `[from, to)`, as
/// `tete expand` and the corpus test compute them (floating times read as UTC for sorting).
pub fn expand_file(
    events: &[crate::model::Event],
    from: NaiveDate,
    to: NaiveDate,
) -> calendar::Expansion {
    let window = Window::floating_dates(from, to);
    calendar::expand(
        events,
        &window,
        chrono_tz::UTC,
        &Limits::timed(std::time::Instant::now),
    )
}

fn parse_day(arg: &str, value: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        Failure::failed(format!(
            "{arg} {value:?} is not a date; expected YYYY-MM-DD"
        ))
    })
}

/// One element of `tete expand --json`.
#[derive(Debug, Serialize)]
pub struct JsonOccurrence {
    /// Series UID.
    pub uid: String,
    /// Title.
    pub summary: String,
    /// RFC 3339 with the event's own offset, `YYYY-MM-DD`, or floating without offset.
    pub start: String,
    /// Same forms as `start`.
    pub end: String,
    /// The slot in the series, `null` for non-recurring events.
    pub recurrence_id: Option<String>,
    /// `confirmed`, `tentative` or `cancelled`.
    pub status: String,
    /// Attendees with their parameters as written.
    pub attendees: Vec<JsonAttendee>,
    /// The organizer, if any.
    pub organizer: Option<JsonPerson>,
}

/// An attendee in `tete expand --json`.
#[derive(Debug, Serialize)]
pub struct JsonAttendee {
    /// Address without `mailto:`.
    pub email: String,
    /// CN, if given.
    pub name: Option<String>,
    /// ROLE, if given.
    pub role: Option<String>,
    /// PARTSTAT, if given.
    pub partstat: Option<String>,
    /// CUTYPE, if given.
    pub cutype: Option<String>,
}

/// The organizer in `tete expand --json`.
#[derive(Debug, Serialize)]
pub struct JsonPerson {
    /// Address without `mailto:`.
    pub email: String,
    /// CN, if given.
    pub name: Option<String>,
}

impl From<&Occurrence> for JsonOccurrence {
    fn from(occ: &Occurrence) -> Self {
        JsonOccurrence {
            uid: occ.uid.clone(),
            summary: occ.summary.clone(),
            start: format_time(&occ.start, Some(occ.start_utc)),
            end: format_time(&occ.end, Some(occ.end_utc)),
            recurrence_id: occ.recurrence_id.as_ref().map(|rid| format_time(rid, None)),
            status: occ.status.as_ical().to_ascii_lowercase(),
            attendees: occ
                .attendees
                .iter()
                .map(|a| JsonAttendee {
                    email: a.person.email.clone(),
                    name: a.person.name.clone(),
                    role: a.role.as_ref().map(|r| r.as_ical().to_string()),
                    partstat: a.partstat.as_ref().map(|p| p.as_ical().to_string()),
                    cutype: a.cutype.as_ref().map(|c| c.as_ical().to_string()),
                })
                .collect(),
            organizer: occ.organizer.as_ref().map(|p| JsonPerson {
                email: p.email.clone(),
                name: p.name.clone(),
            }),
        }
    }
}

/// Formats a time as `tete expand` prints it. `instant` (when known) gives the offset;
/// otherwise it is computed from the zone.
pub fn format_time(time: &EventTime, instant: Option<DateTime<Utc>>) -> String {
    match time {
        EventTime::Date(d) => d.format("%Y-%m-%d").to_string(),
        EventTime::DateTime {
            local,
            zone: Zone::Floating,
        } => local.format("%Y-%m-%dT%H:%M:%S").to_string(),
        EventTime::DateTime { local, zone } => {
            let utc =
                instant.unwrap_or_else(|| calendar::local_to_utc(*local, zone, chrono_tz::UTC));
            let seconds = (*local - utc.naive_utc()).num_seconds();
            let offset = i32::try_from(seconds)
                .ok()
                .and_then(FixedOffset::east_opt)
                .unwrap_or_else(|| Utc.fix());
            utc.with_timezone(&offset)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        }
    }
}

fn table(rows: &[JsonOccurrence]) -> String {
    let header = ["START", "END", "STATUS", "SUMMARY", "ATTENDEES"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.start.clone(),
                r.end.clone(),
                r.status.clone(),
                r.summary.replace(['\n', '\r', '\t'], " "),
                r.attendees.len().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cols: [&str; 5]| {
        let mut out = String::new();
        for (i, (cell, w)) in cols.iter().zip(widths).enumerate() {
            if i == 4 {
                out.push_str(&format!("{cell:>w$}"));
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    for row in &cells {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}

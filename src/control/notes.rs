//! `tete notes add <series> "text" [--private]`: notes of a series.
//!
//! The person at the command line is the calendar owner, so notes typed here are
//! theirs, and `notes list` shows their private notes too. [`execute`] holds the logic
//! on an open store; `cli::notes` wires config and store to it.

use chrono::{DateTime, Utc};
use std::io::Write;

use super::CommandError;
use super::items::lookup;
use crate::core::context::{Note, NoteSource, SeriesInfo};
use crate::store::Store;

/// `tete notes` subcommands.
#[derive(Debug, clap::Subcommand, serde::Serialize, serde::Deserialize)]
pub enum NotesAction {
    /// Add a note to a series.
    Add {
        /// Series id or UID.
        series: String,
        /// The note text.
        text: String,
        /// Only the author (the calendar owner) sees it.
        #[arg(long)]
        private: bool,
    },
    /// List the notes of a series.
    List {
        /// Series id or UID.
        series: String,
    },
}

/// Runs `action` on an open store, as the calendar owner of the series (see
/// [`SeriesInfo::owner`]). An unknown series or an empty note is a [`CommandError::Failed`] (exit 1).
pub fn execute(
    store: &Store,
    action: NotesAction,
    series_lookup: &dyn Fn(&str) -> Option<SeriesInfo>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<u8, CommandError> {
    match action {
        NotesAction::Add {
            series,
            text,
            private,
        } => {
            let info = lookup(series_lookup, &series)?;
            if text.trim().is_empty() {
                return Err(CommandError::failed("the note is empty"));
            }
            let note = Note::from_cli(&info.context, &text, &info.owner, private, now);
            store.add_note(&note)?;
            let kind = if private {
                "private note (only you will see it)"
            } else {
                "note (both of you will see it)"
            };
            writeln!(out, "Added {kind} to \"{}\".", info.title)?;
        }
        NotesAction::List { series } => {
            let info = lookup(series_lookup, &series)?;
            let notes = store.notes(&info.context)?;
            if notes.is_empty() {
                writeln!(out, "No notes for \"{}\" ({}) yet.", info.title, info.id)?;
            } else {
                writeln!(out, "Notes of \"{}\" ({})", info.title, info.id)?;
                for note in &notes {
                    writeln!(out, "{}", note_line(note))?;
                }
            }
        }
    }
    Ok(0)
}

/// `2026-11-03  [private] text`, dated by its meeting when it has one.
fn note_line(note: &Note) -> String {
    let date = note.occurrence_start.unwrap_or(note.created);
    let private = if note.private { "[private] " } else { "" };
    let source = match note.source {
        NoteSource::Description => " (from the event description)",
        NoteSource::Cli => "",
        NoteSource::Reply => " (from a reply)",
    };
    format!(
        "{}  {private}{}{source}",
        date.format("%Y-%m-%d"),
        note.text
    )
}

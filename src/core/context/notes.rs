//! Notes and talking points of a series, and who may see them.
//!
//! Notes come from two places: the `Notes:` section of an occurrence's description
//! (shared: both people can edit that description) and `tete notes add` (by the
//! calendar owner, optionally private). A private note reaches its author only.

use chrono::{DateTime, Utc};

use super::items::{ParsedDescription, collapse_whitespace};
use crate::model::SeriesId;
use crate::model::normalize_email;

pub use crate::model::items::{Note, NoteId, NoteSource};

/// The shared notes of one occurrence's description, with ids stable across harvests.
pub fn description_notes(
    series: &SeriesId,
    occurrence_start: DateTime<Utc>,
    parsed: &ParsedDescription,
    author: &str,
    now: DateTime<Utc>,
) -> Vec<Note> {
    let anchor = format!("description {}", occurrence_start.to_rfc3339());
    parsed
        .notes
        .iter()
        .map(|text| Note {
            id: NoteId::new(series, &anchor, text),
            series: series.clone(),
            text: text.clone(),
            author: normalize_email(author),
            private: false,
            created: now,
            occurrence_start: Some(occurrence_start),
            source: NoteSource::Description,
        })
        .collect()
}

/// True when `recipient` may see `note`: shared notes go to both people, a private note
/// to its author only. A private note with no recorded author belongs to the calendar
/// `owner` (the only person who can write private notes).
pub fn visible_to(note: &Note, recipient_email: &str, owner_email: &str) -> bool {
    if !note.private {
        return true;
    }
    let recipient = normalize_email(recipient_email);
    if note.author.trim().is_empty() {
        return recipient == normalize_email(owner_email);
    }
    recipient == normalize_email(&note.author)
}

/// The start of the most recent held meeting before `now`, among `held_starts`.
pub fn last_held(held_starts: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    held_starts.iter().copied().filter(|s| *s < now).max()
}

/// The notes of the last meeting: those of the most recent held occurrence before
/// `now` (from `held_starts`), plus notes typed since it started. Oldest first.
/// Visibility is not applied here; filter with [`visible_to`] per recipient.
pub fn last_meeting_notes<'a>(
    notes: &'a [Note],
    held_starts: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<&'a Note> {
    let Some(last) = last_held(held_starts, now) else {
        return Vec::new();
    };
    let mut picked: Vec<&Note> = notes
        .iter()
        .filter(|note| match note.occurrence_start {
            Some(start) => start == last,
            None => note.created >= last && note.created <= now,
        })
        .collect();
    picked.sort_by_key(|note| note.created);
    picked
}

/// The notes one recipient's brief shows, split the way the brief shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientNotes<'a> {
    /// Shared notes of the last meeting (both people see them).
    pub shared: Vec<&'a Note>,
    /// The recipient's own private notes since the last meeting.
    pub private: Vec<&'a Note>,
}

/// [`last_meeting_notes`] for one recipient: shared notes for both, private notes only
/// for their author (see [`visible_to`]). This is the one place briefs should get notes
/// from, so a private note cannot reach the other person by accident.
pub fn notes_for_recipient<'a>(
    notes: &'a [Note],
    held_starts: &[DateTime<Utc>],
    now: DateTime<Utc>,
    recipient_email: &str,
    owner_email: &str,
) -> RecipientNotes<'a> {
    let mut split = RecipientNotes::default();
    for note in last_meeting_notes(notes, held_starts, now) {
        if !note.private {
            split.shared.push(note);
        } else if visible_to(note, recipient_email, owner_email) {
            split.private.push(note);
        }
    }
    split
}

/// The talking points written in the description of the occurrence starting at
/// `next_occurrence`, without duplicates, in the order written.
pub fn talking_points_for(
    next_occurrence: DateTime<Utc>,
    observed: &[(DateTime<Utc>, ParsedDescription)],
) -> Vec<String> {
    let mut points: Vec<String> = Vec::new();
    for (_, parsed) in observed.iter().filter(|(s, _)| *s == next_occurrence) {
        for point in &parsed.talking_points {
            let point = collapse_whitespace(point);
            if !point.is_empty() && !points.contains(&point) {
                points.push(point);
            }
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 10, 0, 0).unwrap()
    }

    fn series() -> SeriesId {
        SeriesId("3f9a0c21e4".into())
    }

    #[test]
    fn private_note_is_visible_only_to_its_author() {
        let note = Note::from_cli(
            &series(),
            "worried about Q3",
            "Me@Example.com",
            true,
            day(1),
        );
        assert!(visible_to(&note, "me@example.com", "me@example.com"));
        assert!(visible_to(&note, "MAILTO:ME@example.com", "me@example.com"));
        assert!(!visible_to(&note, "report@example.com", "me@example.com"));
    }

    #[test]
    fn shared_notes_are_visible_to_both() {
        let note = Note::from_cli(&series(), "agreed on Q3", "me@example.com", false, day(1));
        assert!(visible_to(&note, "report@example.com", "me@example.com"));
        let parsed = ParsedDescription {
            notes: vec!["from the description".into()],
            ..ParsedDescription::default()
        };
        let notes = description_notes(&series(), day(3), &parsed, "me@example.com", day(4));
        assert!(visible_to(
            &notes[0],
            "report@example.com",
            "me@example.com"
        ));
    }

    #[test]
    fn private_note_without_author_belongs_to_the_owner() {
        let mut note = Note::from_cli(&series(), "x", "me@example.com", true, day(1));
        note.author.clear();
        assert!(visible_to(&note, "me@example.com", "me@example.com"));
        assert!(!visible_to(&note, "report@example.com", "me@example.com"));
    }

    #[test]
    fn description_notes_keep_their_id_across_harvests() {
        let parsed = ParsedDescription {
            notes: vec!["a".into(), "b".into()],
            ..ParsedDescription::default()
        };
        let first = description_notes(&series(), day(3), &parsed, "me@example.com", day(4));
        let again = description_notes(&series(), day(3), &parsed, "me@example.com", day(9));
        assert_eq!(first[0].id, again[0].id);
        assert_ne!(first[0].id, first[1].id);
        let other = description_notes(&series(), day(10), &parsed, "me@example.com", day(9));
        assert_ne!(first[0].id, other[0].id);
    }

    #[test]
    fn last_meeting_notes_come_from_the_last_held_occurrence() {
        let parsed = |text: &str| ParsedDescription {
            notes: vec![text.into()],
            ..ParsedDescription::default()
        };
        let mut notes = description_notes(&series(), day(3), &parsed("old"), "a@x", day(3));
        notes.extend(description_notes(
            &series(),
            day(10),
            &parsed("last"),
            "a@x",
            day(10),
        ));
        notes.extend(description_notes(
            &series(),
            day(17),
            &parsed("next"),
            "a@x",
            day(11),
        ));
        notes.push(Note::from_cli(
            &series(),
            "typed after",
            "a@x",
            true,
            day(11),
        ));
        notes.push(Note::from_cli(
            &series(),
            "typed before",
            "a@x",
            false,
            day(5),
        ));
        let held = [day(3), day(10), day(17)];
        let picked: Vec<&str> = last_meeting_notes(&notes, &held, day(12))
            .iter()
            .map(|n| n.text.as_str())
            .collect();
        assert_eq!(picked, ["last", "typed after"]);
        assert!(last_meeting_notes(&notes, &held, day(2)).is_empty());
    }

    #[test]
    fn a_recipients_notes_never_include_the_other_persons_private_notes() {
        let owner = "me@example.com";
        let report = "report@example.com";
        let notes = [
            Note::from_cli(&series(), "mine, private", owner, true, day(11)),
            Note::from_cli(&series(), "shared", owner, false, day(11)),
        ];
        let held = [day(10)];
        let for_owner = notes_for_recipient(&notes, &held, day(12), owner, owner);
        assert_eq!(for_owner.shared.len(), 1);
        assert_eq!(for_owner.private[0].text, "mine, private");
        let for_report = notes_for_recipient(&notes, &held, day(12), report, owner);
        assert_eq!(for_report.shared[0].text, "shared");
        assert!(for_report.private.is_empty());
    }

    #[test]
    fn talking_points_come_from_the_next_occurrence_without_duplicates() {
        let parsed = |points: &[&str]| ParsedDescription {
            talking_points: points.iter().map(|p| p.to_string()).collect(),
            ..ParsedDescription::default()
        };
        let observed = [
            (day(10), parsed(&["old topic"])),
            (day(17), parsed(&["budget", "hiring", "budget"])),
        ];
        assert_eq!(talking_points_for(day(17), &observed), ["budget", "hiring"]);
        assert!(talking_points_for(day(24), &observed).is_empty());
    }
}

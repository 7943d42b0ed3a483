//! What a series' context is made of, as the store keeps it: action items, notes and
//! the history of meetings. The rules that fill them live in `core::context`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

use super::{EventStatus, Occurrence, SeriesId, normalize_email};

/// Collapses runs of whitespace to one space and trims the ends.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A short (8 hex digits) id of an action item, stable across occurrences.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ItemId(pub String);

impl ItemId {
    /// The id of the item with this text in this series.
    pub fn new(series: &SeriesId, text: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(series.0.as_bytes());
        hasher.update([0]);
        hasher.update(normalize_item_text(text).as_bytes());
        let digest = hasher.finalize();
        ItemId(digest.iter().take(4).map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text an item's identity is computed from: lower-case, whitespace collapsed,
/// trailing punctuation trimmed ("Send the doc." and "send the doc" are one item).
pub fn normalize_item_text(text: &str) -> String {
    collapse_whitespace(&text.to_lowercase())
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_string()
}

/// Who changed an item's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A checked line in an event description.
    Description,
    /// `tete items done|reopen|add`.
    Cli,
    /// A reply to a brief, by one of the two people.
    Reply,
}

/// Open or done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Still to do; carried into every brief.
    Open,
    /// Finished.
    Done {
        /// When it was marked done (for a description: the occurrence's start, or the
        /// harvest time if that occurrence is still ahead).
        at: DateTime<Utc>,
        /// Who marked it.
        by: Source,
    },
}

impl ItemState {
    /// True for [`ItemState::Open`].
    pub fn is_open(&self) -> bool {
        matches!(self, ItemState::Open)
    }
}

/// Where an item was first written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ItemOrigin {
    /// In the description of the occurrence starting at this instant.
    Description {
        /// The occurrence's start.
        occurrence_start: DateTime<Utc>,
    },
    /// With `tete items add`.
    Cli {
        /// When it was added.
        added_at: DateTime<Utc>,
    },
    /// In a reply to a brief.
    Reply {
        /// When the reply was applied.
        added_at: DateTime<Utc>,
    },
}

/// An action item of one series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// Stable id (see [`ItemId::new`]).
    pub id: ItemId,
    /// The series it belongs to.
    pub series: SeriesId,
    /// The text as last written.
    pub text: String,
    /// The owner's address (lower-case), if known.
    pub owner: Option<String>,
    /// Open or done.
    pub state: ItemState,
    /// Where it was first written.
    pub origin: ItemOrigin,
    /// Since when it exists: the first occurrence it was seen in, or when it was added.
    pub first_seen: DateTime<Utc>,
    /// The last harvest (or CLI edit) that saw it.
    pub last_seen: DateTime<Utc>,
    /// When the CLI last changed its state; descriptions older than this cannot
    /// change it (see the module rules).
    #[serde(default)]
    pub cli_changed_at: Option<DateTime<Utc>>,
}

impl ActionItem {
    /// A new open item added from the command line.
    pub fn from_cli(
        series: &SeriesId,
        text: &str,
        owner: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let text = collapse_whitespace(text);
        ActionItem {
            id: ItemId::new(series, &text),
            series: series.clone(),
            text,
            owner,
            state: ItemState::Open,
            origin: ItemOrigin::Cli { added_at: now },
            first_seen: now,
            last_seen: now,
            cli_changed_at: None,
        }
    }

    /// True when the item is still to do.
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }

    /// Applies a state change made from the command line at `at`.
    pub fn set_state_from_cli(&mut self, state: ItemState, at: DateTime<Utc>) {
        self.state = state;
        self.cli_changed_at = Some(at);
        self.last_seen = self.last_seen.max(at);
    }
}

/// A short stable id of a note (8 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NoteId(pub String);

impl NoteId {
    /// The id of a note from its identifying parts: a note harvested twice from the same
    /// occurrence gets the same id, so it is stored once.
    pub fn new(series: &SeriesId, anchor: &str, text: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in [series.0.as_str(), anchor, text] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        NoteId(digest.iter().take(4).map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Display for NoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a note was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteSource {
    /// The `Notes:` section of an occurrence's description.
    Description,
    /// `tete notes add`.
    Cli,
    /// A reply to a brief (`private: …`).
    Reply,
}

/// One note of a series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Stable id.
    pub id: NoteId,
    /// The series.
    pub series: SeriesId,
    /// The text.
    pub text: String,
    /// Who wrote it (lower-case address). For description notes: the organizer, or the
    /// calendar owner when there is none; both people share them anyway.
    pub author: String,
    /// Shown to the author only.
    pub private: bool,
    /// When tete recorded it.
    pub created: DateTime<Utc>,
    /// The occurrence it belongs to, when known (description notes).
    pub occurrence_start: Option<DateTime<Utc>>,
    /// Where it was written.
    pub source: NoteSource,
}

impl Note {
    /// A note typed with `tete notes add` by `author` at `now`.
    pub fn from_cli(
        series: &SeriesId,
        text: &str,
        author: &str,
        private: bool,
        now: DateTime<Utc>,
    ) -> Self {
        let text = text.trim().to_string();
        let anchor = format!("cli {} {}", normalize_email(author), now.to_rfc3339());
        Note {
            id: NoteId::new(series, &anchor, &text),
            series: series.clone(),
            text,
            author: normalize_email(author),
            private,
            created: now,
            occurrence_start: None,
            source: NoteSource::Cli,
        }
    }
}

/// A topic one of the two people put on the agenda of the next meeting by replying
/// to a brief. It shows in both briefs of the meeting it was raised for: the first
/// one whose brief to its author had not gone out yet when it was raised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkingPoint {
    /// Stable id (same scheme as notes).
    pub id: NoteId,
    /// The series (its pair's context id).
    pub series: SeriesId,
    /// The topic.
    pub text: String,
    /// Who raised it (lower-case address).
    pub author: String,
    /// When it was added.
    pub created: DateTime<Utc>,
    /// The original start of the occurrence it is for (as skips are keyed, so it
    /// follows the meeting when it moves).
    pub for_meeting: DateTime<Utc>,
}

impl TalkingPoint {
    /// A talking point `author` raised at `now` for the meeting originally starting at
    /// `for_meeting`.
    pub fn new(
        series: &SeriesId,
        text: &str,
        author: &str,
        now: DateTime<Utc>,
        for_meeting: DateTime<Utc>,
    ) -> Self {
        let text = collapse_whitespace(text);
        let anchor = format!("topic {} {}", normalize_email(author), now.to_rfc3339());
        TalkingPoint {
            id: NoteId::new(series, &anchor, &text),
            series: series.clone(),
            text,
            author: normalize_email(author),
            created: now,
            for_meeting,
        }
    }
}

/// What history keeps of one occurrence: enough to count, nothing private.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    /// When it started (or was to start).
    pub start: DateTime<Utc>,
    /// Confirmed, tentative or cancelled.
    pub status: EventStatus,
    /// Moved away from its usual slot.
    pub moved: bool,
}

impl From<&Occurrence> for Meeting {
    fn from(occurrence: &Occurrence) -> Self {
        Meeting {
            start: occurrence.start_utc,
            status: occurrence.status,
            moved: occurrence.moved,
        }
    }
}

impl Meeting {
    /// True when it took place (was not cancelled).
    pub fn was_held(&self) -> bool {
        self.status != EventStatus::Cancelled
    }
}

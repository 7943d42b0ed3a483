//! Per-series context: action items, notes and talking points harvested from event
//! descriptions and the CLI, carry-over of unfinished items, meeting history and
//! conversation prompts.
//!
//! Everything here is pure: no I/O and no clock reads (time is a parameter). The store
//! keeps the results (`store/items.rs`); `brief/` renders them.
//!
//! The flow for one series: [`observe::observe_descriptions`] (which runs
//! [`text::description_to_text`] and [`items::parse_description`] per distinct
//! description) → [`carry::harvest`] with the stored items → store; notes via
//! [`notes::description_notes`]; at brief time [`observe::open_items_by_owner`],
//! [`carry::carry_summary`],
//! [`notes::last_meeting_notes`] filtered by [`notes::visible_to`],
//! [`notes::talking_points_for`], [`history::consistency`], [`prompts::choose_prompt`].

pub mod carry;
pub mod history;
pub mod items;
pub mod notes;
pub mod observe;
pub mod prompts;
pub mod text;

pub use carry::{
    ActionItem, ItemId, ItemOrigin, ItemState, Source, carried_meetings, carry_summary, harvest,
};
pub use history::{Consistency, Meeting, consistency, consistency_of};
pub use items::{ParsedDescription, ParsedItem, parse_description};
pub use notes::{
    Note, NoteId, NoteSource, description_notes, last_meeting_notes, talking_points_for, visible_to,
};
pub use observe::{OwnerGroups, observe_descriptions, open_items_by_owner};
pub use prompts::choose_prompt;
pub use text::{description_to_text, html_to_text, html_to_text_with_links};

use crate::model::{Person, SeriesId};

/// An address as tete compares it: trimmed, without `mailto:`, lower-cased.
///
/// The same rule as [`crate::model::normalize_email`], but safe on any input: that one
/// slices the first 7 bytes and panics when they end inside a multi-byte character
/// (`"ßßß\u{fe0f}@x"`), and descriptions are written by anyone.
pub fn email_key(address: &str) -> String {
    let trimmed = address.trim();
    let bare = match trimmed.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => &trimmed[7..],
        _ => trimmed,
    };
    bare.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keys_are_normalized_without_panicking_on_any_input() {
        assert_eq!(email_key(" MAILTO:Dana@Example.COM "), "dana@example.com");
        assert_eq!(email_key("ßß\u{fe0f}@x"), "ßß\u{fe0f}@x");
        assert_eq!(email_key("mailto"), "mailto");
    }
}

/// What the `items` and `notes` commands need to know about a series, looked up by the
/// id or UID the user typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesInfo {
    /// The series id.
    pub id: SeriesId,
    /// Where the context of the series' current pair is kept (items and notes are
    /// read and written there; see `Store::context_id`).
    pub context: SeriesId,
    /// Its title.
    pub title: String,
    /// The two people.
    pub participants: Vec<Person>,
    /// The calendar owner (lower-case address): the person using the CLI.
    pub owner: String,
}

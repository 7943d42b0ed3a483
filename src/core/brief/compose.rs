//! The view model of a brief and its composition into what the templates show:
//! sanitized strings, times formatted in the recipient's zone, sections in order.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{Person, SeriesId};

/// Longest subject line in characters (RFC 5322 recommends lines under 78; clients cut
/// long subjects anyway, and a bound keeps a hostile display name from bloating headers).
pub(crate) const MAX_SUBJECT_CHARS: usize = 120;

/// Everything one recipient's brief shows, already chosen by the pass.
#[derive(Clone, Debug, PartialEq)]
pub struct BriefInput {
    /// The series.
    pub series: SeriesId,
    /// The meeting's title as the calendar has it.
    pub title: String,
    /// Start of this occurrence.
    pub start: DateTime<Utc>,
    /// End of this occurrence.
    pub end: DateTime<Utc>,
    /// Where, if the calendar says.
    pub location: Option<String>,
    /// Who gets this brief.
    pub recipient: Person,
    /// The other person of the 1:1.
    pub other: Person,
    /// The zone the recipient reads times in.
    pub recipient_zone: chrono_tz::Tz,
    /// Open items assigned to the recipient.
    pub items_mine: Vec<ItemView>,
    /// Open items assigned to the other person.
    pub items_theirs: Vec<ItemView>,
    /// Open items assigned to nobody.
    pub items_unassigned: Vec<ItemView>,
    /// Topics either person noted for this meeting.
    pub talking_points: Vec<String>,
    /// Shared notes of the previous meeting.
    pub last_notes: Vec<String>,
    /// The recipient's private notes (never shown to the other person).
    pub private_notes: Vec<String>,
    /// A conversation starter.
    pub prompt: Option<String>,
    /// A line about the series' rhythm ("You met 9 of the last 10 weeks.").
    pub consistency: Option<String>,
    /// How the two relate in the org chart, for the recipient ("Dana is your
    /// manager."), when a directory says (org mode).
    pub relation: Option<String>,
    /// How to stop receiving briefs (shown at the bottom).
    pub opt_out_hint: String,
    /// Whether a reply to the brief is read (`[inbox]`): the brief then says how.
    pub replies: bool,
}

/// One open action item as a brief shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemView {
    /// The short id people type (`tete items done <id>`).
    pub id: String,
    /// What is to be done.
    pub text: String,
    /// How long it has been carried over, e.g. "carried since 3 Nov, 4 meetings".
    pub carried: Option<String>,
}

/// What the templates see. Every string is already sanitized.
#[derive(Debug, Serialize)]
pub(crate) struct BriefView {
    pub title: String,
    pub other_name: String,
    pub when: String,
    pub zone: String,
    pub location: Option<String>,
    pub item_groups: Vec<ItemGroup>,
    pub talking_points: Vec<String>,
    pub last_notes: Vec<Vec<String>>,
    pub private_notes: Vec<Vec<String>>,
    pub prompt: Option<String>,
    pub consistency: Option<String>,
    pub relation: Option<String>,
    pub opt_out_hint: String,
    pub replies: bool,
}

/// One non-empty group of open items under its heading.
#[derive(Debug, Serialize)]
pub(crate) struct ItemGroup {
    pub heading: String,
    pub items: Vec<ItemLine>,
}

/// One item line.
#[derive(Debug, Serialize)]
pub(crate) struct ItemLine {
    pub id: String,
    pub text: String,
    pub carried: Option<String>,
}

impl BriefInput {
    /// The view the templates render.
    pub(crate) fn view(&self) -> BriefView {
        let other_name = one_line(self.other.display_name());
        let groups = [
            ("Your open items".to_string(), &self.items_mine),
            (
                format!("{other_name}\u{2019}s open items"),
                &self.items_theirs,
            ),
            (
                "Open items without an owner".to_string(),
                &self.items_unassigned,
            ),
        ];
        let item_groups = groups
            .into_iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(heading, items)| ItemGroup {
                heading,
                items: items
                    .iter()
                    .map(|item| ItemLine {
                        id: one_line(&item.id),
                        text: one_line(&item.text),
                        carried: item
                            .carried
                            .as_deref()
                            .map(one_line)
                            .filter(|c| !c.is_empty()),
                    })
                    .filter(|item| !item.text.is_empty())
                    .collect(),
            })
            .filter(|group| !group.items.is_empty())
            .collect();
        BriefView {
            title: one_line(&self.title),
            other_name,
            when: self.when(),
            zone: self.recipient_zone.name().to_string(),
            location: self
                .location
                .as_deref()
                .map(one_line)
                .filter(|l| !l.is_empty()),
            item_groups,
            talking_points: lines(&self.talking_points),
            last_notes: paragraphs(&self.last_notes),
            private_notes: paragraphs(&self.private_notes),
            prompt: self
                .prompt
                .as_deref()
                .map(one_line)
                .filter(|p| !p.is_empty()),
            consistency: self
                .consistency
                .as_deref()
                .map(one_line)
                .filter(|c| !c.is_empty()),
            relation: self
                .relation
                .as_deref()
                .map(one_line)
                .filter(|r| !r.is_empty()),
            opt_out_hint: one_line(&self.opt_out_hint),
            replies: self.replies,
        }
    }

    /// "Tuesday 3 December, 10:00–10:30", or with the end's day when it differs.
    fn when(&self) -> String {
        let start = self.start.with_timezone(&self.recipient_zone);
        let end = self.end.with_timezone(&self.recipient_zone);
        let day = start.format("%A %-d %B, %H:%M");
        if end.date_naive() == start.date_naive() {
            format!("{day}\u{2013}{}", end.format("%H:%M"))
        } else {
            format!("{day} \u{2013} {}", end.format("%A %-d %B, %H:%M"))
        }
    }

    /// `1:1 with Dana Kim — Tue 3 Dec, 10:00`: one line, no control characters, at most
    /// [`MAX_SUBJECT_CHARS`] characters (the name is shortened, never the time).
    pub(crate) fn subject(&self) -> String {
        let start = self.start.with_timezone(&self.recipient_zone);
        let tail = format!(" \u{2014} {}", start.format("%a %-d %b, %H:%M"));
        let head = "1:1 with ";
        let room = MAX_SUBJECT_CHARS - head.chars().count() - tail.chars().count();
        let name = one_line(self.other.display_name());
        let name = if name.chars().count() > room {
            let mut short: String = name.chars().take(room - 1).collect();
            short.truncate(short.trim_end().len());
            short.push('\u{2026}');
            short
        } else {
            name
        };
        format!("{head}{name}{tail}")
    }
}

/// True for characters that must never reach a single-line field: C0 and C1 controls,
/// DEL, and the bidirectional overrides that make text display differently than it reads.
fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A single line for a subject, a header or a heading: control characters (C0, C1,
/// DEL), bidirectional overrides and every run of whitespace (CR, LF, tabs, line
/// separators) become one space; the ends are trimmed.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || is_hostile(c) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Non-empty single lines.
fn lines(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .map(|t| one_line(t))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Multi-line notes: each note split into its non-empty lines, each line sanitized.
fn paragraphs(texts: &[String]) -> Vec<Vec<String>> {
    texts
        .iter()
        .map(|text| {
            text.split(['\n', '\r', '\u{2028}', '\u{2029}'])
                .map(one_line)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|lines| !lines.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_strips_controls_and_collapses_whitespace() {
        assert_eq!(
            one_line(" Dana\r\nBcc: eve@x\t\u{85}Kim\u{202E}\u{7} "),
            "Dana Bcc: eve@x Kim"
        );
        assert_eq!(one_line("\r\n"), "");
    }

    #[test]
    fn notes_keep_their_lines_but_lose_controls() {
        let notes = vec![
            "first\r\n\r\nsecond\u{1b}[31m".to_string(),
            " \n ".to_string(),
        ];
        assert_eq!(paragraphs(&notes), vec![vec!["first", "second [31m"]]);
    }
}

//! The confirmation tete sends back after applying a reply: one short plain-text
//! paragraph of what changed ("Closed: send the metrics summary. Added for Dana: book
//! the offsite."), then what was not understood, with the forms that work.
//!
//! It goes to the sender only, so it may name their private notes and skips. Every
//! text from the reply is put on one line without control characters, so nothing the
//! sender wrote can shape the message beyond its own words.

use std::fmt::Write as _;

use super::commands::{Rejected, Resolved};
use crate::model::Person;
use crate::model::normalize_email;

/// The forms that work, shown whenever something was not understood or nothing was
/// found.
pub const HELP: &str = "\
What you can write, one per line:
  done 5211d042            close an item by the id the brief shows
  [x] item text            close an item by its text
  reopen 5211d042          open a done item again
  todo: text               add an item (also: - [ ] text, Dana: text, @dana: text)
  agenda: topic            a talking point (or a list under a line \"Agenda:\")
  private: text            a note only you will see
  skip                     no brief for you before the next meeting";

/// The confirmation text for a reply: what `resolved` changed, then the rejections
/// (from parsing and resolving) with [`HELP`]. `people` name owners, `sender` is the
/// person the confirmation goes to ("for you").
pub fn confirmation(
    resolved: &[Resolved],
    rejected: &[Rejected],
    people: &[Person; 2],
    sender: &str,
) -> String {
    let sender = normalize_email(sender);
    let owner_name = |owner: &Option<String>| -> Option<String> {
        let owner = owner.as_deref()?;
        if normalize_email(owner) == sender {
            return Some("you".into());
        }
        let name = people
            .iter()
            .find(|p| p.key() == normalize_email(owner))
            .map(|p| first_name(p.display_name()))
            .unwrap_or_else(|| owner.to_string());
        Some(one_line(&name))
    };

    let mut closed = Vec::new();
    let mut reopened = Vec::new();
    // (owner label, texts) in first-seen order.
    let mut added: Vec<(Option<String>, Vec<String>)> = Vec::new();
    let mut topics = Vec::new();
    let mut private = Vec::new();
    let mut skipped = false;
    let mut unchanged = Vec::new();
    let mut not_understood: Vec<&Rejected> = rejected.iter().collect();
    for outcome in resolved {
        match outcome {
            Resolved::Close { text, .. } => closed.push(one_line(text)),
            Resolved::Reopen { text, .. } => reopened.push(one_line(text)),
            Resolved::Add { text, owner, .. } => {
                let label = owner_name(owner);
                match added.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, texts)) => texts.push(one_line(text)),
                    None => added.push((label, vec![one_line(text)])),
                }
            }
            Resolved::TalkingPoint { text, .. } => topics.push(one_line(text)),
            Resolved::PrivateNote { text, .. } => private.push(one_line(text)),
            Resolved::Skip { .. } => skipped = true,
            Resolved::Unchanged { text, reason, .. } => {
                unchanged.push(format!("{} ({})", one_line(text), one_line(reason)));
            }
            Resolved::Rejected(rejection) => not_understood.push(rejection),
        }
    }
    not_understood.sort_by_key(|r| r.line);

    let mut sentences = Vec::new();
    let mut sentence = |label: &str, texts: &[String]| {
        if !texts.is_empty() {
            sentences.push(format!("{label}: {}.", texts.join("; ")));
        }
    };
    sentence("Closed", &closed);
    sentence("Reopened", &reopened);
    for (owner, texts) in &added {
        let label = match owner {
            Some(name) => format!("Added for {name}"),
            None => "Added".to_string(),
        };
        sentence(&label, texts);
    }
    sentence("On the agenda", &topics);
    sentence("Private note (only you see it)", &private);
    sentence("No change", &unchanged);
    if skipped {
        sentences.push("No brief for you before the next meeting.".into());
    }

    let mut out = String::new();
    if sentences.is_empty() {
        out.push_str("Nothing in your reply changed anything.");
    } else {
        out.push_str(&sentences.join(" "));
    }
    out.push('\n');
    if !not_understood.is_empty() {
        out.push_str("\nNot understood:\n");
        for rejection in &not_understood {
            let quoted = one_line(&rejection.text);
            let reason = one_line(&rejection.reason);
            // Writing to a String cannot fail.
            let _ = if quoted.is_empty() {
                writeln!(out, "- {reason}")
            } else if rejection.line > 0 {
                writeln!(out, "- line {}, \"{quoted}\": {reason}", rejection.line)
            } else {
                writeln!(out, "- \"{quoted}\": {reason}")
            };
        }
    }
    if !not_understood.is_empty() || resolved.is_empty() {
        out.push('\n');
        out.push_str(HELP);
        out.push('\n');
    }
    out
}

/// The first word of a display name ("Dana Kim" → "Dana"); an address stays whole.
fn first_name(name: &str) -> String {
    if name.contains('@') {
        return name.to_string();
    }
    name.split_whitespace().next().unwrap_or(name).to_string()
}

/// One line, no control characters, whitespace collapsed, at most 300 characters.
fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = crate::model::items::collapse_whitespace(&cleaned);
    if collapsed.chars().count() > 300 {
        let mut cut: String = collapsed.chars().take(300).collect();
        cut.push('…');
        cut
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reply::commands::{parse_commands, resolve};
    use crate::model::items::ItemId;

    fn people() -> [Person; 2] {
        [
            Person {
                email: "dana@example.com".into(),
                name: Some("Dana Kim".into()),
            },
            Person {
                email: "alex@example.com".into(),
                name: Some("Alex Moreau".into()),
            },
        ]
    }

    fn id(text: &str) -> ItemId {
        ItemId(text.into())
    }

    #[test]
    fn applied_commands_read_as_short_sentences() {
        let resolved = [
            Resolved::Close {
                line: 1,
                item: id("5211d042"),
                text: "send the metrics summary".into(),
            },
            Resolved::Add {
                line: 2,
                text: "book the offsite".into(),
                owner: Some("dana@example.com".into()),
            },
            Resolved::Add {
                line: 3,
                text: "send the numbers".into(),
                owner: Some("alex@example.com".into()),
            },
            Resolved::Add {
                line: 4,
                text: "order pizza".into(),
                owner: None,
            },
            Resolved::TalkingPoint {
                line: 5,
                text: "on-call rota".into(),
            },
            Resolved::Skip {
                line: 6,
                person: "alex@example.com".into(),
            },
        ];
        let text = confirmation(&resolved, &[], &people(), "Alex@example.com");
        assert_eq!(
            text,
            "Closed: send the metrics summary. Added for Dana: book the offsite. \
             Added for you: send the numbers. Added: order pizza. On the agenda: on-call rota. \
             No brief for you before the next meeting.\n"
        );
    }

    #[test]
    fn rejections_are_listed_by_line_with_the_forms_that_work() {
        let parsed = parse_commands(
            "done: water the plants\nskip it all\nthanks!",
            &people(),
            "dana@example.com",
        );
        let resolved = resolve(&parsed.commands, &[], &[]);
        let text = confirmation(&resolved, &parsed.rejected, &people(), "dana@example.com");
        assert!(
            text.starts_with("Nothing in your reply changed anything.\n"),
            "{text}"
        );
        let first = text.find("line 1, \"done: water the plants\"").unwrap();
        let second = text.find("line 2, \"skip it all\"").unwrap();
        assert!(first < second, "{text}");
        assert!(text.contains(HELP));
    }

    #[test]
    fn an_empty_reply_gets_the_help() {
        let text = confirmation(&[], &[], &people(), "dana@example.com");
        assert!(text.contains(HELP));
    }

    #[test]
    fn no_changes_and_private_notes_are_reported() {
        let resolved = [
            Resolved::Unchanged {
                line: 1,
                item: Some(id("5211d042")),
                text: "send the metrics summary".into(),
                reason: "already done".into(),
            },
            Resolved::PrivateNote {
                line: 2,
                text: "ask about the promotion".into(),
                author: "dana@example.com".into(),
            },
        ];
        let text = confirmation(&resolved, &[], &people(), "dana@example.com");
        assert_eq!(
            text,
            "Private note (only you see it): ask about the promotion. \
             No change: send the metrics summary (already done).\n"
        );
    }

    #[test]
    fn control_characters_from_the_reply_cannot_shape_the_text() {
        let resolved = [Resolved::Add {
            line: 1,
            text: "x\r\nBcc: eve@evil.example\u{0}".into(),
            owner: Some("stranger@elsewhere.example".into()),
        }];
        let text = confirmation(&resolved, &[], &people(), "dana@example.com");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("Added for stranger@elsewhere.example: x Bcc: eve@evil.example."));
    }
}

//! What a person can write in a reply, and what it refers to.
//!
//! One command per line, in the forms people already use in descriptions:
//!
//! | line                                              | command                      |
//! |---------------------------------------------------|------------------------------|
//! | `done 5211d042`, `done: send the doc`, `[x] send the doc`, `DONE: send the doc` | close an item |
//! | `reopen 5211d042`, `reopen: send the doc`          | reopen an item               |
//! | `- [ ] book the offsite`, `todo: book the offsite`, `@dana: send the numbers`, `Dana: send the numbers` | add an item |
//! | `agenda: on-call rota`, lines under `Agenda:` / `Talking points:` | a talking point |
//! | `private: …`                                      | a private note of the sender |
//! | `skip`                                            | no brief for the sender before the next meeting |
//!
//! Items are named by their id (as the brief prints it, `[5211d042]`) or by their
//! text; [`resolve`] turns text into ids against the series' items, refusing anything
//! ambiguous. Owners follow the description rules (a leading `Name:`, `@name`, a
//! trailing `(Name)`, a mention or an address, matched against the two people) plus
//! `me:` for the sender; an item that names nobody has no owner, as in descriptions.
//!
//! **`skip` is for the sender only**: the other person may still want their brief (it
//! carries their own items and notes), and one person's reply should not silence
//! another's mail. Each person replies `skip` to their own brief.
//!
//! Lines that are none of these are ignored (thanks, greetings, prose), except that a
//! line that starts like a command (`done`, `reopen`, `todo`, `agenda`, `private`,
//! `skip` or a checkbox) but does not parse is reported in `rejected`, so the
//! confirmation can say what was not understood.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::core::context::parse_description;
use crate::model::Person;
use crate::model::items::{ActionItem, ItemId, collapse_whitespace, normalize_item_text};
use crate::model::normalize_email;

/// At most this many commands are read from one message; the rest are rejected.
pub const MAX_COMMANDS: usize = 100;

/// Item texts, notes and talking points longer than this (in characters) are
/// rejected: a reply is not the place for an essay, and it bounds what is stored.
pub const MAX_TEXT_CHARS: usize = 500;

/// How much of a rejected line is quoted back.
const MAX_QUOTED_CHARS: usize = 120;

/// Shortest text (in characters) matched by prefix or containment: shorter ones
/// ("it", "the") would pick an item by accident.
const MIN_FUZZY_CHARS: usize = 4;

/// An item named by id or by (part of) its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemRef {
    /// The 8-hex-digit id, lower-case.
    Id(String),
    /// The text as written (whitespace collapsed).
    Text(String),
}

/// One thing a reply asks for; `line` is the 1-based line of the visible text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Mark an item done.
    Close {
        /// Line in the visible text.
        line: usize,
        /// Which item.
        target: ItemRef,
    },
    /// Mark a done item open again.
    Reopen {
        /// Line in the visible text.
        line: usize,
        /// Which item.
        target: ItemRef,
    },
    /// Add an open item.
    Add {
        /// Line in the visible text.
        line: usize,
        /// The item's text, owner prefix stripped.
        text: String,
        /// The owner's address (lower-case), when the line names one of the two
        /// people (or `me:`).
        owner: Option<String>,
    },
    /// Bring up a topic in the next meeting's brief.
    TalkingPoint {
        /// Line in the visible text.
        line: usize,
        /// The topic.
        text: String,
    },
    /// A note only the sender sees.
    PrivateNote {
        /// Line in the visible text.
        line: usize,
        /// The note.
        text: String,
        /// The sender (lower-case address).
        author: String,
    },
    /// No brief for `person` before the next meeting.
    Skip {
        /// Line in the visible text.
        line: usize,
        /// Whose brief is skipped: the sender's (lower-case address).
        person: String,
    },
}

impl Command {
    /// The 1-based line of the visible text it came from.
    pub fn line(&self) -> usize {
        match self {
            Command::Close { line, .. }
            | Command::Reopen { line, .. }
            | Command::Add { line, .. }
            | Command::TalkingPoint { line, .. }
            | Command::PrivateNote { line, .. }
            | Command::Skip { line, .. } => *line,
        }
    }
}

/// A line that looked like a command but was not understood, or a command that could
/// not be applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// 1-based line of the visible text (0 when it concerns the whole message).
    pub line: usize,
    /// The line as written (shortened).
    pub text: String,
    /// Why, in words for the person.
    pub reason: String,
}

/// What [`parse_commands`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedReply {
    /// Commands, in the order written.
    pub commands: Vec<Command>,
    /// Lines that looked like commands but were not understood.
    pub rejected: Vec<Rejected>,
}

/// A command checked against the series' items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Resolved {
    /// Close this item.
    Close {
        /// Line in the visible text.
        line: usize,
        /// The item.
        item: ItemId,
        /// Its text.
        text: String,
    },
    /// Reopen this item.
    Reopen {
        /// Line in the visible text.
        line: usize,
        /// The item.
        item: ItemId,
        /// Its text.
        text: String,
    },
    /// Add this item.
    Add {
        /// Line in the visible text.
        line: usize,
        /// The text.
        text: String,
        /// The owner's address, if named.
        owner: Option<String>,
    },
    /// Add this talking point.
    TalkingPoint {
        /// Line in the visible text.
        line: usize,
        /// The topic.
        text: String,
    },
    /// Keep this private note.
    PrivateNote {
        /// Line in the visible text.
        line: usize,
        /// The note.
        text: String,
        /// Its author.
        author: String,
    },
    /// Skip this person's next brief.
    Skip {
        /// Line in the visible text.
        line: usize,
        /// Whose brief.
        person: String,
    },
    /// Understood, but nothing to change (already done, already open).
    Unchanged {
        /// Line in the visible text.
        line: usize,
        /// The item concerned, when there is one.
        item: Option<ItemId>,
        /// Its text.
        text: String,
        /// Why nothing changes.
        reason: String,
    },
    /// Understood, but it names no item or several.
    Rejected(Rejected),
}

/// Section headings whose lines are talking points (accent-free, lower-case).
const TALKING_POINT_HEADINGS: &[&str] = &[
    "agenda",
    "talking points",
    "talking point",
    "topics",
    "to discuss",
    "discussion points",
];

/// Keywords that close an item.
const CLOSE_WORDS: &[&str] = &["done", "closed", "close", "completed", "complete"];
/// Keywords that reopen one.
const REOPEN_WORDS: &[&str] = &["reopen", "re-open"];
/// Keywords that add one (`todo` may be followed by a space or a colon).
const ADD_WORDS: &[&str] = &["to-do", "to do", "todo"];
/// Keywords of a single talking point (a colon is required).
const TALKING_POINT_WORDS: &[&str] = &["talking point", "agenda", "topic", "discuss"];
/// Keywords of a private note (a colon is required).
const PRIVATE_WORDS: &[&str] = &["private note", "private"];
/// The ways to write `skip` (after the word itself, lower-case, punctuation trimmed).
const SKIP_FORMS: &[&str] = &[
    "",
    "next",
    "next one",
    "next meeting",
    "next brief",
    "the next one",
    "the next meeting",
    "the next brief",
    "brief",
    "this one",
];
/// First words of a line that is trying to be a command.
const COMMAND_STARTS: &[&str] = &[
    "done", "reopen", "todo", "agenda", "private", "skip", "close",
];

/// Reads the commands out of a reply's visible text. `people` are the series' two
/// people, `sender` the reply's (authenticated) sender.
pub fn parse_commands(text: &str, people: &[Person; 2], sender: &str) -> ParsedReply {
    let sender = normalize_email(sender);
    let mut reply = ParsedReply::default();
    let mut in_talking_points = false;
    let mut blank_before = false;
    let mut over_limit: Option<(usize, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            blank_before = true;
            continue;
        }
        let after_blank = std::mem::take(&mut blank_before);
        let (bulleted, body) = strip_bullet(trimmed);
        if is_talking_point_heading(body) {
            in_talking_points = true;
            continue;
        }
        // A list ends at a blank line followed by a line that is not a bullet.
        if in_talking_points && after_blank && !bulleted {
            in_talking_points = false;
        }
        // In an agenda list "Dana: career growth" is a topic, not an item for Dana.
        let parsed = parse_line(body, line, people, &sender, !in_talking_points);
        let parsed = match parsed {
            None if in_talking_points => Some(talking_point(line, body)),
            None if looks_like_command(body) => Some(Err(
                "this looks like a command but is not one of the forms below".to_string(),
            )),
            other => other,
        };
        if let Some(result) = parsed {
            push(&mut reply, &mut over_limit, line, raw, result);
        }
    }
    if let Some((first_line, count)) = over_limit {
        reply.rejected.push(Rejected {
            line: first_line,
            text: String::new(),
            reason: format!(
                "only the first {MAX_COMMANDS} commands of a reply are read; \
                 {count} more were ignored (send them in another reply)"
            ),
        });
    }
    reply
}

/// Files one parsed line: commands up to [`MAX_COMMANDS`], then only counted.
fn push(
    reply: &mut ParsedReply,
    over_limit: &mut Option<(usize, usize)>,
    line: usize,
    raw: &str,
    result: Result<Vec<Command>, String>,
) {
    match result {
        Ok(commands) => {
            for command in commands {
                if reply.commands.len() < MAX_COMMANDS {
                    reply.commands.push(command);
                } else {
                    let entry = over_limit.get_or_insert((line, 0));
                    entry.1 += 1;
                }
            }
        }
        Err(reason) => reply.rejected.push(Rejected {
            line,
            text: shorten(raw.trim()),
            reason,
        }),
    }
}

/// What one line asks for: `None` when it is no command (prose), `Err` with a reason
/// when it is a command that cannot be read.
fn parse_line(
    body: &str,
    line: usize,
    people: &[Person; 2],
    sender: &str,
    name_prefixes: bool,
) -> Option<Result<Vec<Command>, String>> {
    if let Some(rest) = keyword(body, CLOSE_WORDS, false) {
        return Some(targets(rest, "done").map(|targets| {
            targets
                .into_iter()
                .map(|target| Command::Close { line, target })
                .collect()
        }));
    }
    if let Some(rest) = keyword(body, REOPEN_WORDS, false) {
        return Some(targets(rest, "reopen").map(|targets| {
            targets
                .into_iter()
                .map(|target| Command::Reopen { line, target })
                .collect()
        }));
    }
    let bare = body.trim_end_matches(['.', '!', ',', ';']).trim_end();
    if let Some(rest) = keyword(bare, &["skip"], false) {
        let form = rest
            .trim()
            .trim_end_matches(['.', '!', ',', ';'])
            .trim()
            .to_lowercase();
        if SKIP_FORMS.contains(&form.as_str()) {
            return Some(Ok(vec![Command::Skip {
                line,
                person: sender.to_string(),
            }]));
        }
        return Some(Err(
            "write `skip` alone on a line to skip your next brief".into()
        ));
    }
    if let Some(rest) = keyword(body, PRIVATE_WORDS, true) {
        return Some(
            checked_text(rest, "private: needs the note's text").map(|text| {
                vec![Command::PrivateNote {
                    line,
                    text,
                    author: sender.to_string(),
                }]
            }),
        );
    }
    if let Some(rest) = keyword(body, TALKING_POINT_WORDS, true) {
        return Some(talking_point(line, rest));
    }
    if let Some(rest) = keyword(body, ADD_WORDS, false) {
        return Some(add(rest, line, people, sender));
    }
    // Checkboxes and labels, exactly as in descriptions (`[ ] x`, `[x] x`, `TODO: x`,
    // `Action item: x`, `~~x~~`, `☐ x`, `✅ x`).
    let described = parse_description(body, people);
    if let Some(item) = described.items.first() {
        if item.done {
            return Some(targets(&item.text, "[x]").map(|targets| {
                targets
                    .into_iter()
                    .map(|target| Command::Close { line, target })
                    .collect()
            }));
        }
        return Some(add_parsed(item.text.clone(), item.owner.clone(), line));
    }
    // `Dana: send the numbers`, `@dana: send the numbers`, `me: …`: an item only when
    // the prefix names one of the two people, so "Thanks: great meeting" stays prose.
    if let Some((prefix, rest)) = body.split_once(':')
        && name_prefixes
        && !rest.trim().is_empty()
        && (is_me(prefix) || owner_prefix(prefix, people).is_some())
    {
        return Some(add(body, line, people, sender));
    }
    None
}

/// The rest of the line after one of `words` (case-insensitive, a whole word),
/// followed by a colon (required when `colon`) or a space.
fn keyword<'a>(body: &'a str, words: &[&str], colon: bool) -> Option<&'a str> {
    for word in words {
        let Some(head) = body.get(..word.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(word) {
            continue;
        }
        let after = &body[word.len()..];
        let spaced = after.trim_start();
        if let Some(rest) = spaced.strip_prefix(':') {
            return Some(rest.trim());
        }
        if colon {
            continue;
        }
        if after.is_empty() {
            return Some("");
        }
        if after.starts_with(char::is_whitespace) {
            return Some(after.trim());
        }
    }
    None
}

/// The items a close/reopen line names: one or more ids (`5211d042`, `#5211d042`,
/// `[5211d042]`, separated by spaces or commas), an id in brackets at the end of a
/// line copied from the brief, or else the text.
fn targets(rest: &str, verb: &str) -> Result<Vec<ItemRef>, String> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(format!(
            "`{verb}` needs an item's id (as the brief shows it, like 5211d042) or its text"
        ));
    }
    let words: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("and"))
        .collect();
    let ids: Vec<String> = words.iter().filter_map(|w| as_item_id(w)).collect();
    if !ids.is_empty() && ids.len() == words.len() {
        return Ok(ids.into_iter().map(ItemRef::Id).collect());
    }
    if let Some(id) = bracketed_id(rest) {
        return Ok(vec![ItemRef::Id(id)]);
    }
    let text = checked_text(rest, "")?;
    Ok(vec![ItemRef::Text(text)])
}

/// `5211d042`, `#5211d042` or `[5211d042]` (any case) as a lower-case id.
fn as_item_id(word: &str) -> Option<String> {
    let word = word
        .trim_start_matches('#')
        .trim_start_matches('[')
        .trim_end_matches(['.', ';', '!'])
        .trim_end_matches(']');
    (word.len() == 8 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| word.to_ascii_lowercase())
}

/// The id in `send the doc [5211d042] (carried 2 times)`, the form a brief prints.
fn bracketed_id(text: &str) -> Option<String> {
    let mut from = 0;
    while let Some(offset) = text.get(from..)?.find('[') {
        let open = from + offset;
        let inside = text.get(open + 1..open + 9);
        if let Some(inside) = inside
            && text.get(open + 9..open + 10) == Some("]")
            && let Some(id) = as_item_id(inside)
        {
            return Some(id);
        }
        from = open + 1;
    }
    None
}

/// A talking point's text, checked.
fn talking_point(line: usize, text: &str) -> Result<Vec<Command>, String> {
    let (_, body) = strip_bullet(text.trim());
    checked_text(body, "agenda: needs the topic")
        .map(|text| vec![Command::TalkingPoint { line, text }])
}

/// An add line's rest, run through the description owner rules.
fn add(
    rest: &str,
    line: usize,
    people: &[Person; 2],
    sender: &str,
) -> Result<Vec<Command>, String> {
    let rest = rest.trim();
    if let Some((prefix, text)) = rest.split_once(':')
        && is_me(prefix)
    {
        return add_parsed(collapse_whitespace(text), Some(sender.to_string()), line);
    }
    if let Some(text) = rest.strip_prefix("@me ") {
        return add_parsed(collapse_whitespace(text), Some(sender.to_string()), line);
    }
    // Under an "Action items:" heading every line is an item, so the description
    // parser applies its owner rules to exactly this text.
    let described = parse_description(&format!("Action items:\n{rest}"), people);
    match described.items.into_iter().next() {
        Some(item) => add_parsed(item.text, item.owner, line),
        None => add_parsed(collapse_whitespace(rest), None, line),
    }
}

fn add_parsed(text: String, owner: Option<String>, line: usize) -> Result<Vec<Command>, String> {
    let text = checked_text(&text, "todo: needs the item's text")?;
    Ok(vec![Command::Add { line, text, owner }])
}

/// `me`, `I`, `myself` (for the sender).
fn is_me(prefix: &str) -> bool {
    let prefix = prefix.trim().trim_start_matches('@');
    ["me", "i", "myself"]
        .iter()
        .any(|m| prefix.eq_ignore_ascii_case(m))
}

/// The participant a `Name` / `@name` prefix names, by the description rules.
fn owner_prefix(prefix: &str, people: &[Person; 2]) -> Option<String> {
    let prefix = prefix.trim();
    if prefix.is_empty() || prefix.chars().count() > 60 || prefix.split_whitespace().count() > 4 {
        return None;
    }
    // "Name:" alone on a line is the description parser's owner heading: the item
    // below it is that person's.
    let probe = format!("Action items:\n{prefix}:\n- x");
    parse_description(&probe, people)
        .items
        .into_iter()
        .next()
        .and_then(|item| item.owner)
}

/// Collapsed, non-empty, not too long; `empty` is the reason for an empty text.
fn checked_text(text: &str, empty: &str) -> Result<String, String> {
    let text = collapse_whitespace(text);
    if text.is_empty() {
        return Err(if empty.is_empty() {
            "the command needs a text".to_string()
        } else {
            empty.to_string()
        });
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!(
            "longer than {MAX_TEXT_CHARS} characters; keep items and notes short"
        ));
    }
    Ok(text)
}

/// A heading alone on its line that opens a talking-point list (`Agenda:`,
/// `Talking points`, `## Topics:`).
fn is_talking_point_heading(body: &str) -> bool {
    let cleaned = body.trim_start_matches('#').trim();
    let (label, rest) = match cleaned.split_once(':') {
        Some((label, rest)) => (label, rest.trim()),
        None => (cleaned, ""),
    };
    let label = label.trim_matches(['*', '_', ' ']).to_lowercase();
    // `agenda: topic` is a single talking point, not a heading with text; the list
    // form needs the heading alone on its line.
    rest.is_empty() && TALKING_POINT_HEADINGS.contains(&label.as_str())
}

/// True for a line that starts like a command: one of the command words (as a whole
/// word) or a checkbox.
fn looks_like_command(body: &str) -> bool {
    let lower = body.to_lowercase();
    if lower.starts_with('[') || lower.starts_with(['☐', '☑', '☒', '✅', '✔', '✓']) {
        return true;
    }
    COMMAND_STARTS.iter().any(|word| {
        lower.strip_prefix(word).is_some_and(|after| {
            after.is_empty() || after.starts_with(|c: char| !c.is_alphanumeric())
        })
    })
}

/// Strips one list bullet (`-`, `*`, `•`, `+`, `1.`, `2)`) and the space after it;
/// `-[ ]` counts as a bullet before a checkbox.
fn strip_bullet(line: &str) -> (bool, &str) {
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return (false, line);
    };
    if matches!(first, '-' | '*' | '•' | '+' | '·' | '–' | '◦' | '▪') {
        let rest = &line[first.len_utf8()..];
        if rest.starts_with(char::is_whitespace) || rest.starts_with('[') {
            return (true, rest.trim_start());
        }
        return (false, line);
    }
    if first.is_ascii_digit() {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        if digits <= 3
            && let Some(after) = line[digits..].strip_prefix(['.', ')'])
            && after.starts_with(char::is_whitespace)
        {
            return (true, after.trim_start());
        }
    }
    (false, line)
}

/// A line quoted back to its writer: at most [`MAX_QUOTED_CHARS`] characters, no
/// control characters.
fn shorten(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED_CHARS)
        .collect();
    if text.chars().count() > MAX_QUOTED_CHARS {
        out.push('…');
    }
    out
}

/// One item and whether it is open while a reply's commands are applied in order.
struct Known<'a> {
    item: &'a ActionItem,
    open: bool,
}

/// Checks `commands` against the series' items, in order, as if each were applied
/// before the next (so `done X` then `reopen X` works, and a second `done X` is
/// unchanged). `open_items` are the open items of the series, `all_items` every item
/// (done ones included); an item in either counts.
pub fn resolve(
    commands: &[Command],
    open_items: &[ActionItem],
    all_items: &[ActionItem],
) -> Vec<Resolved> {
    let open_ids: HashSet<&ItemId> = open_items.iter().map(|i| &i.id).collect();
    let mut known: Vec<Known<'_>> = Vec::new();
    let mut seen: HashSet<&ItemId> = HashSet::new();
    for item in all_items.iter().chain(open_items) {
        if seen.insert(&item.id) {
            known.push(Known {
                item,
                open: item.is_open() || open_ids.contains(&item.id),
            });
        }
    }
    let mut added: HashSet<String> = HashSet::new();
    commands
        .iter()
        .map(|command| resolve_one(command, &mut known, &mut added))
        .collect()
}

fn resolve_one(
    command: &Command,
    known: &mut [Known<'_>],
    added: &mut HashSet<String>,
) -> Resolved {
    match command {
        Command::Close { line, target } => change_state(*line, target, known, false),
        Command::Reopen { line, target } => change_state(*line, target, known, true),
        Command::Add { line, text, owner } => {
            let normalized = normalize_item_text(text);
            if let Some(existing) = known
                .iter()
                .find(|k| normalize_item_text(&k.item.text) == normalized)
            {
                let reason = if existing.open {
                    format!("already an open item ({})", existing.item.id)
                } else {
                    format!(
                        "already done ({0}); write `reopen {0}` to open it again",
                        existing.item.id
                    )
                };
                return Resolved::Unchanged {
                    line: *line,
                    item: Some(existing.item.id.clone()),
                    text: existing.item.text.clone(),
                    reason,
                };
            }
            if !added.insert(normalized) {
                return Resolved::Unchanged {
                    line: *line,
                    item: None,
                    text: text.clone(),
                    reason: "added once already in this reply".into(),
                };
            }
            Resolved::Add {
                line: *line,
                text: text.clone(),
                owner: owner.clone(),
            }
        }
        Command::TalkingPoint { line, text } => Resolved::TalkingPoint {
            line: *line,
            text: text.clone(),
        },
        Command::PrivateNote { line, text, author } => Resolved::PrivateNote {
            line: *line,
            text: text.clone(),
            author: author.clone(),
        },
        Command::Skip { line, person } => Resolved::Skip {
            line: *line,
            person: person.clone(),
        },
    }
}

/// Closes (`reopen == false`) or reopens the item `target` names.
fn change_state(line: usize, target: &ItemRef, known: &mut [Known<'_>], reopen: bool) -> Resolved {
    let verb = if reopen { "reopen" } else { "done" };
    let rejected = |text: String, reason: String| {
        Resolved::Rejected(Rejected {
            line,
            text: shorten(&text),
            reason,
        })
    };
    let index = match target {
        ItemRef::Id(id) => match known.iter().position(|k| k.item.id.0 == *id) {
            Some(index) => index,
            None => {
                return rejected(
                    format!("{verb} {id}"),
                    format!("no item of this 1:1 has the id {id}"),
                );
            }
        },
        // Close among open items, reopen among done ones; an exact match in the
        // other state means there is nothing to do.
        ItemRef::Text(text) => match match_text(text, known, reopen) {
            Ok(index) => index,
            Err(Unmatched::Ambiguous(candidates)) => {
                return rejected(
                    format!("{verb}: {text}"),
                    format!(
                        "matches several items ({}); write `{verb} ID` with one of the ids",
                        candidates.join(", ")
                    ),
                );
            }
            Err(Unmatched::None) => match exact(text, known, reopen) {
                Some(index) => index,
                None => {
                    let state = if reopen { "done" } else { "open" };
                    return rejected(
                        format!("{verb}: {text}"),
                        format!("no {state} item matches \"{}\"", shorten(text)),
                    );
                }
            },
        },
    };
    let entry = &mut known[index];
    let item = entry.item.id.clone();
    let text = entry.item.text.clone();
    if entry.open == reopen {
        let reason = if reopen {
            "already open"
        } else {
            "already done"
        };
        return Resolved::Unchanged {
            line,
            item: Some(item),
            text,
            reason: reason.into(),
        };
    }
    entry.open = reopen;
    if reopen {
        Resolved::Reopen { line, item, text }
    } else {
        Resolved::Close { line, item, text }
    }
}

/// Why a text named no single item.
enum Unmatched {
    /// Several items match (`id "text"` of each, at most three).
    Ambiguous(Vec<String>),
    /// None does.
    None,
}

/// The one item in state `open == !want_done` whose text matches `text`: the same
/// normalized text, else the only one starting with it, else the only one
/// containing it (the last two for texts of at least [`MIN_FUZZY_CHARS`]).
fn match_text(text: &str, known: &[Known<'_>], want_done: bool) -> Result<usize, Unmatched> {
    let query = normalize_item_text(text);
    if query.is_empty() {
        return Err(Unmatched::None);
    }
    let candidates: Vec<(usize, String)> = known
        .iter()
        .enumerate()
        .filter(|(_, k)| k.open != want_done)
        .map(|(i, k)| (i, normalize_item_text(&k.item.text)))
        .collect();
    let fuzzy = query.chars().count() >= MIN_FUZZY_CHARS;
    let passes: [&dyn Fn(&str) -> bool; 3] = [
        &|candidate| candidate == query,
        &|candidate| fuzzy && candidate.starts_with(&query),
        &|candidate| fuzzy && candidate.contains(&query),
    ];
    for pass in passes {
        let found: Vec<usize> = candidates
            .iter()
            .filter(|(_, candidate)| pass(candidate))
            .map(|(i, _)| *i)
            .collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(*one),
            many => {
                return Err(Unmatched::Ambiguous(
                    many.iter()
                        .take(3)
                        .map(|&i| {
                            format!("{} \"{}\"", known[i].item.id, shorten(&known[i].item.text))
                        })
                        .collect(),
                ));
            }
        }
    }
    Err(Unmatched::None)
}

/// The one item in state `open` with exactly this normalized text.
fn exact(text: &str, known: &[Known<'_>], open: bool) -> Option<usize> {
    let query = normalize_item_text(text);
    let mut found = known
        .iter()
        .enumerate()
        .filter(|(_, k)| k.open == open && normalize_item_text(&k.item.text) == query)
        .map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesId;
    use crate::model::items::{ItemOrigin, ItemState, Source};
    use chrono::{DateTime, Utc};

    fn people() -> [Person; 2] {
        [
            Person {
                email: "Dana@Example.com".into(),
                name: Some("Dana Kim".into()),
            },
            Person {
                email: "alex@example.com".into(),
                name: Some("Alex Moreau".into()),
            },
        ]
    }

    const DANA: &str = "dana@example.com";
    const ALEX: &str = "alex@example.com";

    fn parse(text: &str) -> ParsedReply {
        parse_commands(text, &people(), "Dana@example.com")
    }

    fn commands(text: &str) -> Vec<Command> {
        let reply = parse(text);
        assert!(reply.rejected.is_empty(), "{text:?}: {:?}", reply.rejected);
        reply.commands
    }

    fn one(text: &str) -> Command {
        let mut found = commands(text);
        assert_eq!(found.len(), 1, "{text:?}: {found:?}");
        found.remove(0)
    }

    fn close_text(text: &str) -> Command {
        Command::Close {
            line: 1,
            target: ItemRef::Text(text.into()),
        }
    }

    fn close_id(id: &str) -> Command {
        Command::Close {
            line: 1,
            target: ItemRef::Id(id.into()),
        }
    }

    fn add(text: &str, owner: Option<&str>) -> Command {
        Command::Add {
            line: 1,
            text: text.into(),
            owner: owner.map(str::to_string),
        }
    }

    #[test]
    fn done_lines_close_by_id_in_every_spelling() {
        for line in [
            "done 5211d042",
            "Done 5211D042",
            "done: 5211d042",
            "DONE #5211d042",
            "- done [5211d042]",
            "close 5211d042.",
            "[x] 5211d042",
            "[x] send the metrics summary [5211d042] (carried 2 times)",
        ] {
            assert_eq!(one(line), close_id("5211d042"), "{line}");
        }
    }

    #[test]
    fn several_ids_on_one_line_close_each() {
        assert_eq!(
            commands("done 5211d042, 9f8e7d6c and a1b2c3d4"),
            [
                close_id("5211d042"),
                close_id("9f8e7d6c"),
                close_id("a1b2c3d4")
            ]
        );
    }

    #[test]
    fn checked_boxes_and_done_labels_close_by_text() {
        for line in [
            "[x] send the metrics summary",
            "- [X] send the metrics summary",
            "✅ send the metrics summary",
            "done: send the metrics summary",
            "DONE: send the metrics summary",
            "done send the metrics summary",
            "- ~~send the metrics summary~~",
            "[x] Dana: send the metrics summary",
        ] {
            assert_eq!(one(line), close_text("send the metrics summary"), "{line}");
        }
    }

    #[test]
    fn reopen_lines_name_an_item() {
        assert_eq!(
            one("reopen 5211d042"),
            Command::Reopen {
                line: 1,
                target: ItemRef::Id("5211d042".into())
            }
        );
        assert_eq!(
            one("Reopen: send the metrics summary"),
            Command::Reopen {
                line: 1,
                target: ItemRef::Text("send the metrics summary".into())
            }
        );
    }

    #[test]
    fn add_lines_follow_the_description_owner_rules() {
        for (line, text, owner) in [
            ("- [ ] book the offsite", "book the offsite", None),
            ("[ ] book the offsite", "book the offsite", None),
            ("todo: book the offsite", "book the offsite", None),
            ("TODO book the offsite", "book the offsite", None),
            ("todo book the offsite", "book the offsite", None),
            ("Action item: book the offsite", "book the offsite", None),
            ("@dana: send the numbers", "send the numbers", Some(DANA)),
            ("Dana: send the numbers", "send the numbers", Some(DANA)),
            ("dana kim: send the numbers", "send the numbers", Some(DANA)),
            ("Alex: send the numbers", "send the numbers", Some(ALEX)),
            (
                "todo: Alex: send the numbers",
                "send the numbers",
                Some(ALEX),
            ),
            (
                "todo: @alex send the numbers",
                "send the numbers",
                Some(ALEX),
            ),
            (
                "- [ ] send the numbers (Alex)",
                "send the numbers",
                Some(ALEX),
            ),
            ("todo: ask @alex about Q4", "ask @alex about Q4", Some(ALEX)),
            ("me: send the numbers", "send the numbers", Some(DANA)),
            ("todo: me: send the numbers", "send the numbers", Some(DANA)),
        ] {
            assert_eq!(one(line), add(text, owner), "{line}");
        }
    }

    #[test]
    fn a_colon_after_someone_else_is_prose() {
        for line in [
            "Thanks: great meeting",
            "Bob: send the numbers",
            "Note: I'll be late",
            "PS: see you",
            "Hi Alex,",
            "Thanks!",
            "See you on Tuesday",
        ] {
            let reply = parse(line);
            assert!(reply.commands.is_empty(), "{line}: {reply:?}");
            assert!(reply.rejected.is_empty(), "{line}: {reply:?}");
        }
    }

    #[test]
    fn talking_points_come_from_labels_and_lists() {
        assert_eq!(
            one("agenda: on-call rota"),
            Command::TalkingPoint {
                line: 1,
                text: "on-call rota".into()
            }
        );
        let found = commands(
            "Agenda:\n- on-call rota\n* hiring plan\n\nTalking points\n1. budget\n\nSee you!",
        );
        let texts: Vec<_> = found
            .iter()
            .map(|c| match c {
                Command::TalkingPoint { text, .. } => text.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, ["on-call rota", "hiring plan", "budget"]);
        // Commands inside the list are still commands.
        let found = commands("Agenda:\n- budget\ndone 5211d042");
        assert!(matches!(found[1], Command::Close { line: 3, .. }));
    }

    #[test]
    fn private_notes_and_skips_belong_to_the_sender() {
        assert_eq!(
            one("private: ask about the promotion"),
            Command::PrivateNote {
                line: 1,
                text: "ask about the promotion".into(),
                author: DANA.into()
            }
        );
        for line in ["skip", "Skip.", "skip next meeting", "- skip the next one"] {
            assert_eq!(
                one(line),
                Command::Skip {
                    line: 1,
                    person: DANA.into()
                },
                "{line}"
            );
        }
    }

    #[test]
    fn lines_that_look_like_failed_commands_are_rejected_with_a_reason() {
        for line in [
            "done",
            "done:",
            "reopen",
            "skip the small talk please",
            "private:",
            "private thoughts",
            "[?] something",
            "[x]",
            "todo:",
            &format!("todo: {}", "x".repeat(MAX_TEXT_CHARS + 1)),
        ] {
            let reply = parse(line);
            assert!(reply.commands.is_empty(), "{line}: {reply:?}");
            assert_eq!(reply.rejected.len(), 1, "{line}: {reply:?}");
            assert_eq!(reply.rejected[0].line, 1);
            assert!(!reply.rejected[0].reason.is_empty());
            assert!(reply.rejected[0].text.chars().count() <= MAX_QUOTED_CHARS + 1);
        }
    }

    #[test]
    fn words_that_merely_start_like_commands_are_prose() {
        for line in ["Doneness matters", "Skipping lunch today", "Privately, yes"] {
            let reply = parse(line);
            assert!(
                reply.commands.is_empty() && reply.rejected.is_empty(),
                "{line}"
            );
        }
    }

    #[test]
    fn commands_beyond_the_cap_are_rejected_once() {
        let text = "done 5211d042\n".repeat(MAX_COMMANDS + 7);
        let reply = parse(&text);
        assert_eq!(reply.commands.len(), MAX_COMMANDS);
        assert_eq!(reply.rejected.len(), 1);
        assert_eq!(reply.rejected[0].line, MAX_COMMANDS + 1);
        assert!(reply.rejected[0].reason.contains("7 more"));
    }

    #[test]
    fn line_numbers_count_blank_lines() {
        let found = commands("Hi!\n\ndone 5211d042\n\nskip");
        assert_eq!(found[0].line(), 3);
        assert_eq!(found[1].line(), 5);
    }

    #[test]
    fn parsed_replies_serialize_as_tagged_json() {
        let reply = parse("done 5211d042\ntodo: Alex: x\nskip\ndone");
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(json["commands"][0]["command"], "close");
        assert_eq!(json["commands"][0]["target"]["id"], "5211d042");
        assert_eq!(json["commands"][1]["owner"], ALEX);
        assert_eq!(json["commands"][2]["command"], "skip");
        assert_eq!(json["rejected"][0]["line"], 4);
        let back: ParsedReply = serde_json::from_value(json).unwrap();
        assert_eq!(back, reply);
    }

    #[test]
    fn hostile_text_never_panics() {
        let fragments = [
            "done",
            "[x]",
            "[",
            "]",
            ":",
            "@",
            "é",
            "日本",
            "🎉",
            "\u{fe0f}",
            " ",
            "\n",
            "skip",
            "agenda",
            "Agenda:\n",
            "- ",
            "1. ",
            "#",
            "5211d042",
            "Dana",
            "me",
            "todo",
            "~~",
            "(",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2_000 {
            let mut text = String::new();
            for _ in 0..16 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(fragments[(state % fragments.len() as u64) as usize]);
            }
            let reply = parse(&text);
            let _ = resolve(&reply.commands, &items(), &items());
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn item(text: &str, open: bool) -> ActionItem {
        let series = SeriesId("3f9a0c21e4".into());
        let mut item = ActionItem::from_cli(&series, text, Some(DANA.into()), at());
        item.origin = ItemOrigin::Cli { added_at: at() };
        if !open {
            item.state = ItemState::Done {
                at: at(),
                by: Source::Cli,
            };
        }
        item
    }

    fn items() -> Vec<ActionItem> {
        vec![
            item("Send the metrics summary", true),
            item("send the metrics summary to finance", true),
            item("book the offsite venue", true),
            item("review the design doc", false),
        ]
    }

    fn resolved(text: &str) -> Vec<Resolved> {
        let all = items();
        let open: Vec<_> = all.iter().filter(|i| i.is_open()).cloned().collect();
        resolve(&parse(text).commands, &open, &all)
    }

    fn id_of(text: &str) -> ItemId {
        ItemId::new(&SeriesId("3f9a0c21e4".into()), text)
    }

    #[test]
    fn text_resolves_by_exact_text_then_unique_prefix_then_containment() {
        let found = resolved("[x] send the metrics summary.");
        assert!(
            matches!(&found[0], Resolved::Close { item, .. } if *item == id_of("send the metrics summary")),
            "{found:?}"
        );
        let found = resolved("[x] book the");
        assert!(
            matches!(&found[0], Resolved::Close { item, .. } if *item == id_of("book the offsite venue")),
            "{found:?}"
        );
        let found = resolved("done: offsite");
        assert!(matches!(&found[0], Resolved::Close { .. }), "{found:?}");
        let found = resolved("done: to finance");
        assert!(
            matches!(&found[0], Resolved::Close { item, .. } if *item == id_of("send the metrics summary to finance")),
            "{found:?}"
        );
    }

    #[test]
    fn ambiguous_and_unknown_texts_are_rejected_with_the_candidates() {
        let found = resolved("done: send the metrics");
        let Resolved::Rejected(rejected) = &found[0] else {
            panic!("{found:?}");
        };
        assert!(rejected.reason.contains("several"), "{rejected:?}");
        assert!(
            rejected
                .reason
                .contains(&id_of("send the metrics summary").0)
        );
        let found = resolved("done: water the plants");
        assert!(matches!(&found[0], Resolved::Rejected(r) if r.reason.contains("no open item")));
        // Short texts never match fuzzily.
        let found = resolved("done: doc");
        assert!(matches!(&found[0], Resolved::Rejected(_)), "{found:?}");
    }

    #[test]
    fn ids_resolve_against_all_items_and_report_no_change() {
        let done_id = id_of("review the design doc");
        let found = resolved(&format!(
            "done {done_id}\nreopen {done_id}\nreopen {done_id}"
        ));
        assert!(
            matches!(&found[0], Resolved::Unchanged { reason, .. } if reason == "already done")
        );
        assert!(matches!(&found[1], Resolved::Reopen { item, .. } if *item == done_id));
        assert!(
            matches!(&found[2], Resolved::Unchanged { reason, .. } if reason == "already open")
        );
        let found = resolved("done 00000000");
        assert!(matches!(&found[0], Resolved::Rejected(r) if r.reason.contains("00000000")));
    }

    #[test]
    fn closing_by_text_an_item_that_is_already_done_says_so() {
        let found = resolved("[x] review the design doc");
        assert!(
            matches!(&found[0], Resolved::Unchanged { reason, .. } if reason == "already done"),
            "{found:?}"
        );
        let found = resolved("reopen: review the design");
        assert!(matches!(&found[0], Resolved::Reopen { .. }), "{found:?}");
    }

    #[test]
    fn adding_an_existing_or_repeated_item_changes_nothing() {
        let found = resolved(
            "todo: book the offsite venue\ntodo: review the design doc\n\
                              todo: new thing\n- [ ] New thing.",
        );
        assert!(
            matches!(&found[0], Resolved::Unchanged { reason, .. } if reason.contains("open item"))
        );
        assert!(
            matches!(&found[1], Resolved::Unchanged { reason, .. } if reason.contains("reopen"))
        );
        assert!(matches!(&found[2], Resolved::Add { .. }));
        assert!(matches!(&found[3], Resolved::Unchanged { item: None, .. }));
    }

    #[test]
    fn closing_twice_in_one_reply_closes_once() {
        let found = resolved("done: book the offsite venue\n[x] book the offsite venue");
        assert!(matches!(&found[0], Resolved::Close { .. }));
        assert!(
            matches!(&found[1], Resolved::Unchanged { reason, .. } if reason == "already done")
        );
    }

    /// The commands of the fixtures' replies, end to end with extraction.
    #[test]
    fn the_fixture_replies_give_the_expected_commands() {
        let raw = std::fs::read(format!(
            "{}/tests/fixtures/replies/outlook_web.eml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let visible = crate::core::reply::extract::visible_text(&message);
        let reply = parse(&visible.text);
        assert!(reply.rejected.is_empty(), "{reply:?}");
        assert_eq!(
            reply.commands,
            [
                close_id("5211d042"),
                Command::Close {
                    line: 2,
                    target: ItemRef::Text("book the offsite venue".into())
                },
                Command::Add {
                    line: 3,
                    text: "send the numbers".into(),
                    owner: Some(ALEX.into())
                },
                Command::TalkingPoint {
                    line: 4,
                    text: "on-call rota".into()
                },
            ]
        );
    }
}

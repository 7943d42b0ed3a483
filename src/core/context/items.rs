//! Reading action items, notes and talking points out of a description.
//!
//! People write these by hand, in many styles, in a description both of them edit:
//! checkboxes (`- [ ] x`, `[x] y`, `☐`, `✅`), labels (`TODO:`, `Action:`, `AI:`,
//! `Action item:`, `DONE:`), struck-through text (`~~x~~`), and sections under headings
//! (`Notes:`, `Agenda:`, `Action items:`). The parser is line based, allocation-light
//! and never fails: anything it does not recognize is ignored.

use crate::model::Person;
use crate::model::normalize_email;

/// One action item as written on one line of a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedItem {
    /// The item's text: markers and owner prefix stripped, whitespace collapsed.
    pub text: String,
    /// Checked (`[x]`, `✅`, `DONE:`, `~~struck~~`).
    pub done: bool,
    /// The owner's address (lower-case) when the line names one of the participants.
    pub owner: Option<String>,
    /// 1-based line number in the description text.
    pub line: usize,
}

/// Everything found in one description.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedDescription {
    /// Action items, in the order written.
    pub items: Vec<ParsedItem>,
    /// Lines under a notes heading (bullets stripped), in order.
    pub notes: Vec<String>,
    /// Lines under an agenda / talking points / topics heading (bullets stripped).
    pub talking_points: Vec<String>,
}

/// The section a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    /// Before any heading, or under a heading we do not know.
    Other,
    /// `Notes:`, `Minutes:`...
    Notes,
    /// `Agenda:`, `Talking points:`, `Topics:`...
    TalkingPoints,
    /// `Action items:`, `Next steps:`...: every line is an item.
    Actions,
}

/// Heading labels (accent-folded, lower-case) and the section they open.
const HEADINGS: &[(&str, Section)] = &[
    ("notes", Section::Notes),
    ("note", Section::Notes),
    ("meeting notes", Section::Notes),
    ("minutes", Section::Notes),
    ("summary", Section::Notes),
    ("agenda", Section::TalkingPoints),
    ("talking points", Section::TalkingPoints),
    ("topics", Section::TalkingPoints),
    ("discussion", Section::TalkingPoints),
    ("discussion points", Section::TalkingPoints),
    ("to discuss", Section::TalkingPoints),
    ("action items", Section::Actions),
    ("action points", Section::Actions),
    ("actions", Section::Actions),
    ("todo", Section::Actions),
    ("todos", Section::Actions),
    ("to do", Section::Actions),
    ("to-do", Section::Actions),
    ("to-dos", Section::Actions),
    ("tasks", Section::Actions),
    ("next steps", Section::Actions),
    ("follow-ups", Section::Actions),
    ("follow ups", Section::Actions),
];

/// Labels that make the rest of the line an item (`TODO: x`), and whether they mean done.
/// Longer labels first so `action item` wins over `action`.
const ITEM_LABELS: &[(&str, bool)] = &[
    ("action items", false),
    ("action item", false),
    ("action", false),
    ("to-do", false),
    ("to do", false),
    ("todo", false),
    ("follow-up", false),
    ("follow up", false),
    ("ai", false),
    ("done", true),
];

/// Lines that open the meeting-link boilerplate Google, Zoom and Teams append; nothing
/// after them belongs to the section above.
const BOILERPLATE_STARTS: &[&str] = &[
    "join zoom meeting",
    "join with google meet",
    "microsoft teams meeting",
    "microsoft teams need help",
    "join microsoft teams",
    "join the meeting now",
    "join on your computer",
    "click here to join the meeting",
    "join by phone",
];

/// What the previous line added, so an indented line below a bullet can continue it
/// (html2text indents the second line of a `<li>` that holds a `<br>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Added {
    Item,
    Note,
    TalkingPoint,
}

/// Parses a plain-text description (see [`crate::core::context::text`] for HTML).
/// `participants` are the two people of the 1:1; owners are resolved against them.
pub fn parse_description(text: &str, participants: &[Person]) -> ParsedDescription {
    let people = Aliases::new(participants);
    let mut parsed = ParsedDescription::default();
    let mut section = Section::Other;
    let mut default_owner: Option<String> = None;
    let mut blank_before = false;
    // The entry the last bulleted line added, and that line's indentation.
    let mut open_entry: Option<(Added, usize)> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw_line.trim();
        if line.is_empty() {
            blank_before = true;
            open_entry = None;
            continue;
        }
        let indent = raw_line.len() - raw_line.trim_start().len();
        let after_blank = std::mem::take(&mut blank_before);
        if is_separator(line) || is_boilerplate(line) {
            section = Section::Other;
            default_owner = None;
            open_entry = None;
            continue;
        }
        let (bulleted, body) = strip_bullet(line);
        let owner = default_owner.as_deref();
        if let Some(item) = parse_item_line(body, line_no, &people, owner) {
            parsed.items.push(item);
            open_entry = bulleted.then_some((Added::Item, indent));
            continue;
        }
        if !bulleted {
            if let Some((added, bullet_indent)) = open_entry
                && indent > bullet_indent
            {
                continue_entry(&mut parsed, added, line);
                continue;
            }
            open_entry = None;
            if let Some((new_section, rest)) = parse_heading(body) {
                section = new_section;
                default_owner = None;
                if !rest.is_empty() {
                    let (_, rest_body) = strip_bullet(rest);
                    add_to_section(&mut parsed, section, rest_body, line_no, &people, None);
                }
                continue;
            }
            if let Some(owner) = owner_heading(body, &people) {
                // "Dana:" on its own line: the items below are hers.
                default_owner = Some(owner);
                continue;
            }
            if is_generic_heading(body) {
                section = Section::Other;
                default_owner = None;
                continue;
            }
            // Lists end at a blank line followed by ordinary prose ("See you then!").
            if after_blank && matches!(section, Section::TalkingPoints | Section::Actions) {
                section = Section::Other;
                continue;
            }
        }
        let added = add_to_section(&mut parsed, section, body, line_no, &people, owner);
        open_entry = added.filter(|_| bulleted).map(|added| (added, indent));
    }
    parsed
}

/// Appends an indented continuation line to the entry the bullet above it added.
fn continue_entry(parsed: &mut ParsedDescription, added: Added, line: &str) {
    let target = match added {
        Added::Item => parsed.items.last_mut().map(|item| &mut item.text),
        Added::Note => parsed.notes.last_mut(),
        Added::TalkingPoint => parsed.talking_points.last_mut(),
    };
    if let Some(text) = target {
        text.push(' ');
        text.push_str(&collapse_whitespace(line));
    }
}

/// Files one line's text under the current section; says what it added.
fn add_to_section(
    parsed: &mut ParsedDescription,
    section: Section,
    body: &str,
    line: usize,
    people: &Aliases,
    default_owner: Option<&str>,
) -> Option<Added> {
    match section {
        Section::Other => None,
        Section::Notes | Section::TalkingPoints => {
            if let Some(item) = parse_item_line(body, line, people, default_owner) {
                parsed.items.push(item);
                return Some(Added::Item);
            }
            let text = collapse_whitespace(body);
            if text.is_empty() {
                return None;
            }
            if section == Section::Notes {
                parsed.notes.push(text);
                Some(Added::Note)
            } else {
                parsed.talking_points.push(text);
                Some(Added::TalkingPoint)
            }
        }
        Section::Actions => {
            let item = parse_item_line(body, line, people, default_owner)
                .or_else(|| make_item(body, false, line, people, default_owner))?;
            parsed.items.push(item);
            Some(Added::Item)
        }
    }
}

/// Recognizes an item marker at the start of `body` (bullet already stripped).
fn parse_item_line(
    body: &str,
    line: usize,
    people: &Aliases,
    default_owner: Option<&str>,
) -> Option<ParsedItem> {
    let (checkbox_done, rest) = match strip_checkbox(body) {
        Some((done, rest)) => (Some(done), rest),
        None => (None, body),
    };
    let (label_done, rest) = match strip_item_label(rest) {
        Some((done, rest)) => (Some(done), rest),
        None => (None, rest),
    };
    let (struck, rest) = match strip_strikethrough(rest) {
        Some(inner) => (true, inner),
        None => (false, rest),
    };
    if checkbox_done.is_none() && label_done.is_none() && !struck {
        return None;
    }
    let done = checkbox_done.unwrap_or(false) || label_done.unwrap_or(false) || struck;
    make_item(rest, done, line, people, default_owner)
}

/// Builds an item from its body, resolving the owner; `None` for an empty body.
fn make_item(
    body: &str,
    done: bool,
    line: usize,
    people: &Aliases,
    default_owner: Option<&str>,
) -> Option<ParsedItem> {
    let (owner, text) = people.resolve_owner(body);
    let text = collapse_whitespace(text);
    if text.is_empty() {
        return None;
    }
    Some(ParsedItem {
        text,
        done,
        owner: owner.or_else(|| default_owner.map(str::to_string)),
        line,
    })
}

/// Strips one list bullet (`-`, `*`, `•`, `+`, `1.`, `2)`) and the space after it.
fn strip_bullet(line: &str) -> (bool, &str) {
    let mut chars = line.char_indices();
    let Some((_, first)) = chars.next() else {
        return (false, line);
    };
    if matches!(
        first,
        '-' | '*' | '•' | '+' | '·' | '–' | '◦' | '▪' | '‣' | '○'
    ) {
        let rest = &line[first.len_utf8()..];
        // "**Notes**" is bold, not a bullet; "-[ ]" is a bullet without its space.
        if rest.starts_with(char::is_whitespace) || rest.starts_with('[') {
            return (true, rest.trim_start());
        }
        return (false, line);
    }
    if first.is_ascii_digit() {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        if digits <= 3 {
            let rest = &line[digits..];
            if let Some(after) = rest.strip_prefix(['.', ')'])
                && after.starts_with(char::is_whitespace)
            {
                return (true, after.trim_start());
            }
        }
    }
    (false, line)
}

/// Strips a checkbox (`[ ]`, `[x]`, `☐`, `☑`, `✅`...) and says whether it is checked.
fn strip_checkbox(body: &str) -> Option<(bool, &str)> {
    if let Some(rest) = body.strip_prefix('[') {
        let close = rest.find(']')?;
        let inside = rest[..close].trim();
        let done = match inside {
            "" => false,
            "x" | "X" | "✓" | "✔" | "✗" => true,
            _ => return None,
        };
        return Some((done, rest[close + 1..].trim_start()));
    }
    let first = body.chars().next()?;
    let done = match first {
        '☐' | '□' | '⬜' => false,
        '☑' | '☒' | '✅' | '✔' | '✓' | '🗹' => true,
        _ => return None,
    };
    let rest = body[first.len_utf8()..].trim_start_matches('\u{fe0f}');
    Some((done, rest.trim_start()))
}

/// Strips an item label (`TODO:`, `Action item:`, `DONE:`...), case-insensitive.
fn strip_item_label(body: &str) -> Option<(bool, &str)> {
    for &(label, done) in ITEM_LABELS {
        let Some(head) = body.get(..label.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(label) {
            continue;
        }
        let after = body[label.len()..].trim_start();
        if let Some(rest) = after.strip_prefix(':') {
            return Some((done, rest.trim_start()));
        }
    }
    // "TODO send the doc": upper case only, so "todo list for the week" stays prose.
    body.strip_prefix("TODO ")
        .map(|rest| (false, rest.trim_start()))
}

/// The text inside `~~text~~`, when the whole body is struck through.
fn strip_strikethrough(body: &str) -> Option<&str> {
    let inner = body.strip_prefix("~~")?.strip_suffix("~~")?;
    let inner = inner.trim();
    (!inner.is_empty()).then_some(inner)
}

/// A known heading at the start of a line, and any text after its colon.
fn parse_heading(body: &str) -> Option<(Section, &str)> {
    let line = body.trim_start_matches('#').trim_start();
    let line = line.trim_start_matches(['*', '_']);
    let (label, rest, has_colon) = match line.find(':') {
        Some(colon) => (&line[..colon], &line[colon + 1..], true),
        None => (line, "", false),
    };
    if label.len() > 40 {
        return None;
    }
    let label = fold(label.trim_end_matches(['*', '_']).trim());
    let rest = rest.trim_start_matches(['*', '_']).trim();
    // With a colon, "Action items from last week:" and "Agenda for today:" count too;
    // without one only the bare word does, so prose starting with "Notes" is not a heading.
    HEADINGS
        .iter()
        .find(|(name, _)| {
            *name == label
                || (has_colon
                    && label
                        .strip_prefix(name)
                        .is_some_and(|after| after.starts_with(' ')))
        })
        .map(|&(_, section)| (section, rest))
}

/// `Name:` alone on a line, naming one of the participants.
fn owner_heading(body: &str, people: &Aliases) -> Option<String> {
    let label = body.strip_suffix(':')?.trim_matches(['*', '_', ' ']);
    if label.is_empty() || label.len() > 60 {
        return None;
    }
    people.match_name(label)
}

/// A short line ending in a colon (`Context:`), which starts a section we do not know.
fn is_generic_heading(body: &str) -> bool {
    let label = body.trim_end_matches(['*', '_']);
    label.ends_with(':') && label.chars().count() <= 40 && !label[..label.len() - 1].contains(':')
}

/// A horizontal rule: `---`, `___...`, or Google Meet's `-::~:~::~...` divider.
fn is_separator(line: &str) -> bool {
    line.chars().count() >= 3
        && line
            .chars()
            .all(|c| matches!(c, '-' | '_' | '=' | '~' | ':'))
}

/// The first line of conference-link boilerplate.
fn is_boilerplate(line: &str) -> bool {
    let start: String = line.chars().take(40).collect();
    let folded = fold(&start);
    BOILERPLATE_STARTS.iter().any(|b| folded.starts_with(b))
}

pub use crate::model::items::collapse_whitespace;

/// Lower-cases and removes the accents of common Latin letters, so "Zoë", "zoe" and
/// "ZOE" compare equal. Cheap and table-free on purpose: names, not linguistics.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let plain = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'ď' | 'đ' => 'd',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
            'ł' => 'l',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ř' => 'r',
            'ś' | 'š' | 'ş' => 's',
            'ť' | 'ţ' => 't',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
            'ý' | 'ÿ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            other => other,
        };
        out.push(plain);
    }
    out
}

/// The names each participant may be called by in a description.
struct Aliases {
    /// (address, accent-folded aliases) per participant.
    people: Vec<(String, Vec<String>)>,
}

impl Aliases {
    fn new(participants: &[Person]) -> Self {
        let people = participants
            .iter()
            .map(|person| {
                let email = normalize_email(&person.email);
                let mut names = vec![fold(&email)];
                let local = email.split('@').next().unwrap_or_default();
                names.push(fold(local));
                if let Some(first) = local.split(['.', '_', '-', '+']).next() {
                    names.push(fold(first));
                }
                if let Some(name) = person.name.as_deref() {
                    let name = fold(&collapse_whitespace(name));
                    if let Some(first) = name.split(' ').next() {
                        names.push(first.to_string());
                    }
                    names.push(name.replace(' ', ""));
                    names.push(name);
                }
                names.retain(|n| !n.is_empty());
                (email, names)
            })
            .collect();
        Aliases { people }
    }

    /// The address of the one participant called `name`; `None` when nobody or both are.
    fn match_name(&self, name: &str) -> Option<String> {
        let wanted = fold(collapse_whitespace(name.trim_start_matches('@')).as_str());
        if wanted.is_empty() {
            return None;
        }
        let mut found: Option<&str> = None;
        for (email, names) in &self.people {
            if names.contains(&wanted) {
                match found {
                    Some(other) if other != email => return None,
                    _ => found = Some(email),
                }
            }
        }
        found.map(str::to_string)
    }

    /// Finds the owner of an item body and returns the text without an owner prefix.
    /// Precedence: a leading `Name:`, a trailing `(Name)`, then the first `@mention`
    /// or address in the text (mentions stay in the text: they read naturally).
    fn resolve_owner<'a>(&self, body: &'a str) -> (Option<String>, &'a str) {
        if let Some(colon) = body.find(':') {
            let candidate = &body[..colon];
            if candidate.len() <= 60
                && candidate.split_whitespace().count() <= 4
                && let Some(owner) = self.match_name(candidate)
            {
                return (Some(owner), body[colon + 1..].trim_start());
            }
        }
        // "@zoe book the room": a leading mention is an owner prefix without the colon.
        if let Some(mention) = body.strip_prefix('@') {
            let end = mention
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(mention.len());
            if let Some(owner) = self.match_name(&mention[..end]) {
                let rest = mention[end..].trim_start_matches([',', ' ', '\t']);
                return (Some(owner), rest);
            }
        }
        if let Some(inner) = body.trim_end().strip_suffix(')')
            && let Some(open) = inner.rfind('(')
            && let Some(owner) = self.match_name(&inner[open + 1..])
        {
            return (Some(owner), inner[..open].trim_end());
        }
        for word in body.split_whitespace() {
            let word = word.trim_matches(|c: char| {
                matches!(
                    c,
                    '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '<' | '>' | '"' | '\''
                )
            });
            if let Some(mention) = word.strip_prefix('@') {
                if let Some(owner) = self.match_name(mention) {
                    return (Some(owner), body);
                }
            } else if word.contains('@') {
                let address = normalize_email(word);
                if self.people.iter().any(|(email, _)| *email == address) {
                    return (Some(address), body);
                }
            }
        }
        (None, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> Vec<Person> {
        vec![
            Person {
                email: "Dana.Kim@Example.com".into(),
                name: Some("Dana Kim".into()),
            },
            Person {
                email: "zoe@example.com".into(),
                name: Some("Zoë Brontë".into()),
            },
        ]
    }

    fn items(text: &str) -> Vec<ParsedItem> {
        parse_description(text, &pair()).items
    }

    fn one(text: &str) -> ParsedItem {
        let mut found = items(text);
        assert_eq!(found.len(), 1, "{text:?} gave {found:?}");
        found.remove(0)
    }

    #[test]
    fn checkbox_items_in_every_bullet_style_are_found() {
        for line in [
            "- [ ] send the doc",
            "* [ ] send the doc",
            "[ ] send the doc",
            "• [ ] send the doc",
            "1. [ ] send the doc",
            "-[ ] send the doc",
            "[] send the doc",
            "☐ send the doc",
        ] {
            let item = one(line);
            assert_eq!(item.text, "send the doc", "{line}");
            assert!(!item.done, "{line}");
        }
    }

    #[test]
    fn checked_boxes_and_done_markers_are_done() {
        for line in [
            "- [x] send the doc",
            "[X] send the doc",
            "✅ send the doc",
            "✔️ send the doc",
            "☑ send the doc",
            "DONE: send the doc",
            "done: send the doc",
            "- ~~send the doc~~",
            "- [ ] ~~send the doc~~",
        ] {
            let item = one(line);
            assert_eq!(item.text, "send the doc", "{line}");
            assert!(item.done, "{line}");
        }
    }

    #[test]
    fn labelled_items_are_found_case_insensitively() {
        for line in [
            "TODO: send the doc",
            "todo: send the doc",
            "Action: send the doc",
            "AI: send the doc",
            "Action item: send the doc",
            "ACTION ITEM : send the doc",
            "- Action item: send the doc",
            "2) TODO: send the doc",
            "TODO send the doc",
            "- [ ] TODO: send the doc",
        ] {
            let item = one(line);
            assert_eq!(item.text, "send the doc", "{line}");
            assert!(!item.done, "{line}");
        }
    }

    #[test]
    fn prose_is_not_an_item() {
        for line in [
            "todo list for the week is long",
            "We took action on it",
            "[link] to the doc",
            "- a plain bullet",
            "Aim: grow",
        ] {
            assert!(items(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn owner_prefix_is_resolved_against_participants_and_stripped() {
        for (line, owner) in [
            ("- [ ] Dana: send the doc", "dana.kim@example.com"),
            ("- [ ] dana kim: send the doc", "dana.kim@example.com"),
            ("- [ ] dana.kim: send the doc", "dana.kim@example.com"),
            ("TODO: Zoe: send the doc", "zoe@example.com"),
            ("TODO: ZOË: send the doc", "zoe@example.com"),
            ("[ ] @zoe: send the doc", "zoe@example.com"),
            ("[ ] send the doc (Dana)", "dana.kim@example.com"),
            ("[ ] @zoe send the doc", "zoe@example.com"),
            ("[ ] @Dana, send the doc", "dana.kim@example.com"),
        ] {
            let item = one(line);
            assert_eq!(item.owner.as_deref(), Some(owner), "{line}");
            assert_eq!(item.text, "send the doc", "{line}");
        }
    }

    #[test]
    fn mentions_and_addresses_name_the_owner_and_stay_in_the_text() {
        let item = one("- [ ] ask @dana about the budget");
        assert_eq!(item.owner.as_deref(), Some("dana.kim@example.com"));
        assert_eq!(item.text, "ask @dana about the budget");
        let item = one("TODO: review <ZOE@example.com> draft");
        assert_eq!(item.owner.as_deref(), Some("zoe@example.com"));
        let item = one("TODO: ping @zoe@example.com.");
        assert_eq!(item.owner.as_deref(), Some("zoe@example.com"));
    }

    #[test]
    fn unknown_owner_leaves_the_item_unassigned_and_the_text_whole() {
        let item = one("- [ ] Bob: send the doc");
        assert_eq!(item.owner, None);
        assert_eq!(item.text, "Bob: send the doc");
        let item = one("- [ ] email bob@elsewhere.org");
        assert_eq!(item.owner, None);
    }

    #[test]
    fn whitespace_is_collapsed_and_line_numbers_kept() {
        let found = items("intro\n\n  - [ ]   send\tthe   doc  \nTODO: b");
        assert_eq!(found[0].text, "send the doc");
        assert_eq!(found[0].line, 3);
        assert_eq!(found[1].line, 4);
    }

    #[test]
    fn sections_collect_notes_and_talking_points() {
        let text = "\
Agenda:
- budget
* hiring plan
1. offsite

Notes: we agreed on Q3
- Dana prefers async
- [ ] Dana: send the doc

Action items:
- Zoe: book the room
- [x] share slides";
        let parsed = parse_description(text, &pair());
        assert_eq!(parsed.talking_points, ["budget", "hiring plan", "offsite"]);
        assert_eq!(parsed.notes, ["we agreed on Q3", "Dana prefers async"]);
        let texts: Vec<_> = parsed.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["send the doc", "book the room", "share slides"]);
        assert_eq!(parsed.items[1].owner.as_deref(), Some("zoe@example.com"));
        assert!(parsed.items[2].done);
    }

    #[test]
    fn markdown_and_bold_headings_are_recognized() {
        let text = "## Talking points\n- one\n**Notes:** two\n__Topics__:\n- three";
        let parsed = parse_description(text, &pair());
        assert_eq!(parsed.talking_points, ["one", "three"]);
        assert_eq!(parsed.notes, ["two"]);
    }

    #[test]
    fn headings_with_a_qualifier_open_their_section() {
        let text = "Action items from last week:\n- Dana: send the doc\n\
                    Agenda for today:\n- budget\nNotes are below\nnot a note";
        let parsed = parse_description(text, &pair());
        assert_eq!(
            parsed.items[0].owner.as_deref(),
            Some("dana.kim@example.com")
        );
        assert_eq!(
            parsed.talking_points,
            ["budget", "Notes are below", "not a note"]
        );
    }

    #[test]
    fn talking_points_end_at_prose_after_a_blank_line() {
        let text = "Topics:\n- one\n\n- two\n\nSee you then!";
        let parsed = parse_description(text, &pair());
        assert_eq!(parsed.talking_points, ["one", "two"]);
    }

    #[test]
    fn unknown_headings_and_meeting_boilerplate_end_a_section() {
        let text = "Notes:\nfine\nContext:\nnot a note\nNotes:\nback\n\
                    ________________________________\nMicrosoft Teams meeting\nJoin: https://x";
        let parsed = parse_description(text, &pair());
        assert_eq!(parsed.notes, ["fine", "back"]);
        let text = "Agenda:\n- a\n-::~:~::~:~:~:~::-\nJoin with Google Meet: https://meet";
        assert_eq!(parse_description(text, &pair()).talking_points, ["a"]);
        let text =
            "Agenda:\n- a\nJoin Microsoft Teams Online Meeting<https://teams.microsoft.com/l/x>";
        assert_eq!(parse_description(text, &pair()).talking_points, ["a"]);
    }

    #[test]
    fn a_name_line_assigns_the_items_below_it() {
        let text = "Action items:\nDana:\n- send the doc\nZoë:\n- book the room\n- [ ] Dana: x";
        let found = items(text);
        let owners: Vec<_> = found.iter().map(|i| i.owner.as_deref()).collect();
        assert_eq!(
            owners,
            [
                Some("dana.kim@example.com"),
                Some("zoe@example.com"),
                Some("dana.kim@example.com")
            ]
        );
    }

    #[test]
    fn an_indented_line_below_a_bullet_continues_it() {
        let text = "Agenda:\n* hiring\n  for the platform team\n* budget\n\
                    - [ ] Dana: send the doc\n    from Tuesday\nNotes:\n- went well\n   overall";
        let parsed = parse_description(text, &pair());
        assert_eq!(
            parsed.talking_points,
            ["hiring for the platform team", "budget"]
        );
        assert_eq!(parsed.items[0].text, "send the doc from Tuesday");
        assert_eq!(parsed.notes, ["went well overall"]);
    }

    #[test]
    fn html_list_entries_with_line_breaks_stay_one_entry() {
        let html = "Agenda:<ul><li>hiring<br>for the platform team</li><li>budget</li></ul>";
        let text = crate::core::context::text::description_to_text(html);
        let parsed = parse_description(&text, &pair());
        assert_eq!(
            parsed.talking_points,
            ["hiring for the platform team", "budget"],
            "{text:?}"
        );
    }

    #[test]
    fn items_inside_talking_points_are_items() {
        let parsed = parse_description("Agenda:\n- budget\n- [ ] check numbers", &pair());
        assert_eq!(parsed.talking_points, ["budget"]);
        assert_eq!(parsed.items[0].text, "check numbers");
    }

    #[test]
    fn unicode_text_is_kept_and_never_panics() {
        let item = one("- [ ] 日本語のレビュー 🎉 für Zoë");
        assert_eq!(item.text, "日本語のレビュー 🎉 für Zoë");
        for text in [
            "[", "- [", "[x", "1.", "1", "~~", "~~~~", "- ~~ ~~", "é:", "@", "(", "Notes:",
        ] {
            let _ = parse_description(text, &pair());
        }
        let _ = parse_description("ß:\n# \n**\n:\n", &[]);
    }

    #[test]
    fn an_empty_checkbox_is_not_an_item() {
        assert!(items("- [ ]\n- [x]   \nTODO:").is_empty());
    }

    #[test]
    fn a_megabyte_description_parses_quickly() {
        let block = "Notes: we talked about Zoë's résumé\n- [ ] Dana: send the doc\n\
                     TODO: @zoe review\nsome prose line that is not an item at all\n\n";
        let text = block.repeat(1024 * 1024 / block.len() + 1);
        assert!(text.len() >= 1024 * 1024);
        let started = std::time::Instant::now();
        let parsed = parse_description(&text, &pair());
        // Generous bound: debug builds on a shared CI core.
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert!(parsed.items.len() > 10_000);
    }

    #[test]
    fn google_html_descriptions_parse_like_their_plain_text() {
        let html = "<b>Agenda</b><br><ul><li>budget</li><li>hiring</li></ul><br>\
                    Action items:<br>- [ ] Dana: send the doc<br>- [x]&nbsp;Zoë: book the room";
        let text = crate::core::context::text::description_to_text(html);
        let parsed = parse_description(&text, &pair());
        assert_eq!(parsed.talking_points, ["budget", "hiring"], "{text}");
        assert_eq!(parsed.items.len(), 2, "{text}");
        assert_eq!(
            parsed.items[0].owner.as_deref(),
            Some("dana.kim@example.com")
        );
        assert!(parsed.items[1].done);
        assert_eq!(parsed.items[1].text, "book the room");
    }

    #[test]
    fn random_fragments_never_panic() {
        const FRAGMENTS: &[&str] = &[
            "- ",
            "* ",
            "• ",
            "1. ",
            "[",
            "]",
            "[ ]",
            "[x]",
            "x",
            "TODO",
            ":",
            "@",
            "@dana",
            "Dana",
            "Zoë",
            "é",
            "ß",
            "日本",
            "🎉",
            "\u{fe0f}",
            "✅",
            "☐",
            "~~",
            "(",
            ")",
            "\n",
            "\n\n",
            " ",
            "\t",
            "Notes",
            "Agenda",
            "Action items",
            "DONE",
            "<",
            ">",
            "<br>",
            "<li>",
            "</li>",
            "<ul>",
            "&nbsp;",
            "<input type=checkbox checked>",
            "<del>",
            "---",
            "zoe@example.com",
            "AI",
            "#",
            "**",
            "__",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2_000 {
            let mut text = String::new();
            for _ in 0..24 {
                // xorshift64: deterministic, so a failure reproduces.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(FRAGMENTS[(state % FRAGMENTS.len() as u64) as usize]);
            }
            let plain = crate::core::context::text::description_to_text(&text);
            let _ = parse_description(&plain, &pair());
            let _ = parse_description(&text, &pair());
        }
    }

    #[test]
    fn accents_fold_for_name_matching() {
        assert_eq!(fold("ZOË Brontë Straße"), "zoe bronte strasse");
    }
}

//! The visible text of a reply: what the sender wrote this time, nothing they quoted.
//!
//! A reply carries the whole brief back (quoted with `>`, inside a `<blockquote>`, or
//! below an Outlook header block with no marking at all), plus signatures and "Sent
//! from my iPhone". Any of that read as commands would close items nobody meant to
//! close, so everything after the first sign of quoted text is dropped, and quoted
//! lines between own lines (bottom and inline posting) are skipped.
//!
//! The text/plain part is preferred (every client that writes HTML writes one too, and
//! it needs no guessing); HTML-only mail loses its quote containers (`<blockquote>`,
//! Gmail's `gmail_quote`, Outlook's `divRplyFwdMsg` / `appendonsend`) before
//! [`html_to_text`], then goes through the same line rules. Work is bounded: at most
//! [`MAX_TEXT_BYTES`] of text and [`MAX_LINES`] kept lines.

use mail_parser::{Message, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

use crate::core::context::text::{bound_description, html_to_text, tag_length, tag_name};

/// Text beyond this many bytes is not read: a person's commands fit in far less.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// At most this many lines of own text are kept.
pub const MAX_LINES: usize = 200;

/// Which part the visible text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// A text/plain part.
    Plain,
    /// A text/html part, converted to text.
    Html,
    /// The message has no text body.
    None,
}

/// The sender's own text of a reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisibleText {
    /// The kept lines, joined with `\n`, trailing spaces trimmed.
    pub text: String,
    /// Where it came from.
    pub body: BodyKind,
    /// True when the text was cut at [`MAX_TEXT_BYTES`] or [`MAX_LINES`].
    pub truncated: bool,
}

/// The visible text of a parsed message (see the module docs).
pub fn visible_text(message: &Message<'_>) -> VisibleText {
    let plain = message
        .text_body
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .find_map(|part| match &part.body {
            PartType::Text(text) => Some((text, is_flowed(part))),
            _ => None,
        });
    if let Some((text, flowed)) = plain {
        let bounded = bound_text(text);
        let unflowed = if flowed {
            unflow(bounded.0)
        } else {
            bounded.0.to_string()
        };
        let mut visible = visible_text_of_plain(&unflowed);
        visible.truncated |= bounded.1;
        return visible;
    }
    let html = message
        .html_body
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .find_map(|part| match &part.body {
            PartType::Html(html) => Some(html),
            _ => None,
        });
    match html {
        Some(html) => visible_text_of_html(html),
        None => VisibleText {
            text: String::new(),
            body: BodyKind::None,
            truncated: false,
        },
    }
}

/// The own text of a plain-text body.
pub fn visible_text_of_plain(text: &str) -> VisibleText {
    let (bounded, cut) = bound_text(text);
    let (text, truncated) = own_lines(bounded);
    VisibleText {
        text,
        body: BodyKind::Plain,
        truncated: truncated || cut,
    }
}

/// The own text of an HTML body: quote containers removed, converted to text, then
/// the plain-text rules.
pub fn visible_text_of_html(html: &str) -> VisibleText {
    let bounded = bound_description(html);
    let without_quotes = remove_quoted_html(&bounded);
    let text = html_to_text(&without_quotes);
    let (bounded_text, cut) = bound_text(&text);
    let (text, truncated) = own_lines(bounded_text);
    VisibleText {
        text,
        body: BodyKind::Html,
        truncated: truncated || cut || bounded.len() > html.len(),
    }
}

/// `text` cut to [`MAX_TEXT_BYTES`] at a character boundary, and whether it was cut.
fn bound_text(text: &str) -> (&str, bool) {
    if text.len() <= MAX_TEXT_BYTES {
        return (text, false);
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// True for a `format=flowed` text part (RFC 3676), whose soft line breaks must be
/// joined so a wrapped command stays one line.
fn is_flowed(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type()
        .and_then(|ct| ct.attribute("format"))
        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
}

/// Joins RFC 3676 soft breaks: a line ending in a space continues on the next line of
/// the same quote depth. The signature delimiter `-- ` is never joined.
fn unflow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open_depth: Option<usize> = None;
    for line in text.lines() {
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let mut content = &line[depth..];
        if depth > 0 {
            content = content.strip_prefix(' ').unwrap_or(content);
        }
        // Space-stuffing: a leading space protects a line that starts with `>` or `From`.
        let content = if depth == 0 {
            content.strip_prefix(' ').unwrap_or(content)
        } else {
            content
        };
        match open_depth {
            Some(open) if open == depth => out.push_str(content),
            Some(_) => {
                out.push('\n');
                push_quoted(&mut out, depth, content);
            }
            None => push_quoted(&mut out, depth, content),
        }
        let soft = content.ends_with(' ') && content != "-- ";
        if soft {
            open_depth = Some(depth);
        } else {
            out.push('\n');
            open_depth = None;
        }
    }
    out
}

fn push_quoted(out: &mut String, depth: usize, content: &str) {
    for _ in 0..depth {
        out.push('>');
    }
    if depth > 0 {
        out.push(' ');
    }
    out.push_str(content);
}

/// Applies the line rules; returns the kept text and whether [`MAX_LINES`] cut it.
fn own_lines(text: &str) -> (String, bool) {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut truncated = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            i += 1;
            continue;
        }
        if ends_own_text(&lines, i) {
            break;
        }
        if let Some(len) = attribution_at(&lines, i) {
            // "On … wrote:" above `>` lines is the start of a quote that own text may
            // follow (bottom posting); above anything else, the quote is unmarked and
            // runs to the end.
            let next = lines[i + len..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty());
            if next.is_some_and(|l| l.starts_with('>')) {
                i += len;
                continue;
            }
            break;
        }
        if kept.len() >= MAX_LINES {
            truncated = true;
            break;
        }
        // Runs of blank lines (left where quoted lines were skipped) become one.
        if !(trimmed.is_empty() && kept.last().is_some_and(|l| l.trim().is_empty())) {
            kept.push(line);
        }
        i += 1;
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let first = kept
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(kept.len());
    (kept[first..].join("\n"), truncated)
}

/// True when line `i` starts what is not the sender's new text: a signature, a mobile
/// footer, an original-message marker or separator, or an Outlook header block.
fn ends_own_text(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    let trimmed = line.trim();
    if line.trim_end() == "--" || trimmed == "-- " {
        return true;
    }
    is_mobile_footer(trimmed)
        || is_original_marker(trimmed)
        || is_outlook_separator(trimmed)
        || is_header_block(lines, i)
}

/// Footers mobile clients add under the text (the text above them is the reply).
const MOBILE_FOOTERS: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent from samsung",
    "sent via ",
    "get outlook for ",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "von meinem smartphone gesendet",
    "envoyé de mon ",
    "enviado desde mi ",
    "verzonden vanaf mijn ",
    "verstuurd vanaf mijn ",
    "inviato da ",
];

fn is_mobile_footer(trimmed: &str) -> bool {
    if trimmed.chars().count() > 80 {
        return false;
    }
    let lower = trimmed.to_lowercase();
    MOBILE_FOOTERS.iter().any(|f| lower.starts_with(f))
}

/// `-----Original Message-----` in any language, `---------- Forwarded message ---------`,
/// and Apple's "Begin forwarded message:".
fn is_original_marker(trimmed: &str) -> bool {
    if trimmed.starts_with("-----")
        && trimmed.ends_with("-----")
        && trimmed.chars().any(char::is_alphabetic)
    {
        return true;
    }
    let lower = trimmed.to_lowercase();
    lower == "begin forwarded message:" || lower == "anfang der weitergeleiteten nachricht:"
}

/// Outlook's `________________________________` line above the header block.
fn is_outlook_separator(trimmed: &str) -> bool {
    trimmed.len() >= 10 && trimmed.bytes().all(|b| b == b'_')
}

/// Header labels of a quoted message in Outlook's block, in the languages above.
const FROM_LABELS: &[&str] = &["from", "von", "de", "van", "da", "från", "fra"];
const SENT_LABELS: &[&str] = &[
    "sent",
    "date",
    "gesendet",
    "datum",
    "envoyé",
    "date d'envoi",
    "enviado",
    "enviado el",
    "fecha",
    "verzonden",
    "inviato",
    "data",
    "skickat",
    "sendt",
];
const TO_LABELS: &[&str] = &[
    "to",
    "an",
    "à",
    "a",
    "para",
    "aan",
    "till",
    "til",
    "subject",
    "betreff",
    "objet",
    "asunto",
    "onderwerp",
    "oggetto",
    "ämne",
    "emne",
    "cc",
];

/// The label of a `Label: value` line (`*From:*` and `From :` allowed), lower-case.
fn header_label(trimmed: &str) -> Option<String> {
    let (label, _) = trimmed.split_once(':')?;
    let label = label.trim().trim_matches('*').trim();
    (label.chars().count() <= 14).then(|| label.to_lowercase())
}

/// A `From:` line followed within five lines by a sent/date line and a to/subject
/// line: the header of a quoted message that Outlook does not mark with `>`.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let is = |line: &str, labels: &[&str]| {
        header_label(line.trim().trim_start_matches('>').trim())
            .is_some_and(|label| labels.contains(&label.as_str()))
    };
    if !is(lines[i], FROM_LABELS) {
        return false;
    }
    let window = &lines[i + 1..lines.len().min(i + 6)];
    window.iter().any(|l| is(l, SENT_LABELS)) && window.iter().any(|l| is(l, TO_LABELS))
}

/// Words an attribution line starts with ("On", "Am", "Le"...).
const ATTRIBUTION_OPENERS: &[&str] = &["on ", "am ", "le ", "el ", "op ", "il ", "em ", "den "];
/// Its verbs ("wrote", "schrieb"...).
const ATTRIBUTION_VERBS: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "schreef",
    "ha scritto",
    "escreveu",
    "skrev",
];

/// The number of lines (1 to 3, clients wrap long ones) of an attribution such as
/// "On Mon, 30 Nov 2026 at 16:00, Briefs <b@x> wrote:" starting at line `i`.
fn attribution_at(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i].trim().to_lowercase();
    if !ATTRIBUTION_OPENERS.iter().any(|o| first.starts_with(o)) {
        return None;
    }
    let mut joined = String::new();
    for (offset, line) in lines[i..].iter().take(3).enumerate() {
        let line = line.trim();
        if line.is_empty() || (offset > 0 && line.starts_with('>')) {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(&line.to_lowercase());
        if joined.len() > 400 {
            return None;
        }
        if is_attribution(&joined) {
            return Some(offset + 1);
        }
    }
    None
}

fn is_attribution(lower: &str) -> bool {
    let Some(head) = lower.strip_suffix(':') else {
        return false;
    };
    let head = head.trim_end();
    ATTRIBUTION_VERBS.iter().any(|verb| {
        // The verb is the last word ("wrote:") or followed only by the sender
        // ("schrieb Briefs <b@x>:", "schreef Briefs <b@x>:").
        head.ends_with(verb)
            || head
                .rfind(&format!(" {verb} "))
                .is_some_and(|at| head.len() - at < 200)
    })
}

/// What an element of a reply's HTML is.
enum Quote {
    /// Quoted or signature content: drop the element and everything inside it.
    Element,
    /// The start of the quoted message (Outlook): drop everything from here on.
    Rest,
}

/// Classifies an opening tag (lower-cased) by the containers clients put quotes in.
fn quote_kind(name: &str, lower_tag: &str) -> Option<Quote> {
    if name == "blockquote" {
        return Some(Quote::Element);
    }
    let id = attribute(lower_tag, "id").unwrap_or_default();
    // Exchange prefixes ids of forwarded HTML with `x_`.
    let id = id.strip_prefix("x_").unwrap_or(id);
    if matches!(
        id,
        "divrplyfwdmsg" | "appendonsend" | "mail-editor-reference-message-container"
    ) {
        return Some(Quote::Rest);
    }
    if id == "ms-outlook-mobile-signature" || id == "signature" {
        return Some(Quote::Element);
    }
    let class = attribute(lower_tag, "class").unwrap_or_default();
    let quoted = class.split_whitespace().any(|c| {
        let c = c.strip_prefix("x_").unwrap_or(c);
        matches!(
            c,
            "gmail_quote"
                | "gmail_quote_container"
                | "gmail_attr"
                | "gmail_signature"
                | "gmail_signature_prefix"
                | "moz-cite-prefix"
                | "moz-signature"
                | "yahoo_quoted"
                | "outlookmessageheader"
        )
    });
    quoted.then_some(Quote::Element)
}

/// The value of `name="…"` (or `'…'`, or unquoted) in a lower-cased tag.
fn attribute<'a>(lower_tag: &'a str, name: &str) -> Option<&'a str> {
    let bytes = lower_tag.as_bytes();
    let mut from = 0;
    while let Some(offset) = lower_tag.get(from..)?.find(name) {
        let at = from + offset;
        from = at + name.len();
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let rest = lower_tag[from..].trim_start();
        let Some(value) = rest.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        if !before_ok {
            continue;
        }
        return Some(match value.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &value[1..];
                &inner[..inner.find(quote).unwrap_or(inner.len())]
            }
            _ => {
                let end = value
                    .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
                    .unwrap_or(value.len());
                &value[..end]
            }
        });
    }
    None
}

/// Removes quoted elements from reply HTML (see [`quote_kind`]); one pass, linear in
/// the input, nesting of the dropped element's own tag name tracked so its end is
/// found. An element that never closes is dropped to the end.
pub fn remove_quoted_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // While dropping: the element name and how many of it are open.
    let mut dropping: Option<(String, usize)> = None;
    while let Some(at) = rest.find('<') {
        if dropping.is_none() {
            out.push_str(&rest[..at]);
        }
        let tag_and_after = &rest[at..];
        if tag_and_after.starts_with("<!--") {
            let len = tag_and_after
                .find("-->")
                .map_or(tag_and_after.len(), |end| end + 3);
            if dropping.is_none() {
                out.push_str(&tag_and_after[..len]);
            }
            rest = &tag_and_after[len..];
            continue;
        }
        let Some(len) = tag_length(tag_and_after) else {
            if dropping.is_none() {
                out.push_str(tag_and_after);
            }
            return out;
        };
        let tag = &tag_and_after[..len];
        rest = &tag_and_after[len..];
        let lower = tag.to_ascii_lowercase();
        let name = tag_name(&lower);
        let self_closing = lower.ends_with("/>");
        if let Some((open_name, depth)) = dropping.as_mut() {
            if let Some(closing) = name.strip_prefix('/') {
                if closing == open_name {
                    *depth -= 1;
                    if *depth == 0 {
                        dropping = None;
                    }
                }
            } else if name == open_name && !self_closing {
                *depth += 1;
            }
            continue;
        }
        match quote_kind(name, &lower) {
            Some(Quote::Rest) => return out,
            Some(Quote::Element) if !self_closing => {
                dropping = Some((name.to_string(), 1));
            }
            Some(Quote::Element) => {}
            // Paragraphs become plain blocks: Word's `<p class=MsoNormal>` is one line
            // on screen (no margins), and html2text's blank line after each would
            // split a list of commands; an empty paragraph still gives a blank line.
            None if name == "p" => {
                out.push_str("<div");
                out.push_str(&tag[2..]);
            }
            None if name == "/p" => out.push_str("</div>"),
            None => out.push_str(tag),
        }
    }
    if dropping.is_none() {
        out.push_str(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Message<'_> {
        mail_parser::MessageParser::default().parse(raw).unwrap()
    }

    fn plain(text: &str) -> String {
        visible_text_of_plain(text).text
    }

    #[test]
    fn quoted_lines_are_dropped_and_own_lines_kept() {
        assert_eq!(
            plain("done 1\n> done 2\n>> done 3\ndone 4"),
            "done 1\ndone 4"
        );
    }

    #[test]
    fn attributions_in_five_languages_end_an_unmarked_quote() {
        for attribution in [
            "On Mon, Nov 30, 2026 at 4:00 PM Briefs <b@x> wrote:",
            "On 30 Nov 2026, at 17:00, Briefs <b@x> wrote:",
            "Am Mo., 30. Nov. 2026 um 17:00 Uhr schrieb Briefs <b@x>:",
            "Le lun. 30 nov. 2026 à 17:00, Briefs <b@x> a écrit :",
            "El lun, 30 nov 2026 a las 17:00, Briefs (<b@x>) escribió:",
            "Op ma 30 nov 2026 om 17:00 schreef Briefs <b@x>:",
        ] {
            let text = format!("done 1\n\n{attribution}\n\nYOUR OPEN ITEMS\n- [ ] x");
            assert_eq!(plain(&text), "done 1", "{attribution}");
        }
    }

    #[test]
    fn a_wrapped_attribution_is_recognized() {
        let text = "done 1\n\nOn Mon, Nov 30, 2026 at 4:00 PM Briefs <\nb@x> wrote:\n\n> x";
        assert_eq!(plain(text), "done 1");
        let text = "done 1\nOn Mon, Nov 30, 2026 at 4:00 PM Briefs <b@x>\nwrote:\nstill quoted";
        assert_eq!(plain(text), "done 1");
    }

    #[test]
    fn prose_that_starts_like_an_attribution_is_kept() {
        let text = "On Monday we agreed on it\nAm Ende: gut\ndone 1";
        assert_eq!(plain(text), text);
    }

    #[test]
    fn outlook_header_blocks_and_separators_end_the_text() {
        let text = "done 1\n\nFrom: Briefs <b@x>\nSent: Monday, November 30, 2026 5:00 PM\n\
                    To: Dana <d@x>\nSubject: 1:1\n\n- [x] quoted";
        assert_eq!(plain(text), "done 1");
        let text = "done 1\nVon: Briefs <b@x>\nGesendet: Montag\nAn: Dana\nBetreff: 1:1\nx";
        assert_eq!(plain(text), "done 1");
        let text = "done 1\n*From:* Briefs\n*Sent:* Monday\n*To:* Dana\nx";
        assert_eq!(plain(text), "done 1");
        assert_eq!(
            plain("done 1\n-----Original Message-----\ndone 2"),
            "done 1"
        );
        assert_eq!(
            plain("done 1\n-----Ursprüngliche Nachricht-----\ndone 2"),
            "done 1"
        );
        assert_eq!(
            plain("done 1\n________________________________\ndone 2"),
            "done 1"
        );
        // A lone "From:" line is prose.
        assert_eq!(plain("From: me\ndone 1"), "From: me\ndone 1");
    }

    #[test]
    fn signatures_and_mobile_footers_end_the_text() {
        assert_eq!(plain("done 1\n-- \nDana\ndone 2"), "done 1");
        assert_eq!(plain("done 1\n--\nDana"), "done 1");
        assert_eq!(plain("done 1\n\nSent from my iPhone\n\ndone 2"), "done 1");
        assert_eq!(plain("done 1\nGet Outlook for Android"), "done 1");
        assert_eq!(plain("done 1\nVon meinem iPhone gesendet"), "done 1");
    }

    #[test]
    fn the_text_is_capped_in_lines_and_bytes() {
        let many = "done 1\n".repeat(MAX_LINES + 50);
        let visible = visible_text_of_plain(&many);
        assert_eq!(visible.text.lines().count(), MAX_LINES);
        assert!(visible.truncated);
        let long = "é".repeat(MAX_TEXT_BYTES);
        let visible = visible_text_of_plain(&long);
        assert!(visible.text.len() <= MAX_TEXT_BYTES);
        assert!(visible.truncated);
    }

    #[test]
    fn html_quote_containers_are_removed() {
        let html = "<div>done 1</div><blockquote><div>done 2<blockquote>x</blockquote>\
                    done 3</div></blockquote><div>done 4</div>";
        assert_eq!(visible_text_of_html(html).text, "done 1\ndone 4");
        let html = "<div>done 1</div><div class=\"gmail_quote\"><div>On x wrote:</div>\
                    <div>done 2</div></div>";
        assert_eq!(visible_text_of_html(html).text, "done 1");
        let html = "<p>done 1</p><div id=\"appendonsend\"></div><hr><div>done 2</div>";
        assert_eq!(visible_text_of_html(html).text, "done 1");
        let html = "<p>done 1</p><div id='x_divRplyFwdMsg'>From: b</div><p>done 2</p>";
        assert_eq!(visible_text_of_html(html).text, "done 1");
    }

    #[test]
    fn broken_html_never_panics_and_keeps_what_it_can() {
        for html in [
            "<",
            "<blockquote",
            "<blockquote>",
            "<div class=>",
            "<div class='gmail_quote'",
            "<!--",
            "</blockquote></blockquote>",
            "<div class=\"gmail_quote\"/>done 1",
            "<é class=é>é",
            "<blockquote>".repeat(10_000).as_str(),
        ] {
            let _ = visible_text_of_html(html);
        }
        assert_eq!(visible_text_of_html("done 1<blockquote>x").text, "done 1");
    }

    #[test]
    fn format_flowed_soft_breaks_are_joined() {
        let raw = "From: d@x\r\nTo: b@x\r\nSubject: Re: x\r\nContent-Type: text/plain; \
                   charset=utf-8; format=flowed\r\n\r\ntodo: send the metrics \r\nsummary to \
                   Alex\r\n\r\n> quoted \r\n> more\r\n-- \r\nsig\r\n";
        let message = parse(raw.as_bytes());
        assert_eq!(
            visible_text(&message).text,
            "todo: send the metrics summary to Alex"
        );
    }

    #[test]
    fn html_only_messages_use_the_html_part() {
        let raw = "From: d@x\r\nTo: b@x\r\nSubject: Re: x\r\nContent-Type: text/html\r\n\r\n\
                   <div>done 1</div><blockquote>done 2</blockquote>";
        let message = parse(raw.as_bytes());
        let visible = visible_text(&message);
        assert_eq!(visible.text, "done 1");
        assert_eq!(visible.body, BodyKind::Html);
    }

    #[test]
    fn a_message_without_text_has_no_visible_text() {
        let raw = "From: d@x\r\nTo: b@x\r\nContent-Type: image/png\r\n\r\nxxxx";
        let message = parse(raw.as_bytes());
        assert_eq!(visible_text(&message).body, BodyKind::None);
        assert_eq!(visible_text(&Message::default()).body, BodyKind::None);
    }

    /// The fixtures: real-shaped replies from the common clients.
    mod fixtures {
        use super::*;
        use crate::core::reply::fixture;

        const COMMANDS: &str = "done 5211d042\n[x] book the offsite venue\n\
                                @alex: send the numbers\nagenda: on-call rota";

        fn both_parts(name: &str) -> (VisibleText, Option<VisibleText>) {
            let raw = fixture(name);
            let message = parse(&raw);
            let visible = visible_text(&message);
            let html = message.body_html(0).and_then(|_| {
                message
                    .html_body
                    .iter()
                    .filter_map(|&id| message.parts.get(id as usize))
                    .find_map(|part| match &part.body {
                        PartType::Html(html) => Some(visible_text_of_html(html)),
                        _ => None,
                    })
            });
            (visible, html)
        }

        fn check(name: &str, expected: &str) {
            let (visible, html) = both_parts(name);
            assert_eq!(visible.text, expected, "{name} (text/plain)");
            assert_eq!(visible.body, BodyKind::Plain, "{name}");
            assert!(!visible.truncated, "{name}");
            if let Some(html) = html {
                assert_eq!(html.text, expected, "{name} (text/html)");
            }
            // CRLF line ends, as mail travels, give the same text.
            let raw = String::from_utf8(fixture(name)).unwrap();
            let crlf = raw.replace("\r\n", "\n").replace('\n', "\r\n");
            let message = parse(crlf.as_bytes());
            assert_eq!(visible_text(&message).text, expected, "{name} (CRLF)");
        }

        #[test]
        fn gmail_plain_text_keeps_only_the_commands() {
            check("gmail_plain.eml", COMMANDS);
        }

        #[test]
        fn gmail_html_keeps_only_the_commands_in_both_parts() {
            check("gmail_html.eml", COMMANDS);
        }

        #[test]
        fn outlook_desktop_keeps_only_the_commands_in_both_parts() {
            check("outlook_desktop_html.eml", COMMANDS);
        }

        #[test]
        fn outlook_web_keeps_only_the_commands_in_both_parts() {
            check("outlook_web.eml", COMMANDS);
        }

        #[test]
        fn outlook_mobile_keeps_only_the_commands_in_both_parts() {
            check("outlook_mobile.eml", COMMANDS);
        }

        #[test]
        fn apple_mail_keeps_only_the_commands_in_both_parts() {
            check("apple_mail.eml", COMMANDS);
        }

        #[test]
        fn german_gmail_keeps_only_the_commands_in_both_parts() {
            check(
                "german_gmail.eml",
                "done 5211d042\ntodo: Raum für das Offsite buchen\nAlex: Zahlen für Q4 schicken",
            );
        }

        #[test]
        fn bottom_posted_replies_keep_the_lines_between_quotes() {
            check(
                "bottom_posted_quote.eml",
                "done 5211d042\n\n[x] book the offsite venue\n\n\
                 @alex: send the numbers\nagenda: on-call rota",
            );
        }

        #[test]
        fn signatures_are_dropped_in_both_parts() {
            check("signature.eml", COMMANDS);
        }
    }
}

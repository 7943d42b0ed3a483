//! Event descriptions as plain text.
//!
//! Google and Outlook send descriptions as HTML (`<br>`, `<ul><li>`, `&nbsp;`,
//! Outlook/Loop checkbox lists); .ics files usually carry plain text. Everything
//! downstream (the item and note parser) reads plain text with one line per line, so
//! this module turns whatever arrived into that, within a bounded amount of work.

use std::borrow::Cow;

/// Descriptions longer than this (in bytes) are cut before any parsing: a calendar
/// description is typed by people, and a megabyte is already far more than any of them
/// write, so the rest is almost certainly pasted noise.
pub const MAX_DESCRIPTION_BYTES: usize = 1024 * 1024;

/// Appended where a description was cut.
pub const TRUNCATION_MARKER: &str = "\n[… description truncated by tete]";

/// Rendering width handed to html2text: wide enough that no typed line is wrapped,
/// because wrapping would split one action item over two lines.
const RENDER_WIDTH: usize = 10_000;

/// Tag names whose presence makes a description HTML rather than text that happens to
/// contain a `<` (like "latency < 5 ms" or "<3").
const HTML_TAGS: &[&str] = &[
    "a", "b", "br", "body", "div", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr",
    "html", "i", "input", "li", "meta", "ol", "p", "pre", "s", "span", "strike", "strong", "table",
    "td", "tr", "u", "ul", "del",
];

/// Entities that only appear in HTML-escaped text.
const HTML_ENTITIES: &[&str] = &["&nbsp;", "&amp;", "&lt;", "&gt;", "&quot;", "&#"];

/// Cuts `raw` to [`MAX_DESCRIPTION_BYTES`] at a character boundary, adding
/// [`TRUNCATION_MARKER`]; shorter input is returned as is.
pub fn bound_description(raw: &str) -> Cow<'_, str> {
    if raw.len() <= MAX_DESCRIPTION_BYTES {
        return Cow::Borrowed(raw);
    }
    let mut end = MAX_DESCRIPTION_BYTES;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + TRUNCATION_MARKER.len());
    cut.push_str(&raw[..end]);
    cut.push_str(TRUNCATION_MARKER);
    Cow::Owned(cut)
}

/// True when `raw` looks like HTML: it contains a known tag or an HTML entity.
pub fn looks_like_html(raw: &str) -> bool {
    if HTML_ENTITIES.iter().any(|e| raw.contains(e)) {
        return true;
    }
    let bytes = raw.as_bytes();
    let mut from = 0;
    while let Some(offset) = raw[from..].find('<') {
        let start = from + offset + 1;
        let mut name_start = start;
        if bytes.get(name_start) == Some(&b'/') {
            name_start += 1;
        }
        let name_end = bytes[name_start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |p| name_start + p);
        let after = bytes.get(name_end).copied();
        let ends_tag = matches!(after, Some(b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n'));
        if ends_tag {
            let name = &raw[name_start..name_end];
            if HTML_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name)) {
                return true;
            }
        }
        from = start;
    }
    false
}

/// The plain text of a description: HTML is converted with [`html_to_text`], plain
/// text passes unchanged (only bounded to [`MAX_DESCRIPTION_BYTES`]).
pub fn description_to_text(raw: &str) -> String {
    if looks_like_html(raw) {
        html_to_text(raw)
    } else {
        bound_description(raw).into_owned()
    }
}

/// Converts an HTML description to plain text: one line per line or list entry
/// (`* entry`, `1. entry`), checkboxes as `[ ]` / `[x]`, struck-through text as
/// `~~text~~`, non-breaking spaces as spaces. Never fails: if html2text rejects the
/// input, tags are stripped crudely instead.
pub fn html_to_text(html: &str) -> String {
    render_html(html, false)
}

/// [`html_to_text`], with each link's URL kept as a numbered footnote (for .ics
/// descriptions, whose links, such as a video call's, are often the point). The only
/// other way into html2text: both share the bounds on size and nesting.
pub fn html_to_text_with_links(html: &str) -> String {
    render_html(html, true)
}

fn render_html(html: &str, links: bool) -> String {
    let bounded = bound_description(html);
    let prepared = prepare_html(&bounded);
    let config = html2text::config::plain_no_decorate()
        .unicode_strikeout(false)
        .link_footnotes(links)
        .allow_width_overflow();
    let rendered = config
        .parse_html(prepared.as_bytes())
        .and_then(|dom| {
            sanitize_dom(&dom);
            let tree = config.dom_to_render_tree(&dom)?;
            config.render_to_string(tree, RENDER_WIDTH)
        })
        .unwrap_or_else(|_| strip_tags(&prepared));
    tidy(&rendered)
}

/// The second line of defence, on the tree the HTML parser actually built (the string
/// pass in [`prepare_html`] can disagree with the tokenizer on odd input, e.g. inside
/// `<style>` or unbalanced quotes): drops the attributes html2text computes with
/// unchecked arithmetic (`start`, `value`, `colspan`, `rowspan`) and flattens anything
/// deeper than [`MAX_HTML_DEPTH`] into its text. Iterative, so depth cannot overflow
/// the stack here either.
fn sanitize_dom(dom: &html2text::RcDom) {
    let mut stack = vec![(dom.document.clone(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if let html2text::Element { attrs, .. } = &node.data {
            attrs.borrow_mut().retain(|attr| {
                !matches!(&*attr.name.local, "start" | "value" | "colspan" | "rowspan")
            });
        }
        if depth >= MAX_HTML_DEPTH {
            let leaves = descendant_leaves(&node);
            for leaf in &leaves {
                leaf.parent.set(Some(std::rc::Rc::downgrade(&node)));
            }
            *node.children.borrow_mut() = leaves;
            continue;
        }
        let children: Vec<_> = node.children.borrow().iter().cloned().collect();
        stack.extend(children.into_iter().map(|child| (child, depth + 1)));
    }
}

/// Every non-element descendant (text, mostly) of `node`, in document order.
fn descendant_leaves(node: &html2text::Handle) -> Vec<html2text::Handle> {
    let mut leaves = Vec::new();
    let mut pending: Vec<html2text::Handle> =
        node.children.borrow().iter().rev().cloned().collect();
    while let Some(next) = pending.pop() {
        if matches!(next.data, html2text::Element { .. }) {
            pending.extend(next.children.borrow().iter().rev().cloned());
        } else {
            leaves.push(next);
        }
    }
    leaves
}

/// Rewrites the markup html2text does not render as text we can parse, and bounds
/// the nesting it will see:
///
/// * checkbox inputs (`<input type="checkbox" checked>`) and ARIA checkboxes
///   (`role="checkbox" aria-checked="true"`, as Loop components export them) become
///   `[x] ` / `[ ] `;
/// * `<s>`, `<del>` and `<strike>` become `~~`, the plain-text done marker;
/// * elements nested deeper than [`MAX_HTML_DEPTH`] lose their tags (their text
///   stays): html2text recurses per level, so `<div>` × 100 000 would take seconds and
///   overflow the stack, which aborts the whole daemon.
fn prepare_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut open: Vec<String> = Vec::new();
    let mut dropped = 0usize;
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag_and_after = &rest[at..];
        if tag_and_after.starts_with("<!--") {
            // Comments (Outlook's `<!--[if mso]>...<![endif]-->`) may hold tags that
            // are not elements: pass them through whole.
            let len = tag_and_after
                .find("-->")
                .map_or(tag_and_after.len(), |end| end + 3);
            out.push_str(&tag_and_after[..len]);
            rest = &tag_and_after[len..];
            continue;
        }
        let Some(len) = tag_length(tag_and_after) else {
            // An unterminated tag: leave the remainder to html2text.
            out.push_str(tag_and_after);
            return out;
        };
        let tag = &tag_and_after[..len];
        rest = &tag_and_after[len..];
        let lower = tag.to_ascii_lowercase();
        let name = tag_name(&lower);
        match name {
            "input" if lower.contains("checkbox") => {
                out.push_str(if has_checked(&lower) { "[x] " } else { "[ ] " });
                continue;
            }
            "s" | "del" | "strike" | "/s" | "/del" | "/strike" => {
                out.push_str("~~");
                continue;
            }
            _ => {}
        }
        // Tables become rows of text (see `flatten_table_tag`); the replacement is
        // then depth-counted like any other element.
        let (tag, lower) = match flatten_table_tag(name) {
            Some(TableTag::Drop) => continue,
            Some(TableTag::Replace(replacement)) => (replacement, replacement.to_string()),
            None => (tag, lower),
        };
        let name = tag_name(&lower);
        if let Some(closing) = name.strip_prefix('/') {
            if dropped > 0 {
                // Closes one of the elements whose opening tag was dropped.
                dropped -= 1;
                continue;
            }
            if let Some(position) = open.iter().rposition(|o| o == closing) {
                open.truncate(position);
            }
        } else if !name.is_empty() && !name.starts_with('!') && !is_unnested(name) {
            if open.len() >= MAX_HTML_DEPTH {
                dropped += 1;
                continue;
            }
            open.push(name.to_string());
        }
        out.push_str(tag);
        if lower.contains("role=\"checkbox\"") || lower.contains("role='checkbox'") {
            let checked =
                lower.contains("aria-checked=\"true\"") || lower.contains("aria-checked='true'");
            out.push_str(if checked { "[x] " } else { "[ ] " });
        }
    }
    out.push_str(rest);
    out
}

/// What a table tag (or another tag html2text mishandles) becomes.
enum TableTag {
    /// Left out (column definitions carry no text).
    Drop,
    /// Replaced by this tag.
    Replace(&'static str),
}

/// Rewrites table markup as plain blocks: a row becomes a `<div>` (one line), a cell a
/// `<span>` followed by a space. html2text's table layout panics on some inputs
/// (colspan/rowspan combinations), and a panic aborts the daemon in release builds, so
/// descriptions from strangers must never reach it; a 1:1 description needs rows of
/// text, not a grid.
fn flatten_table_tag(name: &str) -> Option<TableTag> {
    Some(match name {
        "table" | "tr" | "thead" | "tbody" | "tfoot" | "caption" => TableTag::Replace("<div>"),
        "/table" | "/tr" | "/thead" | "/tbody" | "/tfoot" | "/caption" => {
            TableTag::Replace("</div>")
        }
        "td" | "th" => TableTag::Replace("<span>"),
        "/td" | "/th" => TableTag::Replace("</span> "),
        "col" | "colgroup" | "/col" | "/colgroup" => TableTag::Drop,
        // Not a table, but the same hazard: html2text adds `start` and the item count
        // without overflow checks (`start=-9223372036854775808` panics), and numbering
        // does not matter here.
        "ol" => TableTag::Replace("<ol>"),
        _ => return None,
    })
}

/// Deepest element nesting passed to html2text. Real descriptions (Outlook's
/// included) stay well under 40 levels.
const MAX_HTML_DEPTH: usize = 128;

/// Elements that never deepen the tree: void elements, and those the HTML parser closes
/// implicitly when a sibling starts (so counting them would overstate the depth).
fn is_unnested(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "p"
            | "li"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "option"
            | "thead"
            | "tbody"
            | "tfoot"
    )
}

/// Length in bytes of the tag at the start of `text` (which starts with `<`),
/// respecting quoted attribute values; `None` if it never closes.
pub(crate) fn tag_length(text: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in text.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i + 1),
            (None, _) => {}
        }
    }
    None
}

/// The element name of a lower-cased tag (`/s` for a closing `</s>`, `o:p` for
/// Outlook's namespaced paragraphs, `!doctype` for a declaration).
pub(crate) fn tag_name(lower_tag: &str) -> &str {
    let inner = lower_tag.trim_start_matches('<');
    let end = inner
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, ':' | '-')
                || (i == 0 && matches!(c, '/' | '!')))
        })
        .map_or(inner.len(), |(i, _)| i);
    &inner[..end]
}

/// True when a lower-cased `<input>` tag carries the `checked` attribute.
fn has_checked(lower_tag: &str) -> bool {
    lower_tag
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .any(|attr| attr == "checked" || attr.starts_with("checked="))
}

/// Last resort when html2text fails: drops tags, turns `<br>`/`</p>`/`</li>` into line
/// breaks and decodes the few entities people actually produce.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tag_and_after = &rest[open..];
        let len = tag_length(tag_and_after).unwrap_or(tag_and_after.len());
        let lower = tag_and_after[..len].to_ascii_lowercase();
        if matches!(tag_name(&lower), "br" | "/p" | "/li" | "/div" | "/tr") {
            out.push('\n');
        }
        rest = &tag_and_after[len..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Normalizes rendered text: non-breaking spaces become spaces, trailing space is
/// dropped, and runs of blank lines shrink to one.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.replace('\u{a0}', " ");
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_passes_unchanged() {
        let text = "Agenda:\n- latency < 5 ms\n- <3 the team\n  indented";
        assert!(!looks_like_html(text));
        assert_eq!(description_to_text(text), text);
    }

    #[test]
    fn google_style_line_breaks_become_lines() {
        let html = "Agenda:<br>- budget<br>- hiring&nbsp;plan<br><br>Notes: fine";
        assert!(looks_like_html(html));
        let text = description_to_text(html);
        assert_eq!(text, "Agenda:\n- budget\n- hiring plan\n\nNotes: fine");
    }

    #[test]
    fn html_lists_become_bulleted_lines() {
        let html = "<b>Action items</b><ul><li>Dana: send the doc</li><li>Sam: book room</li></ul>\
                    <ol><li>first</li><li>second</li></ol>";
        let text = html_to_text(html);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"* Dana: send the doc"), "{text}");
        assert!(lines.contains(&"* Sam: book room"), "{text}");
        assert!(lines.contains(&"1. first"), "{text}");
        assert!(lines.contains(&"2. second"), "{text}");
    }

    #[test]
    fn checkbox_inputs_become_bracket_checkboxes() {
        let html = r#"<ul><li><input type="checkbox" checked="checked"> shipped it</li>
<li><input type='checkbox'> review the plan</li></ul>"#;
        let text = html_to_text(html);
        assert!(text.contains("[x] shipped it"), "{text}");
        assert!(text.contains("[ ] review the plan"), "{text}");
    }

    #[test]
    fn aria_checkboxes_become_bracket_checkboxes() {
        let html = r#"<ul><li role="checkbox" aria-checked="true">done thing</li><li role="checkbox" aria-checked="false">open thing</li></ul>"#;
        let text = html_to_text(html);
        assert!(text.contains("[x] done thing"), "{text}");
        assert!(text.contains("[ ] open thing"), "{text}");
    }

    #[test]
    fn struck_through_text_is_marked_with_tildes() {
        let text = html_to_text("<p><del>old task</del></p><p><s>other</s></p>");
        assert!(text.contains("~~old task~~"), "{text}");
        assert!(text.contains("~~other~~"), "{text}");
    }

    #[test]
    fn outlook_html_document_keeps_its_text() {
        let html = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head>\
                    <body><div>Notes: Zoë agreed to résumé review</div><div>TODO: ship ✅</div></body></html>";
        let text = html_to_text(html);
        assert!(
            text.contains("Notes: Zoë agreed to résumé review"),
            "{text}"
        );
        assert!(text.contains("TODO: ship ✅"), "{text}");
    }

    #[test]
    fn descriptions_over_a_megabyte_are_cut_at_a_char_boundary() {
        let raw = "é".repeat(MAX_DESCRIPTION_BYTES); // two bytes each
        let text = description_to_text(&raw);
        assert!(text.ends_with(TRUNCATION_MARKER));
        assert!(text.len() <= MAX_DESCRIPTION_BYTES + TRUNCATION_MARKER.len());
        let short = "a".repeat(MAX_DESCRIPTION_BYTES);
        assert_eq!(bound_description(&short).len(), MAX_DESCRIPTION_BYTES);
    }

    #[test]
    fn unterminated_tags_do_not_panic() {
        for html in [
            "<br",
            "<p>text<input type=\"checkbox",
            "<",
            "a &amp; <b",
            "</",
        ] {
            let _ = description_to_text(html);
        }
    }

    #[test]
    fn deeply_nested_html_is_flattened_quickly_without_overflowing_the_stack() {
        let depth = 80_000; // stays under the 1 MB bound
        let html = format!(
            "{}[ ] deep item{}<p>after</p>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let started = std::time::Instant::now();
        let text = html_to_text(&html);
        assert!(text.contains("[ ] deep item"), "{text}");
        assert!(text.contains("after"), "{text}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let unclosed = "<b>".repeat(depth) + "bold";
        assert!(html_to_text(&unclosed).contains("bold"));
    }

    #[test]
    fn comments_and_outlook_markup_do_not_leak_into_the_text() {
        let html = "<html><!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]-->\
                    <body><p class=MsoNormal>Agenda:<o:p></o:p></p><p class=MsoNormal>- budget<o:p></o:p></p></body></html>";
        let text = html_to_text(html);
        assert_eq!(text, "Agenda:\n\n- budget");
    }

    #[test]
    fn tables_become_rows_of_text() {
        let html = "<table><tr><td>Agenda:</td></tr><tr><td>- budget</td><td>(Dana)</td></tr>\
                    <tr><td colspan=1000000>- [ ] book the room</td></tr></table>";
        let text = html_to_text(html);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            ["Agenda:", "- budget (Dana)", "- [ ] book the room"],
            "{text}"
        );
    }

    #[test]
    fn hostile_markup_never_panics() {
        // Inputs that made html2text's table layout panic before tables were flattened.
        for html in [
            "\u{fe0f}<table><th colspan=3><a href='x'><td rowspan=99999>🎉🎉<q><td colspan=1000000>&#0;<hr>",
            "🎉<i><code><div></td><table>&#0;<dl><dt>&#xFFFFFF;<th colspan=3><td colspan=1000000><td rowspan=99999>",
            "<ol start=-9223372036854775808>--><pre><ol start=99999999999999999999>",
            // The string pass and the tokenizer disagree inside <style>: the DOM pass holds.
            "<style><!-- </style><ol start=-9223372036854775808><li>x --></style>",
            "<style>x<!--y</style><ol start=-9223372036854775808><li>z<td colspan=0>",
            "日本語<br><a href='x'><dl><dt><td></table>&#0;</p><pre>\n\u{200b}\n--><table>日本語<i><sup><pre><th colspan=3></p>\n </p>日本語\n\u{fe0f}🎉<td rowspan=99999>x",
        ] {
            let _ = html_to_text(html);
        }
        const FRAGMENTS: &[&str] = &[
            "<table>",
            "</table>",
            "<tr>",
            "<td>",
            "</td>",
            "<th colspan=3>",
            "<td colspan=1000000>",
            "<td rowspan=99999>",
            "<pre>",
            "</pre>",
            "<ul>",
            "<ol start=-5>",
            "<li>",
            "</li>",
            "<br>",
            "x",
            "日本語",
            "🎉",
            "\u{fe0f}",
            " ",
            "\n",
            "<p>",
            "</p>",
            "<div>",
            "<b>",
            "<a href='x'>",
            "&nbsp;",
            "&#0;",
            "&#xFFFFFF;",
            "<input type=checkbox checked>",
            "<s>",
            "<!--",
            "-->",
            "<style>",
            "</style>",
            "<dl><dt>",
            "<dd>",
            "<hr>",
            "\u{301}",
            "<col span=9>",
            "<caption>",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for round in 0..1_500 {
            let mut html = String::new();
            for _ in 0..5 + round % 60 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                html.push_str(FRAGMENTS[(state % FRAGMENTS.len() as u64) as usize]);
            }
            let _ = html_to_text(&html);
        }
    }

    #[test]
    fn crude_fallback_keeps_lines() {
        assert_eq!(strip_tags("a<br>b &amp; c</p>d"), "a\nb & c\nd");
    }
}

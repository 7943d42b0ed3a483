//! The morning digest: one email on a day with 1:1s, holding each of that day's briefs
//! in order, for a person whose delivery is "digest".

use serde::Serialize;

use super::compose::{MAX_SUBJECT_CHARS, one_line};
use super::render::{BriefError, RenderedBrief, render_view};

/// One brief inside a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestPart {
    /// The other person's name.
    pub other_name: String,
    /// The meeting's local start time ("10:00").
    pub time: String,
    /// The brief as rendered on its own.
    pub brief: RenderedBrief,
    /// Where a reply about this 1:1 goes (`briefs+TOKEN@…`), when replies are read.
    pub reply_address: Option<String>,
}

#[derive(Serialize)]
struct PartView {
    other_name: String,
    time: String,
    text: String,
    /// The brief's HTML body, already escaped by its own template.
    html: String,
    reply_address: Option<String>,
}

#[derive(Serialize)]
struct DigestView {
    day: String,
    parts: Vec<PartView>,
}

/// The inside of `<body>…</body>` of a rendered brief (the whole text if it has none).
fn body_of(html: &str) -> &str {
    let start = html
        .find("<body")
        .and_then(|at| html[at..].find('>').map(|end| at + end + 1))
        .unwrap_or(0);
    let end = html
        .rfind("</body>")
        .filter(|end| *end >= start)
        .unwrap_or(html.len());
    &html[start..end]
}

/// The digest of `day` ("Tuesday 8 December") from its parts, in meeting order.
pub fn render_digest(day: &str, parts: &[DigestPart]) -> Result<RenderedBrief, BriefError> {
    let view = DigestView {
        day: one_line(day),
        parts: parts
            .iter()
            .map(|part| PartView {
                other_name: one_line(&part.other_name),
                time: one_line(&part.time),
                text: part.brief.text.clone(),
                html: body_of(&part.brief.html).to_string(),
                reply_address: part.reply_address.as_deref().map(one_line),
            })
            .collect(),
    };
    let (text, html) = render_view("digest", &view)?;
    let names: Vec<String> = parts
        .iter()
        .map(|p| format!("{} {}", one_line(&p.other_name), one_line(&p.time)))
        .collect();
    let mut subject = format!("Your 1:1s today: {}", names.join(", "));
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        subject = subject.chars().take(MAX_SUBJECT_CHARS - 1).collect();
        subject.push('\u{2026}');
    }
    Ok(RenderedBrief {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, time: &str) -> DigestPart {
        DigestPart {
            other_name: name.into(),
            time: time.into(),
            brief: RenderedBrief {
                subject: "1:1".into(),
                text: format!("Your 1:1 with {name}\n- an <item>\n"),
                html: format!(
                    "<html><body style=\"x\"><p>Your 1:1 with {name} &lt;item&gt;</p></body></html>"
                ),
            },
            reply_address: Some("briefs+abc@example.com".into()),
        }
    }

    #[test]
    fn a_digest_holds_each_brief_in_order_once() {
        let digest = render_digest(
            "Tuesday 8 December",
            &[part("Dana Kim", "10:00"), part("Sam Okafor", "15:00")],
        )
        .unwrap();
        assert_eq!(
            digest.subject,
            "Your 1:1s today: Dana Kim 10:00, Sam Okafor 15:00"
        );
        let dana = digest.text.find("Your 1:1 with Dana Kim").unwrap();
        let sam = digest.text.find("Your 1:1 with Sam Okafor").unwrap();
        assert!(dana < sam);
        assert_eq!(digest.html.matches("<body").count(), 1, "{}", digest.html);
        assert!(
            digest.html.contains("&lt;item&gt;"),
            "the briefs' own escaping is kept"
        );
        assert!(digest.text.contains("briefs+abc@example.com"));
    }
}

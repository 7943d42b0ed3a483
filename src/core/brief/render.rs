//! Rendering with minijinja. The templates are compiled into the binary, so an
//! installed tete needs no files besides its config.

use minijinja::Environment;

use super::compose::BriefInput;

const TEXT_TEMPLATE: &str = "brief.txt";
const HTML_TEMPLATE: &str = "brief.html";

/// A brief ready to become a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedBrief {
    /// One line without control characters, at most 120 characters.
    pub subject: String,
    /// The plain-text part: complete and readable on its own.
    pub text: String,
    /// The HTML part: tables and inline styles only, every calendar value escaped.
    pub html: String,
}

/// Why a brief could not be rendered (a bug in a template, never bad input).
#[derive(Debug, thiserror::Error)]
pub enum BriefError {
    /// minijinja rejected a template or failed while rendering it.
    #[error("cannot render the brief template {template}: {source}")]
    Template {
        /// Which template.
        template: &'static str,
        /// minijinja's error.
        source: minijinja::Error,
    },
}

/// The environment with both templates. `.html` templates auto-escape (minijinja's
/// default for that extension); the text template does not. Parsing two small
/// templates costs microseconds, so it is built per call rather than cached.
fn environment() -> Result<Environment<'static>, BriefError> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (template, source) in [
        ("macros.html", include_str!("templates/macros.html")),
        (TEXT_TEMPLATE, include_str!("templates/brief.txt")),
        (HTML_TEMPLATE, include_str!("templates/brief.html")),
        ("recap.txt", include_str!("templates/recap.txt")),
        ("recap.html", include_str!("templates/recap.html")),
        ("cadence.txt", include_str!("templates/cadence.txt")),
        ("cadence.html", include_str!("templates/cadence.html")),
        ("digest.txt", include_str!("templates/digest.txt")),
        ("digest.html", include_str!("templates/digest.html")),
    ] {
        env.add_template(template, source)
            .map_err(|source| BriefError::Template { template, source })?;
    }
    Ok(env)
}

/// Renders one recipient's brief.
pub fn render(input: &BriefInput) -> Result<RenderedBrief, BriefError> {
    let (text, html) = render_pair(TEXT_TEMPLATE, HTML_TEMPLATE, &input.view())?;
    Ok(RenderedBrief {
        subject: input.subject(),
        text,
        html,
    })
}

/// Renders the `kind.txt` and `kind.html` templates (`recap`, `cadence`) with `view`.
pub(crate) fn render_view(
    kind: &'static str,
    view: &impl serde::Serialize,
) -> Result<(String, String), BriefError> {
    match kind {
        "recap" => render_pair("recap.txt", "recap.html", view),
        "digest" => render_pair("digest.txt", "digest.html", view),
        _ => render_pair("cadence.txt", "cadence.html", view),
    }
}

/// The text and HTML parts of one message from its two templates.
fn render_pair(
    text_template: &'static str,
    html_template: &'static str,
    view: &impl serde::Serialize,
) -> Result<(String, String), BriefError> {
    let env = environment()?;
    let render_one = |template: &'static str| -> Result<String, BriefError> {
        let wrap = |source| BriefError::Template { template, source };
        let mut out = env
            .get_template(template)
            .map_err(wrap)?
            .render(view)
            .map_err(wrap)?;
        if !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(out)
    };
    Ok((render_one(text_template)?, render_one(html_template)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::brief::ItemView;
    use crate::model::{Person, SeriesId};
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn item(id: &str, text: &str, carried: Option<&str>) -> ItemView {
        ItemView {
            id: id.into(),
            text: text.into(),
            carried: carried.map(Into::into),
        }
    }

    fn fixture() -> BriefInput {
        BriefInput {
            series: SeriesId("3f9a0c21e4".into()),
            title: "Alex / Dana weekly".into(),
            start: at("2026-12-01T09:00:00Z"),
            end: at("2026-12-01T09:30:00Z"),
            location: Some("Room 4.12".into()),
            recipient: Person {
                email: "alex@example.com".into(),
                name: Some("Alex Roe".into()),
            },
            other: Person {
                email: "dana@example.com".into(),
                name: Some("Dana Kim".into()),
            },
            recipient_zone: chrono_tz::Europe::Berlin,
            items_mine: vec![item(
                "a1b2",
                "Send the Q3 numbers",
                Some("carried since 3 Nov, 4 meetings"),
            )],
            items_theirs: vec![item("c3d4", "Book the offsite room", None)],
            items_unassigned: vec![item("e5f6", "Decide on the on-call rota", None)],
            talking_points: vec!["Promotion timeline".into()],
            last_notes: vec!["Agreed to split the migration.\nDana owns phase 1.".into()],
            private_notes: vec!["Ask about the conference talk".into()],
            prompt: Some("What is motivating you lately?".into()),
            consistency: Some("You met 9 of the last 10 weeks.".into()),
            relation: None,
            opt_out_hint: "Reply with \"unsubscribe\" to stop these briefs.".into(),
            replies: false,
        }
    }

    #[test]
    fn subject_names_the_other_person_and_the_local_time() {
        let brief = render(&fixture()).unwrap();
        assert_eq!(brief.subject, "1:1 with Dana Kim \u{2014} Tue 1 Dec, 10:00");
    }

    #[test]
    fn text_brief_matches_the_snapshot() {
        let brief = render(&fixture()).unwrap();
        let expected = "\
Alex / Dana weekly
Your 1:1 with Dana Kim
Tuesday 1 December, 10:00\u{2013}10:30 (Europe/Berlin)
Where: Room 4.12

YOUR OPEN ITEMS
- Send the Q3 numbers [a1b2] (carried since 3 Nov, 4 meetings)

DANA KIM\u{2019}S OPEN ITEMS
- Book the offsite room [c3d4]

OPEN ITEMS WITHOUT AN OWNER
- Decide on the on-call rota [e5f6]

TALKING POINTS
- Promotion timeline

LAST MEETING'S NOTES
- Agreed to split the migration.
  Dana owns phase 1.

YOUR PRIVATE NOTES (only you see this)
- Ask about the conference talk

A QUESTION TO START WITH
What is motivating you lately?

You met 9 of the last 10 weeks.

-- 
Sent by tete before your 1:1. Reply with \"unsubscribe\" to stop these briefs.
";
        assert_eq!(brief.text, expected);
    }

    #[test]
    fn empty_sections_are_left_out_and_no_items_reads_as_a_clean_slate() {
        let mut input = fixture();
        input.location = None;
        input.items_mine.clear();
        input.items_theirs.clear();
        input.items_unassigned.clear();
        input.talking_points.clear();
        input.last_notes.clear();
        input.private_notes = vec![" \r\n ".into()];
        input.prompt = None;
        input.consistency = None;
        let brief = render(&input).unwrap();
        let expected = "\
Alex / Dana weekly
Your 1:1 with Dana Kim
Tuesday 1 December, 10:00\u{2013}10:30 (Europe/Berlin)

No open items \u{2014} a clean slate.

-- 
Sent by tete before your 1:1. Reply with \"unsubscribe\" to stop these briefs.
";
        assert_eq!(brief.text, expected);
        assert!(brief.html.contains("No open items \u{2014} a clean slate."));
        assert!(!brief.html.contains("Talking points"));
        assert!(!brief.html.contains("private notes"));
    }

    #[test]
    fn html_brief_keeps_the_section_order_and_mail_client_friendly_markup() {
        let html = render(&fixture()).unwrap().html;
        let order = [
            "Your open items",
            "Dana Kim\u{2019}s open items",
            "Open items without an owner",
            "Talking points",
            "Last meeting&#x27;s notes",
            "Your private notes (only you see this)",
            "A question to start with",
            "You met 9 of the last 10 weeks.",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|needle| {
                html.find(needle)
                    .unwrap_or_else(|| panic!("missing {needle}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        assert!(html.contains("max-width:600px"));
        assert!(html.contains("Agreed to split the migration.<br>Dana owns phase 1."));
        assert!(!html.contains("<style"), "inline styles only");
        assert!(!html.contains("<link"), "no external CSS or fonts");
        assert!(!html.contains("<img"), "no images");
    }

    #[test]
    fn calendar_markup_comes_out_inert_in_html() {
        let mut input = fixture();
        input.title = "<script>alert(1)</script>".into();
        input.other.name = Some("<img src=x onerror=alert(1)>".into());
        input.location = Some("\"><a href=\"https://evil\">".into());
        input.items_theirs = vec![item("x", "<b>bold</b> & co", None)];
        input.last_notes = vec!["</p><iframe src=evil>".into()];
        let brief = render(&input).unwrap();
        let html = &brief.html;
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<a href"));
        assert!(!html.contains("<iframe"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(html.contains("&lt;b&gt;bold&lt;&#x2f;b&gt; &amp; co"));
        // The text part shows the text as written: it is never interpreted.
        assert!(brief.text.starts_with("<script>alert(1)</script>\n"));
    }

    #[test]
    fn subject_is_one_bounded_line_without_control_characters() {
        let mut input = fixture();
        input.other.name = Some(format!(
            "Dana\r\nBcc: eve@evil.example\t\u{0}\u{9b}{}",
            "x".repeat(300)
        ));
        let subject = render(&input).unwrap().subject;
        assert!(subject.chars().count() <= 120, "{subject}");
        assert!(!subject.chars().any(char::is_control), "{subject:?}");
        assert!(subject.starts_with("1:1 with Dana Bcc: eve@evil.example xxx"));
        assert!(
            subject.ends_with("\u{2026} \u{2014} Tue 1 Dec, 10:00"),
            "{subject}"
        );
    }

    #[test]
    fn meeting_over_midnight_names_both_days() {
        let mut input = fixture();
        input.start = at("2026-12-01T22:30:00Z");
        input.end = at("2026-12-02T00:00:00Z");
        let text = render(&input).unwrap().text;
        assert!(
            text.contains(
                "Tuesday 1 December, 23:30 \u{2013} Wednesday 2 December, 01:00 (Europe/Berlin)"
            ),
            "{text}"
        );
    }

    #[test]
    fn person_without_a_name_is_shown_by_address() {
        let mut input = fixture();
        input.other.name = None;
        let brief = render(&input).unwrap();
        assert!(
            brief
                .subject
                .starts_with("1:1 with dana@example.com \u{2014}")
        );
    }
}

//! After the meeting: the recap one of the two people gets, and the cadence note.
//!
//! A recap holds the items closed since the brief, the items added since, every item
//! still open with its owner and age, and the notes written for this meeting (private
//! ones only to their author). It exists only when there is something to say.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::assemble::SeriesContext;
use super::compose::MAX_SUBJECT_CHARS;
use super::compose::one_line;
use super::render::{BriefError, RenderedBrief, render_view};
use crate::core::context::{ActionItem, notes::notes_for_recipient};
use crate::model::{Occurrence, Person, normalize_email};

/// One item line of a recap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecapItem {
    /// The id people type.
    pub id: String,
    /// The text.
    pub text: String,
    /// "you", the other person's name, or empty for nobody.
    pub owner: String,
    /// "open since 3 Nov" for open items.
    pub age: Option<String>,
}

/// What a recap template sees; every string already one line or split into lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecapView {
    /// The series' title.
    pub title: String,
    /// The other person's name.
    pub other_name: String,
    /// When the meeting was, in the recipient's zone.
    pub when: String,
    /// Closed since the brief.
    pub closed: Vec<RecapItem>,
    /// Added since the brief.
    pub added: Vec<RecapItem>,
    /// Everything still open.
    pub open: Vec<RecapItem>,
    /// Shared notes of the meeting, as lines per note.
    pub notes: Vec<Vec<String>>,
    /// The recipient's private notes of the meeting.
    pub private_notes: Vec<Vec<String>>,
    /// Whether a reply is read.
    pub replies: bool,
}

/// The recap `recipient` gets for `meeting`, or `None` when there is nothing to say.
/// `since` is when their brief went out (or would have); `owner` is the calendar
/// owner (the author of description notes without one).
#[allow(clippy::too_many_arguments)]
pub fn recap_view(
    title: &str,
    context: &SeriesContext,
    meeting: &Occurrence,
    recipient: &Person,
    other: &Person,
    owner: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: chrono_tz::Tz,
    replies: bool,
) -> Option<RecapView> {
    let me = recipient.key();
    let other_name = one_line(other.display_name());
    let owner_label = |item: &ActionItem| match item.owner.as_deref().map(normalize_email) {
        Some(o) if o == me => "you".to_string(),
        Some(o) if o == other.key() => other_name.clone(),
        Some(o) => o,
        None => String::new(),
    };
    let line = |item: &ActionItem, age: bool| RecapItem {
        id: item.id.0.clone(),
        text: one_line(&item.text),
        owner: owner_label(item),
        age: age.then(|| {
            format!(
                "open since {}",
                item.first_seen.with_timezone(&zone).format("%-d %b")
            )
        }),
    };
    let closed: Vec<RecapItem> = context
        .items
        .iter()
        .filter(|i| match i.state {
            crate::model::items::ItemState::Done { at, .. } => at >= since && at <= now,
            crate::model::items::ItemState::Open => false,
        })
        .map(|i| line(i, false))
        .collect();
    let added: Vec<RecapItem> = context
        .items
        .iter()
        .filter(|i| i.first_seen >= since && i.first_seen <= now && i.is_open())
        .map(|i| line(i, false))
        .collect();
    let open: Vec<RecapItem> = context
        .items
        .iter()
        .filter(|i| i.is_open())
        .map(|i| line(i, true))
        .collect();
    let visible = notes_for_recipient(&context.notes, &[meeting.start_utc], now, &me, owner);
    let split = |text: &str| -> Vec<String> {
        text.split(['\n', '\r'])
            .map(one_line)
            .filter(|l| !l.is_empty())
            .collect()
    };
    let notes: Vec<Vec<String>> = visible.shared.iter().map(|n| split(&n.text)).collect();
    let private_notes: Vec<Vec<String>> = visible.private.iter().map(|n| split(&n.text)).collect();
    if closed.is_empty() && added.is_empty() && open.is_empty() && notes.is_empty() {
        return None;
    }
    let start = meeting.start_utc.with_timezone(&zone);
    Some(RecapView {
        title: one_line(title),
        other_name,
        when: start.format("%A %-d %B, %H:%M").to_string(),
        closed,
        added,
        open,
        notes,
        private_notes,
        replies,
    })
}

/// `Recap: 1:1 with Dana Kim — Tue 3 Dec`, at most [`MAX_SUBJECT_CHARS`] characters.
fn subject(prefix: &str, other_name: &str, tail: &str) -> String {
    let room = MAX_SUBJECT_CHARS.saturating_sub(prefix.chars().count() + tail.chars().count());
    let name: String = if other_name.chars().count() > room {
        let mut short: String = other_name.chars().take(room.saturating_sub(1)).collect();
        short.push('\u{2026}');
        short
    } else {
        other_name.to_string()
    };
    format!("{prefix}{name}{tail}")
}

/// Renders a recap.
pub fn render_recap(view: &RecapView, start_day: &str) -> Result<RenderedBrief, BriefError> {
    let (text, html) = render_view("recap", view)?;
    Ok(RenderedBrief {
        subject: subject(
            "Recap: 1:1 with ",
            &view.other_name,
            &format!(" \u{2014} {start_day}"),
        ),
        text,
        html,
    })
}

/// What the cadence note's templates see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CadenceView {
    /// The series' title.
    pub title: String,
    /// The other person's name.
    pub other_name: String,
    /// The numbers, in one sentence.
    pub sentence: String,
    /// The next meeting, when one is planned.
    pub next: Option<String>,
}

/// Renders the cadence note.
pub fn render_cadence(view: &CadenceView) -> Result<RenderedBrief, BriefError> {
    let (text, html) = render_view("cadence", view)?;
    Ok(RenderedBrief {
        subject: subject(
            "Your 1:1s with ",
            &view.other_name,
            " have not been happening",
        ),
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesId;
    use crate::model::fixtures::occurrence;
    use crate::model::items::{ItemState, Note, Source};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn person(email: &str, name: &str) -> Person {
        Person {
            email: email.into(),
            name: Some(name.into()),
        }
    }

    fn context() -> SeriesContext {
        let series = SeriesId("3f9a0c21e4".into());
        let old = at("2026-11-01T09:00:00Z");
        let mut closed = ActionItem::from_cli(
            &series,
            "send the numbers",
            Some("dana@example.com".into()),
            old,
        );
        closed.state = ItemState::Done {
            at: at("2026-12-03T09:20:00Z"),
            by: Source::Reply,
        };
        let open = ActionItem::from_cli(
            &series,
            "review <the> doc",
            Some("alex@example.com".into()),
            old,
        );
        let added = ActionItem::from_cli(
            &series,
            "book the offsite",
            None,
            at("2026-12-03T09:10:00Z"),
        );
        let shared = Note::from_cli(
            &series,
            "Dana wants the API work",
            "alex@example.com",
            false,
            at("2026-12-03T09:25:00Z"),
        );
        let private = Note::from_cli(
            &series,
            "ask about the budget",
            "alex@example.com",
            true,
            at("2026-12-03T09:26:00Z"),
        );
        SeriesContext {
            items: vec![closed, open, added],
            notes: vec![shared, private],
            ..SeriesContext::default()
        }
    }

    #[test]
    fn a_recap_has_what_changed_what_is_open_and_only_the_readers_private_notes() {
        let dana = person("dana@example.com", "Dana Kim");
        let alex = person("alex@example.com", "Alex Rivera");
        let meeting = occurrence("u", at("2026-12-03T09:00:00Z"));
        let recap = |who: &Person, other: &Person| {
            recap_view(
                "Alex / Dana",
                &context(),
                &meeting,
                who,
                other,
                "alex@example.com",
                at("2026-12-02T15:00:00Z"),
                at("2026-12-03T11:30:00Z"),
                chrono_tz::UTC,
                false,
            )
            .unwrap()
        };
        let for_dana = recap(&dana, &alex);
        assert_eq!(for_dana.closed.len(), 1);
        assert_eq!(for_dana.closed[0].owner, "you");
        assert_eq!(for_dana.added[0].text, "book the offsite");
        assert_eq!(for_dana.open.len(), 2);
        assert_eq!(
            for_dana.notes,
            vec![vec!["Dana wants the API work".to_string()]]
        );
        assert!(
            for_dana.private_notes.is_empty(),
            "Alex's private note reached Dana"
        );
        let for_alex = recap(&alex, &dana);
        assert_eq!(for_alex.private_notes.len(), 1);
        let rendered = render_recap(&for_alex, "Thu 3 Dec").unwrap();
        assert_eq!(
            rendered.subject,
            "Recap: 1:1 with Dana Kim \u{2014} Thu 3 Dec"
        );
        assert!(
            rendered.html.contains("review &lt;the&gt; doc"),
            "{}",
            rendered.html
        );
        assert!(rendered.text.contains("review <the> doc"));
        assert!(
            rendered
                .html
                .contains("<p style=\"margin:0 0 8px 0;\">Dana wants the API work</p>"),
            "{}",
            rendered.html
        );
        assert!(
            rendered.text.contains("- Dana wants the API work"),
            "{}",
            rendered.text
        );
    }

    #[test]
    fn nothing_to_say_is_no_recap() {
        let dana = person("dana@example.com", "Dana Kim");
        let alex = person("alex@example.com", "Alex Rivera");
        let meeting = occurrence("u", at("2026-12-03T09:00:00Z"));
        let none = recap_view(
            "Alex / Dana",
            &SeriesContext::default(),
            &meeting,
            &dana,
            &alex,
            "alex@example.com",
            at("2026-12-02T15:00:00Z"),
            at("2026-12-03T11:30:00Z"),
            chrono_tz::UTC,
            false,
        );
        assert_eq!(none, None);
    }
}

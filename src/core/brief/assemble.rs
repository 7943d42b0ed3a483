//! From a due brief and its series' loaded context to the view model one recipient
//! sees: items split by owner with how long they were carried, the talking points of
//! this meeting, the notes they may read, the prompt and the consistency line.
//!
//! Pure: the pass loads the [`SeriesContext`] from the store once per series and hands
//! it here for each recipient.

use chrono::{DateTime, Utc};

use super::compose::{BriefInput, ItemView};
use crate::config::Config;
use crate::core::analyze::SeriesView;
use crate::core::calendar::{self, Limits, Window};
use crate::core::context::{
    ActionItem, Meeting, Note, carry_summary, choose_prompt, consistency_of, description_to_text,
    notes::notes_for_recipient, open_items_by_owner, parse_description, talking_points_for,
};
use crate::core::plan::{BriefPolicy, DueBrief, original_start};
use crate::model::items::TalkingPoint;
use crate::model::{EventTime, Occurrence, Zone};

/// How many past meetings the consistency line looks at.
const CONSISTENCY_WINDOW: usize = 10;

/// What the store holds about the current pair of one series.
#[derive(Clone, Debug, Default)]
pub struct SeriesContext {
    /// Every action item, open and done.
    pub items: Vec<ActionItem>,
    /// Every note, private ones included (filtered per recipient here).
    pub notes: Vec<Note>,
    /// The meetings history recorded.
    pub meetings: Vec<Meeting>,
    /// Talking points raised by reply, for any meeting.
    pub topics: Vec<TalkingPoint>,
}

/// The view model of `due` with its meeting filled in and every context section empty.
pub fn base_input(due: &DueBrief, policy: &BriefPolicy, opt_out_hint: &str) -> BriefInput {
    BriefInput {
        series: due.key.series.clone(),
        title: due.occurrence.summary.clone(),
        start: due.occurrence.start_utc,
        end: due.occurrence.end_utc,
        location: due.occurrence.location.clone(),
        recipient: due.recipient.clone(),
        other: due.other.clone(),
        recipient_zone: policy.zone_of(&due.recipient.email),
        items_mine: Vec::new(),
        items_theirs: Vec::new(),
        items_unassigned: Vec::new(),
        talking_points: Vec::new(),
        last_notes: Vec::new(),
        private_notes: Vec::new(),
        prompt: None,
        consistency: None,
        opt_out_hint: opt_out_hint.to_string(),
        replies: false,
    }
}

/// Why the recipient gets this brief and how to stop it.
fn opt_out_hint(view: &SeriesView, due: &DueBrief, owner: &str) -> String {
    let owner_name = view
        .verdict
        .participants
        .iter()
        .find(|p| p.key() == owner)
        .map(|p| match &p.name {
            Some(name) if !name.trim().is_empty() => format!("{name} ({})", p.email),
            _ => p.email.clone(),
        })
        .unwrap_or_else(|| owner.to_string());
    if due.recipient.key() == owner {
        "You get this because tete prepares the 1:1s on your calendar. To stop briefs for \
         this series, add its id to detection.opt_out_series."
            .to_string()
    } else {
        format!(
            "You get this because you meet {} regularly and they prepare their 1:1s with \
             tete. To stop these briefs, ask {owner_name} to add your address to mail.opt_out.",
            due.other.display_name()
        )
    }
}

/// Fills the view model of `due` with `context` as its recipient may see it.
/// `meeting_index` is the meeting's position in its series ([`meeting_index`]).
pub fn assemble(
    config: &Config,
    view: &SeriesView,
    context: &SeriesContext,
    due: &DueBrief,
    policy: &BriefPolicy,
    meeting_index: u64,
    now: DateTime<Utc>,
) -> BriefInput {
    let owner = view.verdict.owners.first().cloned().unwrap_or_default();
    let mut input = base_input(due, policy, &opt_out_hint(view, due, &owner));
    // The recipient's own zone when the config gives one, else the meeting's zone
    // (the organiser's wall clock), else the config default.
    if !policy.zones.contains_key(&due.recipient.key())
        && let EventTime::DateTime {
            zone: Zone::Iana(tz),
            ..
        } = &due.occurrence.start
    {
        input.recipient_zone = *tz;
    }
    input.replies = config.inbox.is_some();
    let zone = input.recipient_zone;
    let meeting = &due.occurrence;
    let held: Vec<DateTime<Utc>> = view
        .held_before(meeting.start_utc)
        .iter()
        .map(|o| o.start_utc)
        .collect();

    let recipient = due.recipient.key();
    let groups = open_items_by_owner(&context.items, &recipient, &due.other.key());
    let shown = |items: Vec<&ActionItem>| -> Vec<ItemView> {
        items
            .into_iter()
            .map(|item| ItemView {
                id: item.id.0.clone(),
                text: item.text.clone(),
                carried: carry_summary(item, &held, meeting.start_utc, zone),
            })
            .collect()
    };
    input.items_mine = shown(groups.mine);
    input.items_theirs = shown(groups.theirs);
    input.items_unassigned = shown(groups.unassigned);

    let parsed = parse_description(
        &description_to_text(&meeting.description),
        &view.verdict.participants,
    );
    input.talking_points = talking_points_for(meeting.start_utc, &[(meeting.start_utc, parsed)]);
    let slot = original_start(meeting);
    for topic in context.topics.iter().filter(|t| t.for_meeting == slot) {
        if !input.talking_points.contains(&topic.text) {
            input.talking_points.push(topic.text.clone());
        }
    }

    // The one way briefs get notes: shared ones for both, private ones only for
    // their author.
    let visible = notes_for_recipient(
        &context.notes,
        &held,
        now.min(meeting.start_utc),
        &recipient,
        &owner,
    );
    for note in visible.shared {
        if !input.last_notes.contains(&note.text) {
            input.last_notes.push(note.text.clone());
        }
    }
    input.private_notes = visible.private.iter().map(|n| n.text.clone()).collect();

    input.prompt = choose_prompt(&config.brief.prompts, view.id(), meeting_index)
        .and_then(|i| config.brief.prompts.get(i).cloned());

    let consistency = consistency_of(&context.meetings, meeting.start_utc, CONSISTENCY_WINDOW);
    input.consistency = Some(consistency.sentence_in(zone));
    input
}

/// The meeting's position in its series (0 for the first), so the prompt rotation
/// moves one step per meeting whatever the cadence. Counting is bounded by the
/// expansion limits; without a known start, the position in the window is used.
pub fn meeting_index(
    config: &Config,
    view: &SeriesView,
    meeting: &Occurrence,
    limits: &Limits,
) -> u64 {
    let position_in_window = view
        .occurrences
        .iter()
        .filter(|o| o.start_utc < meeting.start_utc)
        .count();
    let Some(first) = view.first_start else {
        return position_in_window as u64;
    };
    let window = Window::instants(first, original_start(meeting));
    let before = calendar::expand(&view.events, &window, config.timezone, limits);
    before.occurrences.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::BriefKey;
    use crate::model::{Person, SeriesId};

    #[test]
    fn the_base_input_names_the_meeting_both_people_and_the_recipients_zone() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let person = |email: &str| Person {
            email: email.into(),
            name: None,
        };
        let occurrence = Occurrence {
            recurrence_id: None,
            summary: "Dana / Alex".into(),
            location: Some("Room 1".into()),
            ..crate::model::fixtures::occurrence("u", at("2026-12-03T09:00:00Z"))
        };
        let due = DueBrief {
            key: BriefKey {
                series: SeriesId("3f9a0c21e4".into()),
                occurrence: "20261203T090000Z".into(),
                recipient: "dana@example.com".into(),
            },
            recipient: person("dana@example.com"),
            other: person("alex@example.com"),
            occurrence,
            due_at: at("2026-12-02T15:00:00Z"),
        };
        let policy = BriefPolicy {
            lead_time: chrono::TimeDelta::hours(18),
            send_at: None,
            default_zone: chrono_tz::UTC,
            zones: [("dana@example.com".to_string(), chrono_tz::Europe::Berlin)].into(),
            allowed_domains: Vec::new(),
            opt_out: Vec::new(),
            digests: Default::default(),
            default_digest: None,
        };
        let input = base_input(&due, &policy, "Reply to stop.");
        assert_eq!(input.recipient.email, "dana@example.com");
        assert_eq!(input.other.email, "alex@example.com");
        assert_eq!(input.recipient_zone, chrono_tz::Europe::Berlin);
        assert_eq!(input.location.as_deref(), Some("Room 1"));
        assert!(input.items_mine.is_empty() && input.prompt.is_none());
    }
}

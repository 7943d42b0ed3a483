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
use crate::core::orgchart::Relation;
use crate::core::plan::{BriefPolicy, DueBrief, original_start};
use crate::model::items::TalkingPoint;
use crate::model::{EventTime, Occurrence, Person, Zone};

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
        recipient: policy.named(&due.recipient),
        other: policy.named(&due.other),
        recipient_zone: policy.zone_of(&due.recipient.email),
        items_mine: Vec::new(),
        items_theirs: Vec::new(),
        items_unassigned: Vec::new(),
        talking_points: Vec::new(),
        last_notes: Vec::new(),
        private_notes: Vec::new(),
        prompt: None,
        consistency: None,
        relation: relation_sentence(policy, &due.recipient, &due.other),
        opt_out_hint: opt_out_hint.to_string(),
        replies: false,
    }
}

/// How `other` stands to `recipient` in the org chart, in one sentence for the
/// recipient; `None` when the directory does not relate them.
pub fn relation_sentence(
    policy: &BriefPolicy,
    recipient: &Person,
    other: &Person,
) -> Option<String> {
    let me = recipient.key();
    let them = policy.named(other);
    let them = them.display_name();
    let name_of = |address: &str| {
        policy
            .names
            .get(address)
            .cloned()
            .unwrap_or_else(|| address.to_string())
    };
    let sentence = match policy.chart.relation(&me, &other.key()) {
        Relation::ManagerReport { manager, .. } if manager == me => {
            format!("{them} reports to you.")
        }
        Relation::ManagerReport { .. } => format!("{them} is your manager."),
        Relation::SkipLevel { upper, .. } if upper == me => {
            format!("Skip-level: {them} reports to one of your reports.")
        }
        Relation::SkipLevel { .. } => format!("Skip-level: {them} is your manager's manager."),
        Relation::Peers { manager } => {
            format!("Peers: you both report to {}.", name_of(&manager))
        }
        Relation::Other => return None,
    };
    Some(sentence)
}

/// The conversation starters for a pair: by their relation in the org chart when a
/// directory gives one, else `brief.prompts`.
fn prompts_for<'c>(
    config: &'c Config,
    policy: &BriefPolicy,
    a: &Person,
    b: &Person,
) -> &'c [String] {
    let by_relation = &config.brief.relation_prompts;
    match policy.chart.relation(&a.key(), &b.key()) {
        Relation::ManagerReport { .. } => &by_relation.manager_report,
        Relation::SkipLevel { .. } => &by_relation.skip_level,
        Relation::Peers { .. } => &by_relation.peer,
        Relation::Other => &config.brief.prompts,
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

    let prompts = prompts_for(config, policy, &due.recipient, &due.other);
    input.prompt =
        choose_prompt(prompts, view.id(), meeting_index).and_then(|i| prompts.get(i).cloned());

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
            chart: Default::default(),
            names: Default::default(),
        };
        let input = base_input(&due, &policy, "Reply to stop.");
        assert_eq!(input.recipient.email, "dana@example.com");
        assert_eq!(input.other.email, "alex@example.com");
        assert_eq!(input.recipient_zone, chrono_tz::Europe::Berlin);
        assert_eq!(input.location.as_deref(), Some("Room 1"));
        assert!(input.items_mine.is_empty() && input.prompt.is_none());
    }

    #[test]
    fn the_org_chart_names_the_relation_for_each_side_and_picks_its_prompts() {
        let person = |email: &str| Person {
            email: email.into(),
            name: None,
        };
        let mut policy = BriefPolicy::from_config(&crate::config::parse(
            "[mail]\nfrom = \"b@x.test\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
             [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"a.ics\"\nowner = \"a@x.test\"\n",
            std::path::Path::new("/etc/tete/tete.toml"),
        )
        .unwrap());
        policy.chart = crate::core::orgchart::OrgChart::new([
            ("dana@x.test", "alex@x.test"),
            ("sam@x.test", "alex@x.test"),
            ("alex@x.test", "kim@x.test"),
        ]);
        policy.names = [("alex@x.test".to_string(), "Alex Chen".to_string())].into();
        let (dana, alex, sam, kim) = (
            person("dana@x.test"),
            person("alex@x.test"),
            person("sam@x.test"),
            person("kim@x.test"),
        );
        let said = |a: &Person, b: &Person| relation_sentence(&policy, a, b).unwrap_or_default();
        assert_eq!(said(&dana, &alex), "Alex Chen is your manager.");
        assert_eq!(said(&alex, &dana), "dana@x.test reports to you.");
        assert_eq!(
            said(&kim, &dana),
            "Skip-level: dana@x.test reports to one of your reports."
        );
        assert_eq!(
            said(&dana, &kim),
            "Skip-level: kim@x.test is your manager's manager."
        );
        assert_eq!(said(&dana, &sam), "Peers: you both report to Alex Chen.");
        assert_eq!(relation_sentence(&policy, &kim, &person("x@y.test")), None);

        let mut config = crate::config::parse(
            "[mail]\nfrom = \"b@x.test\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
             [[accounts]]\nname = \"a\"\nprovider = \"ics\"\nurl = \"a.ics\"\nowner = \"a@x.test\"\n",
            std::path::Path::new("/etc/tete/tete.toml"),
        )
        .unwrap();
        config.brief.relation_prompts.skip_level = vec!["skip?".into()];
        config.brief.prompts = vec!["plain?".into()];
        assert_eq!(prompts_for(&config, &policy, &kim, &dana), ["skip?"]);
        assert_eq!(prompts_for(&config, &policy, &dana, &kim), ["skip?"]);
        assert_eq!(
            prompts_for(&config, &policy, &kim, &person("x@y.test")),
            ["plain?"]
        );
        assert_eq!(
            prompts_for(&config, &policy, &dana, &alex),
            config.brief.relation_prompts.manager_report.as_slice()
        );
    }
}

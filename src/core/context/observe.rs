//! From a series' occurrences to what their descriptions say, ready for
//! [`crate::core::context::harvest`], [`crate::core::context::description_notes`] and
//! [`crate::core::context::talking_points_for`].

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::carry::ActionItem;
use super::items::{ParsedDescription, parse_description};
use super::text::description_to_text;
use crate::model::normalize_email;
use crate::model::{Occurrence, Person};

/// Parses the description of every occurrence, keyed by the occurrence's start.
///
/// Calendars copy the series description into every generated occurrence, so identical
/// descriptions are parsed once. Cancelled occurrences are included: a box ticked in
/// the description of a cancelled meeting is still ticked.
pub fn observe_descriptions<'a>(
    occurrences: impl IntoIterator<Item = &'a Occurrence>,
    participants: &[Person],
) -> Vec<(DateTime<Utc>, ParsedDescription)> {
    let mut parsed_by_text: HashMap<&str, ParsedDescription> = HashMap::new();
    let mut observed = Vec::new();
    for occurrence in occurrences {
        let parsed = parsed_by_text
            .entry(&*occurrence.description)
            .or_insert_with(|| {
                parse_description(&description_to_text(&occurrence.description), participants)
            });
        observed.push((occurrence.start_utc, parsed.clone()));
    }
    observed.sort_by_key(|(start, _)| *start);
    observed
}

/// Open items split by owner as one recipient's brief shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerGroups<'a> {
    /// Owned by the recipient.
    pub mine: Vec<&'a ActionItem>,
    /// Owned by someone else (the other person).
    pub theirs: Vec<&'a ActionItem>,
    /// Owned by nobody.
    pub unassigned: Vec<&'a ActionItem>,
}

/// Splits the open items of a series by owner, from `recipient`'s point of view
/// (`other` is the other person of the 1:1), keeping their order. An item whose owner
/// is neither of the two shows as unassigned rather than as the other person's.
pub fn open_items_by_owner<'a>(
    items: &'a [ActionItem],
    recipient: &str,
    other: &str,
) -> OwnerGroups<'a> {
    let recipient = normalize_email(recipient);
    let other = normalize_email(other);
    let mut groups = OwnerGroups::default();
    for item in items.iter().filter(|item| item.is_open()) {
        match item.owner.as_deref().map(normalize_email) {
            Some(owner) if owner == recipient => groups.mine.push(item),
            Some(owner) if owner == other => groups.theirs.push(item),
            _ => groups.unassigned.push(item),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::context::carry::{ItemState, Source, harvest};
    use crate::model::SeriesId;
    use chrono::TimeZone;

    fn occurrence(day: u32, description: &str) -> Occurrence {
        let start = Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap();
        Occurrence {
            summary: "1:1".into(),
            description: description.into(),
            ..crate::model::fixtures::occurrence("s@example.com", start)
        }
    }

    fn people() -> Vec<Person> {
        vec![
            Person {
                email: "dana@example.com".into(),
                name: Some("Dana".into()),
            },
            Person {
                email: "zoe@example.com".into(),
                name: Some("Zoë".into()),
            },
        ]
    }

    #[test]
    fn descriptions_are_observed_in_chronological_order_html_included() {
        let occurrences = [
            occurrence(10, "<ul><li>[x] Dana: send the doc</li></ul>"),
            occurrence(3, "- [ ] Dana: send the doc\n- [ ] Zoë: book the room"),
        ];
        let observed = observe_descriptions(&occurrences, &people());
        assert_eq!(observed[0].0, occurrences[1].start_utc);
        let series = SeriesId("3f9a0c21e4".into());
        let now = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap();
        let items = harvest(&series, &[], &observed, now);
        assert_eq!(items.len(), 2);
        let doc = items.iter().find(|i| i.text == "send the doc").unwrap();
        assert_eq!(
            doc.state,
            ItemState::Done {
                at: occurrences[0].start_utc,
                by: Source::Description
            }
        );
    }

    #[test]
    fn open_items_are_grouped_from_the_recipients_point_of_view() {
        let series = SeriesId("3f9a0c21e4".into());
        let now = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap();
        let observed = observe_descriptions(
            &[occurrence(
                3,
                "- [ ] Dana: a\n- [ ] Zoe: b\n- [ ] c\n- [x] Dana: d",
            )],
            &people(),
        );
        let items = harvest(&series, &[], &observed, now);
        let groups = open_items_by_owner(&items, "ZOE@example.com", "dana@example.com");
        let texts = |list: &[&ActionItem]| list.iter().map(|i| i.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&groups.mine), ["b"]);
        assert_eq!(texts(&groups.theirs), ["a"]);
        assert_eq!(texts(&groups.unassigned), ["c"]);

        // An owner who is neither of the two (an older pair's) is nobody's here.
        let mut stranger = items.clone();
        for item in stranger.iter_mut().filter(|i| i.text == "a") {
            item.owner = Some("eve@example.com".into());
        }
        let groups = open_items_by_owner(&stranger, "zoe@example.com", "dana@example.com");
        assert!(texts(&groups.theirs).is_empty());
        let mut unassigned = texts(&groups.unassigned);
        unassigned.sort();
        assert_eq!(unassigned, ["a", "c"]);
    }
}

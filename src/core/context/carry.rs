//! Action items with a stable identity, merged across occurrences and carried over
//! until someone marks them done.
//!
//! # Rules
//!
//! * **Identity.** An item's id is derived from its series and its normalized text
//!   (lower-case, collapsed whitespace, trailing punctuation trimmed), so the same line
//!   seen in another occurrence, or typed again, is the same item.
//! * **Disappearing is not done.** A line that vanishes from a later description stays
//!   open: descriptions get rewritten, trimmed and copied, and only an explicit "done"
//!   closes an item.
//! * **Descriptions close, never reopen.** A checked line (`[x]`, `✅`, `DONE:`,
//!   `~~x~~`) closes the item. An unchecked line never reopens a done item: calendars
//!   copy the series description into every later occurrence, so the unchecked copy in
//!   next week's occurrence is usually *older* text than the checkbox someone ticked in
//!   last week's occurrence. Only `tete items reopen` reopens.
//! * **The CLI wins over older descriptions.** After a CLI `done`/`reopen` at time `c`,
//!   a checked line only closes the item again if it sits in an occurrence that started
//!   after `c` and has started by now: future occurrences merely repeat the series
//!   description the person just overruled, while a meeting held since is new evidence.
//! * **Owner.** The latest occurrence that names an owner sets it; a line without an
//!   owner never clears one.
//! * **Carried since** is under-claimed rather than over-claimed: see [`harvest`] for
//!   how copied series descriptions are kept from dating a line weeks back.

use chrono::{DateTime, Datelike, Utc};
use std::collections::HashMap;

use super::items::ParsedDescription;
use crate::model::SeriesId;
pub use crate::model::items::{
    ActionItem, ItemId, ItemOrigin, ItemState, Source, normalize_item_text,
};

impl ActionItem {
    /// Applies one observation from a description of the occurrence at `occurrence`.
    fn observe(
        &mut self,
        occurrence: DateTime<Utc>,
        done: bool,
        owner: Option<&str>,
        text: &str,
        now: DateTime<Utc>,
    ) {
        self.text = text.to_string();
        self.last_seen = now;
        if let Some(owner) = owner {
            self.owner = Some(owner.to_string());
        }
        if done && self.is_open() {
            let after_cli = match self.cli_changed_at {
                None => true,
                Some(changed) => occurrence > changed && occurrence <= now,
            };
            if after_cli {
                self.state = ItemState::Done {
                    at: occurrence.min(now),
                    by: Source::Description,
                };
            }
        }
    }
}

/// Merges what the descriptions of a series' occurrences say into its known items.
///
/// `observed` holds (occurrence start, parsed description) pairs in any order; they are
/// applied in chronological order. Items in `existing` that no description mentions are
/// kept unchanged. The result holds every item of the series, oldest first.
///
/// A new item's `first_seen` is the first occurrence it appears in, with two guards
/// against over-claiming how long it has been carried (calendars copy an edited series
/// description into every occurrence, past ones included):
/// * when tete already watched the series, it is never earlier than the last harvest
///   that saw any of its items: a line tete never saw before was written since;
/// * on the first harvest of a series, a line that is already in the earliest observed
///   occurrence could have been written at any time; it counts from the latest
///   occurrence that has started, which claims at most one meeting.
pub fn harvest(
    series: &SeriesId,
    existing: &[ActionItem],
    observed: &[(DateTime<Utc>, ParsedDescription)],
    now: DateTime<Utc>,
) -> Vec<ActionItem> {
    let known_since = existing.iter().map(|item| item.last_seen).max();
    let mut items: Vec<ActionItem> = existing.to_vec();
    let mut index: HashMap<ItemId, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.clone(), i))
        .collect();
    let mut order: Vec<&(DateTime<Utc>, ParsedDescription)> = observed.iter().collect();
    order.sort_by_key(|(start, _)| *start);
    let earliest = order.first().map(|(start, _)| *start);
    // New items seen since the earliest observation, with the latest start (up to now)
    // they were seen in, for the first-harvest guard.
    let mut from_the_start: HashMap<ItemId, DateTime<Utc>> = HashMap::new();
    for (start, parsed) in order {
        for line in &parsed.items {
            let id = ItemId::new(series, &line.text);
            let position = *index.entry(id.clone()).or_insert_with(|| {
                let first_seen = match known_since {
                    Some(known) => (*start).max(known).min(now),
                    None => (*start).min(now),
                };
                if known_since.is_none() && Some(*start) == earliest {
                    from_the_start.insert(id.clone(), first_seen);
                }
                items.push(ActionItem {
                    id: id.clone(),
                    series: series.clone(),
                    text: line.text.clone(),
                    owner: None,
                    state: ItemState::Open,
                    origin: ItemOrigin::Description {
                        occurrence_start: *start,
                    },
                    first_seen,
                    last_seen: now,
                    cli_changed_at: None,
                });
                items.len() - 1
            });
            if let Some(latest) = from_the_start.get_mut(&id)
                && *start <= now
            {
                *latest = (*latest).max(*start);
            }
            items[position].observe(*start, line.done, line.owner.as_deref(), &line.text, now);
        }
    }
    for item in &mut items {
        if let Some(latest) = from_the_start.get(&item.id) {
            item.first_seen = *latest;
        }
    }
    items.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.id.cmp(&b.id)));
    items
}

/// How many of the meetings at `occurrence_starts` (held occurrences of the series)
/// the item has been open through before `before` (usually the next meeting's start):
/// those at or after its `first_seen`, and before it was done.
pub fn carried_meetings(
    item: &ActionItem,
    occurrence_starts: &[DateTime<Utc>],
    before: DateTime<Utc>,
) -> usize {
    let until = match item.state {
        ItemState::Open => before,
        ItemState::Done { at, .. } => at.min(before),
    };
    occurrence_starts
        .iter()
        .filter(|start| **start >= item.first_seen && **start < until)
        .count()
}

/// "carried since 3 Nov, 4 meetings" for an open item that was already open at earlier
/// meetings; `None` for items new this meeting and for done items. Dates are shown in
/// `zone`, with the year only when it differs from the year of `before`.
pub fn carry_summary(
    item: &ActionItem,
    occurrence_starts: &[DateTime<Utc>],
    before: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> Option<String> {
    if !item.is_open() {
        return None;
    }
    let meetings = carried_meetings(item, occurrence_starts, before);
    if meetings == 0 {
        return None;
    }
    let since = item.first_seen.with_timezone(&zone);
    let date = if since.year() == before.with_timezone(&zone).year() {
        since.format("%-d %b").to_string()
    } else {
        since.format("%-d %b %Y").to_string()
    };
    let plural = if meetings == 1 { "" } else { "s" };
    Some(format!("carried since {date}, {meetings} meeting{plural}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::context::items::ParsedItem;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 10, 0, 0).unwrap()
    }

    fn series() -> SeriesId {
        SeriesId("3f9a0c21e4".into())
    }

    fn desc(lines: &[(&str, bool)]) -> ParsedDescription {
        ParsedDescription {
            items: lines
                .iter()
                .enumerate()
                .map(|(i, (text, done))| ParsedItem {
                    text: text.to_string(),
                    done: *done,
                    owner: None,
                    line: i + 1,
                })
                .collect(),
            ..ParsedDescription::default()
        }
    }

    #[test]
    fn same_text_in_another_occurrence_is_the_same_item() {
        let items = harvest(
            &series(),
            &[],
            &[
                (day(3), desc(&[("Send the doc.", false)])),
                (day(10), desc(&[("send  the doc", false)])),
            ],
            day(11),
        );
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id.0.len(), 8);
        assert_eq!(items[0].text, "send  the doc");
    }

    #[test]
    fn item_ids_depend_on_the_series() {
        let other = SeriesId("0000000000".into());
        assert_ne!(ItemId::new(&series(), "x"), ItemId::new(&other, "x"));
        assert_eq!(ItemId::new(&series(), "X!"), ItemId::new(&series(), " x "));
    }

    #[test]
    fn item_that_disappears_from_the_description_stays_open() {
        let items = harvest(
            &series(),
            &[],
            &[
                (day(3), desc(&[("send the doc", false)])),
                (day(10), desc(&[])),
            ],
            day(11),
        );
        assert!(items[0].is_open());
    }

    #[test]
    fn done_in_a_later_occurrence_closes_the_item() {
        let items = harvest(
            &series(),
            &[],
            &[
                (day(10), desc(&[("send the doc", true)])),
                (day(3), desc(&[("send the doc", false)])),
            ],
            day(11),
        );
        assert_eq!(
            items[0].state,
            ItemState::Done {
                at: day(10),
                by: Source::Description
            }
        );
    }

    #[test]
    fn a_line_that_appears_mid_history_counts_from_its_first_occurrence() {
        let items = harvest(
            &series(),
            &[],
            &[
                (day(3), desc(&[])),
                (day(10), desc(&[("send the doc", false)])),
                (day(17), desc(&[("send the doc", false)])),
            ],
            day(18),
        );
        assert_eq!(items[0].first_seen, day(10));
    }

    #[test]
    fn on_a_first_harvest_a_line_present_from_the_start_claims_one_meeting_at_most() {
        // The calendar copied the series description into every occurrence: nobody
        // knows when the line was written, so it is not said to be carried for weeks.
        let seen = [
            (day(3), desc(&[("send the doc", false)])),
            (day(10), desc(&[("send the doc", false)])),
            (day(24), desc(&[("send the doc", false)])),
        ];
        let items = harvest(&series(), &[], &seen, day(18));
        assert_eq!(items[0].first_seen, day(10));
        let starts = [day(3), day(10)];
        assert_eq!(carried_meetings(&items[0], &starts, day(24)), 1);
    }

    #[test]
    fn an_unchecked_copy_in_a_later_occurrence_does_not_reopen() {
        let items = harvest(
            &series(),
            &[],
            &[
                (day(3), desc(&[("send the doc", true)])),
                (day(17), desc(&[("send the doc", false)])),
            ],
            day(11),
        );
        assert!(!items[0].is_open());
    }

    #[test]
    fn done_in_a_future_occurrence_is_dated_now() {
        let items = harvest(
            &series(),
            &[],
            &[(day(17), desc(&[("send the doc", true)]))],
            day(11),
        );
        assert!(matches!(items[0].state, ItemState::Done { at, .. } if at == day(11)));
        assert_eq!(items[0].first_seen, day(11));
    }

    #[test]
    fn a_cli_reopen_beats_older_and_future_checkboxes() {
        let mut item = harvest(
            &series(),
            &[],
            &[(day(3), desc(&[("send the doc", true)]))],
            day(4),
        )
        .remove(0);
        item.set_state_from_cli(ItemState::Open, day(5));
        let seen = [
            (day(3), desc(&[("send the doc", true)])),
            (day(17), desc(&[("send the doc", true)])),
        ];
        let items = harvest(&series(), &[item], &seen, day(6));
        assert!(items[0].is_open());
        // A meeting held after the reopen that checks it again closes it.
        let later = [(day(10), desc(&[("send the doc", true)]))];
        let items = harvest(&series(), &items, &later, day(11));
        assert!(!items[0].is_open());
    }

    #[test]
    fn a_cli_done_is_not_undone_by_an_unchecked_line() {
        let mut item = ActionItem::from_cli(&series(), "send the doc", None, day(1));
        item.set_state_from_cli(
            ItemState::Done {
                at: day(2),
                by: Source::Cli,
            },
            day(2),
        );
        let items = harvest(
            &series(),
            &[item],
            &[(day(3), desc(&[("send the doc", false)]))],
            day(4),
        );
        assert!(!items[0].is_open());
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn a_later_line_naming_an_owner_updates_it() {
        let mut first = desc(&[("send the doc", false)]);
        first.items[0].owner = Some("dana@example.com".into());
        let mut second = desc(&[("send the doc", false)]);
        second.items[0].owner = Some("zoe@example.com".into());
        let third = desc(&[("send the doc", false)]);
        let items = harvest(
            &series(),
            &[],
            &[(day(3), first), (day(10), second), (day(17), third)],
            day(11),
        );
        assert_eq!(items[0].owner.as_deref(), Some("zoe@example.com"));
    }

    #[test]
    fn a_new_line_on_a_watched_series_is_new_even_if_copied_into_old_occurrences() {
        let known = harvest(&series(), &[], &[(day(3), desc(&[("old", false)]))], day(9));
        let items = harvest(
            &series(),
            &known,
            &[
                (day(3), desc(&[("old", false), ("new", false)])),
                (day(10), desc(&[("old", false), ("new", false)])),
            ],
            day(12),
        );
        let new = items.iter().find(|i| i.text == "new").unwrap();
        assert_eq!(new.first_seen, day(9));
    }

    #[test]
    fn carry_summary_counts_meetings_since_first_seen() {
        let items = harvest(
            &series(),
            &[],
            &[(day(3), desc(&[("send the doc", false)]))],
            day(4),
        );
        let starts = [day(3), day(10), day(17), day(24)];
        let next = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert_eq!(carried_meetings(&items[0], &starts, next), 4);
        assert_eq!(
            carry_summary(&items[0], &starts, next, chrono_tz::Europe::Berlin).as_deref(),
            Some("carried since 3 Nov, 4 meetings")
        );
    }

    #[test]
    fn items_new_this_meeting_and_done_items_have_no_carry_summary() {
        let fresh = ActionItem::from_cli(&series(), "x", None, day(20));
        let starts = [day(3), day(10), day(17)];
        assert_eq!(
            carry_summary(&fresh, &starts, day(24), chrono_tz::UTC),
            None
        );
        let mut done = ActionItem::from_cli(&series(), "y", None, day(1));
        done.set_state_from_cli(
            ItemState::Done {
                at: day(12),
                by: Source::Cli,
            },
            day(12),
        );
        assert_eq!(carried_meetings(&done, &starts, day(24)), 2);
        assert_eq!(carry_summary(&done, &starts, day(24), chrono_tz::UTC), None);
    }

    #[test]
    fn carry_summary_names_the_year_when_it_differs() {
        let item = ActionItem::from_cli(
            &series(),
            "x",
            None,
            Utc.with_ymd_and_hms(2025, 12, 20, 9, 0, 0).unwrap(),
        );
        let starts = [Utc.with_ymd_and_hms(2025, 12, 22, 9, 0, 0).unwrap()];
        let next = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        assert_eq!(
            carry_summary(&item, &starts, next, chrono_tz::UTC).as_deref(),
            Some("carried since 20 Dec 2025, 1 meeting")
        );
    }

    #[test]
    fn items_round_trip_through_json() {
        let mut item = ActionItem::from_cli(&series(), "x", Some("a@b".into()), day(1));
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["state"], "open");
        assert_eq!(serde_json::from_value::<ActionItem>(json).unwrap(), item);
        item.set_state_from_cli(
            ItemState::Done {
                at: day(2),
                by: Source::Cli,
            },
            day(2),
        );
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["state"]["done"]["by"], "cli");
        assert_eq!(serde_json::from_value::<ActionItem>(json).unwrap(), item);
    }
}

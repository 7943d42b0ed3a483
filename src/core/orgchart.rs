//! The org chart: how the two people of a 1:1 stand to each other, from the manager
//! relations a directory reports (Google's `relations` of type `manager`, Graph's
//! `/users/{id}/manager`).
//!
//! Pure: a map of lower-cased addresses, person → manager. Directory data is outside
//! data, so nothing here trusts it to be a tree: a person managing themselves is
//! dropped, and every walk up the chain is bounded and remembers where it has been,
//! so a cycle (a manages b manages a) ends instead of looping.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// How far up a chain [`OrgChart::levels_above`] walks. Real hierarchies are a dozen
/// levels at most; a longer chain is broken data and not worth following.
pub const MAX_CHAIN: usize = 64;

/// How the two people of a pair relate in the org chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relation {
    /// One manages the other directly.
    ManagerReport {
        /// The manager's address.
        manager: String,
        /// The direct report's address.
        report: String,
    },
    /// One is the other's manager's manager.
    SkipLevel {
        /// The manager's manager.
        upper: String,
        /// The report two levels down.
        lower: String,
    },
    /// Both have the same manager.
    Peers {
        /// Their common manager.
        manager: String,
    },
    /// None of the above, or the directory does not say.
    Other,
}

/// Person → manager, lower-cased addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgChart {
    managers: BTreeMap<String, String>,
}

impl OrgChart {
    /// The chart of `(person, manager)` pairs. Addresses are compared without case
    /// and surrounding blanks; a person named as their own manager, or with an empty
    /// one, has no manager. A person listed twice keeps the first manager given.
    pub fn new<P, M>(pairs: impl IntoIterator<Item = (P, M)>) -> OrgChart
    where
        P: AsRef<str>,
        M: AsRef<str>,
    {
        let mut managers = BTreeMap::new();
        for (person, manager) in pairs {
            let person = normalise(person.as_ref());
            let manager = normalise(manager.as_ref());
            if person.is_empty() || manager.is_empty() || person == manager {
                continue;
            }
            managers.entry(person).or_insert(manager);
        }
        OrgChart { managers }
    }

    /// The direct manager of `person`, if the directory names one.
    pub fn manager_of(&self, person: &str) -> Option<&str> {
        self.managers.get(&normalise(person)).map(String::as_str)
    }

    /// How many levels `upper` stands above `lower` in `lower`'s chain of managers
    /// (1: direct manager, 2: skip-level...), or `None` when `upper` is not in it
    /// within [`MAX_CHAIN`] levels. A cycle ends the walk.
    pub fn levels_above(&self, upper: &str, lower: &str) -> Option<usize> {
        let upper = normalise(upper);
        let mut seen = BTreeSet::new();
        let mut current = normalise(lower);
        seen.insert(current.clone());
        for level in 1..=MAX_CHAIN {
            let next = self.managers.get(&current)?;
            if *next == upper {
                return Some(level);
            }
            if !seen.insert(next.clone()) {
                return None;
            }
            current = next.clone();
        }
        None
    }

    /// The relation of `a` and `b`. Direct management wins over skip-level, which
    /// wins over being peers; in hostile data where each manages the other, `a` is
    /// taken as the manager.
    pub fn relation(&self, a: &str, b: &str) -> Relation {
        let (a, b) = (normalise(a), normalise(b));
        if a.is_empty() || b.is_empty() || a == b {
            return Relation::Other;
        }
        for (upper, lower) in [(&a, &b), (&b, &a)] {
            if self.levels_above(upper, lower) == Some(1) {
                return Relation::ManagerReport {
                    manager: upper.clone(),
                    report: lower.clone(),
                };
            }
        }
        for (upper, lower) in [(&a, &b), (&b, &a)] {
            if self.levels_above(upper, lower) == Some(2) {
                return Relation::SkipLevel {
                    upper: upper.clone(),
                    lower: lower.clone(),
                };
            }
        }
        match (self.managers.get(&a), self.managers.get(&b)) {
            (Some(ma), Some(mb)) if ma == mb => Relation::Peers {
                manager: ma.clone(),
            },
            _ => Relation::Other,
        }
    }

    /// People with a manager.
    pub fn len(&self) -> usize {
        self.managers.len()
    }

    /// True when nobody has a manager.
    pub fn is_empty(&self) -> bool {
        self.managers.is_empty()
    }
}

fn normalise(address: &str) -> String {
    address.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> OrgChart {
        // ceo ← vp ← (lead, lead2); lead ← (dev, dev2)
        OrgChart::new([
            ("vp@x.test", "CEO@x.test"),
            ("lead@x.test", "vp@x.test"),
            ("lead2@x.test", "vp@x.test"),
            ("dev@x.test", "lead@x.test"),
            ("Dev2@X.test ", "lead@x.test"),
        ])
    }

    #[test]
    fn a_direct_report_is_found_in_either_order() {
        let expected = Relation::ManagerReport {
            manager: "lead@x.test".into(),
            report: "dev@x.test".into(),
        };
        assert_eq!(chart().relation("lead@x.test", "dev@x.test"), expected);
        assert_eq!(chart().relation("DEV@x.test", "lead@x.test"), expected);
    }

    #[test]
    fn the_managers_manager_is_a_skip_level() {
        assert_eq!(
            chart().relation("dev2@x.test", "vp@x.test"),
            Relation::SkipLevel {
                upper: "vp@x.test".into(),
                lower: "dev2@x.test".into()
            }
        );
        // Three levels apart is no longer a skip-level.
        assert_eq!(
            chart().relation("ceo@x.test", "dev@x.test"),
            Relation::Other
        );
    }

    #[test]
    fn people_with_the_same_manager_are_peers() {
        assert_eq!(
            chart().relation("dev@x.test", "dev2@x.test"),
            Relation::Peers {
                manager: "lead@x.test".into()
            }
        );
        assert_eq!(
            chart().relation("lead2@x.test", "dev@x.test"),
            Relation::Other
        );
    }

    #[test]
    fn unknown_people_and_a_person_with_themselves_are_other() {
        assert_eq!(chart().relation("a@y.test", "b@y.test"), Relation::Other);
        assert_eq!(
            chart().relation("dev@x.test", "dev@x.test"),
            Relation::Other
        );
        assert_eq!(chart().relation("", "dev@x.test"), Relation::Other);
        // Two people without managers are not peers of "nobody".
        assert_eq!(
            OrgChart::default().relation("a@y.test", "b@y.test"),
            Relation::Other
        );
    }

    #[test]
    fn cycles_in_hostile_data_end() {
        let chart = OrgChart::new([
            ("a@x.test", "b@x.test"),
            ("b@x.test", "c@x.test"),
            ("c@x.test", "a@x.test"),
            ("self@x.test", "self@x.test"),
        ]);
        assert_eq!(chart.levels_above("z@x.test", "a@x.test"), None);
        assert_eq!(chart.levels_above("c@x.test", "a@x.test"), Some(2));
        assert_eq!(chart.manager_of("self@x.test"), None);
        // Each of a, b manages the other through the cycle: the direct link wins.
        assert_eq!(
            chart.relation("a@x.test", "b@x.test"),
            Relation::ManagerReport {
                manager: "b@x.test".into(),
                report: "a@x.test".into()
            }
        );
        let mutual = OrgChart::new([("a@x.test", "b@x.test"), ("b@x.test", "a@x.test")]);
        assert_eq!(
            mutual.relation("a@x.test", "b@x.test"),
            Relation::ManagerReport {
                manager: "a@x.test".into(),
                report: "b@x.test".into()
            }
        );
    }

    #[test]
    fn a_long_chain_is_followed_only_so_far() {
        let pairs: Vec<(String, String)> = (0..200)
            .map(|i| (format!("p{i}@x.test"), format!("p{}@x.test", i + 1)))
            .collect();
        let chart = OrgChart::new(pairs);
        assert_eq!(chart.levels_above("p10@x.test", "p0@x.test"), Some(10));
        assert_eq!(chart.levels_above("p150@x.test", "p0@x.test"), None);
        assert_eq!(chart.len(), 200);
    }

    #[test]
    fn the_first_manager_given_for_a_person_stays() {
        let chart = OrgChart::new([("a@x.test", "b@x.test"), ("A@x.test", "c@x.test")]);
        assert_eq!(chart.manager_of("a@x.test"), Some("b@x.test"));
    }
}

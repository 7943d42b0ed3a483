//! What tete knows of an organisation from its directory: who is covered, their
//! names, zones and managers (org mode, `[[orgs]]`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One person as the directory describes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPerson {
    /// Lower-cased primary address.
    pub email: String,
    /// Display name, if the directory has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their calendar's (Google) or mailbox's (Microsoft) time zone, as an IANA name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Their manager's lower-cased address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// True when tete reads their calendar; false for people read only for the org
    /// chart (a covered person's manager, say) or excluded.
    pub covered: bool,
}

/// The last directory read of one org.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRoster {
    /// The org's name in the config.
    pub org: String,
    /// When the directory was read.
    pub read_at: DateTime<Utc>,
    /// A fingerprint of the coverage settings it was read for: when the config's
    /// people, groups, domain or exclusions change, the roster is read again at once.
    pub coverage: String,
    /// Everyone read, sorted by address.
    pub people: Vec<OrgPerson>,
}

impl OrgRoster {
    /// The people whose calendars tete reads.
    pub fn covered(&self) -> impl Iterator<Item = &OrgPerson> {
        self.people.iter().filter(|p| p.covered)
    }

    /// The person with `email` (lower-cased), if read.
    pub fn person(&self, email: &str) -> Option<&OrgPerson> {
        self.people
            .binary_search_by(|p| p.email.as_str().cmp(email))
            .ok()
            .and_then(|i| self.people.get(i))
    }
}

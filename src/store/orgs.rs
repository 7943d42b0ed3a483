//! The last directory read of each org (org mode): who is covered, names, zones,
//! managers. Small (one value per org) and rewritten once a day.

use crate::model::org::OrgRoster;

use super::{Store, StoreError, decode, encode};

impl Store {
    /// Keeps `roster` as its org's latest directory read.
    pub fn save_roster(&self, roster: &OrgRoster) -> Result<(), StoreError> {
        self.trees
            .orgs
            .insert(roster.org.as_bytes(), encode("orgs", roster)?)?;
        Ok(())
    }

    /// The latest directory read of `org`.
    pub fn roster(&self, org: &str) -> Result<Option<OrgRoster>, StoreError> {
        match self.trees.orgs.get(org.as_bytes())? {
            Some(bytes) => Ok(Some(decode("orgs", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Forgets orgs no longer configured, so their people stop being polled and
    /// their names and managers are not kept.
    pub fn forget_rosters_except(&self, keep: &[&str]) -> Result<usize, StoreError> {
        let mut forgotten = 0;
        for key in self.trees.orgs.iter().keys() {
            let key = key?;
            if !keep.iter().any(|k| k.as_bytes() == key.as_ref()) {
                self.trees.orgs.remove(&key)?;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::org::OrgPerson;
    use crate::store::StoreOptions;

    #[test]
    fn rosters_round_trip_and_unconfigured_orgs_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let roster = |org: &str| OrgRoster {
            org: org.into(),
            read_at: chrono::DateTime::UNIX_EPOCH,
            coverage: "c".into(),
            people: vec![OrgPerson {
                email: "a@x.test".into(),
                name: Some("A".into()),
                time_zone: Some("Europe/Berlin".into()),
                manager: None,
                covered: true,
            }],
        };
        store.save_roster(&roster("acme")).unwrap();
        store.save_roster(&roster("other")).unwrap();
        assert_eq!(store.roster("acme").unwrap(), Some(roster("acme")));
        assert_eq!(store.forget_rosters_except(&["acme"]).unwrap(), 1);
        assert!(store.roster("other").unwrap().is_none());
        assert!(store.roster("acme").unwrap().is_some());
    }
}

//! Org mode in the pass: each org's covered people become accounts, and what the
//! directory says of them (names, zones, managers) becomes per-person settings, so
//! every later step (sync, schedule, plan, briefs, status) treats them like
//! configured ones.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::config::{Config, OrgConfig, PersonConfig, parse_zone};
use crate::model::org::{OrgPerson, OrgRoster};
use crate::store::{Store, StoreError};

/// The config as a pass sees it: the file's, plus each org's covered people (from
/// their last directory read in the store) as accounts and people. People listed in
/// `[[people]]` keep their own settings; the directory only fills in what they leave
/// unset. An org never read yet adds nobody.
pub fn with_org_people(config: &Config, store: &Store) -> Result<Config, StoreError> {
    if config.orgs.is_empty() {
        return Ok(config.clone());
    }
    let mut effective = config.clone();
    let mut people: BTreeMap<String, PersonConfig> = config
        .people
        .iter()
        .map(|p| (p.email.clone(), p.clone()))
        .collect();
    let mut accounts: BTreeSet<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    for org in &config.orgs {
        let Some(roster) = store.roster(&org.name)? else {
            continue;
        };
        for person in roster.covered() {
            if covers(config, org, &person.email) {
                let account = org.account_for(&person.email);
                if accounts.insert(account.name.clone()) {
                    effective.accounts.push(account);
                }
            }
        }
        for person in &roster.people {
            merge_person(&mut people, person);
        }
    }
    effective.people = people.into_values().collect();
    Ok(effective)
}

/// True when `org` may read `address`'s calendar now: not excluded by the org, and
/// not opted out of tete (`mail.opt_out`), whatever the last directory read said.
pub fn covers(config: &Config, org: &OrgConfig, address: &str) -> bool {
    let address = address.trim().to_lowercase();
    !org.excludes(&address) && !config.mail.opt_out.contains(&address)
}

fn merge_person(people: &mut BTreeMap<String, PersonConfig>, person: &OrgPerson) {
    let zone = person
        .time_zone
        .as_deref()
        .and_then(|name| parse_zone(name).ok());
    let entry = people
        .entry(person.email.clone())
        .or_insert_with(|| PersonConfig {
            email: person.email.clone(),
            timezone: None,
            delivery: None,
            digest_at: None,
            name: None,
            manager: None,
        });
    if entry.timezone.is_none() {
        entry.timezone = zone;
    }
    if entry.name.is_none() {
        entry.name.clone_from(&person.name);
    }
    if entry.manager.is_none() {
        entry.manager.clone_from(&person.manager);
    }
}

/// A fingerprint of what `org` covers: a roster read for other settings is read again
/// at once rather than at the next `directory_refresh`.
pub fn coverage_fingerprint(org: &OrgConfig) -> String {
    let mut hash = Sha256::new();
    let provider = format!("{:?}", org.provider);
    for part in [
        &[provider.as_str()][..],
        &org.people.iter().map(String::as_str).collect::<Vec<_>>(),
        &org.groups.iter().map(String::as_str).collect::<Vec<_>>(),
        &[org.domain.as_deref().unwrap_or("")],
        &org.exclude.iter().map(String::as_str).collect::<Vec<_>>(),
    ] {
        for item in part {
            hash.update(item.as_bytes());
            hash.update([0]);
        }
        hash.update([1]);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True when `org`'s roster must be read (again) at `now`: never read, read for other
/// coverage settings, or older than `directory_refresh`.
pub fn roster_is_due(
    org: &OrgConfig,
    roster: Option<&OrgRoster>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Some(roster) = roster else {
        return true;
    };
    let refresh =
        chrono::TimeDelta::from_std(org.directory_refresh).unwrap_or(chrono::TimeDelta::days(1));
    roster.coverage != coverage_fingerprint(org)
        || roster
            .read_at
            .checked_add_signed(refresh)
            .is_none_or(|due| due <= now)
        // A clock set back (or a roster from the future) must not freeze the roster.
        || roster.read_at > now
}

/// Who an org covers, from what its directory said: everyone named in `people`, the
/// members of its groups and the users of its domain, minus those it excludes.
/// `read` holds every person the directory described (covered or not, for the org
/// chart); the result marks who is covered and is sorted by address.
pub fn roster_of(
    config: &Config,
    org: &OrgConfig,
    read: Vec<OrgPerson>,
    members: &BTreeSet<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> OrgRoster {
    let mut people: BTreeMap<String, OrgPerson> = BTreeMap::new();
    for mut person in read {
        person.email = person.email.trim().to_lowercase();
        person.manager = person.manager.map(|m| m.trim().to_lowercase());
        person.covered = false;
        people.insert(person.email.clone(), person);
    }
    let wanted = members.iter().chain(org.people.iter());
    for address in wanted {
        let address = address.trim().to_lowercase();
        let covered = covers(config, org, &address);
        let person = people.entry(address.clone()).or_insert_with(|| OrgPerson {
            email: address.clone(),
            name: None,
            time_zone: None,
            manager: None,
            covered: false,
        });
        person.covered = covered;
    }
    OrgRoster {
        org: org.name.clone(),
        read_at: now,
        coverage: coverage_fingerprint(org),
        people: people.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use chrono::{TimeZone, Utc};

    fn config() -> Config {
        let text = r#"
[mail]
from = "b@acme.test"
transport = "file"
opt_out = ["quiet@acme.test"]
[mail.file]
dir = "b"

[[orgs]]
name = "acme"
provider = "google"
admin = "it@acme.test"
people = ["named@acme.test"]
groups = ["all@acme.test"]
exclude = ["ceo@acme.test"]
"#;
        crate::config::parse(text, std::path::Path::new("/etc/tete/tete.toml")).unwrap()
    }

    fn person(email: &str, manager: Option<&str>) -> OrgPerson {
        OrgPerson {
            email: email.to_uppercase(),
            name: Some(email.split('@').next().unwrap().to_string()),
            time_zone: Some("America/New_York".into()),
            manager: manager.map(str::to_string),
            covered: true,
        }
    }

    #[test]
    fn excluded_and_opted_out_people_are_read_for_the_chart_but_not_covered() {
        let config = config();
        let org = &config.orgs[0];
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let members: BTreeSet<String> = ["dana@acme.test", "ceo@acme.test", "quiet@acme.test"]
            .map(String::from)
            .into();
        let read = vec![
            person("dana@acme.test", Some("ceo@acme.test")),
            person("ceo@acme.test", None),
            person("quiet@acme.test", Some("ceo@acme.test")),
            person("outsider@acme.test", None),
        ];
        let roster = roster_of(&config, org, read, &members, now);
        let covered: Vec<&str> = roster.covered().map(|p| p.email.as_str()).collect();
        assert_eq!(covered, ["dana@acme.test", "named@acme.test"]);
        assert_eq!(
            roster.person("dana@acme.test").unwrap().manager.as_deref(),
            Some("ceo@acme.test")
        );
        assert!(!roster.person("outsider@acme.test").unwrap().covered);
    }

    #[test]
    fn covered_people_become_accounts_and_people_with_their_zone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut config = config();
        // A [[people]] zone wins over the directory's.
        config.people = vec![PersonConfig {
            email: "dana@acme.test".into(),
            timezone: Some(chrono_tz::Europe::Berlin),
            delivery: None,
            digest_at: None,
            name: None,
            manager: None,
        }];
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let members: BTreeSet<String> = ["dana@acme.test", "alex@acme.test"]
            .map(String::from)
            .into();
        let read = vec![
            person("dana@acme.test", Some("alex@acme.test")),
            person("alex@acme.test", None),
        ];
        store
            .save_roster(&roster_of(&config, &config.orgs[0], read, &members, now))
            .unwrap();
        let effective = with_org_people(&config, &store).unwrap();
        let names: Vec<&str> = effective.accounts.iter().map(|a| a.name.as_str()).collect();
        assert!(names.contains(&"acme/dana@acme.test"), "{names:?}");
        assert!(names.contains(&"acme/alex@acme.test"), "{names:?}");
        assert!(names.contains(&"acme/named@acme.test"), "{names:?}");
        assert_eq!(
            effective.zone_of("dana@acme.test"),
            chrono_tz::Europe::Berlin
        );
        assert_eq!(
            effective.zone_of("alex@acme.test"),
            chrono_tz::America::New_York
        );
        let dana = effective
            .people
            .iter()
            .find(|p| p.email == "dana@acme.test")
            .unwrap();
        assert_eq!(dana.manager.as_deref(), Some("alex@acme.test"));
        assert_eq!(dana.name.as_deref(), Some("dana"));

        // Excluded later in the config: not polled, whatever the stored roster says.
        config.orgs[0].exclude.push("alex@acme.test".into());
        let effective = with_org_people(&config, &store).unwrap();
        assert!(
            !effective
                .accounts
                .iter()
                .any(|a| a.name == "acme/alex@acme.test")
        );
    }

    #[test]
    fn a_roster_is_read_again_when_stale_or_read_for_other_settings() {
        let config = config();
        let org = &config.orgs[0];
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let roster = roster_of(&config, org, Vec::new(), &BTreeSet::new(), now);
        assert!(roster_is_due(org, None, now));
        assert!(!roster_is_due(
            org,
            Some(&roster),
            now + chrono::TimeDelta::hours(23)
        ));
        assert!(roster_is_due(
            org,
            Some(&roster),
            now + chrono::TimeDelta::hours(24)
        ));
        assert!(roster_is_due(
            org,
            Some(&roster),
            now - chrono::TimeDelta::hours(1)
        ));
        let mut changed = org.clone();
        changed.exclude.push("x@acme.test".into());
        assert!(roster_is_due(&changed, Some(&roster), now));
    }
}

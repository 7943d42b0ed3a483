//! Org mode in the pass: each org's covered people become accounts, and what the
//! directory says of them (names, zones, managers) becomes per-person settings, so
//! every later step (sync, schedule, plan, briefs, status) treats them like
//! configured ones.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use sha2::{Digest, Sha256};
use url::Url;

use crate::auth::org::{AppCredential, OrgCredential, OrgGrant, OrgKey, ServiceAccount};
use crate::auth::{AuthError, Credentials, TokenKey};
use crate::config::{
    Config, OrgConfig, OrgCredential as ConfiguredCredential, PersonConfig, Provider, parse_zone,
};
use crate::model::org::{OrgPerson, OrgRoster};
use crate::sources::directory::{
    self, DirectoryError, DirectoryPerson, ZoneFailure, google as gdir, microsoft as mdir,
};
use crate::sources::http::Http;
use crate::store::{Store, StoreError};

/// A directory read of one org: the roster, and the people whose time zone could not
/// be read (kept, zone unknown: their briefs use the meeting's zone).
#[derive(Debug)]
pub struct RosterRead {
    /// Who is covered, with names, zones and managers.
    pub roster: OrgRoster,
    /// Zone lookups that failed, one per person.
    pub zone_failures: Vec<ZoneFailure>,
}

/// Where and as whom a Google Workspace org's directory is read.
pub struct GoogleDirectory<'a, A, F> {
    /// The HTTP helper.
    pub http: &'a Http,
    /// A token acting as the configured administrator; `None` when the org lists
    /// only `people` (then nothing is read from the Admin SDK).
    pub admin: Option<&'a A>,
    /// A token acting as the person with this address (for their Calendar settings).
    pub person: F,
    /// The Admin SDK Directory API base.
    pub directory_base: &'a Url,
    /// The Calendar API base.
    pub calendar_base: &'a Url,
}

impl<A, P, F> GoogleDirectory<'_, A, F>
where
    A: Credentials,
    P: Credentials,
    F: Fn(&str) -> P,
{
    /// Reads `org`'s directory: users (of `domain`, else of the whole account, for
    /// names and managers) and group members as the administrator, then each covered
    /// person's Calendar time zone as that person.
    pub async fn read(
        &self,
        config: &Config,
        org: &OrgConfig,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<RosterRead, DirectoryError> {
        let http = self.http;
        let mut members: BTreeSet<String> = BTreeSet::new();
        let mut listing = directory::Listing::default();
        if let Some(admin) = self.admin {
            let scope = match &org.domain {
                Some(domain) => gdir::UserScope::Domain(domain.clone()),
                None => gdir::UserScope::Customer,
            };
            listing = gdir::list_users(http, admin, self.directory_base, &scope).await?;
            if org.domain.is_some() {
                members.extend(listing.people.iter().map(|p| p.email.clone()));
            }
            for group in &org.groups {
                let found = gdir::group_members(http, admin, self.directory_base, group).await?;
                // Members may be named by an alias: count them by their primary address.
                let primary = directory::select(&listing, &found.addresses);
                members.extend(primary.into_iter().map(|p| p.email));
            }
        }
        let person = &self.person;
        let calendar_base = self.calendar_base;
        let zoned = covered_people(config, org, &listing, &members);
        let (zoned, zone_failures) = directory::with_time_zones(zoned, |p| async move {
            gdir::time_zone(http, &person(&p.email), calendar_base).await
        })
        .await;
        let read = roster_read(listing, zoned);
        Ok(RosterRead {
            roster: roster_of(config, org, read, &members, now),
            zone_failures,
        })
    }
}

/// Reads a Microsoft 365 org's directory through Graph with the app's token: users
/// with their managers, the members of its groups (transitively), and each covered
/// person's mailbox time zone.
pub async fn read_microsoft_roster<C: Credentials>(
    config: &Config,
    org: &OrgConfig,
    http: &Http,
    app: &C,
    graph: &Url,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RosterRead, DirectoryError> {
    let listing = mdir::list_users(http, app, graph).await?;
    let mut members: BTreeSet<String> = BTreeSet::new();
    if let Some(domain) = &org.domain {
        let suffix = format!("@{domain}");
        members.extend(
            listing
                .people
                .iter()
                .filter(|p| p.email.ends_with(&suffix))
                .map(|p| p.email.clone()),
        );
    }
    for group in &org.groups {
        let found = mdir::group_members(http, app, graph, group).await?;
        members.extend(found.people.into_iter().map(|p| p.email));
    }
    let zoned = covered_people(config, org, &listing, &members);
    let (zoned, zone_failures) = directory::with_time_zones(zoned, |p| async move {
        let user = p.id.clone().unwrap_or_else(|| p.email.clone());
        mdir::time_zone(http, app, graph, &user).await
    })
    .await;
    let read = roster_read(listing, zoned);
    Ok(RosterRead {
        roster: roster_of(config, org, read, &members, now),
        zone_failures,
    })
}

/// The people whose zone is worth reading: those the org covers, as the listing
/// describes them (or bare, for `people` the listing does not hold).
fn covered_people(
    config: &Config,
    org: &OrgConfig,
    listing: &directory::Listing,
    members: &BTreeSet<String>,
) -> Vec<DirectoryPerson> {
    let wanted: BTreeSet<String> = members
        .iter()
        .chain(&org.people)
        .filter(|address| covers(config, org, address))
        .cloned()
        .collect();
    let mut people = directory::select(listing, &wanted);
    for address in &wanted {
        if !people.iter().any(|p| p.has_address(address)) {
            people.push(DirectoryPerson::new(address));
        }
    }
    people
}

/// Everyone read, as the store keeps them: the listing, with the covered people's
/// zones, managers mapped to primary addresses.
fn roster_read(listing: directory::Listing, zoned: Vec<DirectoryPerson>) -> Vec<OrgPerson> {
    let managers: BTreeMap<String, String> = directory::manager_pairs(&listing.people)
        .into_iter()
        .collect();
    let as_org_person = |p: DirectoryPerson| OrgPerson {
        manager: managers.get(&p.email).cloned().or(p.manager),
        email: p.email,
        name: p.name,
        time_zone: p.time_zone.map(|tz| tz.name().to_string()),
        covered: false,
    };
    let mut read: BTreeMap<String, OrgPerson> = listing
        .people
        .into_iter()
        .map(|p| (p.email.clone(), as_org_person(p)))
        .collect();
    for person in zoned {
        read.insert(person.email.clone(), as_org_person(person));
    }
    read.into_values().collect()
}

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

/// The Google scopes of a directory read as the administrator.
pub const GOOGLE_DIRECTORY_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
];

/// Each org's credential, loaded once and shared by every account, pass and directory
/// read of the org: 10,000 people must not mean 10,000 key files parsed per poll. A
/// changed config, or a key file changed on disk, loads it again.
#[derive(Clone, Debug, Default)]
pub struct OrgCredentials {
    loaded: Arc<std::sync::Mutex<BTreeMap<String, Loaded>>>,
}

/// A loaded credential and what it was loaded from (config, file, store).
type Loaded = (String, Arc<OrgCredential>);

impl OrgCredentials {
    /// `org`'s credential over `store`.
    pub fn get(
        &self,
        config: &Config,
        org: &OrgConfig,
        store: &Store,
        api: &reqwest::Client,
    ) -> Result<Arc<OrgCredential>, AuthError> {
        let file = credential_file(org)?;
        let modified = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .map(|t| format!("{t:?}"))
            .unwrap_or_default();
        // What the credential is made from, and no more: this runs for every person's
        // account on every poll, so the org's people, groups and exclusions (10,000
        // addresses, perhaps) stay out of it. The store too: one process may open
        // several (tests), and minted tokens live in the store the credential uses.
        let identity = format!(
            "{:?}\0{:?}\0{:?}\0{}\0{modified}\0{}",
            org.credential,
            org.tenant,
            org.token_url,
            file.display(),
            store.path().display()
        );
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((seen, credential)) = loaded.get(&org.name)
            && *seen == identity
        {
            return Ok(credential.clone());
        }
        let key = match &org.credential {
            ConfiguredCredential::ServiceAccountKey(_) => {
                OrgKey::Google(ServiceAccount::from_file(&file, org.token_url.as_deref())?)
            }
            ConfiguredCredential::ClientSecret { client_id, .. } => {
                OrgKey::Microsoft(AppCredential::with_secret_file(
                    org.tenant.as_deref().unwrap_or_default(),
                    client_id,
                    &file,
                    org.token_url.as_deref(),
                )?)
            }
            ConfiguredCredential::ClientCertificate { client_id, .. } => {
                OrgKey::Microsoft(AppCredential::with_certificate_file(
                    org.tenant.as_deref().unwrap_or_default(),
                    client_id,
                    &file,
                    org.token_url.as_deref(),
                )?)
            }
        };
        let token_key = TokenKey::locate(config.token_key_file.as_deref())?;
        let credential = Arc::new(OrgCredential::new(
            &org.name,
            key,
            store.clone(),
            token_key,
            api.clone(),
        ));
        loaded.insert(org.name.clone(), (identity, credential.clone()));
        Ok(credential)
    }
}

/// The file holding `org`'s credential: as configured, else (service account keys)
/// the systemd credential `NAME-google-key`.
fn credential_file(org: &OrgConfig) -> Result<std::path::PathBuf, AuthError> {
    match &org.credential {
        ConfiguredCredential::ServiceAccountKey(Some(path)) => Ok(path.clone()),
        ConfiguredCredential::ServiceAccountKey(None) => {
            crate::auth::org::credential_path(&org.name, "google-key", None)
        }
        ConfiguredCredential::ClientSecret { secret_file, .. } => Ok(secret_file.clone()),
        ConfiguredCredential::ClientCertificate {
            certificate_file, ..
        } => Ok(certificate_file.clone()),
    }
}

/// The grant through which `person` of `org` is read (Google: acting as them with
/// the calendar scope; Microsoft: the tenant's app token).
pub fn person_grant(credential: &Arc<OrgCredential>, org: &OrgConfig, person: &str) -> OrgGrant {
    match org.provider {
        Provider::Microsoft => OrgGrant::new(credential.clone(), None, Vec::new()),
        _ => OrgGrant::new(
            credential.clone(),
            Some(person),
            vec![crate::auth::google::CALENDAR_SCOPE.to_string()],
        ),
    }
}

/// What one org's directory refresh did.
#[derive(Debug)]
pub struct RosterRefresh {
    /// The org.
    pub org: String,
    /// People covered after the read, or why the read failed (the last roster stays).
    pub outcome: Result<usize, String>,
}

/// Reads the directory of every org whose roster is due ([`roster_is_due`]) and keeps
/// the new roster; an org that fails keeps its last roster (and its people stay
/// polled). Returns one entry per org read.
pub async fn refresh_rosters(
    config: &Config,
    store: &Store,
    credentials: &OrgCredentials,
    api: &reqwest::Client,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<RosterRefresh> {
    let mut done = Vec::new();
    for org in &config.orgs {
        let last = match store.roster(&org.name) {
            Ok(last) => last,
            Err(error) => {
                done.push(RosterRefresh {
                    org: org.name.clone(),
                    outcome: Err(error.to_string()),
                });
                continue;
            }
        };
        if !roster_is_due(org, last.as_ref(), now) {
            continue;
        }
        let outcome = refresh_roster(config, org, store, credentials, api, now).await;
        match &outcome {
            Ok(count) => tracing::info!(org = %org.name, covered = count, "directory read"),
            Err(error) => tracing::warn!(org = %org.name, "directory read failed: {error}"),
        }
        done.push(RosterRefresh {
            org: org.name.clone(),
            outcome,
        });
    }
    done
}

async fn refresh_roster(
    config: &Config,
    org: &OrgConfig,
    store: &Store,
    credentials: &OrgCredentials,
    api: &reqwest::Client,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, String> {
    let credential = credentials
        .get(config, org, store, api)
        .map_err(|e| e.to_string())?;
    let http = Http::new(api.clone(), crate::sources::http::HttpOptions::default());
    // The org credential seals its own tokens: the sources' token key is not used.
    fn tokens<E: crate::auth::token_source::TokenEndpoint + From<OrgGrant>>(
        name: &str,
        grant: OrgGrant,
        store: &Store,
        api: &reqwest::Client,
    ) -> crate::auth::token_source::TokenSource<E> {
        crate::auth::token_source::TokenSource::new(name, grant, None, store.clone(), api.clone())
    }
    let base = |configured: Option<&str>, default: &str| {
        crate::sources::http::base_url(&org.name, configured, default).map_err(|e| e.to_string())
    };
    let read = match org.provider {
        Provider::Microsoft => {
            let app: crate::auth::microsoft::MicrosoftTokens =
                tokens(&org.name, person_grant(&credential, org, ""), store, api);
            let graph = base(
                org.api_base_url.as_deref(),
                crate::sources::microsoft::API_BASE_URL,
            )?;
            read_microsoft_roster(config, org, &http, &app, &graph, now).await
        }
        _ => {
            let admin: Option<crate::auth::google::AccountTokens> =
                org.admin.as_ref().map(|admin| {
                    let scopes = GOOGLE_DIRECTORY_SCOPES
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                    tokens(
                        &org.name,
                        OrgGrant::new(credential.clone(), Some(admin), scopes),
                        store,
                        api,
                    )
                });
            let directory_base = base(
                org.directory_base_url.as_deref(),
                directory::google::DIRECTORY_BASE_URL,
            )?;
            let calendar_base = base(
                org.api_base_url.as_deref(),
                crate::auth::google::API_BASE_URL,
            )?;
            let reader = GoogleDirectory {
                http: &http,
                admin: admin.as_ref(),
                person: |person: &str| -> crate::auth::google::AccountTokens {
                    tokens(
                        &org.person_account(person),
                        person_grant(&credential, org, person),
                        store,
                        api,
                    )
                },
                directory_base: &directory_base,
                calendar_base: &calendar_base,
            };
            reader.read(config, org, now).await
        }
    }
    .map_err(|e| e.to_string())?;
    if !read.zone_failures.is_empty() {
        let (shown, hidden) = super::capped(&read.zone_failures);
        for failure in shown {
            tracing::warn!(org = %org.name, person = %failure.email, "time zone unknown: {}", failure.error);
        }
        if hidden > 0 {
            tracing::warn!(org = %org.name, "{hidden} more people's time zones unknown");
        }
    }
    let covered = read.roster.covered().count();
    store.save_roster(&read.roster).map_err(|e| e.to_string())?;
    Ok(covered)
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

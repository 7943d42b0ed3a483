//! Who is in the organisation: the provider's directory read into plain values.
//!
//! [`google`] reads the Admin SDK Directory API (users of a domain, members of a
//! group, nested groups) and each person's calendar time zone; [`microsoft`] reads
//! Microsoft Graph (users of the tenant with their managers, transitive group members,
//! mailbox time zones). Both hand back [`DirectoryPerson`]s with lower-cased
//! addresses; [`with_time_zones`] fills in zones person by person, where one person's
//! failure is reported beside the listing and never fails it.
//!
//! Like the calendar sources, nothing here touches the store: the pass keeps the
//! snapshot. Every request goes through the one [`crate::sources::http::Http`] helper
//! (retries, backoff, one refresh on 401, bounded bodies).

pub mod google;
pub mod microsoft;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use chrono_tz::Tz;
use futures_util::StreamExt;
use serde::Serialize;
use url::Url;

use super::SourceError;
use crate::core::calendar::windows_zones::windows_to_iana;
use crate::core::calendar::zones::iana_by_name;

/// Most people one listing accepts. The largest organisations tete is meant for have
/// tens of thousands of people; a directory that pages on beyond this is broken or
/// hostile, and tete stops rather than fill memory and poll forever.
pub const MAX_PEOPLE: usize = 100_000;

/// Most pages one listing follows. Graph pages a listing with `$expand` by 100 and
/// Google may return fewer than asked, so this leaves room for [`MAX_PEOPLE`] at 100 a
/// page; a server that never stops paging ends here.
pub const MAX_PAGES: usize = 1_000;

/// Most groups one group resolution opens (nested groups included).
pub const MAX_GROUPS: usize = 1_000;

/// Time-zone lookups in flight at once. Graph allows four concurrent requests per app
/// and mailbox and Google's per-user quotas are per person, so lookups for different
/// people can overlap; eight keeps a directory read of thousands of people in minutes
/// without bursting an app-wide limit.
pub const ZONE_CONCURRENCY: usize = 8;

/// One person as the directory describes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectoryPerson {
    /// Primary address, lower-cased.
    pub email: String,
    /// The provider's id of the person (Graph object id, Google user id), for
    /// per-person requests; `None` when the answer carried none.
    pub id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Other addresses of the same person, lower-cased.
    pub aliases: Vec<String>,
    /// The manager's address, lower-cased.
    pub manager: Option<String>,
    /// The person's own time zone (calendar or mailbox settings).
    pub time_zone: Option<Tz>,
}

impl DirectoryPerson {
    /// A person known by address only.
    pub fn new(email: &str) -> DirectoryPerson {
        DirectoryPerson {
            email: normalise_email(email),
            id: None,
            name: None,
            aliases: Vec::new(),
            manager: None,
            time_zone: None,
        }
    }

    /// True when `address` is this person's primary address or an alias.
    pub fn has_address(&self, address: &str) -> bool {
        let address = normalise_email(address);
        self.email == address || self.aliases.contains(&address)
    }
}

/// A person or entry the directory returned but tete could not use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Who (address, id, or the position in the listing).
    pub who: String,
    /// Why, without tokens.
    pub why: String,
}

/// A directory read: the people, and what was left out and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// Active people, each once, sorted by address.
    pub people: Vec<DirectoryPerson>,
    /// Entries that could not be read (hostile or incomplete records).
    pub skipped: Vec<Skipped>,
}

/// Why a directory read failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A request failed (after the HTTP helper's retries).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The answer was not what the API documents.
    #[error("{what}: malformed answer: {detail}")]
    Malformed {
        /// Which listing (host and path).
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The listing ran past one of the caps ([`MAX_PEOPLE`], [`MAX_PAGES`], [`MAX_GROUPS`]).
    #[error("{what}: more than {limit} {items}; stopped reading")]
    TooMany {
        /// Which listing.
        what: String,
        /// The cap.
        limit: usize,
        /// `people`, `pages` or `groups`.
        items: &'static str,
    },
    /// The named group does not exist (or is not visible to tete's credential).
    #[error("group {group} not found")]
    GroupNotFound {
        /// The group as configured.
        group: String,
    },
    /// More than one group has this address.
    #[error("{count} groups have the address {group}; name the group by id")]
    AmbiguousGroup {
        /// The group as configured.
        group: String,
        /// How many matched.
        count: usize,
    },
}

impl DirectoryError {
    /// True when nothing else of the same credential can succeed until this passes
    /// (a refused credential, throttling).
    pub fn is_account_wide(&self) -> bool {
        // One person the org may not act for (unknown, suspended) is that person's
        // failure: the credential still works for everyone else.
        matches!(self, DirectoryError::Source(error) if error.is_account_wide()
            && !matches!(error, SourceError::Credentials(crate::auth::AuthError::PersonRefused { .. })))
    }
}

/// A time-zone lookup that failed for one person: the listing keeps them, zone unknown.
#[derive(Debug)]
pub struct ZoneFailure {
    /// The person's address.
    pub email: String,
    /// What went wrong.
    pub error: DirectoryError,
}

/// An address as tete compares it: trimmed and lower-cased.
pub fn normalise_email(address: &str) -> String {
    address.trim().to_lowercase()
}

/// True for something shaped like an address (`x@y`), as directory fields that
/// should hold one sometimes hold a name or nothing.
pub fn looks_like_email(text: &str) -> bool {
    let text = text.trim();
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !text.contains(' ')
        }
        None => false,
    }
}

/// Counts pages and people of one listing against the caps, and refuses a page token
/// the server already gave (a server paging in a circle).
#[derive(Debug)]
pub(crate) struct PageGuard {
    what: String,
    pages: usize,
    tokens: BTreeSet<String>,
}

impl PageGuard {
    pub(crate) fn new(url: &Url) -> PageGuard {
        PageGuard {
            what: super::http::describe_url(url),
            pages: 0,
            tokens: BTreeSet::new(),
        }
    }

    pub(crate) fn what(&self) -> &str {
        &self.what
    }

    /// Called before each request.
    pub(crate) fn next_page(&mut self) -> Result<(), DirectoryError> {
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(DirectoryError::TooMany {
                what: self.what.clone(),
                limit: MAX_PAGES,
                items: "pages",
            });
        }
        Ok(())
    }

    /// Called with the next page's token or link; `Ok(false)` ends the listing.
    pub(crate) fn continue_with(&mut self, token: Option<&str>) -> Result<bool, DirectoryError> {
        match token.map(str::trim) {
            None | Some("") => Ok(false),
            Some(token) if !self.tokens.insert(token.to_string()) => {
                Err(DirectoryError::Malformed {
                    what: self.what.clone(),
                    detail: "the server repeated a page token".into(),
                })
            }
            Some(_) => Ok(true),
        }
    }

    /// Called with the number of people so far.
    pub(crate) fn check_people(&self, count: usize) -> Result<(), DirectoryError> {
        if count > MAX_PEOPLE {
            return Err(DirectoryError::TooMany {
                what: self.what.clone(),
                limit: MAX_PEOPLE,
                items: "people",
            });
        }
        Ok(())
    }
}

/// Collects people by address so that each appears once (the first record wins, a
/// later one only fills in what the first lacked).
#[derive(Debug, Default)]
pub(crate) struct People {
    by_email: BTreeMap<String, DirectoryPerson>,
    skipped: Vec<Skipped>,
}

impl People {
    pub(crate) fn add(&mut self, person: DirectoryPerson) {
        match self.by_email.get_mut(&person.email) {
            Some(known) => {
                if known.name.is_none() {
                    known.name = person.name;
                }
                if known.manager.is_none() {
                    known.manager = person.manager;
                }
                if known.id.is_none() {
                    known.id = person.id;
                }
                for alias in person.aliases {
                    if !known.aliases.contains(&alias) {
                        known.aliases.push(alias);
                    }
                }
            }
            None => {
                self.by_email.insert(person.email.clone(), person);
            }
        }
    }

    pub(crate) fn skip(&mut self, who: impl Into<String>, why: impl Into<String>) {
        self.skipped.push(Skipped {
            who: who.into(),
            why: why.into(),
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.by_email.len()
    }

    pub(crate) fn into_listing(self) -> Listing {
        Listing {
            people: self.by_email.into_values().collect(),
            skipped: self.skipped,
        }
    }
}

/// The people of `listing` reached by one of `addresses` (group members, say), by
/// primary address or alias; each person once.
pub fn select(listing: &Listing, addresses: &BTreeSet<String>) -> Vec<DirectoryPerson> {
    listing
        .people
        .iter()
        .filter(|person| {
            addresses.contains(&person.email)
                || person.aliases.iter().any(|alias| addresses.contains(alias))
        })
        .cloned()
        .collect()
}

/// `(person, manager)` pairs of everyone with a manager, for
/// [`crate::core::orgchart::OrgChart::new`]. An alias named as a manager is mapped to
/// that manager's primary address, so the chart compares like with like.
pub fn manager_pairs(people: &[DirectoryPerson]) -> Vec<(String, String)> {
    let mut primary: BTreeMap<&str, &str> = BTreeMap::new();
    for person in people {
        for alias in &person.aliases {
            primary.insert(alias, &person.email);
        }
    }
    people
        .iter()
        .filter_map(|person| {
            let manager = person.manager.as_deref()?;
            let manager = primary.get(manager).copied().unwrap_or(manager);
            Some((person.email.clone(), manager.to_string()))
        })
        .collect()
}

/// Looks up each person's time zone with `zone_of`, at most [`ZONE_CONCURRENCY`] at
/// once, and returns the people with their zones and the lookups that failed. A
/// failure of one person (a 403 or 404 on their settings) leaves their zone unknown
/// and the others unaffected; after a failure of the whole credential (throttled,
/// refused) the lookups not yet started are not tried, and are reported with it.
pub async fn with_time_zones<F, Fut>(
    mut people: Vec<DirectoryPerson>,
    zone_of: F,
) -> (Vec<DirectoryPerson>, Vec<ZoneFailure>)
where
    F: Fn(DirectoryPerson) -> Fut,
    Fut: Future<Output = Result<Option<Tz>, DirectoryError>>,
{
    let stop = std::sync::atomic::AtomicBool::new(false);
    let stop = &stop;
    let zone_of = &zone_of;
    let lookups = people.iter().cloned().enumerate().map(|(index, person)| {
        let email = person.email.clone();
        async move {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return (index, email, None);
            }
            let result = zone_of(person).await;
            if matches!(&result, Err(error) if error.is_account_wide()) {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            (index, email, Some(result))
        }
    });
    let results: Vec<_> = futures_util::stream::iter(lookups)
        .buffer_unordered(ZONE_CONCURRENCY)
        .collect()
        .await;
    let mut failures = Vec::new();
    let mut not_tried = Vec::new();
    for (index, email, result) in results {
        match result {
            Some(Ok(zone)) => people[index].time_zone = zone,
            Some(Err(error)) => failures.push(ZoneFailure { email, error }),
            None => not_tried.push(email),
        }
    }
    let cause = failures
        .iter()
        .find(|failure| failure.error.is_account_wide())
        .map(|failure| failure.error.to_string())
        .unwrap_or_default();
    for email in not_tried {
        failures.push(ZoneFailure {
            email,
            error: DirectoryError::Source(SourceError::Transient {
                what: "time zone".into(),
                detail: format!("not looked up after an earlier failure: {cause}"),
            }),
        });
    }
    failures.sort_by(|a, b| a.email.cmp(&b.email));
    (people, failures)
}

/// A zone as the settings name it: IANA (`Europe/Berlin`, `UTC`) or Windows
/// (`W. Europe Standard Time`, as Exchange mailboxes keep it).
pub fn zone_by_name(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("utc") {
        return Some(Tz::UTC);
    }
    iana_by_name(name).or_else(|| windows_to_iana(name))
}

/// True for an answer the API gives when the thing asked for does not exist.
pub(crate) fn is_not_found(error: &SourceError) -> bool {
    matches!(error, SourceError::Permanent { detail, .. } if detail.starts_with("HTTP 404"))
}

/// A string field of a JSON object, trimmed; anything else (absent, `null`, a
/// number, a list) is none, so a record's odd field reads as missing.
pub(crate) fn text<'a>(value: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    value
        .get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// `base` with `segments` appended as path segments (each percent-encoded).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Result<Url, DirectoryError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| DirectoryError::Malformed {
            what: base.to_string(),
            detail: "the API base URL cannot take a path".into(),
        })?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_read_by_iana_or_windows_name() {
        assert_eq!(
            zone_by_name("Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            zone_by_name("W. Europe Standard Time"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(zone_by_name("utc"), Some(Tz::UTC));
        assert_eq!(zone_by_name("Mars/Olympus"), None);
        assert_eq!(zone_by_name(""), None);
    }

    #[test]
    fn addresses_are_told_from_names() {
        assert!(looks_like_email("Boss@X.test"));
        assert!(!looks_like_email("Jane Boss"));
        assert!(!looks_like_email("@x.test"));
        assert!(!looks_like_email("a@b@c"));
        assert!(!looks_like_email("a b@c.test"));
    }

    #[test]
    fn a_person_reached_twice_is_kept_once_with_what_either_knew() {
        let mut people = People::default();
        let mut first = DirectoryPerson::new("A@x.test");
        first.aliases = vec!["a1@x.test".into()];
        people.add(first);
        let mut second = DirectoryPerson::new("a@x.test");
        second.name = Some("A".into());
        second.aliases = vec!["a1@x.test".into(), "a2@x.test".into()];
        people.add(second);
        let listing = people.into_listing();
        assert_eq!(listing.people.len(), 1);
        assert_eq!(listing.people[0].name.as_deref(), Some("A"));
        assert_eq!(listing.people[0].aliases, ["a1@x.test", "a2@x.test"]);
    }

    #[test]
    fn managers_named_by_alias_map_to_their_primary_address() {
        let mut boss = DirectoryPerson::new("boss@x.test");
        boss.aliases = vec!["chief@x.test".into()];
        let mut worker = DirectoryPerson::new("w@x.test");
        worker.manager = Some("chief@x.test".into());
        let pairs = manager_pairs(&[boss, worker]);
        assert_eq!(pairs, [("w@x.test".to_string(), "boss@x.test".to_string())]);
    }

    #[test]
    fn the_page_guard_refuses_a_repeated_token_and_too_many_pages() {
        let mut guard = PageGuard::new(&Url::parse("https://h.test/users?pageToken=x").unwrap());
        assert_eq!(guard.what(), "h.test/users");
        assert!(guard.continue_with(Some("t1")).unwrap());
        assert!(guard.continue_with(Some("t1")).is_err());
        assert!(!guard.continue_with(Some(" ")).unwrap());
        for _ in 0..MAX_PAGES {
            guard.next_page().unwrap();
        }
        assert!(matches!(
            guard.next_page(),
            Err(DirectoryError::TooMany { items: "pages", .. })
        ));
    }

    #[tokio::test]
    async fn one_persons_failure_leaves_the_others_their_zones() {
        let people = vec![
            DirectoryPerson::new("a@x.test"),
            DirectoryPerson::new("b@x.test"),
            DirectoryPerson::new("c@x.test"),
        ];
        let (people, failures) = with_time_zones(people, |person| async move {
            match person.email.as_str() {
                "b@x.test" => Err(DirectoryError::Source(SourceError::Permanent {
                    what: "settings".into(),
                    detail: "HTTP 403".into(),
                })),
                "c@x.test" => Ok(None),
                _ => Ok(Some(chrono_tz::Europe::Berlin)),
            }
        })
        .await;
        assert_eq!(people[0].time_zone, Some(chrono_tz::Europe::Berlin));
        assert_eq!(people[1].time_zone, None);
        assert_eq!(people[2].time_zone, None);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].email, "b@x.test");
    }

    #[tokio::test]
    async fn throttling_stops_the_lookups_not_yet_started() {
        let people: Vec<_> = (0..100)
            .map(|i| DirectoryPerson::new(&format!("p{i:03}@x.test")))
            .collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (_, failures) = with_time_zones(people, |_| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async {
                Err(DirectoryError::Source(SourceError::RateLimited {
                    what: "settings".into(),
                    retry_after: std::time::Duration::from_secs(60),
                }))
            }
        })
        .await;
        assert_eq!(failures.len(), 100);
        assert!(calls.load(std::sync::atomic::Ordering::Relaxed) <= ZONE_CONCURRENCY);
    }
}

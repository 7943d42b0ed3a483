//! Google Workspace's directory through the Admin SDK Directory API, and each
//! person's time zone from their Calendar settings.
//!
//! - `GET {directory}/users?domain=…|customer=my_customer&maxResults=500&pageToken=…`:
//!   `{"kind":"admin#directory#users","users":[…],"nextPageToken":"…"}` (no `users`
//!   when empty). A user carries `primaryEmail`, `name.fullName`, `suspended`,
//!   `archived`, `aliases`, `emails[].address` and `relations[]` (`type` `manager`,
//!   `value` the manager's address). Scope
//!   `https://www.googleapis.com/auth/admin.directory.user.readonly`.
//! - `GET {directory}/users/{userKey}`: one user; 404 when there is none.
//! - `GET {directory}/groups/{groupKey}/members?maxResults=200&pageToken=…`:
//!   `{"members":[{"email","id","type":"USER|GROUP|CUSTOMER|EXTERNAL","status"}]}`.
//!   Scope `…/auth/admin.directory.group.member.readonly`.
//! - `GET {calendar}/users/me/settings/timezone`, as the person (domain-wide
//!   delegation with `sub` = the person): `{"kind":"calendar#setting","id":"timezone",
//!   "value":"Europe/Berlin"}`.
//!
//! Every record is read on its own: a user whose JSON is not what the API documents
//! is skipped and reported, the rest of the page is kept.

use std::collections::{BTreeSet, VecDeque};

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    DirectoryError, DirectoryPerson, Listing, MAX_GROUPS, PageGuard, People, Skipped, join,
    looks_like_email, normalise_email, text,
};
use crate::auth::Credentials;
use crate::sources::http::Http;

/// The Directory API's base URL.
pub const DIRECTORY_BASE_URL: &str = "https://admin.googleapis.com/admin/directory/v1/";

/// Users per page: the most `users.list` allows.
pub const USERS_PAGE_SIZE: u32 = 500;

/// Members per page: the most `members.list` allows.
pub const MEMBERS_PAGE_SIZE: u32 = 200;

/// Which users `users.list` lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserScope {
    /// The users of one domain of the account.
    Domain(String),
    /// Every user of the account (`customer=my_customer`), all domains.
    Customer,
}

/// The people of a group, nested groups resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    /// Lower-cased addresses of the active user members.
    pub addresses: BTreeSet<String>,
    /// Members left out (suspended, outside the account, unreadable) and why.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Page {
    users: Value,
    members: Value,
    #[serde(rename = "nextPageToken")]
    next_page_token: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Member {
    email: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Setting {
    value: Value,
}

/// What reading one user record gave.
enum Read {
    Person(Box<DirectoryPerson>),
    /// Suspended or archived: not covered, nothing wrong.
    Inactive,
    /// Unusable: why.
    Bad(String),
}

/// Reads one user. Only `primaryEmail` is required; an optional field of the wrong
/// shape (a name that is a string, relations that are not a list) is read as absent,
/// so one odd field does not cost the person their briefs.
fn read_user(user: Value) -> Read {
    if !user.is_object() {
        return Read::Bad("a user record that is not an object".into());
    }
    if user.get("suspended") == Some(&Value::Bool(true))
        || user.get("archived") == Some(&Value::Bool(true))
    {
        return Read::Inactive;
    }
    let Some(email) = text(&user, "primaryEmail").filter(|e| looks_like_email(e)) else {
        return Read::Bad("a user without a usable primaryEmail".into());
    };
    let mut person = DirectoryPerson::new(email);
    person.id = text(&user, "id").map(str::to_string);
    person.name = user.get("name").and_then(|name| {
        text(name, "fullName").map(str::to_string).or_else(|| {
            let joined = [text(name, "givenName"), text(name, "familyName")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        })
    });
    let list = |field: &str| {
        user.get(field)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let aliases = list("aliases");
    let emails = list("emails");
    let others = aliases
        .iter()
        .filter_map(Value::as_str)
        .chain(emails.iter().filter_map(|e| text(e, "address")));
    for alias in others {
        let alias = normalise_email(alias);
        if looks_like_email(&alias) && alias != person.email && !person.aliases.contains(&alias) {
            person.aliases.push(alias);
        }
    }
    // The manager relation holds an address when set through the Admin console; a
    // free-text name cannot place anyone in the chart.
    person.manager = list("relations")
        .iter()
        .filter(|r| text(r, "type") == Some("manager"))
        .filter_map(|r| text(r, "value"))
        .find(|v| looks_like_email(v))
        .map(normalise_email)
        .filter(|manager| *manager != person.email);
    Read::Person(Box::new(person))
}

fn array(guard: &PageGuard, value: Value, field: &str) -> Result<Vec<Value>, DirectoryError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items),
        _ => Err(DirectoryError::Malformed {
            what: guard.what().to_string(),
            detail: format!("`{field}` is not a list"),
        }),
    }
}

/// The active users of a domain or of the whole account, each once, with names,
/// aliases and managers (no time zones: see [`time_zone`]). Suspended and archived
/// users are left out silently; unreadable records are left out and reported.
pub async fn list_users<C: Credentials>(
    http: &Http,
    credentials: &C,
    directory: &Url,
    scope: &UserScope,
) -> Result<Listing, DirectoryError> {
    let mut url = join(directory, &["users"])?;
    {
        let mut query = url.query_pairs_mut();
        match scope {
            UserScope::Domain(domain) => query.append_pair("domain", domain.trim()),
            UserScope::Customer => query.append_pair("customer", "my_customer"),
        };
        query.append_pair("maxResults", &USERS_PAGE_SIZE.to_string());
    }
    let mut guard = PageGuard::new(&url);
    let mut people = People::default();
    let mut token: Option<String> = None;
    loop {
        guard.next_page()?;
        let mut page_url = url.clone();
        if let Some(token) = &token {
            page_url.query_pairs_mut().append_pair("pageToken", token);
        }
        let page: Page = http.get_json(&page_url, credentials).await?;
        for (index, value) in array(&guard, page.users, "users")?.into_iter().enumerate() {
            match read_user(value) {
                Read::Person(person) => people.add(*person),
                Read::Inactive => {}
                Read::Bad(why) => people.skip(format!("user {index} of page {}", guard.pages), why),
            }
        }
        guard.check_people(people.len())?;
        let next = page.next_page_token.as_str().map(str::to_string);
        if !guard.continue_with(next.as_deref())? {
            break;
        }
        token = next;
    }
    Ok(people.into_listing())
}

/// One user by primary address, alias or id; `None` when the directory has no such
/// user, or they are suspended or archived.
pub async fn get_user<C: Credentials>(
    http: &Http,
    credentials: &C,
    directory: &Url,
    key: &str,
) -> Result<Option<DirectoryPerson>, DirectoryError> {
    let url = join(directory, &["users", key.trim()])?;
    let value: Value = match http.get_json(&url, credentials).await {
        Ok(value) => value,
        Err(error) if super::is_not_found(&error) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    match read_user(value) {
        Read::Person(person) => Ok(Some(*person)),
        Read::Inactive => Ok(None),
        Read::Bad(why) => Err(DirectoryError::Malformed {
            what: super::super::http::describe_url(&url),
            detail: why,
        }),
    }
}

/// The active user members of `group` (its address, alias or id), members of nested
/// groups included. Each group is opened once, so groups that contain each other end;
/// suspended members, `CUSTOMER` members (the whole account as a member) and
/// `EXTERNAL` ones (outside the account: tete cannot act for them) are skipped and
/// reported. A group that does not exist is [`DirectoryError::GroupNotFound`] when
/// it is the one asked for, and a skipped entry when nested.
pub async fn group_members<C: Credentials>(
    http: &Http,
    credentials: &C,
    directory: &Url,
    group: &str,
) -> Result<Members, DirectoryError> {
    let mut members = Members::default();
    let mut opened: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::from([normalise_email(group)]);
    while let Some(key) = queue.pop_front() {
        if !opened.insert(key.clone()) {
            continue;
        }
        if opened.len() > MAX_GROUPS {
            return Err(DirectoryError::TooMany {
                what: format!("group {group}"),
                limit: MAX_GROUPS,
                items: "groups",
            });
        }
        let nested = opened.len() > 1;
        match one_group(http, credentials, directory, &key, &mut members).await {
            Ok(groups) => queue.extend(groups),
            Err(DirectoryError::Source(error)) if super::is_not_found(&error) => {
                if !nested {
                    return Err(DirectoryError::GroupNotFound {
                        group: group.to_string(),
                    });
                }
                members.skipped.push(Skipped {
                    who: key,
                    why: "nested group not found".into(),
                });
            }
            Err(error) => return Err(error),
        }
    }
    if members.addresses.len() > super::MAX_PEOPLE {
        return Err(DirectoryError::TooMany {
            what: format!("group {group}"),
            limit: super::MAX_PEOPLE,
            items: "people",
        });
    }
    Ok(members)
}

/// Reads one group's direct members into `members`; returns its nested groups.
async fn one_group<C: Credentials>(
    http: &Http,
    credentials: &C,
    directory: &Url,
    key: &str,
    members: &mut Members,
) -> Result<Vec<String>, DirectoryError> {
    let mut url = join(directory, &["groups", key, "members"])?;
    url.query_pairs_mut()
        .append_pair("maxResults", &MEMBERS_PAGE_SIZE.to_string());
    let mut guard = PageGuard::new(&url);
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    loop {
        guard.next_page()?;
        let mut page_url = url.clone();
        if let Some(token) = &token {
            page_url.query_pairs_mut().append_pair("pageToken", token);
        }
        let page: Page = http.get_json(&page_url, credentials).await?;
        for value in array(&guard, page.members, "members")? {
            let member: Member = match serde_json::from_value(value) {
                Ok(member) => member,
                Err(error) => {
                    members.skipped.push(Skipped {
                        who: format!("a member of {key}"),
                        why: format!("unreadable member record: {error}"),
                    });
                    continue;
                }
            };
            let address = member.email.as_deref().map(normalise_email);
            let who = address
                .clone()
                .or(member.id.clone())
                .unwrap_or_else(|| format!("a member of {key}"));
            match member.kind.as_deref().unwrap_or("USER") {
                "GROUP" => match address.or(member.id) {
                    Some(nested) => groups.push(normalise_email(&nested)),
                    None => members.skipped.push(Skipped {
                        who,
                        why: "a nested group without address or id".into(),
                    }),
                },
                "USER" if member.status.as_deref() == Some("SUSPENDED") => {
                    members.skipped.push(Skipped {
                        who,
                        why: "suspended".into(),
                    });
                }
                "USER" => match address.filter(|a| looks_like_email(a)) {
                    Some(address) => {
                        members.addresses.insert(address);
                    }
                    None => members.skipped.push(Skipped {
                        who,
                        why: "a user member without an address".into(),
                    }),
                },
                other => members.skipped.push(Skipped {
                    who,
                    why: format!("member of type {other} is not a person tete can act for"),
                }),
            }
        }
        if members.addresses.len() > super::MAX_PEOPLE {
            return Err(DirectoryError::TooMany {
                what: guard.what().to_string(),
                limit: super::MAX_PEOPLE,
                items: "people",
            });
        }
        let next = page.next_page_token.as_str().map(str::to_string);
        if !guard.continue_with(next.as_deref())? {
            break;
        }
        token = next;
    }
    Ok(groups)
}

/// The person's time zone from their Calendar settings, read with `person_credentials`
/// (a token acting as that person). `None` when the setting is absent or names a
/// zone tete does not know.
pub async fn time_zone<C: Credentials>(
    http: &Http,
    person_credentials: &C,
    calendar: &Url,
) -> Result<Option<Tz>, DirectoryError> {
    let url = join(calendar, &["users", "me", "settings", "timezone"])?;
    let setting: Setting = http.get_json(&url, person_credentials).await?;
    Ok(setting.value.as_str().and_then(super::zone_by_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person(value: Value) -> DirectoryPerson {
        match read_user(value) {
            Read::Person(person) => *person,
            Read::Inactive => panic!("inactive"),
            Read::Bad(why) => panic!("bad: {why}"),
        }
    }

    #[test]
    fn a_user_record_gives_address_name_aliases_and_manager() {
        let read = person(json!({
            "kind": "admin#directory#user", "id": "1001",
            "primaryEmail": "Dana@Example.test",
            "name": {"givenName": "Dana", "familyName": "Lee", "fullName": "Dana Lee"},
            "suspended": false, "archived": false,
            "aliases": ["dl@example.test"],
            "emails": [{"address": "dana@example.test", "primary": true},
                       {"address": "DL@example.test"}, {"address": "dana@old.test"}],
            "relations": [{"value": "Alex@Example.test", "type": "manager"},
                          {"value": "Sam", "type": "assistant"}]
        }));
        assert_eq!(read.email, "dana@example.test");
        assert_eq!(read.id.as_deref(), Some("1001"));
        assert_eq!(read.name.as_deref(), Some("Dana Lee"));
        assert_eq!(read.aliases, ["dl@example.test", "dana@old.test"]);
        assert_eq!(read.manager.as_deref(), Some("alex@example.test"));
    }

    #[test]
    fn suspended_archived_and_hostile_records_are_told_apart() {
        assert!(matches!(
            read_user(json!({"primaryEmail": "a@x.test", "suspended": true})),
            Read::Inactive
        ));
        assert!(matches!(
            read_user(json!({"primaryEmail": "a@x.test", "archived": true})),
            Read::Inactive
        ));
        assert!(matches!(
            read_user(json!({"primaryEmail": 5})),
            Read::Bad(_)
        ));
        assert!(matches!(read_user(json!("user")), Read::Bad(_)));
        assert!(matches!(read_user(json!({"name": {}})), Read::Bad(_)));
        // A manager named in free text places nobody.
        let read = person(json!({"primaryEmail": "a@x.test",
            "relations": [{"type": "manager", "value": "The Boss"}],
            "name": {"givenName": "Ann"}}));
        assert_eq!(read.manager, None);
        assert_eq!(read.name.as_deref(), Some("Ann"));
    }
}

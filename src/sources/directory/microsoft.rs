//! A Microsoft 365 tenant's directory through Microsoft Graph, app-only.
//!
//! - `GET {graph}/users?$select=id,displayName,mail,userPrincipalName,accountEnabled,userType
//!   &$expand=manager($select=id,mail,userPrincipalName)&$top=100`: the tenant's users
//!   with their managers in one listing (`User.Read.All`). Graph caps a page with
//!   `$expand` on directory objects at 100 (a documented known issue), so tete asks
//!   for 100 and follows `@odata.nextLink`; one request per 100 people instead of
//!   one `/users/{id}/manager` per person.
//! - `GET {graph}/groups?$filter=mail eq '…'&$select=id,mail,displayName`: a group
//!   named by address.
//! - `GET {graph}/groups/{id}/transitiveMembers/microsoft.graph.user?$select=…&$count=true
//!   &$top=999` with `ConsistencyLevel: eventual`: the users of a group, nested groups
//!   flattened by Graph (`GroupMember.Read.All`). The OData cast is an advanced query:
//!   Graph wants the header and `$count` with it.
//! - `GET {graph}/users/{id}/manager?$select=id,mail,userPrincipalName`: one manager;
//!   404 `Request_ResourceNotFound` when there is none.
//! - `GET {graph}/users/{id}/mailboxSettings/timeZone`: `{"value":"W. Europe Standard
//!   Time"}`, a Windows name or an IANA one (`MailboxSettings.Read`).
//!
//! Paging links are followed only on the configured Graph origin: the bearer token
//! goes wherever a link points.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    DirectoryError, DirectoryPerson, Listing, PageGuard, People, join, looks_like_email,
    normalise_email, text,
};
use crate::auth::Credentials;
use crate::sources::http::Http;

/// Fields read of a user.
pub const USER_SELECT: &str = "id,displayName,mail,userPrincipalName,accountEnabled,userType";

/// Fields read of a manager.
pub const MANAGER_SELECT: &str = "id,mail,userPrincipalName";

/// Users per page of the users listing: with `$expand`, Graph returns at most 100.
pub const USERS_PAGE_SIZE: u32 = 100;

/// Members per page of a group listing: the most Graph allows.
pub const MEMBERS_PAGE_SIZE: u32 = 999;

/// Graph's header for advanced queries (`$count`, OData casts).
pub const CONSISTENCY: (&str, &str) = ("ConsistencyLevel", "eventual");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Page {
    value: Value,
    #[serde(rename = "@odata.nextLink")]
    next_link: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Setting {
    value: Value,
}

/// A person's address as Graph gives it: `mail` (the mailbox), else the sign-in name.
fn address(record: &Value) -> Option<String> {
    text(record, "mail")
        .filter(|m| looks_like_email(m))
        .or(text(record, "userPrincipalName").filter(|u| looks_like_email(u)))
        .map(normalise_email)
}

/// One user record: `Ok(None)` for a disabled account or a guest (no mailbox of the
/// tenant to act for), `Err(why)` for an unusable record. Optional fields of the
/// wrong shape are read as absent.
fn read_user(user: Value) -> Result<Option<DirectoryPerson>, String> {
    if !user.is_object() {
        return Err("a user record that is not an object".into());
    }
    if user.get("accountEnabled") == Some(&Value::Bool(false))
        || text(&user, "userType").is_some_and(|t| t.eq_ignore_ascii_case("guest"))
    {
        return Ok(None);
    }
    let Some(email) = address(&user) else {
        return Err(format!(
            "user {} has neither mail nor userPrincipalName",
            text(&user, "id").unwrap_or("without id")
        ));
    };
    let mut person = DirectoryPerson::new(&email);
    person.id = text(&user, "id").map(str::to_string);
    person.name = text(&user, "displayName").map(str::to_string);
    if let Some(upn) = text(&user, "userPrincipalName").map(normalise_email)
        && upn != person.email
        && looks_like_email(&upn)
    {
        person.aliases.push(upn);
    }
    person.manager = user
        .get("manager")
        .and_then(address)
        .filter(|m| *m != person.email);
    Ok(Some(person))
}

/// A link from Graph, accepted only towards the configured service.
fn follow(graph: &Url, guard: &PageGuard, link: &str) -> Result<Url, DirectoryError> {
    let url = Url::parse(link).map_err(|_| DirectoryError::Malformed {
        what: guard.what().to_string(),
        detail: "an unreadable @odata.nextLink".into(),
    })?;
    if url.origin() != graph.origin() {
        return Err(DirectoryError::Malformed {
            what: guard.what().to_string(),
            detail: format!(
                "an @odata.nextLink to another host ({})",
                url.host_str().unwrap_or("?")
            ),
        });
    }
    Ok(url)
}

/// Reads every page from `url` on, each user record through `read_user`.
async fn read_pages<C: Credentials>(
    http: &Http,
    credentials: &C,
    graph: &Url,
    url: Url,
    headers: &[(&str, &str)],
) -> Result<Listing, DirectoryError> {
    let mut guard = PageGuard::new(&url);
    let mut people = People::default();
    let mut next = url;
    loop {
        guard.next_page()?;
        let page: Page = http.get_json_with(&next, headers, credentials).await?;
        let items = match page.value {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            _ => {
                return Err(DirectoryError::Malformed {
                    what: guard.what().to_string(),
                    detail: "`value` is not a list".into(),
                });
            }
        };
        for (index, item) in items.into_iter().enumerate() {
            match read_user(item) {
                Ok(Some(person)) => people.add(person),
                Ok(None) => {}
                Err(why) => people.skip(format!("user {index} of page {}", guard.pages), why),
            }
        }
        guard.check_people(people.len())?;
        let link = page.next_link.as_str().map(str::to_string);
        if !guard.continue_with(link.as_deref())? {
            break;
        }
        next = follow(graph, &guard, link.as_deref().unwrap_or_default())?;
    }
    Ok(people.into_listing())
}

/// The tenant's enabled member users, each once, with display names and managers (no
/// time zones: see [`time_zone`]). Disabled accounts and guests are left out
/// silently; unreadable records are left out and reported.
pub async fn list_users<C: Credentials>(
    http: &Http,
    credentials: &C,
    graph: &Url,
) -> Result<Listing, DirectoryError> {
    let mut url = join(graph, &["users"])?;
    url.query_pairs_mut()
        .append_pair("$select", USER_SELECT)
        .append_pair("$expand", &format!("manager($select={MANAGER_SELECT})"))
        .append_pair("$top", &USERS_PAGE_SIZE.to_string());
    read_pages(http, credentials, graph, url, &[]).await
}

/// The enabled users of a group, nested groups included (Graph flattens them, and
/// counts each person once). `group` is the group's object id or its address. The
/// members carry no managers: take those from [`list_users`].
pub async fn group_members<C: Credentials>(
    http: &Http,
    credentials: &C,
    graph: &Url,
    group: &str,
) -> Result<Listing, DirectoryError> {
    let id = if group.contains('@') {
        group_by_mail(http, credentials, graph, group).await?
    } else {
        group.trim().to_string()
    };
    let mut url = join(
        graph,
        &["groups", &id, "transitiveMembers", "microsoft.graph.user"],
    )?;
    url.query_pairs_mut()
        .append_pair("$select", USER_SELECT)
        .append_pair("$count", "true")
        .append_pair("$top", &MEMBERS_PAGE_SIZE.to_string());
    match read_pages(http, credentials, graph, url, &[CONSISTENCY]).await {
        Err(DirectoryError::Source(error)) if super::is_not_found(&error) => {
            Err(DirectoryError::GroupNotFound {
                group: group.to_string(),
            })
        }
        other => other,
    }
}

/// The object id of the one group with this address.
async fn group_by_mail<C: Credentials>(
    http: &Http,
    credentials: &C,
    graph: &Url,
    group: &str,
) -> Result<String, DirectoryError> {
    let mail = normalise_email(group);
    let mut url = join(graph, &["groups"])?;
    // OData string literals double their single quotes.
    url.query_pairs_mut()
        .append_pair(
            "$filter",
            &format!("mail eq '{}'", mail.replace('\'', "''")),
        )
        .append_pair("$select", "id,mail,displayName");
    let page: Page = http.get_json(&url, credentials).await?;
    let ids: BTreeSet<String> = match page.value {
        Value::Array(items) => items
            .iter()
            .filter_map(|g| g.get("id").and_then(Value::as_str))
            .filter(|id| !id.trim().is_empty())
            .map(str::to_string)
            .collect(),
        _ => BTreeSet::new(),
    };
    match ids.len() {
        0 => Err(DirectoryError::GroupNotFound {
            group: group.to_string(),
        }),
        1 => Ok(ids.into_iter().next().unwrap_or_default()),
        count => Err(DirectoryError::AmbiguousGroup {
            group: group.to_string(),
            count,
        }),
    }
}

/// One person's manager (`user` is an object id or address); `None` when the
/// directory names none.
pub async fn manager<C: Credentials>(
    http: &Http,
    credentials: &C,
    graph: &Url,
    user: &str,
) -> Result<Option<String>, DirectoryError> {
    let mut url = join(graph, &["users", user.trim(), "manager"])?;
    url.query_pairs_mut().append_pair("$select", MANAGER_SELECT);
    match http.get_json::<Value, _>(&url, credentials).await {
        Ok(value) => Ok(address(&value)),
        Err(error) if super::is_not_found(&error) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// One person's mailbox time zone (`user` is an object id or address): Windows names
/// are mapped to IANA. `None` when unset or unknown to tete.
pub async fn time_zone<C: Credentials>(
    http: &Http,
    credentials: &C,
    graph: &Url,
    user: &str,
) -> Result<Option<Tz>, DirectoryError> {
    let url = join(
        graph,
        &["users", user.trim(), "mailboxSettings", "timeZone"],
    )?;
    let setting: Setting = http.get_json(&url, credentials).await?;
    Ok(setting.value.as_str().and_then(super::zone_by_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_record_gives_address_name_upn_alias_and_manager() {
        let person = read_user(json!({
            "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
            "displayName": "Dana Lee", "mail": "Dana@Contoso.test",
            "userPrincipalName": "dlee@contoso.test", "accountEnabled": true,
            "userType": "Member",
            "manager": {"@odata.type": "#microsoft.graph.user", "id": "m1",
                        "mail": null, "userPrincipalName": "Alex@contoso.test"}
        }))
        .unwrap()
        .unwrap();
        assert_eq!(person.email, "dana@contoso.test");
        assert_eq!(person.aliases, ["dlee@contoso.test"]);
        assert_eq!(person.name.as_deref(), Some("Dana Lee"));
        assert_eq!(person.manager.as_deref(), Some("alex@contoso.test"));
    }

    #[test]
    fn disabled_guests_and_hostile_records_are_told_apart() {
        assert_eq!(
            read_user(json!({"mail": "a@x.test", "accountEnabled": false})),
            Ok(None)
        );
        assert_eq!(
            read_user(json!({"mail": "a_y#EXT#@x.test", "userType": "Guest"})),
            Ok(None)
        );
        assert!(read_user(json!({"mail": null, "userPrincipalName": null})).is_err());
        assert!(read_user(json!({"mail": ["a@x.test"]})).is_err());
        // A mail of the wrong shape falls back to the sign-in name.
        let upn = read_user(json!({"mail": 5, "userPrincipalName": "u@x.test"}))
            .unwrap()
            .unwrap();
        assert_eq!(upn.email, "u@x.test");
        assert!(read_user(json!(42)).is_err());
        // A manager that is not an object is no manager, not a failure.
        let person = read_user(json!({"mail": "a@x.test", "manager": "boss"}))
            .unwrap()
            .unwrap();
        assert_eq!(person.manager, None);
    }

    #[test]
    fn links_to_another_host_are_refused() {
        let graph = Url::parse("https://graph.test/v1.0/").unwrap();
        let guard = PageGuard::new(&graph);
        assert!(follow(&graph, &guard, "https://graph.test/v1.0/users?$skiptoken=x").is_ok());
        assert!(follow(&graph, &guard, "https://evil.test/v1.0/users").is_err());
        assert!(follow(&graph, &guard, "not a link").is_err());
    }
}

//! Reading who is in the organisation from the fakes' directories: Google's Admin SDK
//! and Calendar settings, Graph's users, groups, managers and mailbox settings.
//! Paging with small pages, nested groups with a cycle, inactive people left out,
//! manager relations into the org chart, time zones (IANA and Windows names), one
//! person's 403 not failing the rest, a 5xx retried, hostile records skipped.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::json;
use tete::auth::{AuthError, Credentials, Secret};
use tete::core::orgchart::{OrgChart, Relation};
use tete::sources::SourceError;
use tete::sources::directory::{
    self, DirectoryError, DirectoryPerson, google, manager_pairs, microsoft, with_time_zones,
};
use tete::sources::http::{Http, HttpOptions, RetryPolicy};
use url::Url;

use crate::fake_google::{FakeGoogle, Injected, directory_member, directory_user};
use crate::fake_graph::FakeGraph;

/// A bearer token the fake issued, as the org credentials will supply one.
pub(crate) struct Token(pub(crate) String);

impl Credentials for Token {
    async fn access_token(&self) -> Result<Secret, AuthError> {
        Ok(Secret::new(self.0.clone()))
    }
    async fn refresh(&self) -> Result<Secret, AuthError> {
        Ok(Secret::new(self.0.clone()))
    }
    async fn rejected(&self, detail: &str) -> AuthError {
        AuthError::Refused {
            what: "test token".into(),
            detail: detail.into(),
        }
    }
}

pub(crate) fn http() -> Http {
    Http::new(
        Http::default_client().expect("client"),
        HttpOptions {
            retry: RetryPolicy {
                base: Duration::from_millis(5),
                max: Duration::from_secs(2),
                attempts: 4,
            },
            requests_per_second: 0.0,
            burst: 1,
            max_body_bytes: 16 * 1024 * 1024,
        },
    )
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("url")
}

fn emails(people: &[DirectoryPerson]) -> Vec<&str> {
    people.iter().map(|p| p.email.as_str()).collect()
}

const ADMIN: &str = "admin@acme.test";

/// A Google account: an admin, a manager chain alex ← dana, sam; alex's manager ceo;
/// a suspended and an archived user; one user of another domain.
async fn google_org() -> (FakeGoogle, Token) {
    let fake = FakeGoogle::start().await;
    fake.add_user(ADMIN);
    fake.make_directory_admin(ADMIN);
    for (email, name, manager) in [
        (ADMIN, "Ada Admin", None),
        ("ceo@acme.test", "Cleo Chief", None),
        ("alex@acme.test", "Alex Rivera", Some("CEO@acme.test")),
        ("dana@acme.test", "Dana Lee", Some("alex@acme.test")),
        ("sam@acme.test", "Sam Park", Some("alex@acme.test")),
        ("priya@other.test", "Priya Shah", None),
    ] {
        fake.put_directory_user(directory_user(email, name, manager));
    }
    let mut suspended = directory_user("gone@acme.test", "Gone Person", None);
    suspended["suspended"] = json!(true);
    fake.put_directory_user(suspended);
    let mut archived = directory_user("old@acme.test", "Old Person", None);
    archived["archived"] = json!(true);
    fake.put_directory_user(archived);
    let (token, _) = fake.issue_tokens(ADMIN);
    (fake, Token(token))
}

#[tokio::test]
async fn google_users_are_read_across_small_pages_without_inactive_ones() {
    let (fake, admin) = google_org().await;
    fake.set_directory_page_cap(2);
    let base = url(&fake.directory_base());
    let listing = google::list_users(
        &http(),
        &admin,
        &base,
        &google::UserScope::Domain("acme.test".into()),
    )
    .await
    .expect("listing");
    assert_eq!(
        emails(&listing.people),
        [
            ADMIN,
            "alex@acme.test",
            "ceo@acme.test",
            "dana@acme.test",
            "sam@acme.test"
        ]
    );
    assert!(listing.skipped.is_empty(), "{:?}", listing.skipped);
    let dana = &listing.people[3];
    assert_eq!(dana.name.as_deref(), Some("Dana Lee"));
    assert_eq!(dana.manager.as_deref(), Some("alex@acme.test"));
    // 7 users of the domain at 2 a page: 4 pages, each asking for 500.
    let pages: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/admin/directory/v1/users")
        .collect();
    assert_eq!(pages.len(), 4);
    assert!(pages.iter().all(|r| r.param("maxResults") == Some("500")));

    let everyone = google::list_users(&http(), &admin, &base, &google::UserScope::Customer)
        .await
        .expect("whole account");
    assert!(
        everyone
            .people
            .iter()
            .any(|p| p.email == "priya@other.test")
    );

    // The org chart from the listing.
    let chart = OrgChart::new(manager_pairs(&listing.people));
    assert_eq!(
        chart.relation("dana@acme.test", "ALEX@acme.test"),
        Relation::ManagerReport {
            manager: "alex@acme.test".into(),
            report: "dana@acme.test".into()
        }
    );
    assert_eq!(
        chart.relation("ceo@acme.test", "sam@acme.test"),
        Relation::SkipLevel {
            upper: "ceo@acme.test".into(),
            lower: "sam@acme.test".into()
        }
    );
    assert_eq!(
        chart.relation("dana@acme.test", "sam@acme.test"),
        Relation::Peers {
            manager: "alex@acme.test".into()
        }
    );
}

#[tokio::test]
async fn google_one_user_is_read_by_key_and_a_missing_one_is_none() {
    let (fake, admin) = google_org().await;
    let base = url(&fake.directory_base());
    let alex = google::get_user(&http(), &admin, &base, "alex@acme.test")
        .await
        .expect("get")
        .expect("alex");
    assert_eq!(alex.manager.as_deref(), Some("ceo@acme.test"));
    assert_eq!(
        google::get_user(&http(), &admin, &base, "nobody@acme.test")
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        google::get_user(&http(), &admin, &base, "gone@acme.test")
            .await
            .expect("get"),
        None
    );
}

#[tokio::test]
async fn google_nested_groups_with_a_cycle_give_each_person_once() {
    let (fake, admin) = google_org().await;
    fake.set_directory_page_cap(2);
    fake.put_group(
        "eng@acme.test",
        vec![
            directory_member("alex@acme.test", "USER", "ACTIVE"),
            directory_member("team-a@acme.test", "GROUP", "ACTIVE"),
            directory_member("C0fake", "CUSTOMER", "ACTIVE"),
        ],
    );
    fake.put_group(
        "team-a@acme.test",
        vec![
            directory_member("Dana@acme.test", "USER", "ACTIVE"),
            directory_member("eng@acme.test", "GROUP", "ACTIVE"),
            directory_member("alex@acme.test", "USER", "ACTIVE"),
            directory_member("gone@acme.test", "USER", "SUSPENDED"),
            directory_member("friend@else.test", "EXTERNAL", "ACTIVE"),
            directory_member("ghost@acme.test", "GROUP", "ACTIVE"),
        ],
    );
    let base = url(&fake.directory_base());
    let members = google::group_members(&http(), &admin, &base, "eng@acme.test")
        .await
        .expect("members");
    assert_eq!(
        members.addresses,
        BTreeSet::from(["alex@acme.test".to_string(), "dana@acme.test".to_string()])
    );
    let skipped: BTreeSet<&str> = members.skipped.iter().map(|s| s.who.as_str()).collect();
    assert_eq!(
        skipped,
        BTreeSet::from([
            "c0fake",
            "friend@else.test",
            "ghost@acme.test",
            "gone@acme.test"
        ])
    );
    // Each group opened once, despite the cycle.
    let opened: BTreeSet<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/members"))
        .map(|r| r.path)
        .collect();
    assert_eq!(opened.len(), 3, "{opened:?}");

    let listing = google::list_users(&http(), &admin, &base, &google::UserScope::Customer)
        .await
        .expect("listing");
    assert_eq!(
        emails(&directory::select(&listing, &members.addresses)),
        ["alex@acme.test", "dana@acme.test"]
    );

    let missing = google::group_members(&http(), &admin, &base, "nope@acme.test").await;
    assert!(
        matches!(&missing, Err(DirectoryError::GroupNotFound { group }) if group == "nope@acme.test"),
        "{missing:?}"
    );
}

#[tokio::test]
async fn google_time_zones_are_read_as_each_person_and_a_denied_one_fails_alone() {
    let (fake, admin) = google_org().await;
    let base = url(&fake.directory_base());
    let calendar = url(&fake.api_base());
    let listing = google::list_users(
        &http(),
        &admin,
        &base,
        &google::UserScope::Domain("acme.test".into()),
    )
    .await
    .expect("listing");
    // One token per person, as domain-wide delegation issues them (`sub` = the person).
    let mut tokens = HashMap::new();
    for person in &listing.people {
        fake.add_user(&person.email);
        tokens.insert(person.email.clone(), fake.issue_tokens(&person.email).0);
        fake.set_time_zone(&person.email, "Europe/Berlin");
    }
    fake.set_time_zone("sam@acme.test", "America/New_York");
    fake.deny_settings("dana@acme.test");
    let http = http();
    let (people, failures) = with_time_zones(listing.people, |person| {
        let token = Token(tokens[&person.email].clone());
        let (http, calendar) = (&http, &calendar);
        async move { google::time_zone(http, &token, calendar).await }
    })
    .await;
    let zones: Vec<_> = people
        .iter()
        .map(|p| (p.email.as_str(), p.time_zone.map(|z| z.name())))
        .collect();
    assert_eq!(
        zones,
        [
            (ADMIN, Some("Europe/Berlin")),
            ("alex@acme.test", Some("Europe/Berlin")),
            ("ceo@acme.test", Some("Europe/Berlin")),
            ("dana@acme.test", None),
            ("sam@acme.test", Some("America/New_York")),
        ]
    );
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].email, "dana@acme.test");
    let message = failures[0].error.to_string();
    assert!(message.contains("403"), "{message}");
    assert!(!message.contains("ya29"), "a token in {message}");
}

#[tokio::test]
async fn google_a_5xx_is_retried_and_a_non_admin_is_refused() {
    let (fake, admin) = google_org().await;
    let base = url(&fake.directory_base());
    fake.fail_next(vec![Injected {
        status: 503,
        reason: "backendError",
        retry_after: None,
    }]);
    let listing = google::list_users(&http(), &admin, &base, &google::UserScope::Customer)
        .await
        .expect("retried");
    assert_eq!(listing.people.len(), 6);
    assert_eq!(fake.requests().len(), 2);

    fake.add_user("dana@acme.test");
    let (token, _) = fake.issue_tokens("dana@acme.test");
    let refused =
        google::list_users(&http(), &Token(token), &base, &google::UserScope::Customer).await;
    let message = refused.expect_err("not an admin").to_string();
    assert!(
        message.contains("403") && message.contains("forbidden"),
        "{message}"
    );
}

#[tokio::test]
async fn google_hostile_records_are_skipped_and_the_rest_kept() {
    let (fake, admin) = google_org().await;
    fake.put_directory_user(json!("not a user"));
    fake.put_directory_user(json!({"primaryEmail": 42}));
    fake.put_directory_user(json!({"primaryEmail": "not an address"}));
    // Odd optional fields: the person stays, without what could not be read.
    fake.put_directory_user(json!({"primaryEmail": "odd@acme.test", "name": "flat",
                                   "relations": {"type": "manager"}}));
    fake.put_directory_user(json!({"primaryEmail": "self@acme.test",
        "relations": [{"type": "manager", "value": ["x"]},
                      {"type": "manager", "value": "SELF@acme.test"}]}));
    let base = url(&fake.directory_base());
    let listing = google::list_users(&http(), &admin, &base, &google::UserScope::Customer)
        .await
        .expect("listing survives");
    assert_eq!(listing.skipped.len(), 3, "{:?}", listing.skipped);
    assert_eq!(listing.people.len(), 8);
    let odd = listing
        .people
        .iter()
        .find(|p| p.email == "odd@acme.test")
        .expect("odd");
    assert_eq!((odd.name.as_deref(), odd.manager.as_deref()), (None, None));
    // A person named as their own manager has none.
    let me = listing
        .people
        .iter()
        .find(|p| p.email == "self@acme.test")
        .expect("self");
    assert_eq!(me.manager, None);
}

/// A tenant: alex manages dana and sam, ceo manages alex; a disabled user and a guest.
async fn graph_org() -> (FakeGraph, Token, Url) {
    let fake = FakeGraph::start("admin@contoso.test").await;
    for (mail, name) in [
        ("ceo@contoso.test", "Cleo Chief"),
        ("alex@contoso.test", "Alex Rivera"),
        ("dana@contoso.test", "Dana Lee"),
        ("sam@contoso.test", "Sam Park"),
        ("left@contoso.test", "Left Already"),
        ("guest_x.test#EXT#@contoso.test", "A Guest"),
    ] {
        fake.add_directory_user(mail, name);
    }
    fake.set_manager("alex@contoso.test", "ceo@contoso.test");
    fake.set_manager("dana@contoso.test", "alex@contoso.test");
    fake.set_manager("sam@contoso.test", "alex@contoso.test");
    fake.edit_directory_user("left@contoso.test", |u| u["accountEnabled"] = json!(false));
    fake.edit_directory_user("guest_x.test#EXT#@contoso.test", |u| {
        u["userType"] = json!("Guest");
    });
    let (token, _) = fake.sign_in();
    let base = url(&fake.api_base());
    (fake, Token(token), base)
}

#[tokio::test]
async fn graph_users_come_with_their_managers_across_pages() {
    let (fake, app, base) = graph_org().await;
    fake.cap_pages(2);
    let listing = microsoft::list_users(&http(), &app, &base)
        .await
        .expect("listing");
    assert_eq!(
        emails(&listing.people),
        [
            "alex@contoso.test",
            "ceo@contoso.test",
            "dana@contoso.test",
            "sam@contoso.test"
        ]
    );
    let dana = listing
        .people
        .iter()
        .find(|p| p.email == "dana@contoso.test")
        .unwrap();
    assert_eq!(dana.name.as_deref(), Some("Dana Lee"));
    assert_eq!(dana.manager.as_deref(), Some("alex@contoso.test"));
    assert!(dana.id.is_some());
    // 6 users at 2 a page, with the manager expanded in the listing: 3 requests.
    let pages = fake.requests_to("/v1.0/users");
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|r| {
        r.query
            .get("$expand")
            .is_some_and(|e| e.starts_with("manager("))
    }));

    let chart = OrgChart::new(manager_pairs(&listing.people));
    assert_eq!(
        chart.relation("ceo@contoso.test", "dana@contoso.test"),
        Relation::SkipLevel {
            upper: "ceo@contoso.test".into(),
            lower: "dana@contoso.test".into()
        }
    );

    // One manager on its own; none for the top.
    let http = http();
    assert_eq!(
        microsoft::manager(&http, &app, &base, dana.id.as_deref().unwrap())
            .await
            .expect("manager")
            .as_deref(),
        Some("alex@contoso.test")
    );
    assert_eq!(
        microsoft::manager(&http, &app, &base, "ceo@contoso.test")
            .await
            .expect("no manager"),
        None
    );
}

#[tokio::test]
async fn graph_groups_by_mail_and_id_resolve_nested_members_once() {
    let (fake, app, base) = graph_org().await;
    fake.cap_pages(1);
    let team = fake.add_group(
        "team@contoso.test",
        &["dana@contoso.test", "left@contoso.test"],
    );
    let leads = fake.add_group(
        "leads@contoso.test",
        &[
            "alex@contoso.test",
            "team@contoso.test",
            "dana@contoso.test",
        ],
    );
    fake.nest_group(&team, &leads); // a cycle
    let http = http();
    let members = microsoft::group_members(&http, &app, &base, "Leads@contoso.test")
        .await
        .expect("members");
    assert_eq!(
        emails(&members.people),
        ["alex@contoso.test", "dana@contoso.test"]
    );
    let by_id = microsoft::group_members(&http, &app, &base, &team)
        .await
        .expect("members by id");
    assert_eq!(by_id.people, members.people);
    let missing = microsoft::group_members(&http, &app, &base, "none@contoso.test").await;
    assert!(
        matches!(missing, Err(DirectoryError::GroupNotFound { .. })),
        "{missing:?}"
    );
    let missing = microsoft::group_members(&http, &app, &base, "0000-no-such-id").await;
    assert!(
        matches!(missing, Err(DirectoryError::GroupNotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn graph_mailbox_zones_map_windows_names_and_a_denied_mailbox_fails_alone() {
    let (fake, app, base) = graph_org().await;
    fake.set_mailbox_zone("ceo@contoso.test", "Pacific Standard Time");
    fake.set_mailbox_zone("alex@contoso.test", "W. Europe Standard Time");
    fake.set_mailbox_zone("sam@contoso.test", "Asia/Tokyo");
    fake.deny_mailbox("dana@contoso.test");
    let http = http();
    let listing = microsoft::list_users(&http, &app, &base)
        .await
        .expect("listing");
    let (people, failures) = with_time_zones(listing.people, |person| {
        let (http, app, base) = (&http, &app, &base);
        async move {
            let id = person.id.unwrap_or(person.email);
            microsoft::time_zone(http, app, base, &id).await
        }
    })
    .await;
    let zones: Vec<_> = people
        .iter()
        .map(|p| (p.email.as_str(), p.time_zone.map(|z| z.name())))
        .collect();
    assert_eq!(
        zones,
        [
            ("alex@contoso.test", Some("Europe/Berlin")),
            ("ceo@contoso.test", Some("America/Los_Angeles")),
            ("dana@contoso.test", None),
            ("sam@contoso.test", Some("Asia/Tokyo")),
        ]
    );
    assert_eq!(failures.len(), 1);
    assert!(failures[0].error.to_string().contains("ErrorAccessDenied"));
}

#[tokio::test]
async fn graph_a_503_is_retried_and_hostile_records_are_skipped() {
    let (fake, app, base) = graph_org().await;
    fake.put_raw_directory_user(json!({"id": "h1", "mail": 5}));
    fake.put_raw_directory_user(json!({"id": "h2"}));
    fake.put_raw_directory_user(json!(["not", "a", "user"]));
    fake.throttle_with(503, 1, 0);
    let listing = microsoft::list_users(&http(), &app, &base)
        .await
        .expect("retried");
    assert_eq!(listing.people.len(), 4);
    assert_eq!(listing.skipped.len(), 3, "{:?}", listing.skipped);
    assert_eq!(fake.requests_to("/v1.0/users").len(), 2);
}

/// The cost of reading a directory of 10,000 people from each fake: requests and
/// time for the listing (managers included) and for everyone's time zone.
/// `cargo test --test it directory_read_of_ten_thousand -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run on demand"]
async fn directory_read_of_ten_thousand_people() {
    const PEOPLE: usize = 10_000;
    let http = http();

    let fake = FakeGoogle::start().await;
    fake.add_user(ADMIN);
    fake.make_directory_admin(ADMIN);
    let mut tokens = HashMap::new();
    for i in 0..PEOPLE {
        let email = format!("p{i:05}@acme.test");
        let manager = (i > 0).then(|| format!("p{:05}@acme.test", (i - 1) / 8));
        fake.put_directory_user(directory_user(&email, "Person Name", manager.as_deref()));
        fake.set_time_zone(&email, "Europe/Berlin");
        tokens.insert(email.clone(), fake.issue_tokens(&email).0);
    }
    let admin = Token(fake.issue_tokens(ADMIN).0);
    let started = Instant::now();
    let listing = google::list_users(
        &http,
        &admin,
        &url(&fake.directory_base()),
        &google::UserScope::Customer,
    )
    .await
    .expect("listing");
    let listed = started.elapsed();
    let pages = http.requests();
    let calendar = url(&fake.api_base());
    let (people, failures) = with_time_zones(listing.people, |person| {
        let token = Token(tokens[&person.email].clone());
        let (http, calendar) = (&http, &calendar);
        async move { google::time_zone(http, &token, calendar).await }
    })
    .await;
    assert!(failures.is_empty());
    assert_eq!(people.len(), PEOPLE);
    println!(
        "google: {PEOPLE} people: listing {pages} requests in {listed:?}; with time zones {} requests in {:?}",
        http.requests(),
        started.elapsed()
    );

    let graph = FakeGraph::start("admin@contoso.test").await;
    for i in 0..PEOPLE {
        let mail = format!("p{i:05}@contoso.test");
        graph.add_directory_user(&mail, "Person Name");
        graph.set_mailbox_zone(&mail, "W. Europe Standard Time");
        if i > 0 {
            graph.set_manager(&mail, &format!("p{:05}@contoso.test", (i - 1) / 8));
        }
    }
    let app = Token(graph.sign_in().0);
    let base = url(&graph.api_base());
    let http = self::http();
    let started = Instant::now();
    let listing = microsoft::list_users(&http, &app, &base)
        .await
        .expect("listing");
    let listed = started.elapsed();
    let pages = http.requests();
    let (people, failures) =
        with_time_zones(listing.people, |person| {
            let (http, app, base) = (&http, &app, &base);
            async move {
                microsoft::time_zone(http, app, base, &person.id.unwrap_or(person.email)).await
            }
        })
        .await;
    assert!(failures.is_empty());
    assert_eq!(people.len(), PEOPLE);
    assert!(people.iter().skip(1).all(|p| p.manager.is_some()));
    println!(
        "graph: {PEOPLE} people: listing {pages} requests in {listed:?}; with time zones {} requests in {:?}",
        http.requests(),
        started.elapsed()
    );
}

#[test]
fn errors_of_a_whole_credential_are_told_from_one_persons() {
    let throttled = DirectoryError::Source(SourceError::RateLimited {
        what: "x".into(),
        retry_after: Duration::from_secs(1),
    });
    assert!(throttled.is_account_wide());
    let denied = DirectoryError::Source(SourceError::Permanent {
        what: "x".into(),
        detail: "HTTP 403".into(),
    });
    assert!(!denied.is_account_wide());
}

//! Org-wide mode: reading who an org covers from the fakes' directories (Google's
//! Admin SDK and Calendar settings, Graph's users, groups and mailbox settings) into
//! the roster the pass keeps, and the config a pass then sees.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use tete::auth::{AuthError, Credentials, Secret};
use tete::pass::org::{GoogleDirectory, read_microsoft_roster, with_org_people};
use tete::sources::http::{Http, HttpOptions, RetryPolicy};
use url::Url;

use crate::fake_google::{FakeGoogle, directory_member, directory_user};
use crate::fake_graph::FakeGraph;

/// A bearer token the fake issued for one user.
struct Token(String);

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

fn http() -> Http {
    Http::new(
        Http::default_client().expect("client"),
        HttpOptions {
            retry: RetryPolicy {
                base: Duration::from_millis(5),
                max: Duration::from_secs(1),
                attempts: 3,
            },
            requests_per_second: 0.0,
            burst: 1,
            max_body_bytes: 16 * 1024 * 1024,
        },
    )
}

fn config(org: &str) -> tete::config::Config {
    let text = format!(
        "[mail]\nfrom = \"b@acme.test\"\ntransport = \"file\"\nopt_out = [\"quiet@acme.test\"]\n\
         [mail.file]\ndir = \"b\"\n{org}"
    );
    tete::config::parse(&text, std::path::Path::new("/etc/tete/tete.toml")).expect("config")
}

#[tokio::test]
async fn a_google_roster_covers_the_domain_and_groups_minus_exclusions_with_zones_and_managers() {
    let fake = FakeGoogle::start().await;
    let admin = "admin@acme.test";
    fake.add_user(admin);
    fake.make_directory_admin(admin);
    let people = [
        ("ceo@acme.test", "Cleo Chief", None, "America/New_York"),
        (
            "alex@acme.test",
            "Alex Rivera",
            Some("ceo@acme.test"),
            "Europe/London",
        ),
        (
            "dana@acme.test",
            "Dana Lee",
            Some("alex@acme.test"),
            "Europe/Berlin",
        ),
        (
            "quiet@acme.test",
            "Quinn Quiet",
            Some("alex@acme.test"),
            "UTC",
        ),
        (
            "sam@acme.test",
            "Sam Park",
            Some("alex@acme.test"),
            "W. Europe Standard Time",
        ),
    ];
    for (email, name, manager, zone) in people {
        fake.add_user(email);
        fake.put_directory_user(directory_user(email, name, manager));
        fake.set_time_zone(email, zone);
    }
    fake.put_directory_user(directory_user(admin, "Ada Admin", None));
    fake.set_directory_page_cap(2);
    fake.put_group(
        "leads@acme.test",
        vec![directory_member("alex@acme.test", "USER", "ACTIVE")],
    );
    let config = config(
        "[[orgs]]\nname = \"acme\"\nprovider = \"google\"\nadmin = \"admin@acme.test\"\n\
         groups = [\"leads@acme.test\"]\npeople = [\"dana@acme.test\", \"sam@acme.test\", \"quiet@acme.test\"]\n\
         exclude = [\"ceo@acme.test\"]\n",
    );
    let org = &config.orgs[0];
    let (admin_token, _) = fake.issue_tokens(admin);
    let admin_token = Token(admin_token);
    let tokens: std::collections::HashMap<String, String> = people
        .iter()
        .map(|(email, ..)| (email.to_string(), fake.issue_tokens(email).0))
        .collect();
    let directory_base = Url::parse(&fake.directory_base()).unwrap();
    let calendar_base = Url::parse(&fake.api_base()).unwrap();
    let http = http();
    let reader = GoogleDirectory {
        http: &http,
        admin: Some(&admin_token),
        person: |email: &str| Token(tokens.get(email).cloned().unwrap_or_default()),
        directory_base: &directory_base,
        calendar_base: &calendar_base,
    };
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let read = reader.read(&config, org, now).await.expect("roster");
    assert!(read.zone_failures.is_empty(), "{:?}", read.zone_failures);
    let roster = read.roster;
    let covered: Vec<&str> = roster.covered().map(|p| p.email.as_str()).collect();
    // The CEO is excluded and Quinn opted out of tete: read for the chart only.
    assert_eq!(
        covered,
        ["alex@acme.test", "dana@acme.test", "sam@acme.test"]
    );
    let dana = roster.person("dana@acme.test").unwrap();
    assert_eq!(dana.name.as_deref(), Some("Dana Lee"));
    assert_eq!(dana.manager.as_deref(), Some("alex@acme.test"));
    assert_eq!(dana.time_zone.as_deref(), Some("Europe/Berlin"));
    // A Windows zone name from the settings is read as its IANA zone.
    assert_eq!(
        roster.person("sam@acme.test").unwrap().time_zone.as_deref(),
        Some("Europe/Berlin")
    );
    // Nobody's zone was read who is not covered.
    assert_eq!(roster.person("ceo@acme.test").unwrap().time_zone, None);
    assert!(!roster.person("quiet@acme.test").unwrap().covered);

    // What a pass then sees: each covered person an account, with their zone.
    let dir = tempfile::tempdir().unwrap();
    let store = tete::store::Store::open(dir.path(), &Default::default()).unwrap();
    store.save_roster(&roster).unwrap();
    let effective = with_org_people(&config, &store).unwrap();
    let accounts: Vec<&str> = effective.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        accounts,
        [
            "acme/alex@acme.test",
            "acme/dana@acme.test",
            "acme/sam@acme.test"
        ]
    );
    assert_eq!(
        effective.zone_of("alex@acme.test"),
        chrono_tz::Europe::London
    );
}

#[tokio::test]
async fn a_microsoft_roster_covers_a_domain_through_graph_with_mailbox_zones() {
    let fake = FakeGraph::start("admin@contoso.test").await;
    for (mail, name) in [
        ("kim@contoso.test", "Kim Boss"),
        ("alex@contoso.test", "Alex Rivera"),
        ("dana@contoso.test", "Dana Lee"),
        ("denied@contoso.test", "Dee Nied"),
        ("guest@fabrikam.test", "Gus Guest"),
    ] {
        fake.add_directory_user(mail, name);
    }
    fake.set_manager("alex@contoso.test", "kim@contoso.test");
    fake.set_manager("dana@contoso.test", "alex@contoso.test");
    fake.set_mailbox_zone("dana@contoso.test", "Pacific Standard Time");
    fake.set_mailbox_zone("alex@contoso.test", "Europe/Paris");
    fake.deny_mailbox("denied@contoso.test");
    let config = config(
        "[[orgs]]\nname = \"contoso\"\nprovider = \"microsoft\"\ntenant = \"contoso.test\"\n\
         client_id = \"app\"\nclient_secret_file = \"/etc/tete/secret\"\ndomain = \"contoso.test\"\n",
    );
    let (token, _) = fake.sign_in();
    let graph = Url::parse(&fake.api_base()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let read = read_microsoft_roster(
        &config,
        &config.orgs[0],
        &http(),
        &Token(token),
        &graph,
        now,
    )
    .await
    .expect("roster");
    let covered: Vec<&str> = read.roster.covered().map(|p| p.email.as_str()).collect();
    assert_eq!(
        covered,
        [
            "alex@contoso.test",
            "dana@contoso.test",
            "denied@contoso.test",
            "kim@contoso.test"
        ]
    );
    let dana = read.roster.person("dana@contoso.test").unwrap();
    assert_eq!(dana.time_zone.as_deref(), Some("America/Los_Angeles"));
    assert_eq!(dana.manager.as_deref(), Some("alex@contoso.test"));
    // The person whose mailbox settings are denied keeps their place, zone unknown.
    assert_eq!(read.zone_failures.len(), 1, "{:?}", read.zone_failures);
    assert_eq!(read.zone_failures[0].email, "denied@contoso.test");
    assert_eq!(
        read.roster.person("denied@contoso.test").unwrap().time_zone,
        None
    );
    // Outside the domain: read for the chart, not covered.
    assert!(!read.roster.person("guest@fabrikam.test").unwrap().covered);
}

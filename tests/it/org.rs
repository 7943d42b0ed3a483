//! Org-wide mode: reading who an org covers from the fakes' directories (Google's
//! Admin SDK and Calendar settings, Graph's users, groups and mailbox settings) into
//! the roster the pass keeps, and the config a pass then sees.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use tete::pass::org::{GoogleDirectory, read_microsoft_roster, with_org_people};
use url::Url;

use crate::directory::{Token, http};

use crate::fake_google::{FakeGoogle, directory_member, directory_user};
use crate::fake_graph::FakeGraph;

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

/// The org of the end-to-end test: (address, name, manager, zone). Kim runs the
/// place; Alex and Pat report to her; the rest report to Alex or Pat. The CEO is
/// excluded; Dee is in the directory but the calendar service does not know her
/// (her calendar access is denied).
const PEOPLE: &[(&str, &str, Option<&str>, &str)] = &[
    ("ceo@acme.test", "Cleo Chief", None, "America/New_York"),
    (
        "kim@acme.test",
        "Kim Ito",
        Some("ceo@acme.test"),
        "Asia/Tokyo",
    ),
    (
        "alex@acme.test",
        "Alex Rivera",
        Some("kim@acme.test"),
        "America/New_York",
    ),
    (
        "pat@acme.test",
        "Pat Osei",
        Some("kim@acme.test"),
        "Europe/London",
    ),
    (
        "dana@acme.test",
        "Dana Lee",
        Some("alex@acme.test"),
        "Europe/Berlin",
    ),
    ("sam@acme.test", "Sam Park", Some("alex@acme.test"), "UTC"),
    ("lee@acme.test", "Lee Moss", Some("alex@acme.test"), "UTC"),
    ("max@acme.test", "Max Roth", Some("alex@acme.test"), "UTC"),
    ("bo@acme.test", "Bo Lind", Some("alex@acme.test"), "UTC"),
    ("cy@acme.test", "Cy Dorn", Some("alex@acme.test"), "UTC"),
    ("ria@acme.test", "Ria Sol", Some("pat@acme.test"), "UTC"),
    (
        "tom@acme.test",
        "Tom Berg",
        Some("pat@acme.test"),
        "Europe/Paris",
    ),
    ("uma@acme.test", "Uma Chen", Some("pat@acme.test"), "UTC"),
    ("vic@acme.test", "Vic Hale", Some("pat@acme.test"), "UTC"),
    ("wen@acme.test", "Wen Tao", Some("pat@acme.test"), "UTC"),
    ("xia@acme.test", "Xia Lu", Some("pat@acme.test"), "UTC"),
    ("yan@acme.test", "Yan Ko", Some("pat@acme.test"), "UTC"),
    ("zed@acme.test", "Zed Marr", Some("pat@acme.test"), "UTC"),
    ("di@acme.test", "Di Vance", Some("pat@acme.test"), "UTC"),
    ("dee@acme.test", "Dee Nied", Some("pat@acme.test"), "UTC"),
];

/// A weekly 1:1 organised by `organizer` with `other`, Wednesdays 15:00 UTC from
/// 2 Dec 2026, as Google lists it on either calendar (same iCalUID on both).
fn weekly(id: &str, organizer: &str, other: &str, me: &str) -> serde_json::Value {
    let attendee = |email: &str| {
        serde_json::json!({"email": email, "responseStatus": "accepted",
                           "self": email == me, "organizer": email == organizer})
    };
    serde_json::json!({
        "kind": "calendar#event", "id": id, "status": "confirmed",
        "iCalUID": format!("{id}@acme.test"),
        "summary": format!("1:1 {id}"), "updated": "2026-11-20T10:00:00.000Z", "sequence": 0,
        "organizer": {"email": organizer, "self": organizer == me},
        "start": {"dateTime": "2026-12-02T15:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-02T15:30:00Z", "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=WE"],
        "attendees": [attendee(organizer), attendee(other)],
        "eventType": "default"
    })
}

/// The briefs in `dir`: (recipient, whole message) per .eml file.
fn briefs_in(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for file in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(file.path()).unwrap_or_default();
        let to = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_default()
            .to_string();
        found.push((to, text));
    }
    found
}

/// The text part of a message, quoted-printable soft breaks undone (enough for the
/// plain sentences the assertions look for).
fn plain(message: &str) -> String {
    message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=E2=80=99", "\u{2019}")
}

/// The org of twenty at the fake: directory, zones, service account, 1:1s; returns
/// the config file and the briefs folder.
fn org_of_twenty(
    fake: &FakeGoogle,
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (private, public) = crate::org_auth::key_pair(dir, "sa");
    let key = crate::org_auth::key_file(dir, &private, &fake.token_url());
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    fake.register_service_account(
        crate::org_auth::SA_EMAIL,
        crate::org_auth::KEY_ID,
        &crate::org_auth::read(&public),
        "acme.test",
        &[
            "https://www.googleapis.com/auth/calendar.readonly",
            "https://www.googleapis.com/auth/admin.directory.user.readonly",
            "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
        ],
    );
    let admin = "it@acme.test";
    fake.add_user(admin);
    fake.make_directory_admin(admin);
    fake.put_directory_user(directory_user(admin, "It Admin", None));
    for (email, name, manager, zone) in PEOPLE {
        fake.put_directory_user(directory_user(email, name, *manager));
        if *email != "dee@acme.test" {
            fake.add_user(email);
            fake.set_time_zone(email, zone);
        }
    }
    // Alex ↔ Dana (manager and report) on both calendars; Kim ↔ Dana (skip-level);
    // Dana ↔ Sam (peers); Alex ↔ the excluded CEO; Tom ↔ Dee, whose calendar is
    // denied (Tom's calendar still shows their 1:1).
    for (id, organizer, other) in [
        ("ad", "alex@acme.test", "dana@acme.test"),
        ("kd", "kim@acme.test", "dana@acme.test"),
        ("ds", "dana@acme.test", "sam@acme.test"),
        ("ac", "alex@acme.test", "ceo@acme.test"),
        ("td", "tom@acme.test", "dee@acme.test"),
    ] {
        for me in [organizer, other] {
            if me != "dee@acme.test" {
                fake.put_event(me, me, weekly(id, organizer, other, me));
            }
        }
    }
    let briefs = dir.join("briefs");
    let config = dir.join("tete.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{state}\"\ntimezone = \"UTC\"\n\
             [brief]\nlead_time = \"18h\"\n\
             [mail]\nfrom = \"briefs@acme.test\"\ntransport = \"file\"\n[mail.file]\ndir = \"{briefs}\"\n\
             [[orgs]]\nname = \"acme\"\nprovider = \"google\"\nservice_account_key_file = \"{key}\"\n\
             admin = \"{admin}\"\ndomain = \"acme.test\"\nexclude = [\"ceo@acme.test\", \"it@acme.test\"]\n\
             api_base_url = \"{api}\"\ndirectory_base_url = \"{directory}\"\ntoken_url = \"{token}\"\n",
            state = dir.join("state").display(),
            briefs = briefs.display(),
            key = key.display(),
            api = fake.api_base(),
            directory = fake.directory_base(),
            token = fake.token_url(),
        ),
    )
    .unwrap();
    (config, briefs)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_of_twenty_gets_its_briefs_once_with_relation_and_each_persons_zone() {
    let fake = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, briefs) = org_of_twenty(&fake, dir.path());
    let path = config.to_str().unwrap().to_string();
    let check = crate::support::tete(&["--config", &path, "check"]);
    assert!(check.status.success(), "{}", crate::support::stderr(&check));

    // Tuesday 1 Dec, 22:00 UTC: Wednesday's 15:00 meetings are due (18 h lead).
    let run = |path: String| async move {
        tokio::task::spawn_blocking(move || {
            crate::support::tete(&[
                "--config",
                &path,
                "run",
                "--once",
                "--now",
                "2026-12-01T22:00",
            ])
        })
        .await
        .unwrap()
    };
    let first = run(path.clone()).await;
    assert!(first.status.success(), "{}", crate::support::stderr(&first));
    let shown = crate::support::stdout(&first);
    assert!(
        shown.contains("org people: 18 calendars read, 18 with changes"),
        "{shown}"
    );
    assert!(
        shown.contains("account acme/dee@acme.test (google): FAILED"),
        "{shown}"
    );
    eprintln!(
        "{}\n{}",
        crate::support::stdout(&first),
        crate::support::stderr(&first)
    );
    let sent = briefs_in(&briefs);
    let to = |who: &str| -> Vec<String> {
        sent.iter()
            .filter(|(to, _)| to.contains(who))
            .map(|(_, text)| plain(text))
            .collect()
    };
    let recipients: std::collections::BTreeMap<&str, usize> = PEOPLE
        .iter()
        .map(|(email, ..)| (*email, to(email).len()))
        .filter(|(_, n)| *n > 0)
        .collect();
    // Dana is in three 1:1s, Alex in one (the CEO's is not stored), and every other
    // participant in one: one brief per person per meeting, never two, none to the CEO.
    assert_eq!(
        recipients,
        [
            ("alex@acme.test", 1),
            ("dana@acme.test", 3),
            ("dee@acme.test", 1),
            ("kim@acme.test", 1),
            ("sam@acme.test", 1),
            ("tom@acme.test", 1),
        ]
        .into(),
        "{sent:#?}"
    );
    assert_eq!(sent.len(), 8);
    let dana = to("dana@acme.test").join("\n");
    assert!(dana.contains("Alex Rivera is your manager."), "{dana}");
    assert!(
        dana.contains("Skip-level: Kim Ito is your manager's manager."),
        "{dana}"
    );
    assert!(
        dana.contains("Peers: you both report to Alex Rivera."),
        "{dana}"
    );
    // Dana reads Wednesday 15:00 UTC in her own zone: 16:00 Berlin.
    assert!(
        dana.contains("16:00") && dana.contains("Europe/Berlin"),
        "{dana}"
    );
    let alex = to("alex@acme.test").join("\n");
    assert!(alex.contains("Dana Lee reports to you."), "{alex}");
    assert!(
        alex.contains("10:00") && alex.contains("America/New_York"),
        "{alex}"
    );
    assert!(
        !alex.contains("Cleo"),
        "nothing of the excluded CEO: {alex}"
    );
    let kim = to("kim@acme.test").join("\n");
    assert!(
        kim.contains("Skip-level: Dana Lee reports to one of your reports."),
        "{kim}"
    );
    assert!(kim.contains("Asia/Tokyo"), "{kim}");
    assert!(!sent.iter().any(|(_, text)| text.contains("ceo@acme.test")));

    // Status: the org, its people, and Dee's calendar failing alone.
    let status = crate::support::tete(&["--config", &path, "status"]);
    let shown = crate::support::stdout(&status);
    assert!(
        shown.contains("acme (google): 19 people covered"),
        "{shown}"
    );
    assert!(
        shown.contains("acme/dee@acme.test (google): FAILING"),
        "{shown}"
    );
    assert!(
        !shown.contains("acme/dana@acme.test"),
        "working calendars are not listed: {shown}"
    );

    // A second pass: nothing new is sent, and the tokens minted by the first are used.
    let tokens_before = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    let second = run(path.clone()).await;
    assert!(
        second.status.success(),
        "{}",
        crate::support::stderr(&second)
    );
    assert_eq!(briefs_in(&briefs).len(), 8, "every brief once");
    let tokens_after = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    // Only Dee, refused, is asked for again.
    assert!(
        tokens_after - tokens_before <= 1,
        "{tokens_before} → {tokens_after}"
    );
}

/// The recipients of the org's briefs in `dir`, with how many each got.
fn recipients(dir: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (to, _) in briefs_in(dir) {
        *counts.entry(to).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_reads_the_directory_and_polls_each_org_person() {
    let fake = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (config_path, briefs) = org_of_twenty(&fake, dir.path());
    let config = tete::config::load(&config_path).expect("config");
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 22, 0, 0).unwrap();
    let daemon = tete::daemon::start(
        &config_path,
        config,
        tete::daemon::DaemonOptions { now: Some(now) },
    )
    .expect("the daemon starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while briefs_in(&briefs).len() < 8 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::task::spawn_blocking(move || daemon.stop())
        .await
        .unwrap()
        .expect("the daemon stops");
    let counts = recipients(&briefs);
    let dana = counts
        .iter()
        .find(|(to, _)| to.contains("dana@acme.test"))
        .map(|(_, n)| *n);
    assert_eq!(dana, Some(3), "{counts:?}");
    assert_eq!(counts.values().sum::<usize>(), 8, "{counts:?}");
    assert!(!counts.keys().any(|to| to.contains("ceo@")), "{counts:?}");
}

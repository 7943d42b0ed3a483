//! Sync cost at scale: N accounts × M events against the fakes of Google
//! (`tests/it/fake_google.rs`) and Microsoft Graph (`tests/it/fake_graph.rs`), with
//! 100 ms of latency on every API request.
//!
//! Two processes, so that peak RSS is tete's alone: this process hosts the fakes
//! (seeded with M events per mailbox) and re-runs its own binary as the *syncer*,
//! which holds a real store and N real accounts (token sources, HTTP helper with its
//! default request budget), and measures
//! - the first (full) sync of all N accounts: wall time, requests, bytes;
//! - a steady-state cycle with nothing changed: requests and bytes per calendar, and
//!   the cycle time against the ideal `ceil(N / concurrency) × latency`;
//! - the store on disk, and the daemon's first round on it in the same process
//!   (`pass::analyze_and_queue`: every series analysed one at a time, due briefs
//!   queued; `TETE_BENCH_SYNC_ANALYZE=whole` runs the whole-store, in-memory analysis
//!   the pass used before issue #16 instead);
//! - peak RSS (VmHWM) after the syncs and after the analysis.
//!
//! ```sh
//! cargo bench --bench sync                                    # the default grid
//! TETE_BENCH_SYNC="google:10000x10 microsoft:100x2000" cargo bench --bench sync
//! `google-org:NxM` is org-wide mode: a service account acting for each of N people,
//! tokens minted by the syncer (one RS256 assertion each) and kept in the store.
//! ```
//!
//! `TETE_BENCH_SYNC_CONCURRENCY` (default 50) and `TETE_BENCH_SYNC_LATENCY_MS`
//! (default 100) change the cycle's parameters; `TETE_BENCH_SYNC_ANALYZE=0` skips the
//! analysis;
//! `TETE_BENCH_SYNC_LATER_CYCLES` (default 1) steady cycles more are run only to
//! print what each writes;
//! `TETE_BENCH_SYNC_CACHE_MB` sets sled's page cache (default: `store.cache_capacity`'s
//! 32 MiB);
//! `TETE_BENCH_SYNC_WRAP="valgrind --tool=massif"` runs the syncer under a tool. The fakes hold at most
//! `TETE_BENCH_SYNC_DISTINCT` (default 1,000,000) distinct events, each as a JSON
//! value of ~8 KB (2,000,000 ran this 24 GB host out of memory): beyond that,
//! accounts share mailboxes round-robin (tete still stores every account's copy).
//! Each fake Graph mailbox is its own HTTP server on its own port, where the real
//! Graph is one host: at most `TETE_BENCH_SYNC_HOSTS` (default 1,000) are started.
//! (10,000 of them, each holding connections, ran this host into its 20,000 open
//! files, and the fakes' accept loops stalled.)

#[allow(dead_code)]
#[path = "../tests/it/fake_google.rs"]
mod fake_google;
#[allow(dead_code)]
#[path = "../tests/it/fake_graph.rs"]
mod fake_graph;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const SPEC_VAR: &str = "TETE_BENCH_SYNC_SPEC";
const DEFAULT_GRID: &str = "google:100x200 google:1000x200 google:10000x10 google:100x2000 \
                            microsoft:100x200 microsoft:1000x200 microsoft:10000x10 microsoft:100x2000";

/// What the fake host hands the syncer.
#[derive(Serialize, Deserialize)]
struct Spec {
    provider: String,
    concurrency: usize,
    latency_ms: u64,
    accounts: Vec<AccountSpec>,
    /// `google-org`: the service account's JSON key file (org-wide mode: no tokens are
    /// handed over, the syncer mints one per person as tete does).
    #[serde(default)]
    key_file: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AccountSpec {
    name: String,
    owner: String,
    api_base: String,
    token_url: String,
    access: String,
    refresh: String,
}

/// What the syncer measured.
#[derive(Serialize, Deserialize, Debug)]
struct Measured {
    stored_events: usize,
    first_secs: f64,
    first_requests: u64,
    first_bytes: u64,
    first_failures: usize,
    steady_secs: f64,
    steady_requests: u64,
    steady_bytes: u64,
    steady_failures: usize,
    /// Bytes the syncer handed to write calls during the steady cycle (`wchar` of
    /// `/proc/self/io`): the store's writes, and at most the requests besides.
    steady_disk_bytes: u64,
    ideal_secs: f64,
    hwm_after_sync_kb: u64,
    store_bytes: u64,
    analyze_secs: f64,
    series: usize,
    one_on_ones: usize,
    hwm_after_analyze_kb: u64,
    /// VmHWM over the steady cycle alone (reset after the first sync).
    steady_peak_kb: u64,
    /// RSS after the steady cycle.
    steady_rss_kb: u64,
    /// `wchar` over each later steady cycle (`TETE_BENCH_SYNC_LATER_CYCLES`, default
    /// 1): whether what the first one wrote beyond the cursors settles over cycles.
    later_steady_disk_bytes: Vec<u64>,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn main() {
    if let Ok(spec) = std::env::var(SPEC_VAR) {
        let measured = syncer::run(Path::new(&spec));
        println!("{}", serde_json::to_string(&measured).expect("json"));
        return;
    }
    let grid = std::env::var("TETE_BENCH_SYNC").unwrap_or_else(|_| DEFAULT_GRID.into());
    let concurrency = env_usize("TETE_BENCH_SYNC_CONCURRENCY", 50);
    let latency_ms = env_usize("TETE_BENCH_SYNC_LATENCY_MS", 100) as u64;
    let distinct = env_usize("TETE_BENCH_SYNC_DISTINCT", 1_000_000);
    let hosts = env_usize("TETE_BENCH_SYNC_HOSTS", 1000);
    println!(
        "concurrency {concurrency}, latency {latency_ms} ms; columns: provider N×M | mailboxes | \
         first sync: s, requests, MB | steady cycle: requests/calendar, bytes/calendar, s, ideal s, ratio | \
         store MB | analyze s, series, 1:1s | VmHWM MB after sync / after analyze"
    );
    for point in grid.split_whitespace() {
        let Some((provider, size)) = point.split_once(':') else {
            panic!("grid point {point:?}: expected provider:NxM");
        };
        let Some((n, m)) = size.split_once('x') else {
            panic!("grid point {point:?}: expected provider:NxM");
        };
        let n: usize = n.replace('_', "").parse().expect("N");
        let m: usize = m.replace('_', "").parse().expect("M");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut mailboxes = n.min((distinct / m.max(1)).max(1));
        if provider == "microsoft" {
            mailboxes = mailboxes.min(hosts.max(1));
        }
        runtime.block_on(host(provider, n, m, mailboxes, concurrency, latency_ms));
    }
}

/// Hosts the fakes for one grid point and runs the syncer against them.
async fn host(
    provider: &str,
    accounts: usize,
    events: usize,
    mailboxes: usize,
    concurrency: usize,
    latency_ms: u64,
) {
    let latency = Duration::from_millis(latency_ms);
    let now = Utc::now();
    let mut specs = Vec::with_capacity(accounts);
    // Kept alive until the syncer is done.
    let mut google = None;
    let mut graphs = Vec::new();
    let keys = tempfile::tempdir().expect("key dir");
    let mut org_key_file = None;
    match provider {
        "google" => {
            let fake = fake_google::FakeGoogle::start().await;
            for mailbox in 0..mailboxes {
                let user = format!("owner{mailbox}@example.test");
                fake.add_user(&user);
                for event in content::google_calendar(&user, mailbox, events, now) {
                    fake.put_event(&user, &user, event);
                }
            }
            for n in 0..accounts {
                let user = format!("owner{}@example.test", n % mailboxes);
                let (access, refresh) = fake.issue_tokens(&user);
                specs.push(AccountSpec {
                    name: format!("acct{n}"),
                    owner: user,
                    api_base: fake.api_base(),
                    token_url: fake.token_url(),
                    access,
                    refresh,
                });
            }
            fake.set_latency(latency);
            google = Some(fake);
        }
        "google-org" => {
            // Org-wide mode: a service account with domain-wide delegation acts for
            // each person; the fake verifies every assertion (RS256, aud, exp, sub,
            // scopes) as Google does.
            let fake = fake_google::FakeGoogle::start().await;
            let (public, key_file) = org_key(keys.path(), &fake.token_url());
            fake.register_service_account(
                ORG_SA,
                ORG_KEY_ID,
                &public,
                "example.test",
                &["https://www.googleapis.com/auth/calendar.readonly"],
            );
            for mailbox in 0..mailboxes {
                let user = format!("owner{mailbox}@example.test");
                fake.add_user(&user);
                for event in content::google_calendar(&user, mailbox, events, now) {
                    fake.put_event(&user, &user, event);
                }
            }
            for n in 0..accounts {
                specs.push(AccountSpec {
                    name: format!("acct{n}"),
                    owner: format!("owner{}@example.test", n % mailboxes),
                    api_base: fake.api_base(),
                    token_url: fake.token_url(),
                    access: String::new(),
                    refresh: String::new(),
                });
            }
            org_key_file = Some(key_file);
            fake.set_latency(latency);
            google = Some(fake);
        }
        "microsoft" => {
            for mailbox in 0..mailboxes {
                let owner = format!("owner{mailbox}@contoso.test");
                let fake = fake_graph::FakeGraph::start(&owner).await;
                let (masters, items) = content::graph_calendar(&owner, mailbox, events, now);
                for master in masters {
                    fake.put_master(master);
                }
                for item in items {
                    fake.put("primary", item);
                }
                fake.set_latency(latency);
                graphs.push(fake);
            }
            for n in 0..accounts {
                let fake = &graphs[n % mailboxes];
                let (access, refresh) = fake.sign_in();
                specs.push(AccountSpec {
                    name: format!("acct{n}"),
                    owner: format!("owner{}@contoso.test", n % mailboxes),
                    api_base: fake.api_base(),
                    token_url: fake.token_url(),
                    access,
                    refresh,
                });
            }
        }
        other => panic!("unknown provider {other:?} (google, google-org, microsoft)"),
    }
    let spec = Spec {
        provider: provider.into(),
        concurrency,
        latency_ms,
        accounts: specs,
        key_file: org_key_file,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec).expect("json")).expect("spec");
    let exe = std::env::current_exe().expect("own binary");
    // TETE_BENCH_SYNC_WRAP runs the syncer under a tool (`valgrind --tool=massif`).
    let wrap = std::env::var("TETE_BENCH_SYNC_WRAP").unwrap_or_default();
    let mut words: Vec<String> = wrap.split_whitespace().map(String::from).collect();
    words.push(exe.to_string_lossy().into_owned());
    let mut command = std::process::Command::new(&words[0]);
    command.args(&words[1..]);
    command
        .env(SPEC_VAR, &spec_path)
        .stderr(std::process::Stdio::inherit());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("syncer runs");
    assert!(
        output.status.success(),
        "syncer failed: {:?}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let m: Measured = serde_json::from_str(last).expect("syncer's figures");
    let served = match (&google, graphs.first()) {
        (Some(fake), _) => fake.requests().len(),
        (None, Some(_)) => graphs.iter().map(|g| g.requests().len()).sum(),
        _ => 0,
    };
    if provider == "google-org"
        && let Some(fake) = &google
    {
        let tokens = fake
            .requests()
            .iter()
            .filter(|r| r.path == "/token")
            .count();
        println!(
            "{provider} {accounts}×{events}: {tokens} token requests over {} cycles",
            2 + m.later_steady_disk_bytes.len()
        );
    }
    let mb = |b: u64| b as f64 / 1e6;
    let calendars = accounts as f64;
    println!(
        "{provider} {accounts}×{events} | {mailboxes} | first: {:.1} s, {} req, {:.1} MB, {} failed | \
         steady: {:.2} req/cal, {:.0} B/cal, {:.2} s, ideal {:.2} s, ratio {:.2}, {} failed, {:.0} B/cal written | \
         store {:.1} MB for {} events | analyze {:.2} s, {} series, {} 1:1s | VmHWM {:.1} / {:.1} MB \
         (fakes served {served} requests)",
        m.first_secs,
        m.first_requests,
        mb(m.first_bytes),
        m.first_failures,
        m.steady_requests as f64 / calendars,
        m.steady_bytes as f64 / calendars,
        m.steady_secs,
        m.ideal_secs,
        m.steady_secs / m.ideal_secs,
        m.steady_failures,
        m.steady_disk_bytes as f64 / calendars,
        mb(m.store_bytes),
        m.stored_events,
        m.analyze_secs,
        m.series,
        m.one_on_ones,
        m.hwm_after_sync_kb as f64 / 1024.0,
        m.hwm_after_analyze_kb as f64 / 1024.0,
    );
    println!(
        "{provider} {accounts}×{events} | steady cycle alone: VmHWM {:.1} MB, RSS after {:.1} MB; \
         later steady cycles wrote {:?} B/cal",
        m.steady_peak_kb as f64 / 1024.0,
        m.steady_rss_kb as f64 / 1024.0,
        m.later_steady_disk_bytes
            .iter()
            .map(|bytes| (*bytes as f64 / calendars).round() as u64)
            .collect::<Vec<_>>(),
    );
}

const ORG_SA: &str = "tete-bench@bench-project.iam.gserviceaccount.com";
const ORG_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// A fresh RSA key pair (openssl) and the JSON key file the Cloud console would give
/// for it: (public key PEM, key file path).
fn org_key(dir: &Path, token_uri: &str) -> (String, String) {
    let private = dir.join("sa.key");
    let public = dir.join("sa.pub");
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ],
        vec!["pkey", "-pubout", "-in"],
    ] {
        let mut command = std::process::Command::new("/usr/bin/openssl");
        command.args(&args);
        if args[0] == "genpkey" {
            command.arg(&private);
        } else {
            command.arg(&private).arg("-out").arg(&public);
        }
        assert!(
            command.status().expect("openssl").success(),
            "openssl {args:?}"
        );
    }
    let read = |p: &Path| std::fs::read_to_string(p).expect("key");
    let key_file = dir.join("sa.json");
    let json = json!({
        "type": "service_account", "project_id": "bench-project",
        "private_key_id": ORG_KEY_ID, "private_key": read(&private),
        "client_email": ORG_SA, "client_id": "123456789012345678901",
        "token_uri": token_uri,
    });
    std::fs::write(&key_file, json.to_string()).expect("key file");
    (read(&public), key_file.to_string_lossy().into_owned())
}

/// Calendar content in each provider's wire format: per mailbox, weekly 1:1 series
/// (one per 50 events, each with moved or cancelled instances) and single meetings
/// of 2 to 6 people spread over the calendar view, with HTML descriptions.
mod content {
    use super::*;

    fn description(n: usize) -> String {
        format!(
            "<p>Agenda for meeting {n}</p><ul><li>Review the roadmap and the open questions \
             from last week</li><li>Decide who owns the follow-up with the platform team</li>\
             <li>Budget: see the shared sheet</li></ul><p>Action items:<br>- [ ] Sam: send the \
             numbers<br>- [x] Dana: book the room</p>"
        )
    }

    fn people(owner: &str, mailbox: usize, n: usize, count: usize) -> Vec<String> {
        let domain = owner.split('@').nth(1).unwrap_or("example.test");
        let mut people = vec![owner.to_string()];
        people.extend((1..count).map(|k| format!("p{mailbox}-{}@{domain}", (n + k) % 97)));
        people
    }

    /// (series, singles): series masters to create and single events to fill to `events`.
    fn split(events: usize, per_series: usize) -> (usize, usize) {
        let series = (events / 50).max(1);
        let singles = events.saturating_sub(series * per_series);
        (series, singles)
    }

    fn google_time(at: DateTime<Utc>) -> Value {
        json!({"dateTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "timeZone": "UTC"})
    }

    fn google_attendees(people: &[String]) -> Vec<Value> {
        people
            .iter()
            .enumerate()
            .map(|(k, p)| {
                json!({"email": p, "organizer": k == 0, "self": k == 0, "responseStatus": "accepted"})
            })
            .collect()
    }

    /// `events` items as Google's `events.list` returns them (`singleEvents=false`):
    /// masters, their exceptions, and single events.
    pub fn google_calendar(
        owner: &str,
        mailbox: usize,
        events: usize,
        now: DateTime<Utc>,
    ) -> Vec<Value> {
        let (series, singles) = split(events, 3);
        let base = now - chrono::Duration::days(56);
        let mut out = Vec::with_capacity(events);
        for s in 0..series {
            let id = format!("m{mailbox}s{s}");
            let start = base + chrono::Duration::hours(24 * (s as i64 % 5) + 8 + s as i64 % 9);
            let who = people(owner, mailbox, s, 2);
            out.push(json!({
                "kind": "calendar#event", "id": id, "status": "confirmed",
                "iCalUID": format!("{id}@example.test"), "summary": format!("1:1 {}", who[1]),
                "description": description(s), "updated": "2026-01-05T10:00:00.000Z", "sequence": 0,
                "organizer": {"email": owner, "self": true},
                "start": google_time(start), "end": google_time(start + chrono::Duration::minutes(30)),
                "recurrence": ["RRULE:FREQ=WEEKLY"],
                "attendees": google_attendees(&who), "eventType": "default",
            }));
            for (k, weeks) in [(0, 2), (1, 5)] {
                let original = start + chrono::Duration::weeks(weeks);
                let mut exception = json!({
                    "kind": "calendar#event", "id": format!("{id}_{}", original.format("%Y%m%dT%H%M%SZ")),
                    "iCalUID": format!("{id}@example.test"), "recurringEventId": id,
                    "originalStartTime": google_time(original), "updated": "2026-01-06T10:00:00.000Z",
                });
                if k == 0 {
                    exception["status"] = json!("cancelled");
                } else {
                    exception["status"] = json!("confirmed");
                    exception["summary"] = json!(format!("1:1 {} (moved)", who[1]));
                    let moved = original + chrono::Duration::hours(3);
                    exception["start"] = google_time(moved);
                    exception["end"] = google_time(moved + chrono::Duration::minutes(30));
                    exception["attendees"] = json!(google_attendees(&who));
                    exception["organizer"] = json!({"email": owner, "self": true});
                }
                out.push(exception);
            }
        }
        for n in 0..singles {
            let start = base + chrono::Duration::minutes(((n * 1013) % (170 * 24 * 60)) as i64);
            let who = people(owner, mailbox, n, 2 + n % 5);
            out.push(json!({
                "kind": "calendar#event", "id": format!("m{mailbox}e{n}"), "status": "confirmed",
                "iCalUID": format!("m{mailbox}e{n}@google.com"), "summary": format!("Meeting {n}"),
                "description": description(n), "updated": "2026-01-05T10:00:00.000Z",
                "organizer": {"email": owner, "self": true},
                "start": google_time(start), "end": google_time(start + chrono::Duration::minutes(45)),
                "attendees": google_attendees(&who), "eventType": "default",
            }));
        }
        out
    }

    /// Graph's calendar view of `events` items (occurrences, singles) and the series
    /// masters behind the occurrences (served by `/me/events/{id}`).
    pub fn graph_calendar(
        owner: &str,
        mailbox: usize,
        events: usize,
        now: DateTime<Utc>,
    ) -> (Vec<Value>, Vec<Value>) {
        let weeks = 25.min(events);
        let (series, singles) = split(events, weeks);
        let base = now - chrono::Duration::days(56);
        let (mut masters, mut items) = (Vec::new(), Vec::with_capacity(events));
        for s in 0..series {
            let start = base + chrono::Duration::hours(24 * (s as i64 % 5) + 8 + s as i64 % 9);
            let who = people(owner, mailbox, s, 2);
            let uid = format!(
                "040000008200E00074C5B7101A82E00800000000{:032X}",
                (mailbox as u128) << 64 | s as u128
            );
            let refs: Vec<&str> = who.iter().map(String::as_str).collect();
            let (master, occurrences) = fake_graph::weekly_series(
                &format!("M{mailbox}S{s}"),
                &uid,
                &format!("1:1 {}", who[1]),
                start,
                weeks as i64,
                &refs,
            );
            masters.push(master);
            items.extend(occurrences);
        }
        for n in 0..singles {
            let start = base + chrono::Duration::minutes(((n * 1013) % (170 * 24 * 60)) as i64);
            let who = people(owner, mailbox, n, 2 + n % 5);
            let refs: Vec<&str> = who.iter().map(String::as_str).collect();
            let mut item = fake_graph::single(
                &format!("M{mailbox}E{n}"),
                &format!("Meeting {n}"),
                start,
                45,
                &refs,
            );
            item["body"]["content"] = json!(description(n));
            items.push(item);
        }
        (masters, items)
    }
}

/// The measuring side: a real store and real accounts.
mod syncer {
    use super::*;
    use tete::auth::Secret;
    use tete::auth::device::DeviceTokens;
    use tete::auth::google::{AccountTokens, CALENDAR_SCOPE, OAuthClient};
    use tete::auth::loopback::GrantedTokens;
    use tete::auth::microsoft::MicrosoftTokens;
    use tete::auth::org::{OrgCredential, OrgGrant, OrgKey, ServiceAccount};
    use tete::config::{AccountConfig, Provider};
    use tete::sources::google::{GoogleAccount, SyncOptions};
    use tete::sources::http::{Http, HttpOptions};
    use tete::sources::microsoft::{MicrosoftAccount, WindowPolicy};
    use tete::store::{Store, StoreOptions};
    use url::Url;

    #[allow(clippy::large_enum_variant)] // one per account, behind an Arc
    enum Account {
        Google(GoogleAccount),
        Microsoft(MicrosoftAccount),
    }

    impl Account {
        async fn sync(&self, store: &Store) -> bool {
            let now = Utc::now();
            match self {
                Account::Google(a) => tete::pass::sync::sync_calendars(a, store, now)
                    .await
                    .is_ok_and(|r| r.iter().all(Result::is_ok)),
                Account::Microsoft(a) => tete::pass::sync::sync_calendars(a, store, now)
                    .await
                    .is_ok_and(|r| r.iter().all(Result::is_ok)),
            }
        }

        fn counters(&self) -> (u64, u64) {
            match self {
                Account::Google(a) => (a.http().requests(), a.http().bytes_received()),
                Account::Microsoft(a) => (a.requests(), a.bytes_received()),
            }
        }
    }

    fn status_kb(field: &str) -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// A counter of `/proc/self/io`, in bytes.
    fn io_bytes(field: &str) -> u64 {
        std::fs::read_to_string("/proc/self/io")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn size_on_disk(dir: &Path) -> u64 {
        let mut total = 0;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path: PathBuf = entry.path();
                match entry.metadata() {
                    Ok(m) if m.is_dir() => stack.push(path),
                    Ok(m) => {
                        use std::os::unix::fs::MetadataExt;
                        total += m.blocks() * 512;
                    }
                    Err(_) => {}
                }
            }
        }
        total
    }

    fn build(
        spec: &Spec,
        a: &AccountSpec,
        store: &Store,
        client: &reqwest::Client,
        org: Option<&Arc<OrgCredential>>,
    ) -> Account {
        let now = Utc::now();
        if let Some(credential) = org {
            // As the pass builds an org person's account: a grant acting as them.
            let grant = OrgGrant::new(
                credential.clone(),
                Some(&a.owner),
                vec![CALENDAR_SCOPE.to_string()],
            );
            let tokens = AccountTokens::new(&a.name, grant, None, store.clone(), client.clone());
            return Account::Google(
                GoogleAccount::for_person(
                    &a.name,
                    &a.owner,
                    vec!["primary".into()],
                    Some(&a.api_base),
                    tokens,
                    client.clone(),
                    HttpOptions::default(),
                    SyncOptions::default(),
                )
                .expect("account"),
            );
        }
        match spec.provider.as_str() {
            "google" => {
                let oauth = OAuthClient {
                    client_id: fake_google::CLIENT_ID.into(),
                    client_secret: Some(Secret::new(fake_google::CLIENT_SECRET)),
                    auth_url: Url::parse(&format!("{}auth", a.token_url.trim_end_matches("token")))
                        .expect("url"),
                    token_url: Url::parse(&a.token_url).expect("url"),
                };
                let tokens =
                    AccountTokens::new(&a.name, oauth, None, store.clone(), client.clone());
                tokens
                    .save_sign_in(
                        &GrantedTokens {
                            access_token: Secret::new(&a.access),
                            refresh_token: Secret::new(&a.refresh),
                            expires_at: now + chrono::Duration::hours(1),
                            scopes: vec![CALENDAR_SCOPE.into()],
                        },
                        now,
                    )
                    .expect("save tokens");
                Account::Google(GoogleAccount::new(
                    &a.name,
                    Url::parse(&a.api_base).expect("url"),
                    vec!["primary".into()],
                    Http::new(client.clone(), HttpOptions::default()),
                    tokens,
                    SyncOptions::default(),
                ))
            }
            _ => {
                let config = AccountConfig {
                    name: a.name.clone(),
                    provider: Provider::Microsoft,
                    owner: Some(a.owner.clone()),
                    url: None,
                    client_id: Some("11111111-2222-3333-4444-555555555555".into()),
                    client_secret_file: None,
                    calendars: vec![],
                    poll_interval: Duration::from_secs(300),
                    tenant: None,
                    api_base_url: Some(a.api_base.clone()),
                    auth_url: None,
                    token_url: Some(a.token_url.clone()),
                    device_authorization_url: None,
                    org: None,
                };
                let granted: DeviceTokens = serde_json::from_value(json!({
                    "access_token": a.access, "refresh_token": a.refresh, "expires_in": 3599,
                    "scope": "https://graph.microsoft.com/Calendars.Read offline_access"
                }))
                .expect("tokens");
                MicrosoftTokens::for_account(&config, store, None, client.clone())
                    .expect("token source")
                    .save_sign_in(&granted, now)
                    .expect("save tokens");
                Account::Microsoft(
                    MicrosoftAccount::from_config(
                        &config,
                        MicrosoftTokens::for_account(&config, store, None, client.clone())
                            .expect("token source"),
                        client.clone(),
                        HttpOptions::default(),
                        WindowPolicy::default(),
                    )
                    .expect("account"),
                )
            }
        }
    }

    /// Syncs every account once, `concurrency` at a time; returns (seconds, failures).
    /// As the daemon does, a poll's task is spawned when a slot is free: a spawned
    /// task holds its whole future from the start, so spawning all N at once measured
    /// N futures, not tete.
    async fn cycle(accounts: &[Arc<Account>], store: &Store, concurrency: usize) -> (f64, usize) {
        let mut tasks = tokio::task::JoinSet::new();
        let start = Instant::now();
        let mut failures = 0;
        let mut count = |done: Option<Result<bool, tokio::task::JoinError>>| {
            if let Some(done) = done
                && !done.unwrap_or(false)
            {
                failures += 1;
            }
        };
        for account in accounts {
            if tasks.len() >= concurrency.max(1) {
                count(tasks.join_next().await);
            }
            let (store, account) = (store.clone(), account.clone());
            tasks.spawn(async move { account.sync(&store).await });
        }
        while let Some(done) = tasks.join_next().await {
            count(Some(done));
        }
        (start.elapsed().as_secs_f64(), failures)
    }

    fn totals(accounts: &[Arc<Account>]) -> (u64, u64) {
        accounts
            .iter()
            .map(|a| a.counters())
            .fold((0, 0), |(r, b), (r2, b2)| (r + r2, b + b2))
    }

    pub fn run(spec_path: &Path) -> Measured {
        let spec: Spec =
            serde_json::from_slice(&std::fs::read(spec_path).expect("spec")).expect("spec json");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("store dir");
        let mut options = StoreOptions::default();
        let cache_mb = env_usize("TETE_BENCH_SYNC_CACHE_MB", 0) as u64;
        if cache_mb > 0 {
            options.cache_capacity = cache_mb << 20;
        }
        let store = Store::open(dir.path(), &options).expect("store");
        let client = Http::default_client().expect("client");
        // Org mode: one credential for the whole org, loaded once (as tete does).
        let org = spec.key_file.as_ref().map(|path| {
            let key = ServiceAccount::from_file(Path::new(path), None).expect("key file");
            Arc::new(OrgCredential::new(
                "bench",
                OrgKey::Google(key),
                store.clone(),
                None,
                client.clone(),
            ))
        });
        let accounts: Vec<Arc<Account>> = spec
            .accounts
            .iter()
            .map(|a| Arc::new(build(&spec, a, &store, &client, org.as_ref())))
            .collect();
        let (first_secs, first_failures) =
            runtime.block_on(cycle(&accounts, &store, spec.concurrency));
        let (first_requests, first_bytes) = totals(&accounts);
        store.flush().expect("flush");
        let written_before = io_bytes("wchar:");
        let hwm_after_first_kb = status_kb("VmHWM:");
        // The steady cycle's own peak: VmHWM restarts from the current RSS.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let (steady_secs, steady_failures) =
            runtime.block_on(cycle(&accounts, &store, spec.concurrency));
        store.flush().expect("flush");
        let steady_disk_bytes = io_bytes("wchar:").saturating_sub(written_before);
        let (all_requests, all_bytes) = totals(&accounts);
        store.flush().expect("flush");
        let steady_peak_kb = status_kb("VmHWM:");
        let steady_rss_kb = status_kb("VmRSS:");
        let hwm_after_sync_kb = hwm_after_first_kb.max(steady_peak_kb);
        let later_steady_disk_bytes = (0..env_usize("TETE_BENCH_SYNC_LATER_CYCLES", 1))
            .map(|_| {
                let written_before = io_bytes("wchar:");
                runtime.block_on(cycle(&accounts, &store, spec.concurrency));
                store.flush().expect("flush");
                io_bytes("wchar:").saturating_sub(written_before)
            })
            .collect();
        let stored_events = spec
            .accounts
            .iter()
            .map(|a| store.account_event_count(&a.name).unwrap_or(0))
            .sum();
        let store_bytes = size_on_disk(dir.path());
        let config = tete::config::parse(
            "state_dir = \"/tmp/tete-bench\"\ntimezone = \"UTC\"\n\
             [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"/tmp/tete-bench\"\n\
             [[accounts]]\nname = \"cal\"\nprovider = \"ics\"\nurl = \"/dev/null\"\nowner = \"owner@example.com\"\n",
            Path::new("/tmp/bench.toml"),
        )
        .expect("bench config");
        let owners: HashMap<String, String> = spec
            .accounts
            .iter()
            .map(|a| (a.name.clone(), a.owner.clone()))
            .collect();
        let measured = Measured {
            stored_events,
            first_secs,
            first_requests,
            first_bytes,
            first_failures,
            steady_secs,
            steady_requests: all_requests - first_requests,
            steady_bytes: all_bytes - first_bytes,
            steady_failures,
            steady_disk_bytes,
            ideal_secs: spec.accounts.len().div_ceil(spec.concurrency) as f64
                * spec.latency_ms as f64
                / 1000.0,
            hwm_after_sync_kb,
            store_bytes,
            analyze_secs: 0.0,
            series: 0,
            one_on_ones: 0,
            hwm_after_analyze_kb: 0,
            steady_peak_kb,
            steady_rss_kb,
            later_steady_disk_bytes,
        };
        let analyze = std::env::var("TETE_BENCH_SYNC_ANALYZE").unwrap_or_default();
        if analyze == "0" {
            return measured;
        }
        let start = Instant::now();
        let (series, one_on_ones) = if analyze == "whole" {
            // The analysis before issue #16: every stored event decoded into one
            // in-memory analysis of the whole store.
            let stored = store.events().map(|e| e.expect("stored event"));
            let analysis = tete::core::analyze::analyze(
                &config,
                stored,
                &owners,
                Utc::now(),
                &tete::core::calendar::Limits::timed(std::time::Instant::now),
            );
            (analysis.series.len(), analysis.one_on_ones().count())
        } else {
            // The daemon's first round after a start, in the process that synced:
            // every series analysed one at a time, the due briefs queued.
            let policy = tete::pass::briefs::policy(&config, &owners);
            let mut state = tete::pass::PassState::default();
            let queued = tete::pass::analyze_and_queue(
                &config,
                &store,
                &owners,
                &policy,
                None,
                Utc::now(),
                &mut state,
            )
            .expect("first round");
            (queued.work.analysed, state.analysis.counts().one_on_ones)
        };
        Measured {
            analyze_secs: start.elapsed().as_secs_f64(),
            series,
            one_on_ones,
            hwm_after_analyze_kb: status_kb("VmHWM:"),
            ..measured
        }
    }
}

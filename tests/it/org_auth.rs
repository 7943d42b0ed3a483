//! Org credentials against the fakes: a Google service account acting as each
//! person (domain-wide delegation) and a Microsoft app reading several mailboxes
//! with one app-only token. Keys and certificates are generated per test with
//! openssl; the fakes verify what the real token endpoints verify.

use crate::fake_google::FakeGoogle;
use crate::fake_graph::{FakeGraph, weekly_series};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tete::auth::AuthError;
use tete::auth::google::AccountTokens;
use tete::auth::jwt::{AssertionHeader, SigningKey};
use tete::auth::microsoft::MicrosoftTokens;
use tete::auth::org::{
    AppCredential, GOOGLE_CALENDAR_SCOPE, JWT_BEARER_GRANT, OrgCredential, OrgGrant, OrgKey,
    ServiceAccount,
};
use tete::auth::token_source::{TokenEndpoint, TokenSource};
use tete::pass::sync::{SyncError, sync_calendars};
use tete::sources::SourceError;
use tete::sources::google::{GoogleAccount, SyncOptions};
use tete::sources::http::{Http, HttpOptions};
use tete::sources::microsoft::{MicrosoftAccount, WindowPolicy};
use tete::store::{CalendarRef, Store, StoreOptions};

pub(crate) const SA_EMAIL: &str = "tete-sync@corp-project.iam.gserviceaccount.com";
pub(crate) const KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";
const ANA: &str = "ana@corp.test";
const BEN: &str = "ben@corp.test";
const TENANT: &str = "corp-tenant";
const APP_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

fn http_options() -> HttpOptions {
    crate::google::fast_http()
}

fn client() -> reqwest::Client {
    Http::default_client().expect("http client")
}

fn openssl(args: &[&str]) {
    let status = Command::new("/usr/bin/openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A fresh RSA key pair in `dir`: (private PEM, public PEM) paths.
pub(crate) fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        private.to_str().unwrap(),
    ]);
    openssl(&[
        "pkey",
        "-in",
        private.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (private, public)
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

/// The JSON key file the Cloud console would download for `private`.
pub(crate) fn key_file(dir: &Path, private: &Path, token_uri: &str) -> PathBuf {
    let path = dir.join("sa.json");
    let json = json!({
        "type": "service_account", "project_id": "corp-project",
        "private_key_id": KEY_ID, "private_key": read(private),
        "client_email": SA_EMAIL, "client_id": "123456789012345678901",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

struct Org {
    dir: tempfile::TempDir,
    store: Store,
}

impl Org {
    fn new() -> Org {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state"), &StoreOptions::default()).unwrap();
        Org { dir, store }
    }

    fn credential(&self, key: OrgKey) -> Arc<OrgCredential> {
        Arc::new(OrgCredential::new(
            "corp",
            key,
            self.store.clone(),
            None,
            client(),
        ))
    }

    /// The token source of `account` through an org grant.
    fn tokens<E: TokenEndpoint + From<OrgGrant>>(
        &self,
        account: &str,
        grant: OrgGrant,
    ) -> TokenSource<E> {
        TokenSource::new(account, grant, None, self.store.clone(), client())
    }

    fn events(&self, account: &str) -> usize {
        self.store
            .calendar_events(&CalendarRef {
                account: account.into(),
                calendar: "primary".into(),
            })
            .unwrap()
            .len()
    }
}

fn google_account(
    org: &Org,
    credential: &Arc<OrgCredential>,
    person: &str,
    fake: &FakeGoogle,
) -> GoogleAccount {
    let grant = OrgGrant::new(
        credential.clone(),
        Some(person),
        vec![GOOGLE_CALENDAR_SCOPE.to_string()],
    );
    let tokens: AccountTokens = org.tokens(person, grant);
    GoogleAccount::for_person(
        person,
        person,
        vec!["primary".into()],
        Some(&fake.api_base()),
        tokens,
        client(),
        http_options(),
        SyncOptions::default(),
    )
    .unwrap()
}

fn weekly(id: &str, owner: &str, other: &str) -> Value {
    json!({
        "kind": "calendar#event", "id": id, "status": "confirmed",
        "iCalUID": format!("{id}@corp.test"), "summary": "1:1",
        "updated": "2026-01-05T10:00:00.000Z", "sequence": 0,
        "organizer": {"email": owner, "self": true},
        "start": {"dateTime": "2026-01-06T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-01-06T09:30:00+01:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU"],
        "attendees": [
            {"email": owner, "organizer": true, "self": true, "responseStatus": "accepted"},
            {"email": other, "responseStatus": "accepted"}
        ],
        "eventType": "default"
    })
}

async fn google_setup(org: &Org) -> (FakeGoogle, PathBuf) {
    let fake = FakeGoogle::start().await;
    fake.add_user(ANA);
    fake.add_user(BEN);
    fake.add_user("outsider@elsewhere.test");
    fake.put_event(ANA, ANA, weekly("ana1", ANA, BEN));
    fake.put_event(BEN, BEN, weekly("ben1", BEN, ANA));
    let (private, public) = key_pair(org.dir.path(), "sa");
    fake.register_service_account(
        SA_EMAIL,
        KEY_ID,
        &read(&public),
        "corp.test",
        &[GOOGLE_CALENDAR_SCOPE],
    );
    let file = key_file(org.dir.path(), &private, &fake.token_url());
    (fake, file)
}

fn token_requests(fake: &FakeGoogle) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.param("grant_type") == Some(JWT_BEARER_GRANT))
        .map(|r| r.param("sub").unwrap_or("refused").to_string())
        .collect()
}

fn source_error(result: Result<tete::sources::CalendarReport, SyncError>) -> SourceError {
    match result {
        Err(SyncError::Source(error)) => error,
        other => panic!("expected a source error, got {other:?}"),
    }
}

async fn sync_one<P: tete::sources::CalendarProvider>(
    account: &tete::sources::Account<P>,
    store: &Store,
) -> Result<tete::sources::CalendarReport, SyncError> {
    let mut reports = sync_calendars(account, store, Utc::now()).await?;
    reports.remove(0)
}

#[tokio::test]
async fn a_service_account_acts_as_each_person_and_its_tokens_outlive_the_pass() {
    let org = Org::new();
    let (fake, file) = google_setup(&org).await;
    let key = ServiceAccount::from_file(&file, None).unwrap();
    for pass in 0..2 {
        // The daemon builds accounts (and may build the credential) every pass.
        let credential = org.credential(OrgKey::Google(key.clone()));
        for person in [ANA, BEN] {
            let account = google_account(&org, &credential, person, &fake);
            sync_one(&account, &org.store).await.expect("sync");
        }
        assert_eq!(
            token_requests(&fake),
            vec![ANA.to_string(), BEN.to_string()],
            "pass {pass}: one token per person, reused by the next pass"
        );
    }
    assert_eq!(org.events(ANA), 1);
    assert_eq!(org.events(BEN), 1);
    // Each token acted as its `sub`: Ana's calendar was read as Ana.
    let reads: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is_events_list())
        .map(|r| (r.path.clone(), r.user.clone()))
        .collect();
    assert!(reads.contains(&(
        format!("/calendar/v3/calendars/{ANA}/events"),
        Some(ANA.to_string())
    )));
    assert!(reads.contains(&(
        format!("/calendar/v3/calendars/{BEN}/events"),
        Some(BEN.to_string())
    )));
}

#[tokio::test]
async fn fifty_people_cost_fifty_token_requests_then_none() {
    let org = Org::new();
    let (fake, file) = google_setup(&org).await;
    let people: Vec<String> = (0..50).map(|n| format!("p{n}@corp.test")).collect();
    for person in &people {
        fake.add_user(person);
    }
    let key = ServiceAccount::from_file(&file, None).unwrap();
    for pass in 0..2 {
        let started = std::time::Instant::now();
        let credential = org.credential(OrgKey::Google(key.clone()));
        for person in &people {
            let grant = OrgGrant::new(
                credential.clone(),
                Some(person),
                vec![GOOGLE_CALENDAR_SCOPE.to_string()],
            );
            let tokens: AccountTokens = org.tokens(person, grant);
            tete::auth::Credentials::access_token(&tokens)
                .await
                .expect("token");
        }
        let requests = token_requests(&fake).len();
        eprintln!(
            "pass {pass}: {} people, {requests} token requests so far, {:?}",
            people.len(),
            started.elapsed()
        );
        assert_eq!(requests, people.len());
    }
}

/// Posts an assertion signed by `key` with `claims` to the fake's token endpoint.
async fn post_assertion(fake: &FakeGoogle, key: &SigningKey, kid: &str, claims: Value) -> Value {
    let assertion = key
        .sign(
            AssertionHeader {
                kid: Some(kid.into()),
                x5t_s256: None,
            },
            &claims,
        )
        .unwrap();
    let response = client()
        .post(fake.token_url())
        .form(&[
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", assertion.expose()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let mut body: Value = response.json().await.unwrap();
    body["status"] = json!(status);
    body
}

#[tokio::test]
async fn the_fake_token_endpoint_verifies_what_google_verifies() {
    let org = Org::new();
    let (fake, _file) = google_setup(&org).await;
    let (private, _) = (org.dir.path().join("sa.key"), ());
    let key = SigningKey::from_pem(&read(&private)).unwrap();
    let (forger, _) = key_pair(org.dir.path(), "forger");
    let forger = SigningKey::from_pem(&read(&forger)).unwrap();
    let now = Utc::now().timestamp();
    let claims = |sub: &str, scope: &str, aud: &str, iat: i64, exp: i64| json!({"iss": SA_EMAIL, "sub": sub, "scope": scope, "aud": aud, "iat": iat, "exp": exp});
    let aud = fake.token_url();
    let good = claims(ANA, GOOGLE_CALENDAR_SCOPE, &aud, now, now + 3600);
    let answer = post_assertion(&fake, &key, KEY_ID, good.clone()).await;
    assert!(answer["access_token"].is_string(), "{answer}");
    let refused = [
        (
            &forger,
            good.clone(),
            "invalid_grant",
            "Invalid JWT Signature.",
        ),
        (
            &key,
            claims(ANA, GOOGLE_CALENDAR_SCOPE, &aud, now - 7200, now - 3600),
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token",
        ),
        (
            &key,
            claims(ANA, GOOGLE_CALENDAR_SCOPE, &aud, now, now + 7200),
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token",
        ),
        (
            &key,
            claims(
                ANA,
                GOOGLE_CALENDAR_SCOPE,
                "https://elsewhere.test/token",
                now,
                now + 3600,
            ),
            "invalid_grant",
            "Failed audience check",
        ),
        (
            &key,
            claims(
                "outsider@elsewhere.test",
                GOOGLE_CALENDAR_SCOPE,
                &aud,
                now,
                now + 3600,
            ),
            "invalid_grant",
            "Invalid email or User ID",
        ),
        (
            &key,
            claims(
                "nobody@corp.test",
                GOOGLE_CALENDAR_SCOPE,
                &aud,
                now,
                now + 3600,
            ),
            "invalid_grant",
            "Invalid email or User ID",
        ),
        (
            &key,
            claims(ANA, "https://mail.google.com/", &aud, now, now + 3600),
            "unauthorized_client",
            "not authorized for any of the scopes requested",
        ),
    ];
    for (signer, claims, code, text) in refused {
        let answer = post_assertion(&fake, signer, KEY_ID, claims.clone()).await;
        assert_eq!(answer["error"], code, "{claims}: {answer}");
        assert!(
            answer["error_description"].as_str().unwrap().contains(text),
            "{claims}: {answer}"
        );
    }
    // A `kid` that is not the registered key's is a bad signature too.
    let answer = post_assertion(&fake, &key, "other-key-id", good).await;
    assert_eq!(answer["error"], "invalid_grant");
}

#[tokio::test]
async fn refusals_fail_the_person_or_mark_the_org_without_leaking_secrets() {
    let org = Org::new();
    let (fake, file) = google_setup(&org).await;
    let key = ServiceAccount::from_file(&file, None).unwrap();
    let credential = org.credential(OrgKey::Google(key));

    // A person outside the domain: only that account fails, the org is fine.
    let outsider = google_account(&org, &credential, "outsider@elsewhere.test", &fake);
    let error = source_error(sync_one(&outsider, &org.store).await);
    let text = error.to_string();
    assert!(
        matches!(
            &error,
            SourceError::Credentials(AuthError::PersonRefused { .. })
        ),
        "{error:?}"
    );
    assert!(text.contains("Invalid email or User ID"), "{text}");
    assert!(!text.contains("tete auth"), "{text}");
    assert_eq!(org.store.org_state("corp").unwrap().needs_attention, None);
    let ana = google_account(&org, &credential, ANA, &fake);
    sync_one(&ana, &org.store).await.expect("Ana still syncs");

    // The key is deleted in the Cloud console: the org is marked, with the reason.
    fake.delete_service_account_key();
    let ben = google_account(&org, &credential, BEN, &fake);
    let error = source_error(sync_one(&ben, &org.store).await);
    assert!(
        matches!(
            &error,
            SourceError::Credentials(AuthError::OrgNeedsAttention { .. })
        ),
        "{error:?}"
    );
    let mark = org
        .store
        .org_state("corp")
        .unwrap()
        .needs_attention
        .unwrap();
    assert!(mark.reason.contains("Invalid JWT Signature"), "{mark:?}");
    let text = format!("{error} {error:?} {mark:?}");
    assert!(!text.contains("tete auth"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(!text.contains("ya29."), "{text}");
    // Everyone else is refused early: no request per person while marked.
    let before = token_requests(&fake).len();
    let carl = google_account(&org, &credential, "carl@corp.test", &fake);
    let error = source_error(sync_one(&carl, &org.store).await);
    assert!(error.to_string().contains("admin"), "{error}");
    assert_eq!(token_requests(&fake).len(), before);
    assert!(!format!("{credential:?}").contains("PRIVATE"));
}

#[tokio::test]
async fn a_scope_not_delegated_marks_the_org() {
    let org = Org::new();
    let (fake, file) = google_setup(&org).await;
    let key = ServiceAccount::from_file(&file, None).unwrap();
    let credential = org.credential(OrgKey::Google(key));
    let grant = OrgGrant::new(
        credential.clone(),
        Some(ANA),
        vec!["https://www.googleapis.com/auth/admin.directory.user.readonly".into()],
    );
    let tokens = AccountTokens::new("directory", grant, None, org.store.clone(), client());
    let error = tete::auth::Credentials::access_token(&tokens)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::OrgNeedsAttention { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("unauthorized_client"), "{error}");
    drop(fake);
}

#[test]
fn key_file_errors_name_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, r#"{"type":"service_account","client_email":"a@b"}"#).unwrap();
    let error = ServiceAccount::from_file(&path, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("key.json"), "{error}");
    assert!(error.contains("private_key_id"), "{error}");
    std::fs::write(&path, r#"{"type":"authorized_user"}"#).unwrap();
    let error = ServiceAccount::from_file(&path, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"type\""), "{error}");
    std::fs::write(
        &path,
        r#"{"type":"service_account","client_email":"a@b","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n"}"#,
    )
    .unwrap();
    let error = ServiceAccount::from_file(&path, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("private_key"), "{error}");
    assert!(!error.contains("c2VjcmV0"), "{error}");
}

// ---- Microsoft: app-only tokens ----

fn graph_account(
    org: &Org,
    credential: &Arc<OrgCredential>,
    mailbox: &str,
    fake: &FakeGraph,
) -> MicrosoftAccount {
    let grant = OrgGrant::new(credential.clone(), Some(mailbox), Vec::new());
    let tokens: MicrosoftTokens = org.tokens(mailbox, grant);
    MicrosoftAccount::for_person(
        mailbox,
        mailbox,
        vec!["primary".into()],
        Some(&fake.api_base()),
        tokens,
        client(),
        http_options(),
        WindowPolicy::default(),
    )
    .unwrap()
}

fn graph_setup() -> (Org, impl std::future::Future<Output = FakeGraph>) {
    (Org::new(), FakeGraph::start("admin@corp.test"))
}

fn fill(fake: &FakeGraph) {
    fake.add_mailbox(ANA);
    fake.add_mailbox(BEN);
    let first = Utc::now() - chrono::Duration::days(14);
    for (owner, other, id) in [(ANA, BEN, "A"), (BEN, ANA, "B")] {
        let (master, occurrences) = weekly_series(
            &format!("{id}-master"),
            &format!("{id}-uid"),
            "1:1",
            first,
            4,
            &[owner, other],
        );
        fake.put_master(master);
        for occurrence in occurrences {
            fake.put_in(owner, "primary", occurrence);
        }
    }
}

fn app_token_requests(fake: &FakeGraph) -> usize {
    fake.requests_to("/token")
        .iter()
        .filter(|r| r.form.get("grant_type").map(String::as_str) == Some("client_credentials"))
        .count()
}

fn token_url(fake: &FakeGraph) -> String {
    format!("{}/{TENANT}/oauth2/v2.0/token", fake.login_base())
}

#[tokio::test]
async fn an_app_secret_reads_two_mailboxes_with_one_token() {
    let (org, fake) = graph_setup();
    let fake = fake.await;
    fill(&fake);
    fake.register_app(TENANT, APP_ID, Some("app-secret-value"), None);
    let secret = org.dir.path().join("secret");
    std::fs::write(&secret, "app-secret-value\n").unwrap();
    let app =
        AppCredential::with_secret_file(TENANT, APP_ID, &secret, Some(&token_url(&fake))).unwrap();
    for _pass in 0..2 {
        let credential = org.credential(OrgKey::Microsoft(app.clone()));
        let (ana, ben) = (
            graph_account(&org, &credential, ANA, &fake),
            graph_account(&org, &credential, BEN, &fake),
        );
        // Both at once: they share one redeem.
        let (a, b) = tokio::join!(sync_one(&ana, &org.store), sync_one(&ben, &org.store));
        a.expect("Ana's mailbox");
        b.expect("Ben's mailbox");
    }
    assert_eq!(app_token_requests(&fake), 1, "one app token for the tenant");
    assert!(org.events(ANA) > 0 && org.events(BEN) > 0);
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&format!("/v1.0/users/{ANA}/calendarView/delta")),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("/v1.0/users/{BEN}/calendarView/delta")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.starts_with("/v1.0/me")),
        "{paths:?}"
    );

    // A mailbox outside the app's access policy fails alone.
    fake.deny_mailbox(BEN);
    let credential = org.credential(OrgKey::Microsoft(app.clone()));
    assert!(
        sync_one(&graph_account(&org, &credential, BEN, &fake), &org.store)
            .await
            .is_err()
    );
    sync_one(&graph_account(&org, &credential, ANA, &fake), &org.store)
        .await
        .expect("Ana is unaffected");
    assert_eq!(org.store.org_state("corp").unwrap().needs_attention, None);
}

#[tokio::test]
async fn an_app_certificate_signs_client_assertions_and_a_wrong_secret_marks_the_org() {
    let (org, fake) = graph_setup();
    let fake = fake.await;
    fill(&fake);
    let (private, public) = key_pair(org.dir.path(), "app");
    let cert = org.dir.path().join("app.crt");
    openssl(&[
        "req",
        "-x509",
        "-key",
        private.to_str().unwrap(),
        "-subj",
        "/CN=tete",
        "-days",
        "2",
        "-out",
        cert.to_str().unwrap(),
    ]);
    let der = org.dir.path().join("app.der");
    openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(std::fs::read(&der).unwrap()));
    fake.register_app(
        TENANT,
        APP_ID,
        Some("the-right-secret"),
        Some((&read(&public), &thumbprint)),
    );
    // The PEM file holds the certificate and its key, as an admin exports them.
    let bundle = org.dir.path().join("app.pem");
    std::fs::write(&bundle, format!("{}{}", read(&cert), read(&private))).unwrap();
    let app =
        AppCredential::with_certificate_file(TENANT, APP_ID, &bundle, Some(&token_url(&fake)))
            .unwrap();
    let credential = org.credential(OrgKey::Microsoft(app));
    sync_one(&graph_account(&org, &credential, ANA, &fake), &org.store)
        .await
        .expect("certificate credential works");
    let request = fake.requests_to("/token").pop().unwrap();
    assert_eq!(
        request
            .form
            .get("client_assertion_type")
            .map(String::as_str),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert!(!request.form.contains_key("client_secret"));
    // SMTP for an org sender: the app's Exchange Online token, a resource of its own.
    let mail = OrgGrant::new(credential.clone(), Some("briefs@corp.test"), Vec::new())
        .mail_token()
        .await
        .expect("SMTP token");
    assert!(!mail.expose().is_empty());
    let request = fake.requests_to("/token").pop().unwrap();
    assert_eq!(
        request.form.get("scope").map(String::as_str),
        Some("https://outlook.office365.com/.default")
    );

    // Another org store, a stale secret: invalid_client marks the org.
    let other = Org::new();
    let secret = other.dir.path().join("secret");
    std::fs::write(&secret, "an-expired-secret").unwrap();
    let app =
        AppCredential::with_secret_file(TENANT, APP_ID, &secret, Some(&token_url(&fake))).unwrap();
    let credential = other.credential(OrgKey::Microsoft(app));
    let error = source_error(
        sync_one(
            &graph_account(&other, &credential, BEN, &fake),
            &other.store,
        )
        .await,
    );
    let text = error.to_string();
    assert!(
        text.contains("invalid_client") && text.contains("AADSTS7000215"),
        "{text}"
    );
    assert!(
        !text.contains("an-expired-secret") && !text.contains("tete auth"),
        "{text}"
    );
    assert!(
        other
            .store
            .org_state("corp")
            .unwrap()
            .needs_attention
            .is_some()
    );
}

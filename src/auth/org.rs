//! Org credentials: a Google service account with domain-wide delegation (RFC 7523
//! JWT bearer grant, one token per person it acts as) and a Microsoft app with
//! application permissions (client credentials grant, one token per tenant and
//! resource, authenticated by a client secret or a certificate's client assertion).
//!
//! An [`OrgCredential`] is shared by every account of the org (wrap it in an `Arc`);
//! each account's [`super::token_source::TokenSource`] reaches it through an
//! [`OrgGrant`] (the credential, the person, the scopes). Minted tokens are kept in
//! the store (sealed like refresh tokens), so passes and restarts reuse them: 10,000
//! people cost one token request per person per hour with Google, and one per hour
//! in all with Microsoft. A per-slot lock makes concurrent accounts of a Microsoft
//! org share one redeem.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

use super::AuthError;
use super::credentials::ProviderError;
use super::jwt::{AssertionHeader, SigningKey, certificate_thumbprint};
use super::token_source::{REFRESH_MARGIN, Resource};
use super::tokens::{Secret, TokenKey, seal, unseal};
use crate::store::{OrgAttention, OrgToken, Store};

/// The grant type of RFC 7523 (JWT bearer assertion), Google's service accounts.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The client assertion type of RFC 7523, Microsoft's certificate credentials.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Google's service account token endpoint (the key file's `token_uri`).
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google: read every calendar of the person acted as.
pub const GOOGLE_CALENDAR_SCOPE: &str = super::google::CALENDAR_SCOPE;
/// Google: SMTP XOAUTH2 for the sending mailbox.
pub const GOOGLE_MAIL_SCOPE: &str = super::google::MAIL_SCOPE;
/// Microsoft Graph with the app's application permissions.
pub const GRAPH_APP_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Exchange Online SMTP with `SMTP.SendAsApp`.
pub const EXCHANGE_APP_SCOPE: &str = "https://outlook.office365.com/.default";
/// Lifetime of a Google assertion: Google refuses more than an hour.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// Lifetime of a Microsoft client assertion (the platform takes up to ten minutes).
pub const CLIENT_ASSERTION_LIFETIME: Duration = Duration::from_secs(600);
/// An org marked as needing attention is not asked again for this long with the
/// same credential (an admin may fix it on the provider's side: delegation,
/// consent), so 10,000 people do not send 10,000 refused requests per poll.
pub const ATTENTION_RETRY: Duration = Duration::from_secs(3600);
/// Requests refused together share a token minted this recently.
const FRESH_ENOUGH: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// A Google service account key (the JSON key file of the Cloud console).
#[derive(Clone, Debug)]
pub struct ServiceAccount {
    /// `client_email`: the assertion's `iss`.
    pub client_email: String,
    /// `private_key_id`: the assertion's `kid`.
    pub private_key_id: String,
    key: SigningKey,
    /// Where assertions are redeemed (`token_uri`, or the override).
    pub token_url: Url,
}

/// The fields of a key file tete reads.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Reads a JSON key file; `token_url` overrides its `token_uri` (tests, proxies).
    pub fn from_file(path: &Path, token_url: Option<&str>) -> Result<ServiceAccount, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::File {
            what: "service account key",
            path: path.to_path_buf(),
            source,
        })?;
        ServiceAccount::from_json(&text, &path.display().to_string(), token_url)
    }

    /// Reads the text of a key file; `origin` names it in errors.
    pub fn from_json(
        text: &str,
        origin: &str,
        token_url: Option<&str>,
    ) -> Result<ServiceAccount, AuthError> {
        let bad = |what: String| AuthError::Config(format!("service account key {origin}: {what}"));
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "not a JSON key file (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if file.kind.as_deref() != Some("service_account") {
            return Err(bad(format!(
                "field \"type\" is {}, expected \"service_account\"",
                file.kind.map_or("missing".into(), |k| format!("\"{k}\""))
            )));
        }
        let field = |value: Option<String>, name: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| bad(format!("field \"{name}\" is missing or empty")))
        };
        let client_email = field(file.client_email, "client_email")?;
        let private_key_id = field(file.private_key_id, "private_key_id")?;
        let pem = field(file.private_key, "private_key")?;
        let key =
            SigningKey::from_pem(&pem).map_err(|e| bad(format!("field \"private_key\": {e}")))?;
        let token_uri = file.token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URL.into());
        let url_text = token_url.unwrap_or(&token_uri);
        let token_url =
            Url::parse(url_text).map_err(|e| bad(format!("token URL {url_text}: {e}")))?;
        Ok(ServiceAccount {
            client_email,
            private_key_id,
            key,
            token_url,
        })
    }

    /// The signed assertion acting as `subject` with `scopes`, issued at `now`.
    pub fn assertion(
        &self,
        subject: &str,
        scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<Secret, String> {
        let iat = now.timestamp();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": scopes.join(" "),
            "aud": self.token_url.as_str(),
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs() as i64,
        });
        let header = AssertionHeader {
            kid: Some(self.private_key_id.clone()),
            x5t_s256: None,
        };
        self.key.sign(header, &claims)
    }
}

/// How a Microsoft app proves who it is.
#[derive(Clone, Debug)]
pub enum AppSecret {
    /// A client secret (from a file).
    Secret(Secret),
    /// A certificate's private key and the certificate's SHA-256 thumbprint.
    Certificate {
        /// Signs the client assertion.
        key: SigningKey,
        /// `x5t#S256`.
        thumbprint: String,
    },
}

/// A Microsoft Entra app registration with application permissions.
#[derive(Clone, Debug)]
pub struct AppCredential {
    /// The tenant id or domain.
    pub tenant: String,
    /// The application (client) id.
    pub client_id: String,
    /// The secret or certificate.
    pub secret: AppSecret,
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`, or the override.
    pub token_url: Url,
}

impl AppCredential {
    /// An app authenticated by the client secret in `path` (the bare secret).
    pub fn with_secret_file(
        tenant: &str,
        client_id: &str,
        path: &Path,
        token_url: Option<&str>,
    ) -> Result<AppCredential, AuthError> {
        let text = read(path, "client secret")?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(AuthError::Config(format!(
                "client secret file {} is empty",
                path.display()
            )));
        }
        AppCredential::new(
            tenant,
            client_id,
            AppSecret::Secret(Secret::new(secret)),
            token_url,
        )
    }

    /// An app authenticated by a certificate: `path` is a PEM file holding the
    /// certificate (uploaded to the app registration) and its private key.
    pub fn with_certificate_file(
        tenant: &str,
        client_id: &str,
        path: &Path,
        token_url: Option<&str>,
    ) -> Result<AppCredential, AuthError> {
        let text = read(path, "certificate")?;
        let bad = |what: String| {
            AuthError::Config(format!("certificate file {}: {what}", path.display()))
        };
        let thumbprint = certificate_thumbprint(&text).map_err(bad)?;
        let key = SigningKey::from_pem(&text).map_err(bad)?;
        AppCredential::new(
            tenant,
            client_id,
            AppSecret::Certificate { key, thumbprint },
            token_url,
        )
    }

    fn new(
        tenant: &str,
        client_id: &str,
        secret: AppSecret,
        token_url: Option<&str>,
    ) -> Result<AppCredential, AuthError> {
        if tenant.trim().is_empty() || client_id.trim().is_empty() {
            return Err(AuthError::Config(
                "a Microsoft org needs a tenant and a client id".into(),
            ));
        }
        let text = match token_url {
            Some(url) => url.to_string(),
            None => format!("{}/{tenant}/oauth2/v2.0/token", super::microsoft::AUTHORITY),
        };
        let token_url =
            Url::parse(&text).map_err(|e| AuthError::Config(format!("token URL {text}: {e}")))?;
        Ok(AppCredential {
            tenant: tenant.to_string(),
            client_id: client_id.to_string(),
            secret,
            token_url,
        })
    }

    /// The form of a client credentials request for `scope`.
    fn form(&self, scope: &str, now: DateTime<Utc>) -> Result<Vec<(&'static str, Secret)>, String> {
        let mut form = vec![
            ("grant_type", Secret::new("client_credentials")),
            ("client_id", Secret::new(self.client_id.clone())),
            ("scope", Secret::new(scope)),
        ];
        match &self.secret {
            AppSecret::Secret(secret) => form.push(("client_secret", secret.clone())),
            AppSecret::Certificate { key, thumbprint } => {
                let now_s = now.timestamp();
                let claims = serde_json::json!({
                    "aud": self.token_url.as_str(),
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "jti": unique_id(),
                    "nbf": now_s,
                    "iat": now_s,
                    "exp": now_s + CLIENT_ASSERTION_LIFETIME.as_secs() as i64,
                });
                let header = AssertionHeader {
                    kid: None,
                    x5t_s256: Some(thumbprint.clone()),
                };
                form.push(("client_assertion_type", Secret::new(CLIENT_ASSERTION_TYPE)));
                form.push(("client_assertion", key.sign(header, &claims)?));
            }
        }
        Ok(form)
    }
}

/// Where an org's credential file is: `configured` if given, else the systemd
/// credential `<org>-<name>` (`LoadCredential=`), e.g. `corp-google-key`,
/// `corp-client-secret`, `corp-certificate`.
pub fn credential_path(
    org: &str,
    name: &str,
    configured: Option<&Path>,
) -> Result<PathBuf, AuthError> {
    if let Some(path) = configured {
        return Ok(path.to_path_buf());
    }
    let credential = format!("{org}-{name}");
    super::tokens::credentials_file(&credential).ok_or_else(|| {
        AuthError::Config(format!(
            "org '{org}' names no {name} file and systemd passed no credential '{credential}'"
        ))
    })
}

fn read(path: &Path, what: &'static str) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|source| AuthError::File {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// A random 128-bit id, hex (the `jti` of a client assertion).
fn unique_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which org credential.
#[derive(Clone, Debug)]
pub enum OrgKey {
    /// Google Workspace: a service account with domain-wide delegation.
    Google(ServiceAccount),
    /// Microsoft 365: an app with application permissions.
    Microsoft(AppCredential),
}

/// One org's credential, shared by all its accounts: the key, where minted tokens
/// are kept, and one lock per token slot.
pub struct OrgCredential {
    org: String,
    key: OrgKey,
    /// A fingerprint of the credential (never the credential), for the attention mark.
    fingerprint: String,
    store: Store,
    token_key: Option<TokenKey>,
    http: reqwest::Client,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for OrgCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgCredential")
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

impl OrgCredential {
    /// The credential of org `org`. `token_key` seals minted tokens at rest; `http`
    /// must not follow redirects (the sources' `Http::default_client`).
    pub fn new(
        org: &str,
        key: OrgKey,
        store: Store,
        token_key: Option<TokenKey>,
        http: reqwest::Client,
    ) -> OrgCredential {
        let identity = match &key {
            OrgKey::Google(account) => format!(
                "google\0{}\0{}",
                account.client_email, account.private_key_id
            ),
            OrgKey::Microsoft(app) => {
                let proof = match &app.secret {
                    AppSecret::Secret(secret) => format!("secret\0{}", secret.expose()),
                    AppSecret::Certificate { thumbprint, .. } => {
                        format!("certificate\0{thumbprint}")
                    }
                };
                format!("microsoft\0{}\0{}\0{proof}", app.tenant, app.client_id)
            }
        };
        let digest = Sha256::digest(identity.as_bytes());
        let fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        OrgCredential {
            org: org.to_string(),
            key,
            fingerprint,
            store,
            token_key,
            http,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The org's name.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The credential.
    pub fn key(&self) -> &OrgKey {
        &self.key
    }

    fn lock_for(&self, slot: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(slot.to_string()).or_default().clone()
    }

    fn needs_attention(&self, detail: impl Into<String>) -> AuthError {
        AuthError::OrgNeedsAttention {
            org: self.org.clone(),
            detail: detail.into(),
        }
    }

    fn store_error(&self, error: impl Into<AuthError>) -> AuthError {
        AuthError::Tokens {
            account: format!("org {}", self.org),
            source: Box::new(error.into()),
        }
    }

    /// Refuses early while the org is marked with this very credential, for
    /// [`ATTENTION_RETRY`].
    fn check_mark(&self, now: DateTime<Utc>) -> Result<(), AuthError> {
        let state = self
            .store
            .org_state(&self.org)
            .map_err(|e| self.store_error(e))?;
        if let Some(mark) = state.needs_attention
            && mark.credential == self.fingerprint
            && now - mark.since < chrono::TimeDelta::from_std(ATTENTION_RETRY).unwrap_or_default()
        {
            return Err(self.needs_attention(mark.reason));
        }
        Ok(())
    }

    fn seal_name(slot: &str) -> String {
        format!("org-token\0{slot}")
    }
}

/// What an account's token source asks of its org: tokens for one person (Google)
/// or for the tenant (Microsoft), with the API scopes given here.
#[derive(Clone, Debug)]
pub struct OrgGrant {
    credential: Arc<OrgCredential>,
    subject: Option<String>,
    api_scopes: Vec<String>,
}

/// How the provider refused an org token request.
#[derive(Debug, PartialEq, Eq)]
pub enum OrgRefusal {
    /// The credential itself (key, secret, consent, delegation): mark the org.
    Credential,
    /// Only the person acted as (unknown or suspended `sub`): fail that account.
    Person,
    /// Anything else (a malformed request, a server's bad day).
    Other,
}

/// Reads a token endpoint's refusal of an org credential (Google's and Microsoft's
/// documented codes; see docs/org-admin.md).
pub fn classify(key: &OrgKey, code: &str, description: &str) -> OrgRefusal {
    match key {
        OrgKey::Google(_) => match code {
            // Google answers `invalid_grant` both for a bad assertion (signature,
            // times, audience: the key) and for a `sub` it does not know.
            "invalid_grant" if description.contains("Invalid email or User ID") => {
                OrgRefusal::Person
            }
            "invalid_grant" | "invalid_client" | "unauthorized_client" | "access_denied" => {
                OrgRefusal::Credential
            }
            _ => OrgRefusal::Other,
        },
        OrgKey::Microsoft(_) => {
            // AADSTS7000215 invalid secret, 7000222 expired secret, 700027 bad
            // assertion signature or unknown certificate, 700016 unknown app,
            // 7000112 disabled app, 65001 / 500011 / 7000229 consent or service
            // principal missing.
            let credential_codes = [
                "AADSTS7000215",
                "AADSTS7000222",
                "AADSTS700027",
                "AADSTS700016",
                "AADSTS7000112",
                "AADSTS65001",
                "AADSTS500011",
                "AADSTS7000229",
                "AADSTS90002",
            ];
            if matches!(code, "invalid_client" | "unauthorized_client")
                || credential_codes.iter().any(|c| description.contains(c))
            {
                OrgRefusal::Credential
            } else {
                OrgRefusal::Other
            }
        }
    }
}

/// A token endpoint's successful answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

impl OrgGrant {
    /// Acting as `person` (Google: the `sub` of each assertion) with `api_scopes`
    /// for the API token (Google: [`GOOGLE_CALENDAR_SCOPE`]; the directory client
    /// its own). Microsoft ignores `person` (one app token per tenant) and asks
    /// for [`GRAPH_APP_SCOPE`] when `api_scopes` is empty.
    pub fn new(
        credential: Arc<OrgCredential>,
        person: Option<&str>,
        api_scopes: Vec<String>,
    ) -> OrgGrant {
        OrgGrant {
            credential,
            subject: person.map(str::to_lowercase),
            api_scopes,
        }
    }

    /// The shared credential.
    pub fn credential(&self) -> &Arc<OrgCredential> {
        &self.credential
    }

    /// The person acted as, if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    fn scopes(&self, resource: Resource) -> Vec<String> {
        match (&self.credential.key, resource) {
            (OrgKey::Google(_), Resource::Api) => self.api_scopes.clone(),
            (OrgKey::Google(_), Resource::Mail) => vec![GOOGLE_MAIL_SCOPE.into()],
            (OrgKey::Microsoft(_), Resource::Api) if !self.api_scopes.is_empty() => {
                self.api_scopes.clone()
            }
            (OrgKey::Microsoft(_), Resource::Api) => vec![GRAPH_APP_SCOPE.into()],
            (OrgKey::Microsoft(_), Resource::Mail) => vec![EXCHANGE_APP_SCOPE.into()],
        }
    }

    /// Where this grant's `resource` token is kept: per person and scope set with
    /// Google, per resource (the whole tenant) with Microsoft.
    fn slot(&self, resource: Resource) -> String {
        let scopes = self.scopes(resource).join(" ");
        match &self.credential.key {
            OrgKey::Google(_) => {
                format!("sub\0{}\0{scopes}", self.subject.as_deref().unwrap_or(""))
            }
            OrgKey::Microsoft(_) => format!("app\0{scopes}"),
        }
    }

    /// The org's stored token for `resource` if it outlives the refresh margin;
    /// refuses early while the org is marked.
    pub(crate) fn stored(
        &self,
        resource: Resource,
        now: DateTime<Utc>,
    ) -> Result<Option<(Secret, DateTime<Utc>)>, AuthError> {
        let credential = &self.credential;
        credential.check_mark(now)?;
        let slot = self.slot(resource);
        let Some(stored) = credential
            .store
            .org_token(&credential.org, &slot)
            .map_err(|e| credential.store_error(e))?
        else {
            return Ok(None);
        };
        let margin = chrono::TimeDelta::from_std(REFRESH_MARGIN).unwrap_or_default();
        if stored.expires_at - margin <= now {
            return Ok(None);
        }
        let token = unseal(
            credential.token_key.as_ref(),
            &credential.org,
            &OrgCredential::seal_name(&slot),
            &stored.access_token,
        )?;
        Ok(Some((token, stored.expires_at)))
    }

    /// Mints a token for `resource`, one request at a time per slot across the
    /// org: a caller that waited for the lock takes the token just minted by the
    /// one before it (unless `force` and it is older than a few seconds).
    pub(crate) async fn redeem(
        &self,
        resource: Resource,
        force: bool,
    ) -> Result<(Secret, DateTime<Utc>), AuthError> {
        let credential = &self.credential;
        let slot = self.slot(resource);
        let lock = credential.lock_for(&slot);
        let _one_at_a_time = lock.lock().await;
        let now = Utc::now();
        credential.check_mark(now)?;
        if let Some(stored) = credential
            .store
            .org_token(&credential.org, &slot)
            .map_err(|e| credential.store_error(e))?
            && (!force || now - stored.issued_at < FRESH_ENOUGH)
            && let Some(found) = self.stored(resource, now)?
        {
            return Ok(found);
        }
        let scopes = self.scopes(resource);
        let (url, form) = match &credential.key {
            OrgKey::Google(account) => {
                let subject = self.subject.as_deref().ok_or_else(|| {
                    AuthError::Config(format!(
                        "org '{}': a Google token needs the person to act as",
                        credential.org
                    ))
                })?;
                let assertion = account
                    .assertion(subject, &scopes, now)
                    .map_err(|e| credential.needs_attention(e))?;
                let form = vec![
                    ("grant_type", Secret::new(JWT_BEARER_GRANT)),
                    ("assertion", assertion),
                ];
                (account.token_url.clone(), form)
            }
            OrgKey::Microsoft(app) => {
                let form = app
                    .form(&scopes.join(" "), now)
                    .map_err(|e| credential.needs_attention(e))?;
                (app.token_url.clone(), form)
            }
        };
        let what = match &self.subject {
            Some(subject) if matches!(credential.key, OrgKey::Google(_)) => {
                format!(
                    "token endpoint of org '{}' acting as {subject}",
                    credential.org
                )
            }
            _ => format!("token endpoint of org '{}'", credential.org),
        };
        let body: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.expose())).collect();
        let response = credential
            .http
            .post(url)
            .form(&body)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable {
                what: what.clone(),
                detail: format!("request failed: {}", super::error_chain(&e.without_url())),
            })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| AuthError::Unavailable {
            what: what.clone(),
            detail: format!(
                "reading the answer: {}",
                super::error_chain(&e.without_url())
            ),
        })?;
        if status == 200 {
            let answer: TokenAnswer =
                serde_json::from_slice(&bytes).map_err(|e| AuthError::Unavailable {
                    what: what.clone(),
                    detail: format!("unreadable token answer: {e}"),
                })?;
            let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
            let expires = super::tokens::expiry(now, lifetime);
            let token = Secret::new(answer.access_token);
            let record = OrgToken {
                access_token: seal(
                    credential.token_key.as_ref(),
                    &credential.org,
                    &OrgCredential::seal_name(&slot),
                    &token,
                ),
                expires_at: expires,
                issued_at: now,
            };
            credential
                .store
                .save_org_token(&credential.org, &slot, &record)
                .map_err(|e| credential.store_error(e))?;
            tracing::debug!(org = %credential.org, ?resource, "org access token minted");
            return Ok((token, expires));
        }
        let error = ProviderError::parse(&bytes);
        let code = error.reasons.first().cloned().unwrap_or_default();
        // Microsoft appends trace and correlation ids on further lines.
        let description = error
            .message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let reason = if description.is_empty() {
            format!("HTTP {status} {code}")
        } else {
            format!("{code}: {description}")
        };
        if status >= 500 || status == 429 {
            return Err(AuthError::Unavailable {
                what,
                detail: reason,
            });
        }
        match classify(&credential.key, &code, &error.message) {
            OrgRefusal::Credential => {
                tracing::warn!(org = %credential.org, %reason, "the org's credential was refused; an admin must fix it");
                let mark = OrgAttention {
                    since: now,
                    reason: reason.clone(),
                    credential: credential.fingerprint.clone(),
                };
                credential
                    .store
                    .mark_org_needs_attention(&credential.org, &mark)
                    .map_err(|e| credential.store_error(e))?;
                Err(credential.needs_attention(reason))
            }
            OrgRefusal::Person => Err(AuthError::PersonRefused {
                org: credential.org.clone(),
                person: self.subject.clone().unwrap_or_default(),
                detail: reason,
            }),
            OrgRefusal::Other => Err(AuthError::Refused {
                what,
                detail: reason,
            }),
        }
    }

    /// An access token for SMTP XOAUTH2 as the grant's person (Google: a delegated
    /// token with `https://mail.google.com/` for `sub` = the sending mailbox;
    /// Microsoft: the app token for Exchange Online, `SMTP.SendAsApp`).
    pub async fn mail_token(&self) -> Result<Secret, AuthError> {
        if let Some((token, _)) = self.stored(Resource::Mail, Utc::now())? {
            return Ok(token);
        }
        self.redeem(Resource::Mail, false)
            .await
            .map(|(token, _)| token)
    }

    /// The API refused a fresh org token for this person's data: fail the
    /// account, not the org (one mailbox may be out of the app's scope).
    pub(crate) fn rejected(&self, api: &str, detail: &str) -> AuthError {
        AuthError::PersonRefused {
            org: self.credential.org.clone(),
            person: self.subject.clone().unwrap_or_default(),
            detail: format!("{api} refused a fresh org token ({detail})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> OrgKey {
        OrgKey::Microsoft(AppCredential {
            tenant: "t".into(),
            client_id: "c".into(),
            secret: AppSecret::Secret(Secret::new("s")),
            token_url: Url::parse("https://login.test/t/oauth2/v2.0/token").unwrap(),
        })
    }

    #[test]
    fn microsoft_refusals_of_the_app_mark_the_org() {
        let key = app();
        assert_eq!(
            classify(
                &key,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided."
            ),
            OrgRefusal::Credential
        );
        assert_eq!(
            classify(
                &key,
                "invalid_request",
                "AADSTS90002: Tenant 't' not found."
            ),
            OrgRefusal::Credential
        );
        assert_eq!(
            classify(
                &key,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope"
            ),
            OrgRefusal::Other
        );
    }

    #[test]
    fn a_secret_file_that_is_empty_or_missing_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "\n").unwrap();
        let error = AppCredential::with_secret_file("t", "c", &path, None).unwrap_err();
        assert!(error.to_string().contains("is empty"), "{error}");
        let error =
            AppCredential::with_secret_file("t", "c", &dir.path().join("none"), None).unwrap_err();
        assert!(error.to_string().contains("client secret"), "{error}");
        std::fs::write(&path, "s3cret").unwrap();
        let app = AppCredential::with_secret_file("corp", "c", &path, None).unwrap();
        assert_eq!(
            app.token_url.as_str(),
            "https://login.microsoftonline.com/corp/oauth2/v2.0/token"
        );
        assert!(!format!("{app:?}").contains("s3cret"));
    }
}

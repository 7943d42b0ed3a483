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

mod keys;

pub use keys::{
    ASSERTION_LIFETIME, AppCredential, AppSecret, CLIENT_ASSERTION_LIFETIME, CLIENT_ASSERTION_TYPE,
    EXCHANGE_APP_SCOPE, GOOGLE_CALENDAR_SCOPE, GOOGLE_MAIL_SCOPE, GOOGLE_TOKEN_URL,
    GRAPH_APP_SCOPE, JWT_BEARER_GRANT, OrgKey, ServiceAccount, credential_path,
};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::AuthError;
use super::credentials::ProviderError;
use super::token_source::{REFRESH_MARGIN, Resource};
use super::tokens::{Secret, TokenKey, seal, unseal};
use crate::store::{OrgAttention, OrgToken, Store};

/// An org marked as needing attention is not asked again for this long with the
/// same credential (an admin may fix it on the provider's side: delegation,
/// consent), so 10,000 people do not send 10,000 refused requests per poll.
pub const ATTENTION_RETRY: Duration = Duration::from_secs(3600);
/// Requests refused together share a token minted this recently.
const FRESH_ENOUGH: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

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
    use url::Url;

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

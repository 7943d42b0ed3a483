//! Microsoft identity platform: endpoints, scopes, the device-code sign-in, and the
//! per-account token source.
//!
//! Two Microsoft rules shape this module:
//! - **Refresh tokens rotate.** Every redeem returns a new refresh token; it replaces
//!   the old one in the store before the new access token is used (an old one may
//!   stop working, and an account whose token is never renewed dies after 90 days).
//! - **One access token per resource.** Graph (`Calendars.Read`) and Exchange
//!   (`SMTP.Send`) need two redeems of the same refresh token
//!   ([`MicrosoftTokens::smtp_token`]).

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use std::io::Write;

use super::AuthError;
use super::device::{self, DeviceClient, DeviceFlowError, DeviceTokens, PollClock};
use super::tokens::{Secret, TokenKey, seal, unseal};
use crate::config::AccountConfig;
use crate::sources::SourceError;
use crate::sources::http::{Credentials, ProviderError};
use crate::store::{Store, TokenRecord};

/// The identity platform's host.
pub const AUTHORITY: &str = "https://login.microsoftonline.com";
/// The tenant when the config names none: work, school and personal accounts.
pub const DEFAULT_TENANT: &str = "common";
/// Read calendars through Graph.
pub const CALENDAR_SCOPE: &str = "https://graph.microsoft.com/Calendars.Read";
/// Get refresh tokens.
pub const OFFLINE_SCOPE: &str = "offline_access";
/// Send mail through SMTP AUTH XOAUTH2 (Exchange Online, a different resource).
pub const SMTP_SCOPE: &str = "https://outlook.office.com/SMTP.Send";
/// Access tokens are renewed this long before they expire.
pub const REFRESH_MARGIN: std::time::Duration = std::time::Duration::from_secs(120);
/// The provider name stored with the tokens.
pub const PROVIDER: &str = "microsoft";

/// The scopes of the Graph token (and of the sign-in).
pub fn graph_scopes() -> Vec<String> {
    vec![CALENDAR_SCOPE.to_string(), OFFLINE_SCOPE.to_string()]
}

/// A Microsoft app registration and its endpoints: a public client (no secret, the
/// "Mobile and desktop applications" platform), or a confidential one when
/// `client_secret_file` is configured (web-platform registrations require the secret on
/// every token request).
#[derive(Clone, Debug)]
pub struct MicrosoftClient {
    /// Application (client) id.
    pub client_id: String,
    /// The client secret of a confidential client (`client_secret_file`, or
    /// `$CREDENTIALS_DIRECTORY/<account>-client-secret`).
    pub client_secret: Option<Secret>,
    /// `common`, `organizations`, `consumers` or a tenant id.
    pub tenant: String,
    /// `…/{tenant}/oauth2/v2.0/token`.
    pub token_url: Url,
    /// `…/{tenant}/oauth2/v2.0/devicecode`.
    pub device_authorization_url: Url,
}

impl MicrosoftClient {
    /// The client of a configured account: `client_id`, `tenant` (default `common`)
    /// and the `token_url` / `device_authorization_url` overrides.
    pub fn from_config(account: &AccountConfig) -> Result<MicrosoftClient, AuthError> {
        let client_id = account
            .client_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                AuthError::Config(format!(
                    "account '{}' has no client_id (register an app in Microsoft Entra, see docs/microsoft.md)",
                    account.name
                ))
            })?;
        let tenant = account
            .tenant
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_TENANT.to_string());
        let endpoint = |configured: Option<&String>, leaf: &str, key: &str| {
            let text = match configured {
                Some(text) => text.clone(),
                None => format!("{AUTHORITY}/{tenant}/oauth2/v2.0/{leaf}"),
            };
            Url::parse(&text).map_err(|e| {
                AuthError::Config(format!(
                    "account '{}': {key} is not a URL: {e}",
                    account.name
                ))
            })
        };
        let client_secret = super::google::load_client_secret(
            &account.name,
            account.client_secret_file.as_deref(),
        )?;
        Ok(MicrosoftClient {
            client_secret,
            token_url: endpoint(account.token_url.as_ref(), "token", "token_url")?,
            device_authorization_url: endpoint(
                account.device_authorization_url.as_ref(),
                "devicecode",
                "device_authorization_url",
            )?,
            client_id,
            tenant,
        })
    }

    fn device_client(&self) -> DeviceClient {
        DeviceClient {
            device_authorization_url: self.device_authorization_url.clone(),
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.as_ref().map(|s| s.expose().to_string()),
        }
    }
}

/// Signs `account` in with the device code flow: prints the address and code to
/// `out`, waits for the user, and stores the tokens (sealed with `key` if given).
/// This is what `tete auth <account>` runs for Microsoft accounts.
///
/// With `send_mail` (the account is `[mail.smtp] xoauth2_account`) a second code
/// follows, for `SMTP.Send`: the identity platform issues tokens for one resource at
/// a time and refuses a device sign-in that asks for Graph and Exchange together
/// (AADSTS28000), so consent to sending mail is a sign-in of its own. Its refresh
/// token then serves both resources.
pub async fn device_sign_in<W: Write>(
    account: &AccountConfig,
    store: &Store,
    key: Option<TokenKey>,
    http: reqwest::Client,
    out: &mut W,
    clock: PollClock,
    send_mail: bool,
) -> Result<(), AuthError> {
    let client = MicrosoftClient::from_config(account)?;
    let tokens = MicrosoftTokens::new(
        &account.name,
        client.clone(),
        key,
        store.clone(),
        http.clone(),
    );
    let device = client.device_client();
    let name = &account.name;
    writeln!(out, "Signing in account '{name}' to read its calendars.")?;
    let granted = one_device_flow(&http, &device, &graph_scopes(), name, out, clock).await?;
    tokens.save_sign_in(&granted, Utc::now())?;
    writeln!(out, "Account '{name}' can read its calendars.")?;
    if send_mail {
        writeln!(
            out,
            "Account '{name}' also sends the briefs (mail.smtp.xoauth2_account): one more code, to allow sending mail."
        )?;
        let scopes = vec![SMTP_SCOPE.to_string(), OFFLINE_SCOPE.to_string()];
        let mail = one_device_flow(&http, &device, &scopes, name, out, clock)
            .await
            .map_err(|error| {
                AuthError::Denied(format!(
                    "account '{name}' reads its calendars, but sending mail was not allowed: {error}"
                ))
            })?;
        tokens.save_mail_consent(&mail, Utc::now())?;
        writeln!(out, "Account '{name}' can send mail.")?;
    }
    Ok(())
}

async fn one_device_flow<W: Write>(
    http: &reqwest::Client,
    device: &DeviceClient,
    scopes: &[String],
    name: &str,
    out: &mut W,
    clock: PollClock,
) -> Result<DeviceTokens, AuthError> {
    let authorization = device::start(http, device, scopes)
        .await
        .map_err(|e| device_error(name, e))?;
    writeln!(out, "{}", authorization.instructions())?;
    writeln!(out, "Waiting for the sign-in…")?;
    out.flush()?;
    device::poll(http, device, &authorization, clock)
        .await
        .map_err(|e| device_error(name, e))
}

fn device_error(account: &str, error: DeviceFlowError) -> AuthError {
    match error {
        DeviceFlowError::Declined => AuthError::Denied(format!(
            "account '{account}': the sign-in was declined at the verification page"
        )),
        DeviceFlowError::Expired => AuthError::Exchange(format!(
            "account '{account}': the code expired before the sign-in was completed; run `tete auth {account}` again"
        )),
        other => AuthError::Exchange(format!("account '{account}': {other}")),
    }
}

/// A token endpoint answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

/// One Microsoft account's tokens: hands the HTTP helper a Graph access token,
/// refreshing it ahead of expiry or when Graph refuses it, stores every rotated
/// refresh token, and marks the account "needs sign-in" when the refresh token is dead.
pub struct MicrosoftTokens {
    account: String,
    client: MicrosoftClient,
    key: Option<TokenKey>,
    store: Store,
    http: reqwest::Client,
    /// Serializes redeems: each one rotates the refresh token, so two at once would
    /// race to store different successors.
    graph: tokio::sync::Mutex<Option<CachedToken>>,
    smtp: tokio::sync::Mutex<Option<(Secret, DateTime<Utc>)>>,
    redeem_lock: tokio::sync::Mutex<()>,
}

/// A Graph access token in memory.
struct CachedToken {
    token: Secret,
    expires: DateTime<Utc>,
    /// When tete redeemed it (`None` when it came from the store).
    redeemed: Option<std::time::Instant>,
    /// Handed out as the current token since it was redeemed: a refusal of it then
    /// means it is bad, not that the request used an older one.
    handed_out: bool,
}

/// Requests refused together (up to four in flight) all ask for a fresh token; one
/// redeem serves those that ask within this time, unless the new token was itself
/// handed out since.
const FRESH_ENOUGH: std::time::Duration = std::time::Duration::from_secs(10);

impl std::fmt::Debug for MicrosoftTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftTokens")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl MicrosoftTokens {
    /// The token source of `account`. `http` must not follow redirects
    /// ([`crate::sources::http::Http::default_client`]).
    pub fn new(
        account: &str,
        client: MicrosoftClient,
        key: Option<TokenKey>,
        store: Store,
        http: reqwest::Client,
    ) -> MicrosoftTokens {
        MicrosoftTokens {
            account: account.to_string(),
            client,
            key,
            store,
            http,
            graph: tokio::sync::Mutex::new(None),
            smtp: tokio::sync::Mutex::new(None),
            redeem_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The token source of a configured account (e.g. for the mailer's SMTP token).
    pub fn for_account(
        account: &AccountConfig,
        store: &Store,
        key: Option<TokenKey>,
        http: reqwest::Client,
    ) -> Result<MicrosoftTokens, AuthError> {
        let client = MicrosoftClient::from_config(account)?;
        Ok(MicrosoftTokens::new(
            &account.name,
            client,
            key,
            store.clone(),
            http,
        ))
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    fn needs_sign_in(&self, detail: impl Into<String>) -> SourceError {
        SourceError::NeedsSignIn {
            account: self.account.clone(),
            detail: detail.into(),
        }
    }

    fn store_error(&self, error: impl std::fmt::Display) -> SourceError {
        SourceError::Permanent {
            what: format!("tokens of account '{}'", self.account),
            detail: error.to_string(),
        }
    }

    /// Saves the tokens of a completed sign-in and clears any "needs sign-in" mark.
    pub fn save_sign_in(
        &self,
        granted: &DeviceTokens,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let refresh = granted
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::NoRefreshToken)?;
        let expires = now + chrono::Duration::seconds(granted.expires_in.unwrap_or(3600) as i64);
        let record = TokenRecord {
            provider: PROVIDER.into(),
            refresh_token: seal(
                self.key.as_ref(),
                &self.account,
                "refresh_token",
                &Secret::new(refresh),
            ),
            refresh_issued_at: now,
            access_token: Some(seal(
                self.key.as_ref(),
                &self.account,
                "access_token",
                &Secret::new(granted.access_token.clone()),
            )),
            access_expires_at: Some(expires),
            scopes: granted
                .scope
                .as_deref()
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_else(graph_scopes),
        };
        self.store.save_token(&self.account, &record)?;
        self.store.record_sign_in(&self.account, now)?;
        Ok(())
    }

    /// Stores the refresh token of the `SMTP.Send` sign-in in place of the first one
    /// (the newest is the one to keep; it redeems Graph tokens too).
    pub fn save_mail_consent(
        &self,
        granted: &DeviceTokens,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let refresh = granted
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::NoRefreshToken)?;
        let mut record = self.store.token(&self.account)?.ok_or_else(|| {
            AuthError::Config(format!("account '{}' is not signed in", self.account))
        })?;
        record.refresh_token = seal(
            self.key.as_ref(),
            &self.account,
            "refresh_token",
            &Secret::new(refresh),
        );
        record.refresh_issued_at = now;
        if !record.scopes.iter().any(|s| s == SMTP_SCOPE) {
            record.scopes.push(SMTP_SCOPE.to_string());
        }
        self.store.save_token(&self.account, &record)?;
        Ok(())
    }

    /// A Graph access token: cached, else the stored one, else a redeem.
    async fn graph_token(&self, force: bool) -> Result<Secret, SourceError> {
        let now = Utc::now();
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        let mut cached = self.graph.lock().await;
        if let Some(entry) = cached.as_mut() {
            let fresh =
                !entry.handed_out && entry.redeemed.is_some_and(|at| at.elapsed() < FRESH_ENOUGH);
            if (!force || fresh) && entry.expires - margin > now {
                entry.handed_out |= !force;
                return Ok(entry.token.clone());
            }
        }
        if !force {
            let record = self.record()?;
            if let (Some(stored), Some(expires)) = (&record.access_token, record.access_expires_at)
                && expires - margin > now
            {
                let token = unseal(self.key.as_ref(), &self.account, "access_token", stored)
                    .map_err(|e| self.store_error(e))?;
                *cached = Some(CachedToken {
                    token: token.clone(),
                    expires,
                    redeemed: None,
                    handed_out: true,
                });
                return Ok(token);
            }
        }
        let (token, expires) = self.redeem(&graph_scopes().join(" "), true).await?;
        *cached = Some(CachedToken {
            token: token.clone(),
            expires,
            redeemed: Some(std::time::Instant::now()),
            handed_out: false,
        });
        Ok(token)
    }

    /// An access token for SMTP AUTH XOAUTH2 (`https://outlook.office.com/SMTP.Send`),
    /// minted from the same refresh token as the Graph one. The app registration needs
    /// the `SMTP.Send` permission with consent (see docs/microsoft.md).
    pub async fn smtp_token(&self) -> Result<Secret, SourceError> {
        let now = Utc::now();
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        let mut cached = self.smtp.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && *expires - margin > now
        {
            return Ok(token.clone());
        }
        let scopes = format!("{SMTP_SCOPE} {OFFLINE_SCOPE}");
        let (token, expires) = self.redeem(&scopes, false).await?;
        *cached = Some((token.clone(), expires));
        Ok(token)
    }

    /// The stored record, refusing early when the account is already marked as
    /// needing sign-in with this very refresh token (no point asking again every poll).
    fn record(&self) -> Result<TokenRecord, SourceError> {
        let state = self
            .store
            .account_state(&self.account)
            .map_err(|e| self.store_error(e))?;
        let record = self
            .store
            .token(&self.account)
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| self.needs_sign_in("never signed in"))?;
        if let Some(needed) = &state.needs_sign_in
            && record.refresh_issued_at <= needed.since
        {
            return Err(self.needs_sign_in(needed.reason.clone()));
        }
        Ok(record)
    }

    /// Redeems the refresh token for `scopes`, storing the rotated refresh token (and,
    /// for Graph, the access token) before returning.
    async fn redeem(
        &self,
        scopes: &str,
        is_graph: bool,
    ) -> Result<(Secret, DateTime<Utc>), SourceError> {
        let _one_at_a_time = self.redeem_lock.lock().await;
        // Read after taking the lock: another redeem may just have rotated it.
        let record = self.record()?;
        let refresh = unseal(
            self.key.as_ref(),
            &self.account,
            "refresh_token",
            &record.refresh_token,
        )
        .map_err(|e| self.store_error(e))?;
        let what = format!("token endpoint of account '{}'", self.account);
        let now = Utc::now();
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", self.client.client_id.as_str()),
            ("refresh_token", refresh.expose()),
            ("scope", scopes),
        ];
        if let Some(secret) = &self.client.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let response = self
            .http
            .post(self.client.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| SourceError::Transient {
                what: what.clone(),
                detail: network_detail(e),
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| SourceError::Transient {
            what: what.clone(),
            detail: network_detail(e),
        })?;
        if !status.is_success() {
            let error = ProviderError::parse(&body);
            let mut reason = error
                .reasons
                .first()
                .cloned()
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            if !error.message.is_empty() {
                reason.push_str(": ");
                // Microsoft appends trace and correlation ids on further lines.
                reason.push_str(error.message.lines().next().unwrap_or_default().trim());
            }
            let dead =
                error.has_reason("invalid_grant") || error.has_reason("interaction_required");
            // AADSTS65001: consent missing for this resource. The refresh token is fine;
            // only the extra (SMTP) resource is not granted.
            let consent_missing = error.message.contains("AADSTS65001");
            if dead && (is_graph || !consent_missing) {
                tracing::warn!(account = %self.account, %reason, "refresh token refused; the account needs `tete auth`");
                self.store
                    .mark_needs_sign_in(&self.account, now, &reason)
                    .map_err(|e| self.store_error(e))?;
                return Err(self.needs_sign_in(reason));
            }
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                SourceError::Transient {
                    what,
                    detail: reason,
                }
            } else {
                SourceError::Permanent {
                    what,
                    detail: reason,
                }
            });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| SourceError::Permanent {
                what: what.clone(),
                detail: format!("unreadable token answer: {e}"),
            })?;
        let token = Secret::new(answer.access_token);
        let expires = now + chrono::Duration::seconds(answer.expires_in.unwrap_or(3600) as i64);
        let mut updated = record.clone();
        if let Some(rotated) = answer.refresh_token.filter(|t| !t.is_empty()) {
            updated.refresh_token = seal(
                self.key.as_ref(),
                &self.account,
                "refresh_token",
                &Secret::new(rotated),
            );
            updated.refresh_issued_at = now;
        }
        if is_graph {
            updated.access_token = Some(seal(
                self.key.as_ref(),
                &self.account,
                "access_token",
                &token,
            ));
            updated.access_expires_at = Some(expires);
            if let Some(scope) = answer.scope {
                updated.scopes = scope.split_whitespace().map(str::to_string).collect();
            }
        }
        // The rotated refresh token is stored before the access token is handed out.
        self.store
            .save_token(&self.account, &updated)
            .map_err(|e| self.store_error(e))?;
        tracing::debug!(account = %self.account, graph = is_graph, "access token redeemed");
        Ok((token, expires))
    }
}

fn network_detail(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Credentials for MicrosoftTokens {
    async fn access_token(&self) -> Result<Secret, SourceError> {
        self.graph_token(false).await
    }

    async fn refresh(&self) -> Result<Secret, SourceError> {
        self.graph_token(true).await
    }

    async fn rejected(&self, detail: &str) -> SourceError {
        let reason = format!("Graph refused a freshly refreshed token ({detail})");
        if let Err(error) = self
            .store
            .mark_needs_sign_in(&self.account, Utc::now(), &reason)
        {
            return self.store_error(error);
        }
        self.needs_sign_in(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Provider;
    use std::time::Duration;

    fn account(tenant: Option<&str>) -> AccountConfig {
        AccountConfig {
            name: "work".into(),
            provider: Provider::Microsoft,
            owner: None,
            url: None,
            client_id: Some("11111111-2222-3333-4444-555555555555".into()),
            client_secret_file: None,
            calendars: vec![],
            poll_interval: Duration::from_secs(300),
            tenant: tenant.map(str::to_string),
            api_base_url: None,
            auth_url: None,
            token_url: None,
            device_authorization_url: None,
        }
    }

    #[test]
    fn endpoints_follow_the_tenant() {
        let client = MicrosoftClient::from_config(&account(None)).unwrap();
        assert_eq!(
            client.token_url.as_str(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        let client = MicrosoftClient::from_config(&account(Some("organizations"))).unwrap();
        assert_eq!(
            client.device_authorization_url.as_str(),
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode"
        );
    }

    #[test]
    fn an_account_without_client_id_is_a_config_error() {
        let mut config = account(None);
        config.client_id = None;
        let error = MicrosoftClient::from_config(&config).unwrap_err();
        assert!(error.to_string().contains("client_id"), "{error}");
    }
}

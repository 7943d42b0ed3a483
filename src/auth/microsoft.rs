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
use std::io::Write;

use super::AuthError;
use super::device::{self, DeviceClient, DeviceFlowError, DeviceTokens, PollClock};
use super::loopback::GrantedTokens;
use super::token_source::{
    RefreshClient, Refusal, Resource, SignInTokens, TokenEndpoint, TokenSource, Verdict,
};
use super::tokens::{Secret, TokenKey};
use crate::config::AccountConfig;
use crate::store::Store;

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
pub use super::token_source::REFRESH_MARGIN;
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

/// Microsoft's token endpoint: redeems through the `oauth2` client (with the client
/// secret of a confidential client), one resource per redeem (Graph or Exchange's
/// `SMTP.Send`); the rotated refresh token is stored by [`TokenSource`].
impl TokenEndpoint for MicrosoftClient {
    const PROVIDER: &'static str = PROVIDER;
    const API_NAME: &'static str = "Graph";

    fn refresh_client(&self) -> RefreshClient {
        super::google::refresh_client(
            &self.client_id,
            self.client_secret.as_ref(),
            &self.token_url,
        )
    }

    fn scopes(&self, resource: Resource) -> Vec<String> {
        match resource {
            Resource::Api => graph_scopes(),
            Resource::Mail => vec![SMTP_SCOPE.to_string(), OFFLINE_SCOPE.to_string()],
        }
    }

    fn separate_mail_token(&self) -> bool {
        true
    }

    fn classify(&self, refusal: &Refusal<'_>) -> Verdict {
        let mut reason = refusal.code.to_string();
        let description = refusal.description.unwrap_or_default();
        if !description.is_empty() {
            reason.push_str(": ");
            // Microsoft appends trace and correlation ids on further lines.
            reason.push_str(description.lines().next().unwrap_or_default().trim());
        }
        let dead = refusal.code == "invalid_grant" || refusal.code == "interaction_required";
        // AADSTS65001: consent missing for this resource. The refresh token is fine;
        // only the extra (SMTP) resource is not granted.
        let consent_missing = description.contains("AADSTS65001");
        Verdict {
            reason,
            dead: dead && (refusal.resource == Resource::Api || !consent_missing),
        }
    }
}

impl SignInTokens for DeviceTokens {
    fn granted(&self, now: DateTime<Utc>) -> Result<GrantedTokens, AuthError> {
        let refresh = self
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::NoRefreshToken)?;
        Ok(GrantedTokens {
            access_token: Secret::new(self.access_token.clone()),
            refresh_token: Secret::new(refresh),
            expires_at: super::tokens::expiry(
                now,
                std::time::Duration::from_secs(self.expires_in.unwrap_or(3600)),
            ),
            scopes: self
                .scope
                .as_deref()
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_else(graph_scopes),
        })
    }
}

/// One Microsoft account's tokens (see [`TokenSource`]): a Graph token for the
/// sources, an Exchange token for mail ([`MicrosoftTokens::smtp_token`]).
pub type MicrosoftTokens = TokenSource<MicrosoftClient>;

impl TokenSource<MicrosoftClient> {
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

    /// An access token for SMTP AUTH XOAUTH2 (`https://outlook.office.com/SMTP.Send`),
    /// minted from the same refresh token as the Graph one. The app registration needs
    /// the `SMTP.Send` permission with consent (see docs/microsoft.md).
    pub async fn smtp_token(&self) -> Result<Secret, AuthError> {
        self.mail_token().await
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
        let mut record = self.store().token(self.account())?.ok_or_else(|| {
            AuthError::Config(format!("account '{}' is not signed in", self.account()))
        })?;
        record.refresh_token = self.seal("refresh_token", &Secret::new(refresh));
        record.refresh_issued_at = now;
        if !record.scopes.iter().any(|s| s == SMTP_SCOPE) {
            record.scopes.push(SMTP_SCOPE.to_string());
        }
        self.store().save_token(self.account(), &record)?;
        Ok(())
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
            org: None,
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

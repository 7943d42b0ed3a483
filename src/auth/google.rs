//! Google OAuth: endpoints, scopes, the client secret, and the per-account token
//! source that refreshes access tokens ahead of expiry.

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RedirectUrl, TokenUrl,
};
use std::path::Path;
use std::time::Duration;
use url::Url;

use super::AuthError;
use super::org::OrgGrant;
use super::token_source::{Grant, RefreshClient, Resource, TokenEndpoint, TokenSource};
use super::tokens::{Secret, credentials_file};
use crate::config::AccountConfig;
use crate::store::AccountState;

/// Google's authorization endpoint.
pub const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google Calendar API v3 base.
pub const API_BASE_URL: &str = "https://www.googleapis.com/calendar/v3/";
/// Read every calendar, including the calendar list.
pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";
/// The only scope smtp.gmail.com accepts for XOAUTH2.
pub const MAIL_SCOPE: &str = "https://mail.google.com/";
pub use super::token_source::REFRESH_MARGIN;
/// Refresh tokens of apps in Google's "Testing" publishing status die after this.
pub const TESTING_REFRESH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The scopes to request for `account`: calendars always, Gmail (SMTP and IMAP) only
/// when `xoauth2_account` names this account (see `Config::uses_mail_token`).
pub fn scopes(account: &str, xoauth2_account: Option<&str>) -> Vec<String> {
    let mut scopes = vec![CALENDAR_SCOPE.to_string()];
    if xoauth2_account == Some(account) {
        scopes.push(MAIL_SCOPE.to_string());
    }
    scopes
}

/// An OAuth client registration and the endpoints it talks to.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    /// The client id.
    pub client_id: String,
    /// The client secret. Google's Desktop clients must send it even with PKCE
    /// (Google itself says it is not treated as confidential).
    pub client_secret: Option<Secret>,
    /// Authorization endpoint.
    pub auth_url: Url,
    /// Token endpoint.
    pub token_url: Url,
}

pub(crate) type ConfiguredClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

impl OAuthClient {
    /// The Google client of a configured account: `client_id`, the secret from
    /// `client_secret_file` or `$CREDENTIALS_DIRECTORY/<account>-client-secret`, and
    /// the endpoints (`auth_url`, `token_url` overrides, else Google's).
    pub fn google(account: &AccountConfig) -> Result<OAuthClient, AuthError> {
        let client_id = account
            .client_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                AuthError::Config(format!(
                    "account '{}' has no client_id (create a Desktop app OAuth client, see docs/google.md)",
                    account.name
                ))
            })?;
        let client_secret =
            load_client_secret(&account.name, account.client_secret_file.as_deref())?;
        if client_secret.is_none() {
            return Err(AuthError::Config(format!(
                "account '{}' has no client secret: set client_secret_file, or pass the credential \
                 '{}-client-secret' with systemd's LoadCredential=",
                account.name, account.name
            )));
        }
        let parse = |value: Option<&String>, default: &str, key: &str| {
            let text = value.map(String::as_str).unwrap_or(default);
            Url::parse(text).map_err(|e| {
                AuthError::Config(format!(
                    "account '{}': {key} is not a URL: {e}",
                    account.name
                ))
            })
        };
        Ok(OAuthClient {
            client_id,
            client_secret,
            auth_url: parse(account.auth_url.as_ref(), AUTH_URL, "auth_url")?,
            token_url: parse(account.token_url.as_ref(), TOKEN_URL, "token_url")?,
        })
    }

    /// The `oauth2` client for these endpoints, with the secret in the request body
    /// as Google's examples do.
    pub(crate) fn oauth(&self) -> ConfiguredClient {
        self.refresh_oauth()
            .set_auth_uri(AuthUrl::from_url(self.auth_url.clone()))
    }

    fn refresh_oauth(&self) -> RefreshClient {
        refresh_client(
            &self.client_id,
            self.client_secret.as_ref(),
            &self.token_url,
        )
    }

    /// The `oauth2` client with a redirect address (for the authorization code flow).
    pub(crate) fn oauth_with_redirect(&self, redirect: &Url) -> ConfiguredClient {
        self.oauth()
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
    }
}

/// The `oauth2` client that redeems refresh tokens at `token_url`, with the secret
/// (if any) in the request body.
pub(crate) fn refresh_client(
    client_id: &str,
    client_secret: Option<&Secret>,
    token_url: &Url,
) -> RefreshClient {
    let mut client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_token_uri(TokenUrl::from_url(token_url.clone()))
        .set_auth_type(AuthType::RequestBody);
    if let Some(secret) = client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    client
}

/// Reads the client secret: `configured` if given, else
/// `$CREDENTIALS_DIRECTORY/<account>-client-secret`, else none. The file may hold the
/// bare secret or the JSON Google's console downloads (`{"installed":{"client_secret":..}}`).
pub fn load_client_secret(
    account: &str,
    configured: Option<&Path>,
) -> Result<Option<Secret>, AuthError> {
    let path = match configured {
        Some(path) => path.to_path_buf(),
        None => match credentials_file(&format!("{account}-client-secret")) {
            Some(path) => path,
            None => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|source| AuthError::File {
        what: "client secret",
        path: path.clone(),
        source,
    })?;
    let text = text.trim();
    if text.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| AuthError::Config(format!("{} is not valid JSON", path.display())))?;
        let secret = ["installed", "web"]
            .iter()
            .find_map(|kind| json.get(kind)?.get("client_secret")?.as_str())
            .ok_or_else(|| {
                AuthError::Config(format!("{} holds no client_secret", path.display()))
            })?;
        return Ok(Some(Secret::new(secret)));
    }
    if text.is_empty() {
        return Err(AuthError::Config(format!("{} is empty", path.display())));
    }
    Ok(Some(Secret::new(text)))
}

/// A warning a day before a refresh token may die under Google's "Testing" rule.
///
/// A heuristic: tete cannot see the app's publishing status, so it assumes the
/// worst; for apps "In production" the warning is harmless and the advice to
/// publish is the fix anyway. `None` when no warning is due.
pub fn sign_in_expiry_warning(
    account: &str,
    state: &AccountState,
    now: DateTime<Utc>,
) -> Option<String> {
    let issued = state.refresh_issued_at?;
    if state.needs_sign_in.is_some() {
        return None;
    }
    let lifetime = chrono::Duration::from_std(TESTING_REFRESH_LIFETIME).ok()?;
    let dies = issued + lifetime;
    let warn_from = dies - chrono::Duration::days(1);
    if now < warn_from || now >= dies + chrono::Duration::days(1) {
        return None;
    }
    Some(format!(
        "account '{account}': if its Google OAuth app is in \"Testing\" status, the sign-in \
         stops working around {} (7 days after it was issued); set the app to \"In production\" \
         in the Google Cloud console, or run `tete auth {account}` again",
        dies.format("%Y-%m-%d %H:%M UTC")
    ))
}

/// Where a Google account's tokens come from: the account's own sign-in, or the
/// org's service account acting as the person (domain-wide delegation).
#[derive(Clone, Debug)]
pub enum GoogleEndpoint {
    /// `tete auth`: a refresh token redeemed through this OAuth client.
    SignIn(OAuthClient),
    /// The org's service account, `sub` = the person.
    Delegated(OrgGrant),
}

impl From<OAuthClient> for GoogleEndpoint {
    fn from(client: OAuthClient) -> GoogleEndpoint {
        GoogleEndpoint::SignIn(client)
    }
}

impl From<OrgGrant> for GoogleEndpoint {
    fn from(grant: OrgGrant) -> GoogleEndpoint {
        GoogleEndpoint::Delegated(grant)
    }
}

/// Google's token endpoint: redeems through the `oauth2` client; the refresh token
/// keeps (Google does not rotate it) and one access token covers every granted scope.
/// A delegated token covers the scopes of its grant only, so mail has its own.
impl TokenEndpoint for GoogleEndpoint {
    const PROVIDER: &'static str = "google";
    const API_NAME: &'static str = "the API";

    fn grant(&self) -> Grant<'_> {
        match self {
            GoogleEndpoint::SignIn(client) => Grant::Refresh(Box::new(client.refresh_oauth())),
            GoogleEndpoint::Delegated(grant) => Grant::Org(grant),
        }
    }

    fn scopes(&self, _resource: Resource) -> Vec<String> {
        Vec::new()
    }

    fn separate_mail_token(&self) -> bool {
        matches!(self, GoogleEndpoint::Delegated(_))
    }
}

/// One Google account's tokens (see [`TokenSource`]).
pub type AccountTokens = TokenSource<GoogleEndpoint>;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn mail_scope_only_for_the_xoauth2_account() {
        assert_eq!(scopes("work", None), vec![CALENDAR_SCOPE.to_string()]);
        assert_eq!(scopes("work", Some("work")).len(), 2);
        assert_eq!(scopes("home", Some("work")).len(), 1);
    }

    #[test]
    fn testing_mode_warning_starts_a_day_before_day_seven() {
        let issued = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let state = AccountState {
            refresh_issued_at: Some(issued),
            ..AccountState::default()
        };
        let at = |days: i64, hours: i64| {
            issued + chrono::Duration::days(days) + chrono::Duration::hours(hours)
        };
        assert_eq!(sign_in_expiry_warning("work", &state, at(5, 23)), None);
        let warning = sign_in_expiry_warning("work", &state, at(6, 1)).unwrap();
        assert!(warning.contains("tete auth work"), "{warning}");
        assert!(warning.contains("2026-03-08 12:00 UTC"), "{warning}");
        assert_eq!(sign_in_expiry_warning("work", &state, at(9, 0)), None);
    }

    #[test]
    fn client_secret_json_downloads_are_understood() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        std::fs::write(
            &path,
            r#"{"installed":{"client_id":"x","client_secret":"GOCSPX-abc"}}"#,
        )
        .unwrap();
        let secret = load_client_secret("work", Some(&path)).unwrap().unwrap();
        assert_eq!(secret.expose(), "GOCSPX-abc");
        std::fs::write(&path, "GOCSPX-plain\n").unwrap();
        let secret = load_client_secret("work", Some(&path)).unwrap().unwrap();
        assert_eq!(secret.expose(), "GOCSPX-plain");
    }
}

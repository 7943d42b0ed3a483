//! Google OAuth: endpoints, scopes, the client secret, and the per-account token
//! source that refreshes access tokens ahead of expiry.

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RedirectUrl,
    RefreshToken, RequestTokenError, TokenResponse, TokenUrl,
};
use std::path::Path;
use std::time::Duration;
use url::Url;

use super::credentials::{Credentials, ProviderError, error_chain};
use super::tokens::{Secret, TokenKey, credentials_file, seal, unseal};
use super::{AuthError, loopback::GrantedTokens};
use crate::config::AccountConfig;
use crate::store::{AccountState, Store, TokenRecord};

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
/// Access tokens are renewed this long before they expire, so a request never
/// leaves with a token that dies on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(120);
/// Refresh tokens of apps in Google's "Testing" publishing status die after this.
pub const TESTING_REFRESH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The scopes to request for `account`: calendars always, Gmail SMTP only when the
/// config's `[mail.smtp] xoauth2_account` names this account.
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
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.auth_url.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()))
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        client
    }

    /// The `oauth2` client with a redirect address (for the authorization code flow).
    pub(crate) fn oauth_with_redirect(&self, redirect: &Url) -> ConfiguredClient {
        self.oauth()
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
    }
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

/// One account's tokens: hands the sources' HTTP helper an access token,
/// refreshing it [`REFRESH_MARGIN`] before expiry or when the API refuses it, and
/// marks the account "needs sign-in" when the refresh token is dead.
pub struct AccountTokens {
    account: String,
    client: OAuthClient,
    key: Option<TokenKey>,
    store: Store,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Option<(Secret, DateTime<Utc>)>>,
}

impl std::fmt::Debug for AccountTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountTokens")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl AccountTokens {
    /// The token source of `account`. `http` must not follow redirects
    /// (the sources' `Http::default_client`).
    pub fn new(
        account: &str,
        client: OAuthClient,
        key: Option<TokenKey>,
        store: Store,
        http: reqwest::Client,
    ) -> AccountTokens {
        AccountTokens {
            account: account.to_string(),
            client,
            key,
            store,
            http,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// True when tokens are sealed at rest (a token key is configured).
    pub fn sealed(&self) -> bool {
        self.key.is_some()
    }

    fn needs_sign_in(&self, detail: impl Into<String>) -> AuthError {
        AuthError::NeedsSignIn {
            account: self.account.clone(),
            detail: detail.into(),
        }
    }

    fn store_error(&self, error: impl Into<AuthError>) -> AuthError {
        AuthError::Tokens {
            account: self.account.clone(),
            source: Box::new(error.into()),
        }
    }

    /// Saves the tokens of a completed sign-in and clears any "needs sign-in" mark.
    pub fn save_sign_in(
        &self,
        granted: &GrantedTokens,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let record = TokenRecord {
            provider: "google".into(),
            refresh_token: seal(
                self.key.as_ref(),
                &self.account,
                "refresh_token",
                &granted.refresh_token,
            ),
            refresh_issued_at: now,
            access_token: Some(seal(
                self.key.as_ref(),
                &self.account,
                "access_token",
                &granted.access_token,
            )),
            access_expires_at: Some(granted.expires_at),
            scopes: granted.scopes.clone(),
        };
        self.store.save_token(&self.account, &record)?;
        self.store.record_sign_in(&self.account, now)?;
        Ok(())
    }

    async fn current(&self, force: bool) -> Result<Secret, AuthError> {
        let now = Utc::now();
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        let mut cached = self.cached.lock().await;
        let state = self
            .store
            .account_state(&self.account)
            .map_err(|e| self.store_error(e))?;
        let record = self
            .store
            .token(&self.account)
            .map_err(|e| self.store_error(e))?
            .ok_or_else(|| self.needs_sign_in("never signed in"))?;
        // A refresh token already refused stays refused: don't ask Google again
        // every poll, wait for `tete auth` (which stores a newer one).
        if let Some(needed) = &state.needs_sign_in
            && record.refresh_issued_at <= needed.since
        {
            *cached = None;
            return Err(self.needs_sign_in(needed.reason.clone()));
        }
        if !force
            && let Some((token, expires)) = cached.as_ref()
            && *expires - margin > now
        {
            return Ok(token.clone());
        }
        if !force
            && let (Some(stored), Some(expires)) = (&record.access_token, record.access_expires_at)
            && expires - margin > now
        {
            let token = unseal(self.key.as_ref(), &self.account, "access_token", stored)
                .map_err(|e| self.store_error(e))?;
            *cached = Some((token.clone(), expires));
            return Ok(token);
        }
        let (token, expires) = self.refresh_with(&record, now).await?;
        *cached = Some((token.clone(), expires));
        Ok(token)
    }

    async fn refresh_with(
        &self,
        record: &TokenRecord,
        now: DateTime<Utc>,
    ) -> Result<(Secret, DateTime<Utc>), AuthError> {
        let refresh = unseal(
            self.key.as_ref(),
            &self.account,
            "refresh_token",
            &record.refresh_token,
        )
        .map_err(|e| self.store_error(e))?;
        let what = format!("token endpoint of account '{}'", self.account);
        let answer = self
            .client
            .oauth()
            .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_string()))
            .request_async(&self.http)
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(RequestTokenError::ServerResponse(error)) => {
                let code = error.error().clone();
                let mut reason = code.to_string();
                if let Some(description) = error.error_description() {
                    reason.push_str(": ");
                    reason.push_str(description);
                }
                if code == BasicErrorResponseType::InvalidGrant {
                    tracing::warn!(account = %self.account, %reason, "refresh token refused; the account needs `tete auth`");
                    self.store
                        .mark_needs_sign_in(&self.account, now, &reason)
                        .map_err(|e| self.store_error(e))?;
                    return Err(self.needs_sign_in(reason));
                }
                return Err(AuthError::Refused {
                    what,
                    detail: reason,
                });
            }
            Err(RequestTokenError::Request(error)) => {
                return Err(AuthError::Unavailable {
                    what,
                    detail: format!("request failed: {}", describe_http_error(&error)),
                });
            }
            Err(RequestTokenError::Parse(_, body)) => {
                let parsed = ProviderError::parse(&body);
                return Err(AuthError::Unavailable {
                    what,
                    detail: format!("unreadable answer {}", parsed.message),
                });
            }
            Err(RequestTokenError::Other(text)) => {
                return Err(AuthError::Unavailable { what, detail: text });
            }
        };
        let token = Secret::new(response.access_token().secret().clone());
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600));
        let expires = super::tokens::expiry(now, lifetime);
        let mut updated = record.clone();
        // Google keeps the refresh token; a provider that rotates it sends a new one,
        // which must be stored before the old one is forgotten.
        if let Some(rotated) = response.refresh_token() {
            updated.refresh_token = seal(
                self.key.as_ref(),
                &self.account,
                "refresh_token",
                &Secret::new(rotated.secret().clone()),
            );
            updated.refresh_issued_at = now;
        } else if self.key.is_some()
            && matches!(record.refresh_token, crate::store::StoredSecret::Plain(_))
        {
            // A key was configured after sign-in: seal the old plain token now.
            updated.refresh_token =
                seal(self.key.as_ref(), &self.account, "refresh_token", &refresh);
        }
        updated.access_token = Some(seal(
            self.key.as_ref(),
            &self.account,
            "access_token",
            &token,
        ));
        updated.access_expires_at = Some(expires);
        self.store
            .save_token(&self.account, &updated)
            .map_err(|e| self.store_error(e))?;
        tracing::debug!(account = %self.account, "access token refreshed");
        Ok((token, expires))
    }
}

fn describe_http_error(error: &oauth2::HttpClientError<reqwest::Error>) -> String {
    match error {
        oauth2::HttpClientError::Reqwest(inner) => {
            let mut text = String::from("network error");
            if let Some(cause) = std::error::Error::source(inner.as_ref()) {
                text.push_str(": ");
                text.push_str(&error_chain(cause));
            }
            text
        }
        other => other.to_string(),
    }
}

impl Credentials for AccountTokens {
    async fn access_token(&self) -> Result<Secret, AuthError> {
        self.current(false).await
    }

    async fn refresh(&self) -> Result<Secret, AuthError> {
        self.current(true).await
    }

    async fn rejected(&self, detail: &str) -> AuthError {
        let reason = format!("the API refused a freshly refreshed token ({detail})");
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

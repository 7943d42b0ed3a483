//! One account's token source, whatever the provider: the stored record (sealed at
//! rest), an access-token cache per resource renewed ahead of expiry, one redeem at a
//! time (refresh tokens may rotate), and the "needs sign-in" mark when the refresh
//! token is refused. A provider only says how to reach its token endpoint
//! ([`TokenEndpoint`]); a new credential kind is a new endpoint, not a new source.

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError, Scope, TokenResponse};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::AuthError;
use super::credentials::{Credentials, ProviderError, error_chain};
use super::loopback::GrantedTokens;
use super::org::OrgGrant;
use super::tokens::{Secret, TokenKey, seal, unseal};
use crate::store::{Store, StoredSecret, TokenRecord};

/// Access tokens are renewed this long before they expire, so a request never
/// leaves with a token that dies on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// Requests refused together (up to four in flight) all ask for a fresh token; one
/// redeem serves those that ask within this time, unless the new token was itself
/// handed out since.
const FRESH_ENOUGH: Duration = Duration::from_secs(10);

/// The `oauth2` client that redeems refresh tokens: only the token endpoint is set.
pub type RefreshClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// What an access token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The calendar API (the token the sources use; the one kept in the store).
    Api,
    /// Sending mail (SMTP AUTH XOAUTH2).
    Mail,
}

/// A token endpoint refused a redeem.
#[derive(Debug)]
pub struct Refusal<'a> {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The OAuth error code (`invalid_grant`, ...).
    pub code: &'a str,
    /// The `error_description`, if any.
    pub description: Option<&'a str>,
    /// What the redeem was for.
    pub resource: Resource,
}

/// What to make of a [`Refusal`].
#[derive(Debug)]
pub struct Verdict {
    /// The reason, for messages and the "needs sign-in" mark (no secrets).
    pub reason: String,
    /// The refresh token is dead: the account must sign in again.
    pub dead: bool,
}

/// How one provider's token endpoint redeems a refresh token.
pub trait TokenEndpoint: Send + Sync {
    /// The provider name stored with the tokens.
    const PROVIDER: &'static str;
    /// What refuses a token in [`Credentials::rejected`]'s message ("Graph", "the API").
    const API_NAME: &'static str;

    /// How tokens are obtained: redeeming the account's refresh token, or from an
    /// org credential.
    fn grant(&self) -> Grant<'_>;

    /// The scopes to ask for when redeeming for `resource` (none: what was granted).
    fn scopes(&self, resource: Resource) -> Vec<String>;

    /// True when mail needs a token of its own (a different resource); otherwise
    /// the API token serves mail too.
    fn separate_mail_token(&self) -> bool {
        false
    }

    /// Reads a refusal: the reason to report, and whether the refresh token is dead.
    fn classify(&self, refusal: &Refusal<'_>) -> Verdict {
        let mut reason = refusal.code.to_string();
        if let Some(description) = refusal.description.filter(|d| !d.is_empty()) {
            reason.push_str(": ");
            reason.push_str(description);
        }
        Verdict {
            reason,
            dead: refusal.code == "invalid_grant",
        }
    }
}

/// How a [`TokenEndpoint`] gets access tokens.
pub enum Grant<'a> {
    /// Redeeming the account's stored refresh token (a person signed in) through
    /// this `oauth2` client (client id, secret, token URL).
    Refresh(Box<RefreshClient>),
    /// Minting from an org credential (service account, app): no refresh token.
    Org(&'a OrgGrant),
}

/// An access token in memory.
struct CachedToken {
    token: Secret,
    expires: DateTime<Utc>,
    /// When tete redeemed it (`None` when it came from the store).
    redeemed: Option<Instant>,
    /// Handed out as the current token since it was redeemed: a refusal of it then
    /// means it is bad, not that the request used an older one.
    handed_out: bool,
}

/// One account's tokens: hands the sources' HTTP helper an access token, refreshing
/// it [`REFRESH_MARGIN`] before expiry or when the API refuses it, stores every
/// rotated refresh token before using the new access token, and marks the account
/// "needs sign-in" when the refresh token is dead.
pub struct TokenSource<E: TokenEndpoint> {
    account: String,
    endpoint: E,
    key: Option<TokenKey>,
    store: Store,
    http: reqwest::Client,
    api: tokio::sync::Mutex<Option<CachedToken>>,
    mail: tokio::sync::Mutex<Option<CachedToken>>,
    /// Serializes redeems: a rotating refresh token works once, so two redeems at
    /// once would race to store different successors.
    redeem_lock: tokio::sync::Mutex<()>,
}

impl<E: TokenEndpoint> std::fmt::Debug for TokenSource<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("provider", &E::PROVIDER)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// Tokens of a completed sign-in, in whatever shape the flow returned them.
pub trait SignInTokens {
    /// The tokens to store; an error when there is no refresh token.
    fn granted(&self, now: DateTime<Utc>) -> Result<GrantedTokens, AuthError>;
}

impl SignInTokens for GrantedTokens {
    fn granted(&self, _now: DateTime<Utc>) -> Result<GrantedTokens, AuthError> {
        Ok(self.clone())
    }
}

impl<E: TokenEndpoint> TokenSource<E> {
    /// The token source of `account`. `http` must not follow redirects
    /// (the sources' `Http::default_client`).
    pub fn new(
        account: &str,
        endpoint: impl Into<E>,
        key: Option<TokenKey>,
        store: Store,
        http: reqwest::Client,
    ) -> TokenSource<E> {
        TokenSource {
            account: account.to_string(),
            endpoint: endpoint.into(),
            key,
            store,
            http,
            api: tokio::sync::Mutex::new(None),
            mail: tokio::sync::Mutex::new(None),
            redeem_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The provider's token endpoint.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }

    /// True when tokens are sealed at rest (a token key is configured).
    pub fn sealed(&self) -> bool {
        self.key.is_some()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// `secret` prepared for this account's `field` slot in the store.
    pub(crate) fn seal(&self, field: &str, secret: &Secret) -> StoredSecret {
        seal(self.key.as_ref(), &self.account, field, secret)
    }

    fn unseal(&self, field: &str, stored: &StoredSecret) -> Result<Secret, AuthError> {
        unseal(self.key.as_ref(), &self.account, field, stored).map_err(|e| self.store_error(e))
    }

    pub(crate) fn needs_sign_in(&self, detail: impl Into<String>) -> AuthError {
        AuthError::NeedsSignIn {
            account: self.account.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn store_error(&self, error: impl Into<AuthError>) -> AuthError {
        AuthError::Tokens {
            account: self.account.clone(),
            source: Box::new(error.into()),
        }
    }

    /// Saves the tokens of a completed sign-in and clears any "needs sign-in" mark.
    pub fn save_sign_in(
        &self,
        granted: &impl SignInTokens,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let granted = granted.granted(now)?;
        let record = TokenRecord {
            provider: E::PROVIDER.into(),
            refresh_token: self.seal("refresh_token", &granted.refresh_token),
            refresh_issued_at: now,
            access_token: Some(self.seal("access_token", &granted.access_token)),
            access_expires_at: Some(granted.expires_at),
            scopes: granted.scopes,
        };
        self.store.save_token(&self.account, &record)?;
        self.store.record_sign_in(&self.account, now)?;
        Ok(())
    }

    /// An access token for sending mail: the API token, or one of its own when the
    /// provider issues one token per resource.
    pub async fn mail_token(&self) -> Result<Secret, AuthError> {
        if self.endpoint.separate_mail_token() {
            self.token(Resource::Mail, false).await
        } else {
            self.token(Resource::Api, false).await
        }
    }

    /// The stored record, refusing early when the account is already marked as
    /// needing sign-in with this very refresh token (don't ask the provider again
    /// every poll, wait for `tete auth`, which stores a newer one).
    fn record(&self) -> Result<TokenRecord, AuthError> {
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

    /// An access token for `resource`: cached, else (for the API) the stored one,
    /// else a redeem. `force` asks for a fresh one, unless one was redeemed moments
    /// ago and not handed out since (requests refused together share one redeem).
    async fn token(&self, resource: Resource, force: bool) -> Result<Secret, AuthError> {
        let now = Utc::now();
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        let mut cached = match resource {
            Resource::Api => self.api.lock().await,
            Resource::Mail => self.mail.lock().await,
        };
        let stored = match self.stored(resource, now) {
            Ok(stored) => stored,
            Err(error) => {
                *cached = None;
                return Err(error);
            }
        };
        if let Some(entry) = cached.as_mut() {
            let fresh =
                !entry.handed_out && entry.redeemed.is_some_and(|at| at.elapsed() < FRESH_ENOUGH);
            if (!force || fresh) && entry.expires - margin > now {
                entry.handed_out |= !force;
                return Ok(entry.token.clone());
            }
        }
        if !force
            && let Some((token, expires)) = stored
            && expires - margin > now
        {
            *cached = Some(CachedToken {
                token: token.clone(),
                expires,
                redeemed: None,
                handed_out: true,
            });
            return Ok(token);
        }
        let (token, expires) = match self.endpoint.grant() {
            Grant::Refresh(client) => self.redeem(*client, resource).await?,
            Grant::Org(grant) => grant.redeem(resource, force).await?,
        };
        *cached = Some(CachedToken {
            token: token.clone(),
            expires,
            redeemed: Some(Instant::now()),
            handed_out: false,
        });
        Ok(token)
    }

    /// The stored access token for `resource`, if any: the sign-in's API token, or
    /// the org's minted one. Fails early when the account (or org) is marked.
    fn stored(
        &self,
        resource: Resource,
        now: DateTime<Utc>,
    ) -> Result<Option<(Secret, DateTime<Utc>)>, AuthError> {
        if let Grant::Org(grant) = self.endpoint.grant() {
            return grant.stored(resource, now);
        }
        let record = self.record()?;
        match (resource, &record.access_token, record.access_expires_at) {
            (Resource::Api, Some(stored), Some(expires)) => {
                Ok(Some((self.unseal("access_token", stored)?, expires)))
            }
            _ => Ok(None),
        }
    }

    /// Redeems the refresh token for `resource`, storing the rotated refresh token
    /// (and, for the API, the access token) before returning.
    async fn redeem(
        &self,
        client: RefreshClient,
        resource: Resource,
    ) -> Result<(Secret, DateTime<Utc>), AuthError> {
        let _one_at_a_time = self.redeem_lock.lock().await;
        // Read after taking the lock: another redeem may just have rotated it.
        let record = self.record()?;
        let refresh = self.unseal("refresh_token", &record.refresh_token)?;
        let what = format!("token endpoint of account '{}'", self.account);
        let now = Utc::now();
        let scopes = self.endpoint.scopes(resource);
        let http = StatusRecording {
            http: self.http.clone(),
            status: AtomicU16::new(0),
        };
        let answer = client
            .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_string()))
            .add_scopes(scopes.iter().cloned().map(Scope::new))
            .request_async(&http)
            .await;
        let status = http.status.load(Ordering::Relaxed);
        let temporary = status >= 500 || status == 429;
        let response = match answer {
            Ok(response) => response,
            Err(RequestTokenError::ServerResponse(error)) => {
                let code = error.error().to_string();
                let verdict = self.endpoint.classify(&Refusal {
                    status,
                    code: &code,
                    description: error.error_description().map(String::as_str),
                    resource,
                });
                let reason = verdict.reason;
                if verdict.dead {
                    tracing::warn!(account = %self.account, %reason, "refresh token refused; the account needs `tete auth`");
                    self.store
                        .mark_needs_sign_in(&self.account, now, &reason)
                        .map_err(|e| self.store_error(e))?;
                    return Err(self.needs_sign_in(reason));
                }
                return Err(if temporary {
                    AuthError::Unavailable {
                        what,
                        detail: reason,
                    }
                } else {
                    AuthError::Refused {
                        what,
                        detail: reason,
                    }
                });
            }
            Err(RequestTokenError::Request(error)) => {
                return Err(AuthError::Unavailable {
                    what,
                    detail: format!("request failed: {}", describe_http_error(&error)),
                });
            }
            Err(RequestTokenError::Parse(error, body)) => {
                let detail = if status == 200 {
                    format!("unreadable token answer: {error}")
                } else {
                    format!(
                        "unreadable answer {}",
                        ProviderError::parse(&body).describe(status)
                    )
                };
                return Err(AuthError::Unavailable { what, detail });
            }
            Err(RequestTokenError::Other(text)) => {
                return Err(AuthError::Unavailable { what, detail: text });
            }
        };
        let token = Secret::new(response.access_token().secret().clone());
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600));
        let expires = super::tokens::expiry(now, lifetime);
        let mut updated = record.clone();
        // A provider that rotates the refresh token sends a new one, which must be
        // stored before the old one is forgotten (and the new access token used).
        if let Some(rotated) = response.refresh_token().filter(|t| !t.secret().is_empty()) {
            updated.refresh_token =
                self.seal("refresh_token", &Secret::new(rotated.secret().clone()));
            updated.refresh_issued_at = now;
        } else if self.key.is_some() && matches!(record.refresh_token, StoredSecret::Plain(_)) {
            // A key was configured after sign-in: seal the old plain token now.
            updated.refresh_token = self.seal("refresh_token", &refresh);
        }
        if resource == Resource::Api {
            updated.access_token = Some(self.seal("access_token", &token));
            updated.access_expires_at = Some(expires);
            // Asked for given scopes: the answer says which were granted.
            if !scopes.is_empty()
                && let Some(granted) = response.scopes()
            {
                updated.scopes = granted.iter().map(|s| s.to_string()).collect();
            }
        }
        self.store
            .save_token(&self.account, &updated)
            .map_err(|e| self.store_error(e))?;
        tracing::debug!(account = %self.account, ?resource, "access token redeemed");
        Ok((token, expires))
    }
}

/// The HTTP client of a redeem, remembering the answer's status (the `oauth2` crate
/// forgets it, and 5xx and 429 are temporary whatever the body says).
struct StatusRecording {
    http: reqwest::Client,
    status: AtomicU16,
}

type HttpFuture<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<oauth2::HttpResponse, oauth2::HttpClientError<reqwest::Error>>,
            > + Send
            + Sync
            + 'c,
    >,
>;

impl<'c> oauth2::AsyncHttpClient<'c> for StatusRecording {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = HttpFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.call(request).await?;
            self.status
                .store(response.status().as_u16(), Ordering::Relaxed);
            Ok(response)
        })
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

impl<E: TokenEndpoint> Credentials for TokenSource<E> {
    async fn access_token(&self) -> Result<Secret, AuthError> {
        self.token(Resource::Api, false).await
    }

    async fn refresh(&self) -> Result<Secret, AuthError> {
        self.token(Resource::Api, true).await
    }

    async fn rejected(&self, detail: &str) -> AuthError {
        if let Grant::Org(grant) = self.endpoint.grant() {
            return grant.rejected(E::API_NAME, detail);
        }
        let reason = format!(
            "{} refused a freshly refreshed token ({detail})",
            E::API_NAME
        );
        if let Err(error) = self
            .store
            .mark_needs_sign_in(&self.account, Utc::now(), &reason)
        {
            return self.store_error(error);
        }
        self.needs_sign_in(reason)
    }
}

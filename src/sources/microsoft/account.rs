//! A Microsoft account ready to sync: the shared HTTP helper with Graph's `Prefer`
//! headers, at most four requests in flight per mailbox, its token source and its
//! calendars, as a [`CalendarProvider`] of the generic [`Account`].

use chrono::{DateTime, Utc};
use reqwest::Url;
use tokio::sync::Semaphore;

use super::delta::WindowPolicy;
use super::sync::{API_BASE_URL, GraphApi, ViewTarget, push_mailbox, sync_view};
use crate::auth::AuthError;
use crate::auth::microsoft::MicrosoftTokens;
use crate::config::AccountConfig;
use crate::sources::SourceError;
use crate::sources::account::{Account, CalendarProvider, CalendarSync, OwnerUse, StoredState};
use crate::sources::http::{Http, HttpOptions, base_url};

/// Outlook allows four concurrent requests per app and mailbox; a fifth is throttled.
pub const MAX_IN_FLIGHT: usize = 4;

/// Sent with every Graph request, the first delta request included (its options are
/// frozen into the tokens): times in UTC, 100 items per page, ids that survive a
/// move between folders. Graph reads several preferences from one comma-joined header.
pub const PREFER: &str = "outlook.timezone=\"UTC\", odata.maxpagesize=100, IdType=\"ImmutableId\"";

/// The shared HTTP helper with this account's token and a per-mailbox request limit.
#[derive(Debug)]
pub struct GraphClient {
    http: Http,
    tokens: MicrosoftTokens,
    in_flight: Semaphore,
}

impl GraphClient {
    /// A client over the shared helper `http` with the account's tokens.
    pub fn new(http: Http, tokens: MicrosoftTokens) -> GraphClient {
        GraphClient {
            http,
            tokens,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        }
    }
}

impl GraphApi for GraphClient {
    async fn get_json(&self, url: &Url) -> Result<serde_json::Value, SourceError> {
        // Closed only on drop, so acquiring cannot fail while `self` lives.
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| SourceError::Transient {
                what: "graph".into(),
                detail: "request limiter closed".into(),
            })?;
        self.http
            .get_json_with(url, &[("Prefer", PREFER)], &self.tokens)
            .await
    }
}

/// Microsoft Graph as a [`CalendarProvider`]: the Graph client, the configured owner,
/// the API base and the window policy.
#[derive(Debug)]
pub struct GraphCalendars {
    owner: Option<String>,
    /// `None`: the signed-in user (`/me`); else the user id or UPN (`/users/{id}`).
    mailbox: Option<String>,
    base: Url,
    client: GraphClient,
    policy: WindowPolicy,
}

impl GraphCalendars {
    /// The Graph client (every request of this account goes through it).
    pub fn graph(&self) -> &GraphClient {
        &self.client
    }
}

impl CalendarProvider for GraphCalendars {
    fn configured_owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// `GET /me` (or `/users/{id}`): `mail`, or `userPrincipalName`.
    async fn fetch_owner(&self) -> Result<String, SourceError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| SourceError::Permanent {
                    what: format!("account '{}'", self.client.tokens.account()),
                    detail: "api_base_url cannot be a base".into(),
                })?;
            path.pop_if_empty();
            push_mailbox(&mut path, self.mailbox.as_deref());
        }
        url.query_pairs_mut()
            .append_pair("$select", "mail,userPrincipalName");
        let me = self.client.get_json(&url).await?;
        Ok(["mail", "userPrincipalName"]
            .iter()
            .filter_map(|field| me.get(field).and_then(|v| v.as_str()))
            .find(|v| v.contains('@'))
            .ok_or_else(|| SourceError::Permanent {
                what: format!("profile of account '{}'", self.client.tokens.account()),
                detail: "no mail address in /me".into(),
            })?
            .to_lowercase())
    }

    fn owner_use(&self, _calendar: &str) -> OwnerUse {
        OwnerUse::Optional
    }

    /// A delta round over the calendar's view; the new delta cursor comes with the
    /// changes (applied by the pass only after the round's last page).
    async fn sync_calendar(
        &self,
        calendar: &str,
        owner: Option<&str>,
        stored: &StoredState,
        now: DateTime<Utc>,
    ) -> Result<CalendarSync, SourceError> {
        let target = ViewTarget {
            base: self.base.clone(),
            calendar: calendar.to_string(),
            owner: owner.map(str::to_string),
            mailbox: self.mailbox.clone(),
        };
        let result = sync_view(&self.client, &target, stored, &self.policy, now).await?;
        Ok(CalendarSync {
            changes: result.changes,
            items: result.items,
            skipped: result.skipped,
            ..CalendarSync::default()
        })
    }
}

/// A Microsoft 365 account ready to sync. Build one per account and keep it across
/// passes (its request counter and cached access token live here).
pub type MicrosoftAccount = Account<GraphCalendars>;

impl Account<GraphCalendars> {
    /// An account from its configuration and its token source (built by auth, which
    /// keeps the tokens). `client` is shared by all accounts ([`Http::default_client`]:
    /// no redirects); `http_options` tune retries and the request budget; `policy` the window.
    pub fn from_config(
        account: &AccountConfig,
        tokens: MicrosoftTokens,
        client: reqwest::Client,
        http_options: HttpOptions,
        policy: WindowPolicy,
    ) -> Result<MicrosoftAccount, AuthError> {
        let base = api_base(account)?;
        Ok(Account::with_provider(
            &account.name,
            account.calendars.clone(),
            GraphCalendars {
                owner: account.owner.clone(),
                mailbox: None,
                base,
                client: GraphClient::new(Http::new(client, http_options), tokens),
                policy,
            },
        ))
    }

    /// A person's mailbox read with the org's app-only token (`tokens` built on a
    /// [`crate::auth::microsoft::MicrosoftEndpoint::App`] grant): every request goes
    /// to `/users/{mailbox}/…`. `mailbox` is the user's id or principal name; an
    /// address also serves as the owner (else `/users/{id}` is asked for it).
    /// `api_base` is Graph's base (`None`: Graph v1.0).
    #[allow(clippy::too_many_arguments)]
    pub fn for_person(
        name: &str,
        mailbox: &str,
        calendars: Vec<String>,
        api_base: Option<&str>,
        tokens: MicrosoftTokens,
        client: reqwest::Client,
        http_options: HttpOptions,
        policy: WindowPolicy,
    ) -> Result<MicrosoftAccount, AuthError> {
        let base = base_url(name, api_base, API_BASE_URL)?;
        let owner = mailbox.contains('@').then(|| mailbox.to_lowercase());
        Ok(Account::with_provider(
            name,
            calendars,
            GraphCalendars {
                owner,
                mailbox: Some(mailbox.to_string()),
                base,
                client: GraphClient::new(Http::new(client, http_options), tokens),
                policy,
            },
        ))
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests(&self) -> u64 {
        self.provider().client.http.requests()
    }

    /// Response body bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.provider().client.http.bytes_received()
    }

    /// The Graph client (every request of this account goes through it).
    pub fn graph(&self) -> &GraphClient {
        &self.provider().client
    }

    /// The token source (for [`MicrosoftTokens::smtp_token`]).
    pub fn tokens(&self) -> &MicrosoftTokens {
        &self.provider().client.tokens
    }
}

/// The account's Graph base: `api_base_url` or Graph v1.0, always ending in `/`.
pub fn api_base(account: &AccountConfig) -> Result<Url, AuthError> {
    base_url(&account.name, account.api_base_url.as_deref(), API_BASE_URL)
}

//! A Microsoft account ready to sync: the shared HTTP helper with Graph's `Prefer`
//! headers, at most four requests in flight per mailbox, its token source and its
//! calendars.

use chrono::{DateTime, Utc};
use reqwest::Url;
use tokio::sync::Semaphore;

use super::delta::WindowPolicy;
use super::sync::{API_BASE_URL, GraphApi, StoredState, ViewTarget, sync_view};
use crate::auth::microsoft::{MicrosoftClient, MicrosoftTokens};
use crate::auth::{AuthError, TokenKey};
use crate::config::AccountConfig;
use crate::sources::SourceError;
use crate::sources::http::{Http, HttpOptions};
use crate::store::{CalendarRef, Store};

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

/// What one calendar's sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewReport {
    /// The calendar as configured (`primary` or a Graph calendar id).
    pub calendar: String,
    /// True for a full listing (first sync, window roll-over, expired delta state).
    pub full: bool,
    /// Events stored or replaced.
    pub upserted: usize,
    /// Events removed.
    pub deleted: usize,
    /// Items the delta round delivered.
    pub items: usize,
    /// Items that could not be used (`what: why`).
    pub skipped: Vec<String>,
}

/// A Microsoft 365 account ready to sync. Build one per account and keep it across
/// passes (its request counter and cached access token live here).
#[derive(Debug)]
pub struct MicrosoftAccount {
    name: String,
    owner: Option<String>,
    base: Url,
    calendars: Vec<String>,
    client: GraphClient,
    policy: WindowPolicy,
}

impl MicrosoftAccount {
    /// An account from its configuration. `client` is shared by all accounts
    /// ([`Http::default_client`]: no redirects); `key` seals tokens at rest;
    /// `http_options` tune retries and the request budget; `policy` the window.
    pub fn from_config(
        account: &AccountConfig,
        store: &Store,
        client: reqwest::Client,
        key: Option<TokenKey>,
        http_options: HttpOptions,
        policy: WindowPolicy,
    ) -> Result<MicrosoftAccount, AuthError> {
        let oauth = MicrosoftClient::from_config(account)?;
        let base = api_base(account)?;
        let tokens = MicrosoftTokens::new(&account.name, oauth, key, store.clone(), client.clone());
        let calendars = if account.calendars.is_empty() {
            vec!["primary".to_string()]
        } else {
            account.calendars.clone()
        };
        Ok(MicrosoftAccount {
            name: account.name.clone(),
            owner: account.owner.clone(),
            base,
            calendars,
            client: GraphClient::new(Http::new(client, http_options), tokens),
            policy,
        })
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests(&self) -> u64 {
        self.client.http.requests()
    }

    /// Response body bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.client.http.bytes_received()
    }

    /// The Graph client (every request of this account goes through it).
    pub fn graph(&self) -> &GraphClient {
        &self.client
    }

    /// The token source (for [`MicrosoftTokens::smtp_token`]).
    pub fn tokens(&self) -> &MicrosoftTokens {
        &self.client.tokens
    }

    /// The mailbox owner's address: the configured `owner`, else the one remembered
    /// in the store, else `GET /me` (`mail`, or `userPrincipalName`), remembered.
    pub async fn owner(&self, store: &Store) -> Result<String, SourceError> {
        if let Some(owner) = &self.owner {
            return Ok(owner.clone());
        }
        let state = store
            .account_state(&self.name)
            .map_err(|e| store_error(&self.name, e))?;
        if let Some(owner) = state.owner {
            return Ok(owner);
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| store_error(&self.name, "api_base_url cannot be a base"))?
            .pop_if_empty()
            .push("me");
        url.query_pairs_mut()
            .append_pair("$select", "mail,userPrincipalName");
        let me = self.client.get_json(&url).await?;
        let address = ["mail", "userPrincipalName"]
            .iter()
            .filter_map(|field| me.get(field).and_then(|v| v.as_str()))
            .find(|v| v.contains('@'))
            .ok_or_else(|| SourceError::Permanent {
                what: format!("profile of account '{}'", self.name),
                detail: "no mail address in /me".into(),
            })?
            .to_lowercase();
        store
            .set_account_owner(&self.name, &address)
            .map_err(|e| store_error(&self.name, e))?;
        Ok(address)
    }

    /// Syncs every configured calendar, each applied with one
    /// [`Store::apply_changes`]. Errors that concern the whole account
    /// ([`SourceError::NeedsSignIn`], [`SourceError::RateLimited`]) end the sync and
    /// are returned; any other error is reported per calendar and the next calendar
    /// still syncs.
    pub async fn sync(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ViewReport, SourceError>>, SourceError> {
        crate::sources::sync_each_calendar(&self.calendars, |calendar| async move {
            self.sync_calendar(store, &calendar, now).await
        })
        .await
    }

    /// Syncs one configured calendar (`primary` or a Graph calendar id) into the store:
    /// events, deletions and the new delta cursor in one transaction, written only
    /// after the round's last page.
    pub async fn sync_calendar(
        &self,
        store: &Store,
        calendar: &str,
        now: DateTime<Utc>,
    ) -> Result<ViewReport, SourceError> {
        let calendar_ref = CalendarRef {
            account: self.name.clone(),
            calendar: calendar.to_string(),
        };
        let owner = match self.owner(store).await {
            Ok(owner) => Some(owner),
            Err(error) if error.is_account_wide() => {
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(account = %self.name, %error, "mailbox owner unknown");
                None
            }
        };
        let target = ViewTarget {
            base: self.base.clone(),
            calendar: calendar.to_string(),
            owner,
        };
        let stored = StoredState {
            cursor: store
                .cursor(&calendar_ref)
                .map_err(|e| store_error(&self.name, e))?,
            index: store
                .cursor_index(&calendar_ref)
                .map_err(|e| store_error(&self.name, e))?,
        };
        let mut result = sync_view(&self.client, &target, &stored, &self.policy, now).await?;
        result
            .changes
            .retain_events(crate::core::detect::worth_keeping);
        store
            .apply_changes(&calendar_ref, &result.changes)
            .map_err(|e| store_error(&self.name, e))?;
        Ok(ViewReport {
            calendar: calendar.to_string(),
            full: result.changes.full,
            upserted: result.changes.upserted.len(),
            deleted: result.changes.deleted.len(),
            items: result.items,
            skipped: result.skipped,
        })
    }
}

/// One pass's sync of a configured Microsoft account, for callers that do not keep a
/// [`MicrosoftAccount`] between passes: builds it (the stored access token is reused,
/// so this costs no extra request), syncs every calendar, and returns the reports.
/// `client` must not follow redirects ([`Http::default_client`]); `token_key_file` is
/// the config's key setting (else `$CREDENTIALS_DIRECTORY/token-key`); `policy` is
/// usually [`WindowPolicy::covering`] the detection history and horizon.
pub async fn sync_configured_account(
    account: &AccountConfig,
    store: &Store,
    client: &reqwest::Client,
    token_key_file: Option<&std::path::Path>,
    policy: WindowPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Result<ViewReport, SourceError>>, SourceError> {
    let setup = |error: AuthError| SourceError::Permanent {
        what: format!("account '{}'", account.name),
        detail: error.to_string(),
    };
    let key = TokenKey::locate(token_key_file).map_err(setup)?;
    let microsoft = MicrosoftAccount::from_config(
        account,
        store,
        client.clone(),
        key,
        HttpOptions::default(),
        policy,
    )
    .map_err(setup)?;
    microsoft.sync(store, now).await
}

fn store_error(account: &str, error: impl std::fmt::Display) -> SourceError {
    SourceError::Permanent {
        what: format!("store of account '{account}'"),
        detail: error.to_string(),
    }
}

/// The account's Graph base: `api_base_url` or Graph v1.0, always ending in `/`.
pub fn api_base(account: &AccountConfig) -> Result<Url, AuthError> {
    let text = account.api_base_url.as_deref().unwrap_or(API_BASE_URL);
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    Url::parse(&with_slash).map_err(|e| {
        AuthError::Config(format!(
            "account '{}': api_base_url is not a URL: {e}",
            account.name
        ))
    })
}

//! Step one of a pass: bring every account's events into the store.
//!
//! One account failing never stops the others: each outcome is reported on its own.

use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::auth::google::{AccountTokens, OAuthClient};
use crate::auth::microsoft::MicrosoftTokens;
use crate::auth::token_source::TokenSource;
use crate::auth::{AuthError, TokenKey};
use crate::config::{AccountConfig, Config, Provider};
use crate::sources::google::{GoogleAccount, SyncOptions};
use crate::sources::http::HttpOptions;
use crate::sources::ics::{FeedValidators, FetchOutcome, fetch_ics, parse_ics};
use crate::sources::microsoft::{MicrosoftAccount, WindowPolicy};
use crate::sources::{
    Account, AccountWide, CalendarProvider, CalendarReport, SourceError, StoredState,
    sync_each_calendar,
};
use crate::store::{CalendarChanges, CalendarRef, Store, StoreError};

/// How one account's sync went.
#[derive(Debug)]
pub struct AccountSync {
    /// The account's name.
    pub account: String,
    /// What happened.
    pub outcome: SyncOutcome,
    /// Problems worked around (skipped events, repaired values), one line each.
    pub warnings: Vec<String>,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

/// The result of syncing one account.
#[derive(Debug)]
pub enum SyncOutcome {
    /// New data was stored: this many events now held for the account.
    Updated {
        /// Events stored for the account after the sync.
        events: usize,
    },
    /// Nothing changed since the last sync.
    Unchanged,
    /// The source failed; the stored events are kept as they were.
    Failed(SyncError),
}

/// Why an account's sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store failed reading or writing one calendar of an account.
    #[error("store, account '{account}': {source}")]
    AccountStore {
        /// The account.
        account: String,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// The account's sync task ended abnormally (a bug; reported, not fatal).
    #[error("the sync task failed unexpectedly")]
    Crashed,
}

impl SyncError {
    /// The source error, if a source failed.
    pub fn source_error(&self) -> Option<&SourceError> {
        match self {
            SyncError::Source(error) => Some(error),
            _ => None,
        }
    }

    /// What kind of failure this is, in the words an operator alerts on (the metrics
    /// label it): "throttled", "auth" (refused or dead credentials), "transient"
    /// (network, 5xx, an expired cursor), "permanent" (will not pass by retrying),
    /// "store" or "internal".
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Source(error) => match error {
                SourceError::RateLimited { .. } => "throttled",
                SourceError::Unauthorized { .. }
                | SourceError::NeedsSignIn { .. }
                | SourceError::Credentials(_) => "auth",
                SourceError::Transient { .. } | SourceError::CursorExpired { .. } => "transient",
                SourceError::Permanent { .. } => "permanent",
            },
            SyncError::Store(_) | SyncError::AccountStore { .. } => "store",
            SyncError::Crashed => "internal",
        }
    }

    /// The store error, if the store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            SyncError::Store(error) | SyncError::AccountStore { source: error, .. } => Some(error),
            _ => None,
        }
    }
}

impl AccountWide for SyncError {
    /// Only a source knows of account-wide failures (sign-in, throttling); a store
    /// failure fails the calendar and the next one is still tried.
    fn is_account_wide(&self) -> bool {
        self.source_error()
            .is_some_and(SourceError::is_account_wide)
    }
}

/// The calendar id under which an .ics account's events are stored.
pub const ICS_CALENDAR: &str = "ics";

/// The HTTP clients of the sources: feeds may redirect; provider APIs must not
/// (a redirect would carry the bearer token elsewhere).
#[derive(Clone, Debug)]
pub struct Clients {
    /// For .ics feeds.
    pub feeds: reqwest::Client,
    /// For Google and Microsoft APIs.
    pub api: reqwest::Client,
    /// Each org's credential, loaded once and shared by its people's accounts.
    pub orgs: crate::pass::org::OrgCredentials,
}

impl Clients {
    /// Clients with tete's timeouts and user agent.
    pub fn new() -> Result<Clients, SourceError> {
        Ok(Clients {
            feeds: crate::pass::http_client(),
            api: crate::sources::http::Http::default_client()?,
            orgs: crate::pass::org::OrgCredentials::default(),
        })
    }
}

/// How many accounts are polled at the same time (the daemon's global limit, and
/// [`sync_accounts`]'s). Each account's own requests are further limited by its
/// request budget (see `sources::http`).
pub const PARALLEL_ACCOUNTS: usize = 16;

/// Syncs every configured account.
/// `now` is the pass's clock (the daemon's `--now` offset included).
pub async fn sync_all(
    config: &Config,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
) -> Vec<AccountSync> {
    sync_accounts(config, config.accounts.clone(), store, clients, now).await
}

/// Syncs `accounts`, up to [`PARALLEL_ACCOUNTS`] at once; results in the given order.
/// A panic in one account's task (a bug) is reported as that account's failure.
pub async fn sync_accounts(
    config: &Config,
    accounts: Vec<AccountConfig>,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
) -> Vec<AccountSync> {
    // One copy of the config for every task: a copy per task cost O(accounts²) memory
    // (10,000 tasks, each holding a config listing 10,000 accounts).
    let shared = std::sync::Arc::new(config.clone());
    let mut results: Vec<Option<AccountSync>> = accounts.iter().map(|_| None).collect();
    let mut tasks = tokio::task::JoinSet::new();
    let mut store_result = |joined: Option<Result<(usize, AccountSync), _>>| {
        if let Some(Ok((index, result))) = joined
            && let Some(slot) = results.get_mut(index)
        {
            *slot = Some(result);
        }
    };
    for (index, account) in accounts.iter().cloned().enumerate() {
        // Tasks are spawned as slots free up, not all at once: a spawned task holds
        // its whole future (several KB) from the start, whether it runs or waits.
        if tasks.len() >= PARALLEL_ACCOUNTS {
            store_result(tasks.join_next().await);
        }
        let (config, store, clients) = (shared.clone(), store.clone(), clients.clone());
        tasks.spawn(async move {
            (
                index,
                sync_account(&config, &account, &store, &clients, now).await,
            )
        });
    }
    while let Some(joined) = tasks.join_next().await {
        store_result(Some(joined));
    }
    results
        .into_iter()
        .zip(accounts)
        .map(|(result, account)| {
            result.unwrap_or_else(|| AccountSync {
                account: account.name.clone(),
                outcome: SyncOutcome::Failed(SyncError::Crashed),
                warnings: Vec::new(),
                elapsed: std::time::Duration::ZERO,
            })
        })
        .collect()
}

/// Syncs one account at `now` and reports how it went; never fails as a whole.
pub async fn sync_account(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
) -> AccountSync {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let outcome = match account.provider {
        Provider::Ics => sync_ics(account, store, &clients.feeds, &mut warnings).await,
        _ if account.org.is_some() => {
            sync_org_person(config, account, store, clients, now, &mut warnings).await
        }
        Provider::Google => {
            sync_google(config, account, store, &clients.api, now, &mut warnings).await
        }
        Provider::Microsoft => {
            sync_microsoft(config, account, store, &clients.api, now, &mut warnings).await
        }
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::warn!(account = %account.name, "sync failed: {error}");
            SyncOutcome::Failed(error)
        }
    };
    let recorded = match &outcome {
        SyncOutcome::Updated { events } => Ok(Some(*events)),
        SyncOutcome::Unchanged => Ok(None),
        SyncOutcome::Failed(error) => Err(error.to_string()),
    };
    if let Err(error) = store.record_sync(&account.name, now, recorded) {
        tracing::warn!(account = %account.name, "cannot record the sync: {error}");
    }
    AccountSync {
        account: account.name.clone(),
        outcome,
        warnings,
        elapsed: started.elapsed(),
    }
}

/// Whose events a person covered by `org` must not store: the org's excluded people
/// and everyone opted out of tete. (Configured accounts store theirs: their owners
/// chose tete, and opted-out people only get no brief.)
fn excluded_people(config: &Config, org: &crate::config::OrgConfig) -> Vec<String> {
    org.exclude
        .iter()
        .chain(&config.mail.opt_out)
        .map(|address| crate::model::normalize_email(address))
        .collect()
}

/// The setup of an OAuth account failed (configuration, token key): reported like a
/// permanent source failure of the account.
fn setup_error(account: &AccountConfig) -> impl Fn(AuthError) -> SyncError + '_ {
    |error| {
        SyncError::Source(SourceError::Permanent {
            what: format!("account '{}'", account.name),
            detail: error.to_string(),
        })
    }
}

/// A Google account: every configured calendar, each applied in one transaction with
/// its sync token. One calendar failing is reported and the others still sync; an
/// account-wide failure (needs sign-in, rate limited) fails the account. The account
/// is built for this pass: the stored access token is reused, so that costs no request.
async fn sync_google(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    api: &reqwest::Client,
    now: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let options = SyncOptions {
        history: Some(config.detection.history),
    };
    let token_key_file = config.token_key_file.as_deref();
    let google = google_account(account, store, api, token_key_file, options)
        .map_err(setup_error(account))?;
    let reports = sync_calendars(&google, store, now).await?;
    summarize(account, store, reports, warnings)
}

/// A Microsoft 365 account: a delta round over each configured calendar's view,
/// applied in one transaction with its delta link; same failure rules as Google.
async fn sync_microsoft(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    api: &reqwest::Client,
    now: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let policy = WindowPolicy::covering(config.detection.history, config.detection.horizon);
    let token_key_file = config.token_key_file.as_deref();
    let microsoft = microsoft_account(account, store, api, token_key_file, policy)
        .map_err(setup_error(account))?;
    let reports = sync_calendars(&microsoft, store, now).await?;
    summarize(account, store, reports, warnings)
}

/// A person covered by an org: their calendars read with the org's credential
/// (Google: acting as them; Microsoft: the app, under `/users/{address}`), without the
/// events of the org's excluded and opted-out people.
async fn sync_org_person(
    config: &Config,
    account: &AccountConfig,
    store: &Store,
    clients: &Clients,
    now: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let org = account
        .org
        .as_deref()
        .and_then(|name| config.org(name))
        .ok_or_else(|| {
            setup_error(account)(AuthError::Config(format!(
                "account '{}' names an org that is not configured",
                account.name
            )))
        })?;
    let person = account.owner.as_deref().unwrap_or_default();
    let credential = clients
        .orgs
        .get(config, org, store, &clients.api)
        .map_err(setup_error(account))?;
    let grant = crate::pass::org::person_grant(&credential, org, person);
    let excluded = excluded_people(config, org);
    let api_base = account.api_base_url.as_deref();
    let reports = if org.provider == Provider::Microsoft {
        let tokens: MicrosoftTokens = TokenSource::new(
            &account.name,
            grant,
            None,
            store.clone(),
            clients.api.clone(),
        );
        let policy = WindowPolicy::covering(config.detection.history, config.detection.horizon);
        let microsoft = MicrosoftAccount::for_person(
            &account.name,
            person,
            account.calendars.clone(),
            api_base,
            tokens,
            clients.api.clone(),
            HttpOptions::default(),
            policy,
        )
        .map_err(setup_error(account))?;
        sync_calendars_excluding(&microsoft, store, now, &excluded).await?
    } else {
        let tokens: AccountTokens = TokenSource::new(
            &account.name,
            grant,
            None,
            store.clone(),
            clients.api.clone(),
        );
        let options = SyncOptions {
            history: Some(config.detection.history),
        };
        let google = GoogleAccount::for_person(
            &account.name,
            person,
            account.calendars.clone(),
            api_base,
            tokens,
            clients.api.clone(),
            HttpOptions::default(),
            options,
        )
        .map_err(setup_error(account))?;
        sync_calendars_excluding(&google, store, now, &excluded).await?
    };
    summarize(account, store, reports, warnings)
}

/// A configured Google account with its token source over `store`, for one pass
/// (the stored access token is reused, so building one costs no request). `api`
/// must not follow redirects; `token_key_file` is the config's key setting (else
/// `$CREDENTIALS_DIRECTORY/token-key`).
pub fn google_account(
    account: &AccountConfig,
    store: &Store,
    api: &reqwest::Client,
    token_key_file: Option<&std::path::Path>,
    options: SyncOptions,
) -> Result<GoogleAccount, AuthError> {
    let key = TokenKey::locate(token_key_file)?;
    let oauth = OAuthClient::google(account)?;
    let tokens = AccountTokens::new(&account.name, oauth, key, store.clone(), api.clone());
    GoogleAccount::from_config(
        account,
        tokens,
        api.clone(),
        HttpOptions::default(),
        options,
    )
}

/// A configured Microsoft account with its token source over `store`, for one pass;
/// `policy` is usually [`WindowPolicy::covering`] the detection history and horizon.
pub fn microsoft_account(
    account: &AccountConfig,
    store: &Store,
    api: &reqwest::Client,
    token_key_file: Option<&std::path::Path>,
    policy: WindowPolicy,
) -> Result<MicrosoftAccount, AuthError> {
    let key = TokenKey::locate(token_key_file)?;
    let tokens = MicrosoftTokens::for_account(account, store, key, api.clone())?;
    MicrosoftAccount::from_config(account, tokens, api.clone(), HttpOptions::default(), policy)
}

/// Syncs every calendar of `account` into the store at `now`, each applied with one
/// [`Store::apply_changes`]. Errors that concern the whole account
/// ([`SourceError::NeedsSignIn`], [`SourceError::RateLimited`]) end the sync and are
/// returned; any other error is reported per calendar and the next calendar still syncs.
pub async fn sync_calendars<P: CalendarProvider>(
    account: &Account<P>,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<Result<CalendarReport, SyncError>>, SyncError> {
    sync_calendars_excluding(account, store, now, &[]).await
}

/// [`sync_calendars`], dropping every event one of `excluded` (lower-cased addresses)
/// takes part in, before it reaches the store: an org's excluded and opted-out
/// people's 1:1s are not stored at all (an event stored before is deleted).
pub async fn sync_calendars_excluding<P: CalendarProvider>(
    account: &Account<P>,
    store: &Store,
    now: DateTime<Utc>,
    excluded: &[String],
) -> Result<Vec<Result<CalendarReport, SyncError>>, SyncError> {
    sync_each_calendar(account.calendars(), |calendar| async move {
        sync_calendar_excluding(account, store, &calendar, now, excluded).await
    })
    .await
}

/// Syncs one configured calendar (`primary` or an id) of `account` into the store:
/// reads its cursor (and the owner, when the provider needs it), lets the source fetch
/// the changes, ties them to the stored series where the provider asks for it, keeps
/// what detection may use, and applies events and cursor in one transaction.
pub async fn sync_calendar<P: CalendarProvider>(
    account: &Account<P>,
    store: &Store,
    calendar: &str,
    now: DateTime<Utc>,
) -> Result<CalendarReport, SyncError> {
    sync_calendar_excluding(account, store, calendar, now, &[]).await
}

/// [`sync_calendar`] without the events `excluded` people take part in (see
/// [`sync_calendars_excluding`]).
pub async fn sync_calendar_excluding<P: CalendarProvider>(
    account: &Account<P>,
    store: &Store,
    calendar: &str,
    now: DateTime<Utc>,
    excluded: &[String],
) -> Result<CalendarReport, SyncError> {
    let in_store = |source: StoreError| SyncError::AccountStore {
        account: account.name().to_string(),
        source,
    };
    let calendar_ref = CalendarRef {
        account: account.name().to_string(),
        calendar: calendar.to_string(),
    };
    let known = store.account_state(account.name()).map_err(in_store)?.owner;
    let owner = account.owner_for(calendar, known.as_deref()).await?;
    if let Some(owner) = owner.as_ref().filter(|owner| owner.learned) {
        store
            .set_account_owner(account.name(), &owner.address)
            .map_err(in_store)?;
    }
    let stored = StoredState {
        cursor: store.cursor(&calendar_ref).map_err(in_store)?,
        index: store.cursor_index(&calendar_ref).map_err(in_store)?,
    };
    let owner = owner.map(|owner| owner.address);
    let mut sync = account
        .fetch_calendar(calendar, owner.as_deref(), &stored, now)
        .await?;
    if P::TIES_TO_STORED_SERIES && sync.needs_stored_events() {
        let events = store.calendar_events(&calendar_ref).map_err(in_store)?;
        sync.tie_to_stored_series(&events);
    }
    sync.changes.retain_events(|event| {
        crate::core::detect::worth_keeping(event) && !crate::core::detect::involves(event, excluded)
    });
    store
        .apply_changes(&calendar_ref, &sync.changes)
        .map_err(in_store)?;
    Ok(CalendarReport::new(calendar, sync))
}

/// The owner's address of `account`: the configured one, else the one the store
/// remembers, else asked of the provider and remembered.
pub async fn account_owner<P: CalendarProvider>(
    account: &Account<P>,
    store: &Store,
) -> Result<String, SyncError> {
    let known = store.account_state(account.name())?.owner;
    let owner = account.owner(known.as_deref()).await?;
    if owner.learned {
        store.set_account_owner(account.name(), &owner.address)?;
    }
    Ok(owner.address)
}

/// One outcome for the account from its calendars' results: updated if any calendar
/// changed, failed only if some calendar failed and none changed.
fn summarize(
    account: &AccountConfig,
    store: &Store,
    calendars: Vec<Result<CalendarReport, SyncError>>,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let mut changed = false;
    let mut first_error = None;
    for calendar in calendars {
        match calendar {
            Ok(calendar) => {
                changed |= calendar.changed();
                for skipped in calendar.skipped {
                    warnings.push(format!("calendar {}: skipped {skipped}", calendar.calendar));
                }
            }
            Err(error) => {
                warnings.push(error.to_string());
                first_error.get_or_insert(error);
            }
        }
    }
    match (first_error, changed) {
        (Some(error), false) => Err(error),
        (_, true) => {
            let events = store.account_event_count(&account.name)?;
            Ok(SyncOutcome::Updated { events })
        }
        (None, false) => Ok(SyncOutcome::Unchanged),
    }
}

/// An .ics feed is always listed whole: when it changed, its events replace the
/// stored ones in one transaction, together with the feed's new validators.
async fn sync_ics(
    account: &AccountConfig,
    store: &Store,
    http: &reqwest::Client,
    warnings: &mut Vec<String>,
) -> Result<SyncOutcome, SyncError> {
    let url = account.url.as_deref().unwrap_or_default();
    let calendar = CalendarRef {
        account: account.name.clone(),
        calendar: ICS_CALENDAR.to_string(),
    };
    // A cursor that no longer decodes (older format, damage) only costs one full fetch.
    let previous: Option<FeedValidators> = store
        .cursor(&calendar)?
        .and_then(|text| serde_json::from_str(&text).ok());
    match fetch_ics(http, url, previous.as_ref()).await? {
        FetchOutcome::Unchanged => Ok(SyncOutcome::Unchanged),
        FetchOutcome::Changed { text, validators } => {
            let origin = crate::sources::redact_url(url);
            let parsed = parse_ics(&text, &origin);
            let (shown, hidden) = super::capped(&parsed.warnings);
            for warning in shown {
                tracing::warn!(account = %account.name, "{warning}");
            }
            if hidden > 0 {
                tracing::warn!(account = %account.name, "{origin}: {hidden} more warnings about this file not shown");
            }
            warnings.extend(parsed.warnings.iter().map(ToString::to_string));
            let events = parsed.events.len();
            let cursor = serde_json::to_string(&validators).ok();
            let mut changes = CalendarChanges {
                full: true,
                upserted: parsed.events,
                deleted: Vec::new(),
                cursor,
                index: None,
            };
            changes.retain_events(crate::core::detect::worth_keeping);
            store.apply_changes(&calendar, &changes)?;
            Ok(SyncOutcome::Updated { events })
        }
    }
}

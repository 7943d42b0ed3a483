//! The errors every source returns, typed so the daemon can act on them.

use std::time::Duration;

use crate::auth::AuthError;

/// What went wrong fetching a calendar, in terms of what to do next.
/// Messages name the URL's host and path, never tokens, secrets or query strings.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The stored sync cursor is no longer valid: drop the calendar's events and resync in full.
    #[error("{what}: sync state expired, a full resync is needed")]
    CursorExpired {
        /// Which calendar or URL.
        what: String,
    },
    /// The credentials were refused: refresh once, then mark the account as needing sign-in.
    #[error("{what}: unauthorized ({detail})")]
    Unauthorized {
        /// Which calendar or URL.
        what: String,
        /// The provider's reason, without secrets.
        detail: String,
    },
    /// The account must sign in again (`tete auth <account>`).
    #[error("account needs sign-in: run `tete auth {account}` ({detail})")]
    NeedsSignIn {
        /// The account name.
        account: String,
        /// Why, without secrets.
        detail: String,
    },
    /// Throttled: wait at least this long.
    #[error("{what}: rate limited, retry after {retry_after:?}")]
    RateLimited {
        /// Which calendar or URL.
        what: String,
        /// The server's Retry-After, or a backoff.
        retry_after: Duration,
    },
    /// A passing failure (network, 5xx): back off and retry.
    #[error("{what}: temporary failure: {detail}")]
    Transient {
        /// Which calendar or URL.
        what: String,
        /// What happened.
        detail: String,
    },
    /// The account's credentials could not be used (stored tokens unreadable, the
    /// store failing, an incomplete OAuth setup): log and skip, like [`Self::Permanent`].
    #[error(transparent)]
    Credentials(AuthError),
    /// Will not get better by retrying (404, malformed answer): log and skip.
    #[error("{what}: {detail}")]
    Permanent {
        /// Which calendar or URL.
        what: String,
        /// What happened.
        detail: String,
    },
}

impl From<AuthError> for SourceError {
    /// What a token failure means for a sync: a dead sign-in is account-wide, a token
    /// endpoint that is down is passing, one that refuses is permanent. The rest
    /// (stored tokens that cannot be read, the store failing) keep their error as the
    /// source, so the chain down to the store error survives.
    fn from(error: AuthError) -> SourceError {
        match error {
            AuthError::NeedsSignIn { account, detail } => {
                SourceError::NeedsSignIn { account, detail }
            }
            AuthError::Unavailable { what, detail } => SourceError::Transient { what, detail },
            AuthError::Refused { what, detail } => SourceError::Permanent { what, detail },
            other => SourceError::Credentials(other),
        }
    }
}

impl SourceError {
    /// True for failures of the whole account rather than of one calendar: nothing
    /// else of the account can succeed until they pass (sign-in, throttling).
    pub fn is_account_wide(&self) -> bool {
        // An org credential refused (for the org, or for this person) fails every
        // calendar of the account alike, like a lost sign-in.
        matches!(
            self,
            SourceError::NeedsSignIn { .. }
                | SourceError::RateLimited { .. }
                | SourceError::Credentials(
                    AuthError::OrgNeedsAttention { .. } | AuthError::PersonRefused { .. }
                )
        )
    }
}

/// Errors that can say whether they concern a whole account rather than one calendar.
pub trait AccountWide {
    /// True when nothing else of the account can succeed until the failure passes.
    fn is_account_wide(&self) -> bool;
}

impl AccountWide for SourceError {
    fn is_account_wide(&self) -> bool {
        SourceError::is_account_wide(self)
    }
}

/// Syncs each calendar of an account in turn. A failure of one calendar is reported
/// in its slot and the next still syncs; an account-wide failure
/// ([`AccountWide::is_account_wide`]) ends the sync and is returned.
pub async fn sync_each_calendar<R, E, F>(
    calendars: &[String],
    sync_one: impl Fn(String) -> F,
) -> Result<Vec<Result<R, E>>, E>
where
    E: AccountWide,
    F: std::future::Future<Output = Result<R, E>>,
{
    let mut reports = Vec::with_capacity(calendars.len());
    for calendar in calendars {
        match sync_one(calendar.clone()).await {
            Err(error) if error.is_account_wide() => return Err(error),
            result => reports.push(result),
        }
    }
    Ok(reports)
}

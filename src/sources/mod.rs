//! Calendar sources: where events come from. Each source turns a provider's data into
//! [`crate::model::Event`]s and reports failures as a [`SourceError`] the daemon can act on.

pub mod ics;

use std::time::Duration;

/// Why fetching from a source failed, sorted by what the daemon should do about it.
/// Messages name the resource without credentials or query strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Worth retrying with backoff (network trouble, timeouts, 5xx).
    #[error("{url}: temporary failure: {reason}")]
    Transient {
        /// The resource, redacted.
        url: String,
        /// What happened.
        reason: String,
    },
    /// Retrying will not help until someone changes something (404, bad URL, too big).
    #[error("{url}: {reason}")]
    Permanent {
        /// The resource, redacted.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The server asked us to slow down.
    #[error("{url}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The resource, redacted.
        url: String,
        /// How long the server asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// Credentials are missing, expired or refused (401/403).
    #[error("{url}: not authorized (HTTP {status})")]
    Unauthorized {
        /// The resource, redacted.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The stored sync cursor is no longer accepted: do a full resync.
    #[error("{url}: sync cursor expired, full resync needed")]
    CursorExpired {
        /// The resource, redacted.
        url: String,
    },
}

/// A URL fit for messages and logs: no user, password, query string or fragment
/// (feeds often carry their secret token in one of those).
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        _ => url.split(['?', '#']).next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_lose_credentials_and_tokens() {
        assert_eq!(
            redact_url("https://user:pw@example.com/cal.ics?token=secret#x"),
            "https://example.com/cal.ics"
        );
        assert_eq!(redact_url("/srv/cal.ics"), "/srv/cal.ics");
        assert_eq!(redact_url("file:///srv/cal.ics?x"), "file:///srv/cal.ics");
    }
}

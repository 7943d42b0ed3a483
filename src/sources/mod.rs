//! Calendar sources: where events come from. Each source turns a provider's data into
//! [`crate::model::Event`]s and reports failures as a [`SourceError`] the daemon can act on.
//! Sources never touch the store: a sync takes the stored cursor as a value and returns
//! the changes ([`CalendarSync`]); `pass::sync` reads and writes the store around it.

pub mod account;
pub mod directory;
pub mod error;
pub mod google;
pub mod http;
pub mod ics;
pub mod microsoft;

pub use account::{
    Account, CalendarProvider, CalendarReport, CalendarSync, Owner, OwnerUse, StoredState,
};
pub use error::{AccountWide, SourceError, sync_each_calendar};

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

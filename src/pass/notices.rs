//! One email to an account's owner when the account needs to sign in again, so a
//! revoked token does not silently stop the briefs. Sent through the same outbox as
//! briefs (durable, exactly once per loss of sign-in).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{Config, Provider};
use crate::core::brief::RenderedBrief;
use crate::core::plan::BriefKey;
use crate::mail::{self, MailError};
use crate::model::{Person, SeriesId};
use crate::store::Store;

/// How long a notice may wait in the outbox before it is dropped as stale.
const NOTICE_VALIDITY: TimeDelta = TimeDelta::days(7);

/// The notice's key: one per account and per time the sign-in was lost.
fn notice_key(account: &str, since: DateTime<Utc>, owner: &str) -> BriefKey {
    BriefKey {
        series: SeriesId(format!("sign-in:{account}")),
        occurrence: since.format("%Y%m%dT%H%M%SZ").to_string(),
        recipient: owner.to_string(),
    }
}

/// The notice itself: plain words, the command to run, nothing secret.
fn notice(account: &str, reason: &str, since: DateTime<Utc>) -> RenderedBrief {
    let text = format!(
        "tete can no longer read the calendars of the account \"{account}\" (since {}).\n\n\
         The provider said: {reason}\n\n\
         Until someone signs in again, no briefs are prepared from this account. On the \
         server that runs tete, run:\n\n    tete auth {account}\n\n\
         and follow the instructions. `tete status` shows the account's state.\n",
        since.format("%Y-%m-%d %H:%M UTC")
    );
    let html = format!(
        "<html><body style=\"font-family:sans-serif\"><pre style=\"white-space:pre-wrap\">{}</pre></body></html>",
        escape_html(&text)
    );
    RenderedBrief {
        subject: format!("tete: account \"{account}\" needs you to sign in again"),
        text,
        html,
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Queues a notice for every OAuth account that needs sign-in and has a known owner,
/// once per loss of sign-in. Returns how many were queued.
pub fn queue_sign_in_notices(
    config: &Config,
    store: &Store,
    owners: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<usize, MailError> {
    if !config.mail.sign_in_notices {
        return Ok(0);
    }
    let mut queued = 0;
    for account in &config.accounts {
        // An org's people cannot sign in: their org's credential is what fails, and
        // its notice goes to the org's contact (below).
        if account.provider == Provider::Ics || account.org.is_some() {
            continue;
        }
        let state = store.account_state(&account.name)?;
        let (Some(needed), Some(owner)) = (state.needs_sign_in, owners.get(&account.name)) else {
            continue;
        };
        let message = notice(&account.name, &needed.reason, needed.since);
        if queue_once(
            config,
            store,
            &account.name,
            needed.since,
            owner,
            &message,
            now,
        )? {
            tracing::warn!(account = %account.name, "account needs sign-in; owner notified");
            queued += 1;
        }
    }
    for org in &config.orgs {
        let state = store.org_state(&org.name)?;
        let (Some(needed), Some(contact)) = (state.needs_attention, org.notify.as_ref()) else {
            continue;
        };
        let message = org_notice(&org.name, &needed.reason, needed.since);
        if queue_once(
            config,
            store,
            &org.name,
            needed.since,
            contact,
            &message,
            now,
        )? {
            tracing::warn!(org = %org.name, "org credential refused; contact notified");
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues `message` to `to` about `what` (an account or org) failing since `since`,
/// once per failure, and not after [`NOTICE_VALIDITY`]; true when it was queued now.
fn queue_once(
    config: &Config,
    store: &Store,
    what: &str,
    since: DateTime<Utc>,
    to: &str,
    message: &RenderedBrief,
    now: DateTime<Utc>,
) -> Result<bool, MailError> {
    let not_after = since + NOTICE_VALIDITY;
    if now >= not_after {
        return Ok(false);
    }
    let key = notice_key(what, since, to);
    if store.was_queued_or_sent(&key)? {
        return Ok(false);
    }
    let to = Person {
        email: to.to_string(),
        name: None,
    };
    mail::queue_brief(store, &config.mail.from, message, &to, &key, not_after, now)
}

/// The notice to an org's contact when its credential is refused.
fn org_notice(org: &str, reason: &str, since: DateTime<Utc>) -> RenderedBrief {
    let text = format!(
        "tete can no longer act for the organisation \"{org}\" (since {}).\n\n\
         The provider refused its credential: {reason}\n\n\
         Until this is fixed, no calendar of the organisation is read and no brief is \
         prepared from them. Check the service account key or the app registration and \
         its consent (docs/org-admin.md); `tete status` shows the org's state and \
         `tete check` the config.\n",
        since.format("%Y-%m-%d %H:%M UTC")
    );
    let html = format!(
        "<html><body style=\"font-family:sans-serif\"><pre style=\"white-space:pre-wrap\">{}</pre></body></html>",
        escape_html(&text)
    );
    RenderedBrief {
        subject: format!("tete: the credential of org \"{org}\" was refused"),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_names_the_command_and_escapes_the_reason() {
        let since = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let n = notice("work", "invalid_grant: <revoked>", since);
        assert!(n.text.contains("tete auth work"));
        assert!(n.html.contains("&lt;revoked&gt;"));
        assert!(!n.subject.contains('\n'));
    }
}

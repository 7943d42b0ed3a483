//! Replies to a brief: people answer by mail to close, add and bring up items.
//!
//! This is the pure core of it (no I/O, no clock reads: time is a parameter). The
//! inbox (IMAP) hands a parsed message in; the pass applies what comes out through the
//! store. The steps, in the order the shell runs them:
//!
//! 1. [`robots::is_automatic`]: auto-replies, bounces and list mail are never applied
//!    and never answered.
//! 2. [`token`]: which brief the reply answers, from the reply address
//!    (`briefs+TOKEN@…`) or the brief's Message-ID in `In-Reply-To` / `References`,
//!    and whether the sender is the person it was sent to.
//! 3. [`extract::visible_text`]: the sender's own new text, without the quoted brief
//!    or signatures.
//! 4. [`commands::parse_commands`] and [`commands::resolve`]: what the person asked
//!    for, with item references turned into ids against the series' items.
//! 5. [`confirm::confirmation`]: the short answer that says what was done and what
//!    was not understood.
//!
//! [`examine`] runs steps 1 to 4 on one message and returns a serializable
//! [`ReplyReport`]; the shell resolves and applies only when `authenticated` holds
//! (and the server's DKIM/DMARC verdict agrees), then sends the confirmation.
//! See `docs/replies.md` for the token format, the Message-ID form and `skip`.

pub mod authres;
pub mod commands;
pub mod confirm;
pub mod extract;
pub mod robots;
pub mod token;

use chrono::{DateTime, Utc};
use mail_parser::Message;
use serde::Serialize;

use crate::model::normalize_email;
use crate::model::{Person, SeriesId};

/// Everything the pure core can say about one received reply (what
/// `tete reply FILE.eml --json` prints). Nothing in it has been applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplyReport {
    /// Why the message is automatic, when it is (then nothing else was read).
    pub automatic: Option<String>,
    /// The `From` address (lower-case), if there is one.
    pub sender: Option<String>,
    /// The sender's own text.
    pub visible_text: String,
    /// True when the visible text was cut at its bounds.
    pub truncated: bool,
    /// What the reply's token binds it to, when a valid token was found.
    pub binding: Option<token::Binding>,
    /// Why no binding was found (no token, malformed, forged, expired).
    pub binding_error: Option<String>,
    /// True when the token was issued to the `From` address and that address is one
    /// of the series' two people. `From` itself is not proof: the shell must also
    /// check the receiving server's DKIM/DMARC verdict before applying anything.
    pub authenticated: bool,
    /// The commands found (empty when the series' people are unknown).
    pub commands: Vec<commands::Command>,
    /// Lines that looked like commands but were not understood.
    pub rejected: Vec<commands::Rejected>,
}

/// Examines a reply: robots, binding, visible text and commands. `people_of` gives
/// the two people of a series (from the store); `now` decides token expiry.
pub fn examine(
    message: &Message<'_>,
    secret: &[u8],
    now: DateTime<Utc>,
    people_of: impl FnOnce(&SeriesId) -> Option<[Person; 2]>,
) -> ReplyReport {
    let sender = if message.parts.is_empty() {
        None
    } else {
        message
            .from()
            .and_then(|from| from.first())
            .and_then(|addr| addr.address())
            .map(normalize_email)
    };
    let mut report = ReplyReport {
        automatic: robots::is_automatic(message).map(str::to_string),
        sender,
        visible_text: String::new(),
        truncated: false,
        binding: None,
        binding_error: None,
        authenticated: false,
        commands: Vec::new(),
        rejected: Vec::new(),
    };
    if report.automatic.is_some() {
        return report;
    }
    let visible = extract::visible_text(message);
    report.visible_text = visible.text;
    report.truncated = visible.truncated;
    match token::token_of_message(message) {
        None => report.binding_error = Some("the reply carries no tete token".into()),
        Some(text) => match token::verify(secret, &text, now) {
            Ok(binding) => report.binding = Some(binding),
            Err(error) => report.binding_error = Some(error.to_string()),
        },
    }
    let (Some(binding), Some(sender)) = (&report.binding, &report.sender) else {
        return report;
    };
    let Some(people) = people_of(&binding.series) else {
        report.binding_error = Some(format!("series {} is not known", binding.series));
        return report;
    };
    report.authenticated =
        binding.is_for(secret, sender) && people.iter().any(|p| p.key() == *sender);
    let parsed = commands::parse_commands(&report.visible_text, &people, sender);
    report.commands = parsed.commands;
    report.rejected = parsed.rejected;
    report
}

/// The series a message's valid tete token binds it to, if it carries one: what a
/// reader of many replies looks up before examining them.
pub fn bound_series(raw: &[u8], secret: &[u8], now: DateTime<Utc>) -> Option<SeriesId> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    let text = token::token_of_message(&message)?;
    token::verify(secret, &text, now)
        .ok()
        .map(|binding| binding.series)
}

/// A reply fixture from `tests/fixtures/replies/` (real-shaped replies from the
/// common mail clients), for the tests of every step.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/replies/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn people() -> [Person; 2] {
        [
            Person {
                email: "dana@example.com".into(),
                name: Some("Dana Kim".into()),
            },
            Person {
                email: "alex@example.com".into(),
                name: Some("Alex Moreau".into()),
            },
        ]
    }

    fn report(raw: &[u8], now: &str) -> ReplyReport {
        let message = mail_parser::MessageParser::default().parse(raw).unwrap();
        examine(&message, SECRET, at(now), |series| {
            (series.0 == "3f9a0c21e4").then(people)
        })
    }

    #[test]
    fn a_fixture_reply_is_bound_authenticated_and_read() {
        let report = report(&fixture("gmail_html.eml"), "2026-12-01T00:00:00Z");
        assert_eq!(report.automatic, None);
        assert_eq!(report.sender.as_deref(), Some("dana@example.com"));
        assert!(report.binding.is_some(), "{report:?}");
        assert!(report.authenticated);
        assert_eq!(report.commands.len(), 4, "{report:?}");
        assert!(report.rejected.is_empty());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["commands"][0]["command"], "close");
        assert_eq!(json["binding"]["series"], "3f9a0c21e4");
    }

    #[test]
    fn a_reply_from_another_address_is_not_authenticated() {
        let raw = String::from_utf8(fixture("gmail_plain.eml"))
            .unwrap()
            .replace(
                "From: Dana Kim <dana@example.com>",
                "From: Alex <alex@example.com>",
            );
        let report = report(raw.as_bytes(), "2026-12-01T00:00:00Z");
        assert!(report.binding.is_some());
        assert!(!report.authenticated);
    }

    #[test]
    fn an_expired_token_and_an_automatic_reply_are_reported() {
        let expired = report(&fixture("apple_mail.eml"), "2027-02-01T00:00:00Z");
        assert!(expired.binding.is_none());
        assert!(expired.binding_error.unwrap().contains("expired"));
        assert!(!expired.authenticated);
        let robot = report(&fixture("out_of_office_gmail.eml"), "2026-12-01T00:00:00Z");
        assert!(robot.automatic.is_some());
        assert!(robot.commands.is_empty());
        assert!(robot.visible_text.is_empty());
    }
}

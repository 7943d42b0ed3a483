//! One brief as one RFC 5322 message to one person.
//!
//! Addresses and names are handed to lettre as typed parts (never as header text), so
//! nothing from a calendar can add a recipient or a header. The Message-ID is derived
//! from the brief's key: a brief sent twice (see the outbox's "accepted but not yet
//! recorded" window) carries the same id both times, so it can be recognised.

use chrono::{DateTime, Utc};
use lettre::Address;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use sha2::{Digest, Sha256};

use super::MailError;
use crate::core::brief::RenderedBrief;
use crate::core::plan::BriefKey;
use crate::model::Person;

/// The hex SHA-256 of the key's stable bytes: the left part of its Message-ID.
pub fn key_digest(key: &BriefKey) -> String {
    Sha256::digest(key.to_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<sha256(key)-hex@domain>`: the deterministic Message-ID of a brief.
pub fn message_id(key: &BriefKey, domain: &str) -> String {
    format!("<{}@{}>", key_digest(key), domain)
}

/// Parses `mail.from`: anything lettre parses (`"1:1 briefs" <user@domain>`, the form
/// the config loader stores), else `Name <user@domain>` with specials left unquoted, or
/// a bare address.
///
/// The fallback exists because people write display names like `1:1 briefs`, which a
/// strict RFC 5322 parser rejects unless quoted; lettre re-encodes the name anyway.
pub fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    let from = from.trim();
    if let Ok(mailbox) = from.parse::<Mailbox>() {
        let name = mailbox.name.as_deref().map(crate::core::brief::one_line);
        return Ok(Mailbox::new(name.filter(|n| !n.is_empty()), mailbox.email));
    }
    let (name, address) = match (from.rfind('<'), from.strip_suffix('>')) {
        (Some(open), Some(without_close)) => {
            let name = from[..open].trim().trim_matches('"').trim();
            (name, &without_close[open + 1..])
        }
        _ => ("", from),
    };
    let address: Address = address
        .trim()
        .parse()
        .map_err(|e| MailError::InvalidFrom(format!("'{from}': {e}")))?;
    let name = crate::core::brief::one_line(name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
}

/// The recipient's mailbox from typed parts: the address must parse as one address, the
/// name loses its control characters and is encoded by lettre.
fn recipient_mailbox(to: &Person) -> Result<Mailbox, MailError> {
    let written = to.email.trim();
    let bare = match written.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => &written[7..],
        _ => written,
    };
    let invalid = |reason: &str| MailError::InvalidRecipient {
        address: to.email.clone(),
        reason: reason.to_string(),
    };
    // Checked before the parser: these are addresses lettre would accept as a header
    // and then refuse as an envelope ("missing destination address"), or accept after
    // a lossy decoding turned bytes into U+FFFD, which would send to a repaired guess.
    if bare.contains('\u{FFFD}') {
        return Err(invalid(
            "it held bytes that are not valid UTF-8; an address is refused, never repaired",
        ));
    }
    if bare.starts_with('"') || bare.chars().any(|c| c.is_whitespace() || c == '"') {
        return Err(invalid(
            "a quoted local part or an address with spaces cannot be sent to (use the person's plain address)",
        ));
    }
    if bare.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    let address: Address = bare
        .parse()
        .map_err(|error| invalid(&format!("not an address ({error})")))?;
    let name = to
        .name
        .as_deref()
        .map(crate::core::brief::one_line)
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address))
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// What ties a message into a conversation with tete (replies by email). The
/// default is none of it: a brief with its key-derived Message-ID and no Reply-To.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Threading {
    /// `Reply-To` address (`briefs+TOKEN@example.com`).
    pub reply_to: Option<String>,
    /// Message-ID to use instead of the key-derived one, `<…@…>`.
    pub message_id: Option<String>,
    /// The message this one answers (`In-Reply-To` and `References`), `<…@…>`.
    pub in_reply_to: Option<String>,
}

/// Builds the message of one brief to one person: multipart/alternative with the text
/// part first and the HTML part last, exactly one `To:`, the deterministic Message-ID
/// (domain from the From address), `Auto-Submitted: auto-generated`,
/// `X-Auto-Response-Suppress: All`, a mailto `List-Unsubscribe` and `Date: date`.
///
/// `threading` adds a Reply-To, replaces the Message-ID, or answers a message.
///
/// Refuses to address a brief to anyone but the recipient its key names.
pub fn build_message(
    from: &str,
    brief: &RenderedBrief,
    to: &Person,
    key: &BriefKey,
    date: DateTime<Utc>,
    threading: &Threading,
) -> Result<Message, MailError> {
    let from = parse_from(from)?;
    let to_mailbox = recipient_mailbox(to)?;
    if to_mailbox.email.to_string().to_lowercase() != key.recipient {
        return Err(MailError::RecipientMismatch {
            key: key.to_string(),
            address: to.email.clone(),
        });
    }
    let unsubscribe = format!("<mailto:{}?subject=unsubscribe>", from.email);
    let id = threading
        .message_id
        .clone()
        .unwrap_or_else(|| message_id(key, from.email.domain()));
    let mut builder = Message::builder()
        .from(from)
        .to(to_mailbox)
        .subject(crate::core::brief::one_line(&brief.subject))
        .message_id(Some(id))
        .date(date.into());
    if let Some(reply_to) = &threading.reply_to {
        let address: Address = reply_to
            .parse()
            .map_err(|e| MailError::InvalidFrom(format!("reply address '{reply_to}': {e}")))?;
        builder = builder.reply_to(Mailbox::new(None, address));
    }
    if let Some(answered) = &threading.in_reply_to {
        let answered = crate::core::brief::one_line(answered);
        builder = builder.in_reply_to(answered.clone()).references(answered);
    }
    let message = builder
        .raw_header(header("Auto-Submitted", "auto-generated".into()))
        .raw_header(header("X-Auto-Response-Suppress", "All".into()))
        .raw_header(header("List-Unsubscribe", unsubscribe))
        .multipart(MultiPart::alternative_plain_html(
            brief.text.clone(),
            brief.html.clone(),
        ))?;
    Ok(message)
}

/// The Message-ID header of a formatted message, if it has one (folded lines joined).
pub fn message_id_of(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut found: Option<String> = None;
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(id) = found.as_mut() {
                id.push_str(line.trim());
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("message-id")
        {
            found = Some(value.trim().to_string());
        }
    }
    found.filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeriesId;

    fn key(recipient: &str) -> BriefKey {
        BriefKey {
            series: SeriesId("3f9a0c21e4".into()),
            occurrence: "20261201T090000Z".into(),
            recipient: recipient.into(),
        }
    }

    fn brief() -> RenderedBrief {
        RenderedBrief {
            subject: "1:1 with Dana Kim \u{2014} Tue 1 Dec, 10:00".into(),
            text: "Your open items\n- Send the Q3 numbers\n".into(),
            html: "<p>Your open items</p>\n".into(),
        }
    }

    fn date() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn formatted(to: &Person, key: &BriefKey) -> String {
        let message = build_message(
            "1:1 briefs <briefs@example.com>",
            &brief(),
            to,
            key,
            date(),
            &Threading::default(),
        )
        .unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    fn headers(raw: &str) -> Vec<&str> {
        raw.split("\r\n\r\n")
            .next()
            .unwrap()
            .split("\r\n")
            .collect()
    }

    #[test]
    fn message_has_deterministic_id_and_automation_headers() {
        let dana = Person {
            email: "dana@example.com".into(),
            name: Some("Dana Kim".into()),
        };
        let raw = formatted(&dana, &key("dana@example.com"));
        let id = message_id(&key("dana@example.com"), "example.com");
        assert_eq!(id.len(), 1 + 64 + 1 + "example.com".len() + 1);
        let headers = headers(&raw);
        assert!(
            headers.contains(&format!("Message-ID: {id}").as_str()),
            "{raw}"
        );
        assert!(headers.contains(&"Auto-Submitted: auto-generated"));
        assert!(headers.contains(&"X-Auto-Response-Suppress: All"));
        assert!(
            headers.contains(&"List-Unsubscribe: <mailto:briefs@example.com?subject=unsubscribe>")
        );
        assert!(
            headers.contains(&"Date: Mon, 30 Nov 2026 15:00:00 +0000"),
            "{raw}"
        );
        assert!(
            headers.contains(&"To: \"Dana Kim\" <dana@example.com>"),
            "{raw}"
        );
        assert_eq!(message_id_of(raw.as_bytes()), Some(id));
        let plain = raw.find("Content-Type: text/plain").unwrap();
        let html = raw.find("Content-Type: text/html").unwrap();
        assert!(raw.contains("Content-Type: multipart/alternative"));
        assert!(plain < html, "text part first, HTML last");
    }

    #[test]
    fn hostile_display_name_cannot_add_a_recipient_or_header() {
        let eve = Person {
            email: "dana@example.com".into(),
            name: Some("Dana, \"x\" <eve@evil.example>\r\nBcc: eve@evil.example\r\n".into()),
        };
        let message = build_message(
            "briefs@example.com",
            &brief(),
            &eve,
            &key("dana@example.com"),
            date(),
            &Threading::default(),
        )
        .unwrap();
        let recipients: Vec<String> = message
            .envelope()
            .to()
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(recipients, ["dana@example.com"]);
        let raw = message.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert!(parsed.bcc().is_none() && parsed.cc().is_none());
        let to: Vec<&str> = parsed
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        assert_eq!(to, ["dana@example.com"]);
        let text = String::from_utf8(raw.clone()).unwrap();
        let header_names: Vec<String> = text
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .split("\r\n")
            .filter(|line| !line.starts_with([' ', '\t']))
            .filter_map(|line| {
                line.split_once(':')
                    .map(|(name, _)| name.to_ascii_lowercase())
            })
            .collect();
        assert_eq!(
            header_names.iter().filter(|n| *n == "to").count(),
            1,
            "{text}"
        );
        assert!(!header_names.iter().any(|n| n == "bcc"), "{text}");
        // The name survives as a name, control characters aside.
        let name = parsed.to().unwrap().first().unwrap().name().unwrap();
        assert_eq!(name, "Dana, \"x\" <eve@evil.example> Bcc: eve@evil.example");
    }

    #[test]
    fn address_that_is_not_one_address_is_refused() {
        for email in [
            "dana@example.com, eve@evil.example",
            "dana@example.com\r\nBcc: eve@evil.example",
            "not an address",
        ] {
            let person = Person {
                email: email.into(),
                name: None,
            };
            let error = build_message(
                "briefs@example.com",
                &brief(),
                &person,
                &key(email),
                date(),
                &Threading::default(),
            )
            .unwrap_err();
            assert!(
                matches!(error, MailError::InvalidRecipient { .. }),
                "{email}: {error}"
            );
        }
    }

    #[test]
    fn repaired_or_quoted_addresses_are_refused_naming_the_address_and_why() {
        for (email, why) in [
            ("d\u{FFFD}na@example.com", "not valid UTF-8"),
            ("\"dana kim\"@example.com", "quoted local part"),
        ] {
            let person = Person {
                email: email.into(),
                name: None,
            };
            let key = BriefKey {
                recipient: email.to_lowercase(),
                ..key("dana@example.com")
            };
            let error = build_message(
                "briefs@example.com",
                &brief(),
                &person,
                &key,
                date(),
                &Threading::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(error.contains(email) && error.contains(why), "{error}");
        }
    }

    #[test]
    fn brief_is_never_addressed_to_someone_its_key_does_not_name() {
        let eve = Person {
            email: "eve@example.com".into(),
            name: None,
        };
        let error = build_message(
            "briefs@example.com",
            &brief(),
            &eve,
            &key("dana@example.com"),
            date(),
            &Threading::default(),
        )
        .unwrap_err();
        assert!(
            matches!(error, MailError::RecipientMismatch { .. }),
            "{error}"
        );
    }

    #[test]
    fn from_with_specials_in_the_name_parses() {
        let from = parse_from("1:1 briefs <briefs@example.com>").unwrap();
        assert_eq!(from.email.to_string(), "briefs@example.com");
        assert_eq!(from.name.as_deref(), Some("1:1 briefs"));
        assert!(parse_from("briefs@example.com").unwrap().name.is_none());
        let quoted = parse_from("\"1:1 \\\"briefs\\\"\" <briefs@example.com>").unwrap();
        assert_eq!(quoted.name.as_deref(), Some("1:1 \"briefs\""));
        assert!(parse_from("nobody").is_err());
    }

    #[test]
    fn message_id_is_stable_and_differs_per_recipient() {
        let a = message_id(&key("alex@example.com"), "example.com");
        assert_eq!(a, message_id(&key("alex@example.com"), "example.com"));
        assert_ne!(a, message_id(&key("dana@example.com"), "example.com"));
    }
}

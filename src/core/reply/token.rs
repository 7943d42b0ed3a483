//! Binding tokens: which brief a reply answers, proven with an HMAC.
//!
//! A brief carries a token twice: in its reply address (`briefs+TOKEN@example.com`,
//! plus-addressing, so "Reply" in any client sends the token back) and in its
//! Message-ID (`<tete.TOKEN.UNIQUE@example.com>`, so a reply that went to the plain
//! address still names it in `In-Reply-To` / `References`).
//!
//! # Format
//!
//! 25 bytes, written as 40 characters of lower-case RFC 4648 base32 without padding
//! (`a`–`z`, `2`–`7`): nothing a mail system rewrites or quotes, safe when a server
//! lower- or upper-cases the local part (decoding ignores case), short enough that
//! `briefs+TOKEN` stays inside the 64-octet local part limit.
//!
//! | bytes  | content                                                        |
//! |--------|----------------------------------------------------------------|
//! | 0      | version, `1`                                                   |
//! | 1..6   | the series id (10 hex digits as 5 bytes)                       |
//! | 6..10  | expiry, minutes since 1970 (u32, big-endian), rounded down     |
//! | 10..15 | recipient tag: HMAC-SHA256(secret, label ‖ address), 5 bytes   |
//! | 15..25 | signature: HMAC-SHA256(secret, label ‖ bytes 0..15), 10 bytes  |
//!
//! The recipient's address does not fit in a local part (up to 254 octets against the
//! 57 left after `briefs+`), so the token carries a keyed tag of it instead:
//! [`Binding::is_for`] and [`Binding::recipient_among`] tell which address it was
//! issued to, and without the secret nobody can compute a tag for another address.
//! 80 bits of signature are far beyond what anyone can guess by sending mail; the
//! signature is checked in constant time before anything else is believed, so an
//! expired token is reported as expired only when it is genuine.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use mail_parser::{HeaderValue, Message};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::model::normalize_email;
use crate::model::{Person, SeriesId};

/// Shortest secret accepted, in bytes: the HMAC-SHA256 block of security it promises.
pub const MIN_SECRET_LEN: usize = 32;

/// Length of a token in characters.
pub const TOKEN_LEN: usize = 40;

/// The prefix of a brief's Message-ID left part that carries a token.
pub const MESSAGE_ID_PREFIX: &str = "tete.";

/// Longest local part RFC 5321 allows.
const MAX_LOCAL_PART: usize = 64;

const VERSION: u8 = 1;
const RAW_LEN: usize = 25;
const SIGNED_LEN: usize = 15;
const TAG_LEN: usize = 5;
const SIGNATURE_LEN: usize = RAW_LEN - SIGNED_LEN;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Domain separation: the signature and the recipient tag are HMACs of different
/// messages, so one can never stand in for the other.
const SIGNATURE_LABEL: &[u8] = b"tete reply token v1\0";
const RECIPIENT_LABEL: &[u8] = b"tete reply recipient v1\0";

type HmacSha256 = Hmac<Sha256>;

/// Why a token could not be issued or was not accepted.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// The secret is shorter than [`MIN_SECRET_LEN`].
    #[error("the reply secret is {0} bytes long; at least {MIN_SECRET_LEN} are needed")]
    WeakSecret(usize),
    /// The series id is not 10 hex digits.
    #[error("series id {0:?} is not 10 hex digits")]
    BadSeries(String),
    /// The recipient address is empty.
    #[error("the recipient address is empty")]
    BadRecipient,
    /// The text is not a token at all (wrong length, characters or version).
    #[error("not a reply token: {0}")]
    Malformed(&'static str),
    /// Shaped like a token, but not signed with this secret (forged, altered, or from
    /// before the secret changed).
    #[error("the reply token's signature does not match")]
    BadSignature,
    /// Genuine, but past its expiry.
    #[error("the reply token expired at {0}")]
    Expired(DateTime<Utc>),
    /// The address cannot carry a token.
    #[error("cannot put a token into address {address:?}: {reason}")]
    BadAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A keyed fingerprint of the address a token was issued to (10 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecipientTag(pub String);

/// What a verified token proves: this series' brief was sent to the address with
/// this tag, and the token had not expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The series the brief belonged to.
    pub series: SeriesId,
    /// Whom the brief was sent to (see [`Binding::is_for`]).
    pub recipient: RecipientTag,
    /// When the token stops being accepted.
    pub expires_at: DateTime<Utc>,
}

impl Binding {
    /// True when the token was issued to `address` (compared as tete compares
    /// addresses: trimmed, lower-case), checked in constant time.
    pub fn is_for(&self, secret: &[u8], address: &str) -> bool {
        let Some(tag) = decode_hex(&self.recipient.0) else {
            return false;
        };
        match recipient_mac(secret, address) {
            Ok(mac) => mac.verify_truncated_left(&tag).is_ok(),
            Err(_) => false,
        }
    }

    /// The one of `people` the token was issued to, if any.
    pub fn recipient_among<'a>(&self, secret: &[u8], people: &'a [Person]) -> Option<&'a Person> {
        people.iter().find(|p| self.is_for(secret, &p.email))
    }
}

/// Issues and verifies tokens (a namespace: a token is its text, see the module docs).
#[derive(Clone, Copy, Debug)]
pub enum ReplyToken {}

impl ReplyToken {
    /// The token for `recipient`'s brief of `series`, accepted until `expires_at`
    /// (rounded down to the minute, so it never lives longer than asked; instants
    /// before 1970 give a token that is already expired, instants after the year
    /// 10 000 are capped there).
    pub fn issue(
        secret: &[u8],
        series: &SeriesId,
        recipient: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        check_secret(secret)?;
        let series_bytes = decode_hex(&series.0)
            .filter(|b| b.len() == 5)
            .ok_or_else(|| TokenError::BadSeries(series.0.clone()))?;
        if normalize_email(recipient).is_empty() {
            return Err(TokenError::BadRecipient);
        }
        let minutes = expires_at
            .timestamp()
            .div_euclid(60)
            .clamp(0, u32::MAX as i64) as u32;
        let mut raw = [0u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1..6].copy_from_slice(&series_bytes);
        raw[6..10].copy_from_slice(&minutes.to_be_bytes());
        let tag = recipient_mac(secret, recipient)?.finalize().into_bytes();
        raw[10..SIGNED_LEN].copy_from_slice(&tag[..TAG_LEN]);
        let signature = signature_mac(secret, &raw[..SIGNED_LEN])?
            .finalize()
            .into_bytes();
        raw[SIGNED_LEN..].copy_from_slice(&signature[..SIGNATURE_LEN]);
        Ok(encode_base32(&raw))
    }

    /// Checks `text` (any case, surrounding whitespace ignored) and says what it binds.
    /// Errors in this order: malformed, bad signature, expired (at or after `now`).
    pub fn verify(secret: &[u8], text: &str, now: DateTime<Utc>) -> Result<Binding, TokenError> {
        check_secret(secret)?;
        let raw = decode_base32(text.trim())?;
        if raw[0] != VERSION {
            return Err(TokenError::Malformed("unknown version"));
        }
        signature_mac(secret, &raw[..SIGNED_LEN])?
            .verify_truncated_left(&raw[SIGNED_LEN..])
            .map_err(|_| TokenError::BadSignature)?;
        let minutes = u32::from_be_bytes([raw[6], raw[7], raw[8], raw[9]]);
        let expires_at = Utc
            .timestamp_opt(i64::from(minutes) * 60, 0)
            .single()
            .ok_or(TokenError::Malformed("expiry out of range"))?;
        if now >= expires_at {
            return Err(TokenError::Expired(expires_at));
        }
        Ok(Binding {
            series: SeriesId(encode_hex(&raw[1..6])),
            recipient: RecipientTag(encode_hex(&raw[10..SIGNED_LEN])),
            expires_at,
        })
    }
}

/// [`ReplyToken::verify`], as a free function.
pub fn verify(secret: &[u8], text: &str, now: DateTime<Utc>) -> Result<Binding, TokenError> {
    ReplyToken::verify(secret, text, now)
}

/// True when `text` has a token's shape (length and alphabet); says nothing about
/// its signature.
pub fn looks_like_token(text: &str) -> bool {
    text.len() == TOKEN_LEN && text.bytes().all(|b| base32_value(b).is_some())
}

/// The reply address for a brief sent from `from_address`: `briefs@x` becomes
/// `briefs+TOKEN@x`. An address that already has a `+detail` keeps it
/// (`briefs+tete@x` → `briefs+tete+TOKEN@x`): servers split at the first `+`, and
/// [`token_from_address`] reads the last part.
pub fn reply_address(from_address: &str, token: &str) -> Result<String, TokenError> {
    let address = from_address.trim();
    let bad = |reason| TokenError::BadAddress {
        address: from_address.to_string(),
        reason,
    };
    if !looks_like_token(token) {
        return Err(TokenError::Malformed("not 40 base32 characters"));
    }
    let (local, domain) = address.rsplit_once('@').ok_or_else(|| bad("no @"))?;
    if local.is_empty() || domain.is_empty() {
        return Err(bad("empty local part or domain"));
    }
    if local.contains(['"', '<', '>', ' ', '@']) || domain.contains(['<', '>', ' ']) {
        return Err(bad("a bare address is needed (no display name or quoting)"));
    }
    if local.len() + 1 + token.len() > MAX_LOCAL_PART {
        return Err(bad("the local part would exceed 64 octets"));
    }
    Ok(format!("{local}+{token}@{domain}"))
}

/// The token in a reply's recipient address (`briefs+TOKEN@x`, angle brackets and a
/// display name allowed), when the part after the last `+` has a token's shape.
pub fn token_from_address(address: &str) -> Option<String> {
    let address = address.trim();
    let address = match (address.rfind('<'), address.strip_suffix('>')) {
        (Some(open), Some(inner)) if open < inner.len() => &inner[open + 1..],
        _ => address,
    };
    let (local, _domain) = address.rsplit_once('@')?;
    let (_, detail) = local.rsplit_once('+')?;
    let candidate = detail.to_ascii_lowercase();
    looks_like_token(&candidate).then_some(candidate)
}

/// The Message-ID of a brief carrying `token`: `<tete.TOKEN.UNIQUE@domain>`.
///
/// `unique` keeps ids distinct and deterministic when one token serves several
/// messages (use the brief key's digest, as `mail::message::key_digest` gives it);
/// only its ASCII letters and digits are kept, at most 64 of them.
pub fn brief_message_id(token: &str, unique: &str, domain: &str) -> String {
    let unique: String = unique
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    let domain: String = domain
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    format!("<{MESSAGE_ID_PREFIX}{token}.{unique}@{domain}>")
}

/// The token embedded in a brief's Message-ID among a reply's `In-Reply-To` (checked
/// first: the message directly answered) and `References` (newest, that is last,
/// first). Ids may come with or without angle brackets. Only the shape is checked:
/// verify the result.
pub fn token_from_message_ids<S: AsRef<str>>(
    in_reply_to: &[S],
    references: &[S],
) -> Option<String> {
    in_reply_to
        .iter()
        .chain(references.iter().rev())
        .find_map(|id| token_from_message_id(id.as_ref()))
}

/// The token a received reply carries, still to be verified: from a recipient
/// address first (`To`, `Cc`, then the envelope's `Delivered-To` / `X-Original-To`,
/// for when the token was dropped from the visible headers), else from the brief's
/// Message-ID in `In-Reply-To` / `References` (a reply to the plain address).
pub fn token_of_message(message: &Message<'_>) -> Option<String> {
    if message.parts.is_empty() {
        return None;
    }
    let visible = message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(|list| list.iter())
        .filter_map(|addr| addr.address());
    if let Some(token) = visible.into_iter().find_map(token_from_address) {
        return Some(token);
    }
    let envelope = message
        .headers_raw()
        .filter(|(name, _)| {
            name.eq_ignore_ascii_case("delivered-to") || name.eq_ignore_ascii_case("x-original-to")
        })
        .find_map(|(_, value)| token_from_address(value));
    if envelope.is_some() {
        return envelope;
    }
    token_from_message_ids(
        &message_ids(message.in_reply_to()),
        &message_ids(message.references()),
    )
}

/// The ids of an `In-Reply-To` / `References` header as mail-parser gives them.
fn message_ids<'a>(value: &'a HeaderValue<'_>) -> Vec<&'a str> {
    match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    }
}

/// The token of one `<tete.TOKEN.UNIQUE@domain>` id.
fn token_from_message_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (left, _domain) = id.rsplit_once('@')?;
    let prefix = left.get(..MESSAGE_ID_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(MESSAGE_ID_PREFIX) {
        return None;
    }
    let rest = &left[MESSAGE_ID_PREFIX.len()..];
    let token = rest.split('.').next()?.to_ascii_lowercase();
    looks_like_token(&token).then_some(token)
}

fn check_secret(secret: &[u8]) -> Result<(), TokenError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(TokenError::WeakSecret(secret.len()));
    }
    Ok(())
}

fn signature_mac(secret: &[u8], signed: &[u8]) -> Result<HmacSha256, TokenError> {
    let mut mac = new_mac(secret)?;
    mac.update(SIGNATURE_LABEL);
    mac.update(signed);
    Ok(mac)
}

fn recipient_mac(secret: &[u8], address: &str) -> Result<HmacSha256, TokenError> {
    check_secret(secret)?;
    let mut mac = new_mac(secret)?;
    mac.update(RECIPIENT_LABEL);
    mac.update(normalize_email(address).as_bytes());
    Ok(mac)
}

fn new_mac(secret: &[u8]) -> Result<HmacSha256, TokenError> {
    // HMAC takes keys of any length; the error arm exists only in the type.
    HmacSha256::new_from_slice(secret).map_err(|_| TokenError::WeakSecret(secret.len()))
}

fn encode_base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_value(byte: u8) -> Option<u8> {
    match byte.to_ascii_lowercase() {
        b @ b'a'..=b'z' => Some(b - b'a'),
        b @ b'2'..=b'7' => Some(b - b'2' + 26),
        _ => None,
    }
}

fn decode_base32(text: &str) -> Result<[u8; RAW_LEN], TokenError> {
    if text.len() != TOKEN_LEN {
        return Err(TokenError::Malformed("not 40 characters long"));
    }
    let mut raw = [0u8; RAW_LEN];
    let mut buffer = 0u32;
    let mut bits = 0u32;
    let mut at = 0;
    for byte in text.bytes() {
        let value = base32_value(byte).ok_or(TokenError::Malformed("not base32"))?;
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // 40 characters are exactly 25 bytes, so `at` stays in range.
            if let Some(slot) = raw.get_mut(at) {
                *slot = (buffer >> bits) as u8;
            }
            at += 1;
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(raw)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reply::fixture;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn series() -> SeriesId {
        SeriesId("3f9a0c21e4".into())
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn token() -> String {
        ReplyToken::issue(
            SECRET,
            &series(),
            "Dana@Example.com",
            at("2026-12-31T10:00:30Z"),
        )
        .unwrap()
    }

    #[test]
    fn an_issued_token_verifies_and_names_series_recipient_and_expiry() {
        let token = token();
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        );
        let binding = verify(SECRET, &token, at("2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(binding.series, series());
        assert_eq!(binding.expires_at, at("2026-12-31T10:00:00Z"));
        assert!(binding.is_for(SECRET, "dana@example.com"));
        assert!(binding.is_for(SECRET, " DANA@EXAMPLE.COM "));
        assert!(!binding.is_for(SECRET, "zoe@example.com"));
        assert!(!binding.is_for(b"another secret of thirty-two bytes!", "dana@example.com"));
    }

    #[test]
    fn the_recipient_is_found_among_the_two_people() {
        let people = [
            Person {
                email: "zoe@example.com".into(),
                name: None,
            },
            Person {
                email: "dana@example.com".into(),
                name: Some("Dana".into()),
            },
        ];
        let binding = verify(SECRET, &token(), at("2026-12-01T00:00:00Z")).unwrap();
        let found = binding.recipient_among(SECRET, &people).unwrap();
        assert_eq!(found.email, "dana@example.com");
    }

    #[test]
    fn upper_case_and_surrounding_spaces_still_verify() {
        let token = token().to_uppercase();
        assert!(verify(SECRET, &format!(" {token}\n"), at("2026-12-01T00:00:00Z")).is_ok());
    }

    #[test]
    fn errors_distinguish_malformed_forged_and_expired_tokens() {
        let now = at("2026-12-01T00:00:00Z");
        let token = token();
        assert!(matches!(
            verify(SECRET, "short", now),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            verify(SECRET, &"1".repeat(40), now),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(
            verify(SECRET, &"é".repeat(20), now),
            Err(TokenError::Malformed(_))
        ));
        // Every single-character change is caught by the signature (or the version).
        for i in 0..TOKEN_LEN {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let altered = String::from_utf8(bytes).unwrap();
            let result = verify(SECRET, &altered, now);
            assert!(
                matches!(
                    result,
                    Err(TokenError::BadSignature | TokenError::Malformed(_))
                ),
                "position {i}: {result:?}"
            );
        }
        let other = &[9u8; 32];
        assert_eq!(verify(other, &token, now), Err(TokenError::BadSignature));
        assert_eq!(
            verify(SECRET, &token, at("2026-12-31T10:00:00Z")),
            Err(TokenError::Expired(at("2026-12-31T10:00:00Z")))
        );
    }

    #[test]
    fn a_forged_token_is_reported_as_forged_even_when_its_expiry_is_past() {
        let mut bytes = token().into_bytes();
        bytes[39] = if bytes[39] == b'q' { b'r' } else { b'q' };
        let forged = String::from_utf8(bytes).unwrap();
        assert_eq!(
            verify(SECRET, &forged, at("2030-01-01T00:00:00Z")),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn short_secrets_bad_series_and_empty_recipients_are_refused() {
        let expiry = at("2026-12-31T10:00:00Z");
        assert_eq!(
            ReplyToken::issue(b"short", &series(), "d@x", expiry),
            Err(TokenError::WeakSecret(5))
        );
        assert_eq!(
            verify(&[7u8; 31], &token(), expiry),
            Err(TokenError::WeakSecret(31))
        );
        for bad in ["", "3f9a0c21e", "3f9a0c21e4ff", "zz9a0c21e4", "3f9a0c21é"] {
            assert!(
                matches!(
                    ReplyToken::issue(SECRET, &SeriesId(bad.into()), "d@x", expiry),
                    Err(TokenError::BadSeries(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            ReplyToken::issue(SECRET, &series(), "  ", expiry),
            Err(TokenError::BadRecipient)
        );
    }

    #[test]
    fn expiries_outside_the_encodable_range_are_clamped() {
        let past = ReplyToken::issue(SECRET, &series(), "d@x", at("1960-01-01T00:00:00Z")).unwrap();
        assert!(matches!(
            verify(SECRET, &past, at("1970-01-01T00:00:00Z")),
            Err(TokenError::Expired(_))
        ));
        let far = DateTime::<Utc>::MAX_UTC;
        let token = ReplyToken::issue(SECRET, &series(), "d@x", far).unwrap();
        let binding = verify(SECRET, &token, at("2026-12-01T00:00:00Z")).unwrap();
        assert!(binding.expires_at.timestamp() > at("9999-01-01T00:00:00Z").timestamp());
    }

    #[test]
    fn reply_addresses_carry_the_token_after_a_plus() {
        let token = token();
        assert_eq!(
            reply_address("briefs@example.com", &token).unwrap(),
            format!("briefs+{token}@example.com")
        );
        assert_eq!(
            reply_address("briefs+tete@example.com", &token).unwrap(),
            format!("briefs+tete+{token}@example.com")
        );
        for bad in [
            "example.com",
            "@example.com",
            "briefs@",
            "Briefs <briefs@example.com>",
            "\"a b\"@example.com",
            "a-very-long-local-part-for-briefs@example.com",
        ] {
            assert!(
                matches!(
                    reply_address(bad, &token),
                    Err(TokenError::BadAddress { .. })
                ),
                "{bad}"
            );
        }
        assert!(reply_address("briefs@example.com", "nope").is_err());
    }

    #[test]
    fn the_token_is_read_back_from_a_reply_address_in_any_form() {
        let token = token();
        let address = reply_address("briefs@example.com", &token).unwrap();
        assert_eq!(token_from_address(&address), Some(token.clone()));
        assert_eq!(
            token_from_address(&address.to_uppercase()),
            Some(token.clone())
        );
        assert_eq!(
            token_from_address(&format!("\"1:1 briefs\" <{address}>")),
            Some(token.clone())
        );
        let nested = reply_address("briefs+tete@example.com", &token).unwrap();
        assert_eq!(token_from_address(&nested), Some(token));
        for none in [
            "briefs@example.com",
            "briefs+tete@example.com",
            "",
            "+@",
            "<>",
            "é+é@é",
        ] {
            assert_eq!(token_from_address(none), None, "{none}");
        }
    }

    #[test]
    fn brief_message_ids_embed_the_token_and_are_found_in_a_thread() {
        let token = token();
        let id = brief_message_id(&token, "ab12<>cd", "example.com");
        assert_eq!(id, format!("<tete.{token}.ab12cd@example.com>"));
        assert!(id.len() < 200);
        let bare = id.trim_matches(['<', '>']).to_string();
        let none: [&str; 0] = [];
        assert_eq!(
            token_from_message_ids(&[bare.as_str()], &none),
            Some(token.clone())
        );
        let other = "CAF1x=abc@mail.gmail.com";
        assert_eq!(
            token_from_message_ids(&[other], &[id.as_str(), other]),
            Some(token.clone())
        );
        assert_eq!(token_from_message_ids(&[other], &[other]), None);
        assert_eq!(
            token_from_message_ids(&["<TETE.X@y>", "tete.@", "@", ""], &none),
            None
        );
    }

    #[test]
    fn base32_round_trips_every_byte_value() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for chunk in bytes.chunks(RAW_LEN) {
            if chunk.len() == RAW_LEN {
                let text = encode_base32(chunk);
                assert_eq!(decode_base32(&text).unwrap().as_slice(), chunk);
            }
        }
    }

    /// The fixtures carry a token made with [`SECRET`] by an independent
    /// implementation (Python's hmac and base64), for Dana, series 3f9a0c21e4,
    /// expiring 2027-01-01.
    #[test]
    fn every_fixture_reply_binds_to_danas_brief_by_address_and_by_message_id() {
        for name in [
            "gmail_plain.eml",
            "gmail_html.eml",
            "outlook_desktop_html.eml",
            "outlook_web.eml",
            "outlook_mobile.eml",
            "apple_mail.eml",
            "german_gmail.eml",
            "bottom_posted_quote.eml",
            "signature.eml",
        ] {
            let raw = fixture(name);
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let token = token_of_message(&message).unwrap_or_else(|| panic!("{name}"));
            let binding = verify(SECRET, &token, at("2026-12-01T00:00:00Z")).unwrap();
            assert_eq!(binding.series, series(), "{name}");
            assert!(binding.is_for(SECRET, "dana@example.com"), "{name}");
            assert_eq!(binding.expires_at, at("2027-01-01T00:00:00Z"));
            let by_id = token_from_message_ids(
                &message_ids(message.in_reply_to()),
                &message_ids(message.references()),
            );
            assert_eq!(by_id, Some(token), "{name}");
        }
    }

    #[test]
    fn a_reply_to_the_plain_address_is_bound_by_its_references() {
        let token = token();
        let raw = format!(
            "From: d@x\r\nTo: briefs@example.com\r\nDelivered-To: briefs@example.com\r\n\
             In-Reply-To: <CAx@mail.gmail.com>\r\nReferences: <tete.{token}.ab@example.com>\r\n \
             <CAx@mail.gmail.com>\r\nSubject: Re: x\r\n\r\ndone"
        );
        let message = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(token_of_message(&message), Some(token));
        assert_eq!(token_of_message(&Message::default()), None);
    }
}

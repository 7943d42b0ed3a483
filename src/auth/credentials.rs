//! What the HTTP layer of the sources needs from auth: a bearer token, and someone to
//! tell when the API refuses it. Auth owns this abstraction so that sources depend on
//! auth and never the other way round.

use std::future::Future;

use super::{AuthError, Secret};

/// Supplies one account's bearer token to the sources' HTTP helper.
pub trait Credentials: Send + Sync {
    /// A currently valid access token (refreshed ahead of its expiry).
    fn access_token(&self) -> impl Future<Output = Result<Secret, AuthError>> + Send;
    /// The server refused the token: get a fresh one now.
    fn refresh(&self) -> impl Future<Output = Result<Secret, AuthError>> + Send;
    /// The server refused even a fresh token: record that the account must sign in
    /// again and return the error to report.
    fn rejected(&self, detail: &str) -> impl Future<Output = AuthError> + Send;
}

/// The provider's error body, as much as tete understands of it: Google's
/// `{"error":{"errors":[{"reason","message"}],"code","message"}}`, Graph's
/// `{"error":{"code","message"}}` and OAuth's `{"error","error_description"}`.
/// Token endpoints and calendar APIs answer in these shapes alike.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProviderError {
    /// Machine-readable reasons (`rateLimitExceeded`, `fullSyncRequired`, `invalid_grant`...).
    pub reasons: Vec<String>,
    /// The human message, shortened.
    pub message: String,
}

impl ProviderError {
    /// Reads an error body; anything unreadable gives an empty value.
    pub fn parse(body: &[u8]) -> ProviderError {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return ProviderError::default();
        };
        let mut parsed = ProviderError::default();
        match value.get("error") {
            Some(serde_json::Value::String(code)) => {
                parsed.reasons.push(code.clone());
                if let Some(text) = value.get("error_description").and_then(|v| v.as_str()) {
                    parsed.message = text.to_string();
                }
            }
            Some(error @ serde_json::Value::Object(_)) => {
                if let Some(items) = error.get("errors").and_then(|v| v.as_array()) {
                    for item in items {
                        if let Some(reason) = item.get("reason").and_then(|v| v.as_str()) {
                            parsed.reasons.push(reason.to_string());
                        }
                    }
                }
                if let Some(code) = error.get("code").and_then(|v| v.as_str()) {
                    parsed.reasons.push(code.to_string());
                }
                if let Some(text) = error.get("message").and_then(|v| v.as_str()) {
                    parsed.message = text.to_string();
                }
            }
            _ => {}
        }
        parsed.message = shorten(&parsed.message, 300);
        parsed
    }

    /// True when `reason` is among the reasons.
    pub fn has_reason(&self, reason: &str) -> bool {
        self.reasons.iter().any(|r| r.eq_ignore_ascii_case(reason))
    }

    /// `HTTP <status> <first reason>: <message>`, for error messages.
    pub fn describe(&self, status: u16) -> String {
        let mut text = format!("HTTP {status}");
        if let Some(reason) = self.reasons.first() {
            text.push(' ');
            text.push_str(reason);
        }
        if !self.message.is_empty() {
            text.push_str(": ");
            text.push_str(&self.message);
        }
        text
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The messages of an error and of every error it was caused by, joined with `: `.
/// The one chain walker: network errors hide their useful part (DNS, TLS, refused
/// connection) in their sources.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_bodies_give_their_code_and_description() {
        let error = ProviderError::parse(
            br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        );
        assert!(error.has_reason("invalid_grant"));
        assert_eq!(error.message, "Token has been expired or revoked.");
        assert_eq!(ProviderError::parse(b"<html>"), ProviderError::default());
    }
}

//! The OAuth 2.0 device authorization grant (RFC 8628), for signing in on a headless
//! server: tete shows an address and a short code, the user enters the code on any
//! device, and tete polls the token endpoint until the sign-in completes.
//!
//! Provider-neutral: Microsoft's identity platform (`…/oauth2/v2.0/devicecode`) and
//! Google's (`…/device/code`, which spells `verification_url`) both work. Errors are
//! dispatched on the JSON `error` string, not on the HTTP status.

use serde::Deserialize;
use std::time::{Duration, Instant};

/// `grant_type` of the polling requests.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Where and as whom to sign in.
#[derive(Clone)]
pub struct DeviceClient {
    /// The device authorization endpoint.
    pub device_authorization_url: reqwest::Url,
    /// The token endpoint.
    pub token_url: reqwest::Url,
    /// The OAuth client id.
    pub client_id: String,
    /// Only for providers that want one (Google); public clients send none
    /// (Microsoft refuses a secret from a public client: AADSTS700025).
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceClient")
            .field(
                "device_authorization_url",
                &self.device_authorization_url.as_str(),
            )
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// How long one "second" of the protocol lasts. Always one real second, except in
/// tests, which shrink it so `interval` and `slow_down` can be checked quickly.
#[derive(Clone, Copy, Debug)]
pub struct PollClock {
    /// The length of one protocol second.
    pub second: Duration,
}

impl Default for PollClock {
    fn default() -> Self {
        PollClock {
            second: Duration::from_secs(1),
        }
    }
}

/// The device authorization response: what to show the user, and how to poll.
#[derive(Clone, Deserialize)]
pub struct DeviceAuthorization {
    /// Secret code tete polls with.
    pub device_code: String,
    /// The short code the user types.
    pub user_code: String,
    /// Where the user types it.
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    /// The address with the code filled in, if the provider offers one (Microsoft does not).
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// Lifetime of the codes in seconds (Microsoft: 900).
    pub expires_in: u64,
    /// Seconds between polls (RFC 8628 default: 5).
    #[serde(default = "default_interval")]
    pub interval: u64,
    /// Microsoft's ready-made instruction text.
    #[serde(default)]
    pub message: Option<String>,
}

fn default_interval() -> u64 {
    5
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl DeviceAuthorization {
    /// What to tell the person at the terminal.
    pub fn instructions(&self) -> String {
        match &self.verification_uri_complete {
            Some(complete) => format!(
                "To sign in, open {complete}\n(or open {} and enter the code {}).\nThe code expires in {} minutes.",
                self.verification_uri,
                self.user_code,
                self.expires_in.div_ceil(60)
            ),
            None => format!(
                "To sign in, open {} on any device and enter the code {}.\nThe code expires in {} minutes.",
                self.verification_uri,
                self.user_code,
                self.expires_in.div_ceil(60)
            ),
        }
    }
}

/// The tokens a completed sign-in yields.
#[derive(Clone, Deserialize)]
pub struct DeviceTokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token (present when `offline_access` was granted).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Access token lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for DeviceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceTokens")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why a device sign-in did not complete. Messages carry the provider's error code
/// and description, never codes or tokens.
#[derive(Debug, thiserror::Error)]
pub enum DeviceFlowError {
    /// The user refused at the verification page.
    #[error("the sign-in was declined at the verification page")]
    Declined,
    /// Nobody entered the code in time.
    #[error("the code expired before anyone completed the sign-in; run the command again")]
    Expired,
    /// The provider does not know the device code (a client or tenant mix-up).
    #[error("the identity platform did not recognise the device code (check client_id and tenant)")]
    BadVerificationCode,
    /// Any other refusal, e.g. `invalid_client` when public client flows are not allowed.
    #[error("the identity platform refused: {code}: {description}")]
    Refused {
        /// The `error` value.
        code: String,
        /// The first line of `error_description`.
        description: String,
    },
    /// The endpoint could not be reached, or answered something that is not OAuth.
    #[error("device sign-in request failed: {0}")]
    Transport(String),
}

/// An OAuth error body: `{"error": "...", "error_description": "...", ...}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OAuthError {
    error: String,
    error_description: String,
}

impl OAuthError {
    /// The description's first line: Microsoft appends trace and correlation ids.
    fn short_description(&self) -> String {
        let first = self
            .error_description
            .lines()
            .next()
            .unwrap_or_default()
            .trim();
        first.chars().take(300).collect()
    }
}

fn transport(error: reqwest::Error) -> DeviceFlowError {
    // Without the URL: nothing secret is in it, but keep messages uniform.
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    DeviceFlowError::Transport(text)
}

async fn post_form(
    http: &reqwest::Client,
    url: &reqwest::Url,
    form: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, Vec<u8>), DeviceFlowError> {
    let response = http
        .post(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    Ok((status, body.to_vec()))
}

/// Asks for a device code and a user code for `scopes`.
pub async fn start(
    http: &reqwest::Client,
    client: &DeviceClient,
    scopes: &[String],
) -> Result<DeviceAuthorization, DeviceFlowError> {
    let scope = scopes.join(" ");
    let mut form = vec![
        ("client_id", client.client_id.as_str()),
        ("scope", scope.as_str()),
    ];
    if let Some(secret) = &client.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let (status, body) = post_form(http, &client.device_authorization_url, &form).await?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            DeviceFlowError::Transport(format!("unreadable device authorization answer: {e}"))
        });
    }
    Err(refusal(status, &body))
}

fn refusal(status: reqwest::StatusCode, body: &[u8]) -> DeviceFlowError {
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(error) if !error.error.is_empty() => classify(&error),
        _ => DeviceFlowError::Transport(format!("HTTP {} without an OAuth error", status.as_u16())),
    }
}

fn classify(error: &OAuthError) -> DeviceFlowError {
    match error.error.as_str() {
        "authorization_declined" | "access_denied" => DeviceFlowError::Declined,
        "expired_token" => DeviceFlowError::Expired,
        "bad_verification_code" => DeviceFlowError::BadVerificationCode,
        code => DeviceFlowError::Refused {
            code: code.to_string(),
            description: error.short_description(),
        },
    }
}

/// Polls the token endpoint until the user completes (or refuses) the sign-in:
/// `authorization_pending` keeps polling at `interval`, `slow_down` adds 5 seconds
/// to it for all later polls, and the codes' lifetime bounds the whole wait.
pub async fn poll(
    http: &reqwest::Client,
    client: &DeviceClient,
    authorization: &DeviceAuthorization,
    clock: PollClock,
) -> Result<DeviceTokens, DeviceFlowError> {
    let deadline =
        Instant::now() + clock.second * u32::try_from(authorization.expires_in).unwrap_or(u32::MAX);
    // A zero interval would poll in a tight loop; RFC 8628 never asks for less than a second.
    let mut interval = authorization.interval.max(1);
    loop {
        let wait = clock.second * u32::try_from(interval).unwrap_or(u32::MAX);
        if Instant::now() + wait > deadline {
            return Err(DeviceFlowError::Expired);
        }
        tokio::time::sleep(wait).await;
        let mut form = vec![
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", client.client_id.as_str()),
            ("device_code", authorization.device_code.as_str()),
        ];
        if let Some(secret) = &client.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let (status, body) = post_form(http, &client.token_url, &form).await?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| DeviceFlowError::Transport(format!("unreadable token answer: {e}")));
        }
        let error = serde_json::from_slice::<OAuthError>(&body).unwrap_or_default();
        match error.error.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += 5,
            "" => {
                return Err(DeviceFlowError::Transport(format!(
                    "HTTP {} without an OAuth error",
                    status.as_u16()
                )));
            }
            _ => return Err(classify(&error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_spelling_of_the_verification_address_is_accepted() {
        let auth: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"d","user_code":"ABCD-EFGH","verification_url":"https://www.google.com/device","expires_in":1800}"#,
        )
        .unwrap();
        assert_eq!(auth.verification_uri, "https://www.google.com/device");
        assert_eq!(auth.interval, 5);
        assert!(auth.instructions().contains("ABCD-EFGH"));
        assert!(!format!("{auth:?}").contains("\"d\""));
    }

    #[test]
    fn microsoft_error_descriptions_lose_their_trace_lines() {
        let error: OAuthError = serde_json::from_str(
            r#"{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000218]}"#,
        )
        .unwrap();
        let text = classify(&error).to_string();
        assert!(text.contains("AADSTS7000218"), "{text}");
        assert!(!text.contains("Trace ID"), "{text}");
    }

    #[test]
    fn declines_expiry_and_unknown_codes_read_clearly() {
        let of = |code: &str| OAuthError {
            error: code.into(),
            error_description: String::new(),
        };
        assert!(matches!(
            classify(&of("authorization_declined")),
            DeviceFlowError::Declined
        ));
        assert!(matches!(
            classify(&of("access_denied")),
            DeviceFlowError::Declined
        ));
        assert!(matches!(
            classify(&of("expired_token")),
            DeviceFlowError::Expired
        ));
        assert!(matches!(
            classify(&of("bad_verification_code")),
            DeviceFlowError::BadVerificationCode
        ));
    }
}

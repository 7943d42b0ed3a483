//! The one HTTP helper both providers use: a per-account request budget, retries
//! with exponential backoff and jitter (honouring `Retry-After`), one token refresh
//! on 401, bounded bodies, request counting, and status → [`SourceError`] mapping.
//!
//! Errors name the URL's host and path only: sync tokens and page tokens travel in
//! query strings, access tokens in headers, and neither may reach a log.

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use url::Url;

use super::SourceError;
use crate::auth::AuthError;
use crate::auth::credentials::{Credentials, ProviderError, error_chain, shorten};

/// How often and how long to retry.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The first backoff; doubled on every further attempt.
    pub base: Duration,
    /// Upper bound of one backoff, and of a `Retry-After` tete is willing to sleep
    /// through (a longer one ends the sync with [`SourceError::RateLimited`]).
    pub max: Duration,
    /// Attempts per request, the first included (a 401 refresh is not counted).
    pub attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            max: Duration::from_secs(32),
            attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// Backoff before retry number `retry` (0-based): `base·2^retry` capped at `max`,
    /// then "equal jitter" (half fixed, half random) so accounts that failed together
    /// do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max);
        let half = exp / 2;
        let jitter = rand::thread_rng().gen_range(0.0..=1.0);
        half + half.mul_f64(jitter)
    }
}

/// Options of one account's [`Http`].
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Retries.
    pub retry: RetryPolicy,
    /// Sustained requests per second for this account (token bucket); `0` = unlimited.
    /// Google allows 600 requests/minute per user: 5/s keeps tete far below it.
    pub requests_per_second: f64,
    /// Requests that may go at once before the rate applies.
    pub burst: u32,
    /// Largest response body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            retry: RetryPolicy::default(),
            requests_per_second: 5.0,
            burst: 10,
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// A token bucket: `burst` requests at once, then `rate` per second.
#[derive(Debug)]
struct Budget {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Budget {
    fn new(rate: f64, burst: u32) -> Budget {
        let burst = f64::from(burst.max(1));
        Budget {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    async fn acquire(&self) {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return;
        }
        loop {
            let wait = {
                let mut state = match self.state.lock() {
                    Ok(state) => state,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let now = Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * self.rate;
                state.0 = (state.0 + refill).min(self.burst);
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.0) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// One account's HTTP client. Share the inner `reqwest::Client` across accounts
/// (connection pool); give each account its own `Http` (budget and counter).
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    options: HttpOptions,
    budget: Budget,
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// What a failed answer calls for.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Wait (the server's `Retry-After`, or a backoff) and try again.
    Retry {
        after: Option<Duration>,
        rate_limited: bool,
    },
    /// Refresh the token once and try again.
    Unauthorized,
    /// Give up with this error.
    Fail(FailKind),
}

#[derive(Debug, PartialEq, Eq)]
enum FailKind {
    Gone,
    QuotaExceeded,
    Permanent,
}

fn classify(status: StatusCode, error: &ProviderError, retry_after: Option<Duration>) -> Verdict {
    let rate_reason = error.has_reason("rateLimitExceeded")
        || error.has_reason("userRateLimitExceeded")
        || error.has_reason("TooManyRequests");
    match status.as_u16() {
        401 => Verdict::Unauthorized,
        429 => Verdict::Retry {
            after: retry_after,
            rate_limited: true,
        },
        403 if rate_reason => Verdict::Retry {
            after: retry_after,
            rate_limited: true,
        },
        // Account-level abuse limits: retrying within minutes only makes it worse.
        403 if error.has_reason("quotaExceeded") => Verdict::Fail(FailKind::QuotaExceeded),
        410 => Verdict::Fail(FailKind::Gone),
        500..=599 => Verdict::Retry {
            after: retry_after,
            rate_limited: false,
        },
        _ => Verdict::Fail(FailKind::Permanent),
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

/// An API base URL: `configured` or `default`, always ending in `/` (so relative
/// paths append); `name` names the account in errors.
pub fn base_url(name: &str, configured: Option<&str>, default: &str) -> Result<Url, AuthError> {
    let text = configured.unwrap_or(default);
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    Url::parse(&with_slash)
        .map_err(|e| AuthError::Config(format!("account '{name}': api_base_url is not a URL: {e}")))
}

/// Host and path of a URL: what error messages may show.
pub fn describe_url(url: &Url) -> String {
    format!("{}{}", url.host_str().unwrap_or(""), url.path())
}

/// A reqwest error without its URL (which may carry a sync token).
fn network_detail(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    let mut detail = kind.to_string();
    if let Some(cause) = std::error::Error::source(&error) {
        detail.push_str(": ");
        detail.push_str(&error_chain(cause));
    }
    shorten(&detail, 300)
}

impl Http {
    /// A `reqwest::Client` suitable for provider APIs: rustls, timeouts, no redirects
    /// (a redirect would carry the bearer token to wherever it points).
    pub fn default_client() -> Result<reqwest::Client, SourceError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("tete/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SourceError::Permanent {
                what: "http client".into(),
                detail: network_detail(error),
            })
    }

    /// One account's helper over a shared client.
    pub fn new(client: reqwest::Client, options: HttpOptions) -> Http {
        let budget = Budget::new(options.requests_per_second, options.burst);
        Http {
            client,
            options,
            budget,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Requests sent so far (every attempt counts), for `tete status` and benchmarks.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Response body bytes read so far (all answers, errors included; headers not counted).
    pub fn bytes_received(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The shared `reqwest::Client`, e.g. for OAuth token requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs `url` as JSON with the account's bearer token, retrying as the answer
    /// calls for. A non-2xx answer is always an error, never an empty result.
    pub async fn get_json<T, C>(&self, url: &Url, credentials: &C) -> Result<T, SourceError>
    where
        T: DeserializeOwned,
        C: Credentials,
    {
        self.get_json_with(url, &[], credentials).await
    }

    /// [`Http::get_json`] with extra request headers (Graph's `Prefer`, for example).
    pub async fn get_json_with<T, C>(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        credentials: &C,
    ) -> Result<T, SourceError>
    where
        T: DeserializeOwned,
        C: Credentials,
    {
        let what = describe_url(url);
        let policy = &self.options.retry;
        let mut token = credentials.access_token().await?;
        let mut refreshed = false;
        let mut retry = 0u32;
        loop {
            self.budget.acquire().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .client
                .get(url.clone())
                .bearer_auth(token.expose())
                .header(ACCEPT, "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let sent = request.send().await;
            let outcome = match sent {
                Ok(response) => self.read(response).await,
                Err(error) => Err(network_detail(error)),
            };
            let (status, retry_after, body) = match outcome {
                Ok(answer) => answer,
                Err(detail) => {
                    if retry + 1 < policy.attempts {
                        tracing::debug!(%what, %detail, retry, "network error, retrying");
                        tokio::time::sleep(policy.backoff(retry)).await;
                        retry += 1;
                        continue;
                    }
                    return Err(SourceError::Transient { what, detail });
                }
            };
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|error| SourceError::Permanent {
                    what,
                    detail: format!("malformed answer: {error}"),
                });
            }
            let error = ProviderError::parse(&body);
            let detail = error.describe(status.as_u16());
            match classify(status, &error, retry_after) {
                Verdict::Unauthorized if !refreshed => {
                    tracing::info!(%what, "access token refused, refreshing it once");
                    refreshed = true;
                    token = credentials.refresh().await?;
                }
                Verdict::Unauthorized => return Err(credentials.rejected(&detail).await.into()),
                Verdict::Retry {
                    after,
                    rate_limited,
                } => {
                    let wait = after.unwrap_or_else(|| policy.backoff(retry));
                    let out_of_attempts = retry + 1 >= policy.attempts;
                    if out_of_attempts || wait > policy.max {
                        return Err(if rate_limited {
                            SourceError::RateLimited {
                                what,
                                retry_after: wait.max(policy.backoff(retry)),
                            }
                        } else {
                            SourceError::Transient { what, detail }
                        });
                    }
                    tracing::debug!(%what, %detail, ?wait, retry, "retrying");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                Verdict::Fail(FailKind::Gone) => return Err(SourceError::CursorExpired { what }),
                Verdict::Fail(FailKind::QuotaExceeded) => {
                    return Err(SourceError::RateLimited {
                        what,
                        retry_after: Duration::from_secs(3600),
                    });
                }
                Verdict::Fail(FailKind::Permanent) => {
                    return Err(SourceError::Permanent { what, detail });
                }
            }
        }
    }

    /// Reads status, `Retry-After` and at most `max_body_bytes` of body.
    async fn read(
        &self,
        mut response: reqwest::Response,
    ) -> Result<(StatusCode, Option<Duration>, Vec<u8>), String> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let limit = self.options.max_body_bytes;
        let too_big = || format!("answer larger than {limit} bytes");
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network_detail)? {
            if body.len() + chunk.len() > limit {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok((status, retry_after, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_rate_limit_bodies_are_retried_like_429() {
        let body = br#"{"error":{"errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded","message":"Rate Limit Exceeded"}],"code":403,"message":"Rate Limit Exceeded"}}"#;
        let error = ProviderError::parse(body);
        assert!(error.has_reason("userRateLimitExceeded"));
        let verdict = classify(StatusCode::FORBIDDEN, &error, None);
        assert_eq!(
            verdict,
            Verdict::Retry {
                after: None,
                rate_limited: true
            }
        );
        let forbidden = ProviderError::parse(
            br#"{"error":{"errors":[{"reason":"forbiddenForNonOrganizer"}],"code":403,"message":"no"}}"#,
        );
        assert_eq!(
            classify(StatusCode::FORBIDDEN, &forbidden, None),
            Verdict::Fail(FailKind::Permanent)
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: 5,
        };
        let first = policy.backoff(0);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let late = policy.backoff(10);
        assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
    }

    #[test]
    fn error_locations_omit_the_query_string() {
        let url = Url::parse("https://www.googleapis.com/calendar/v3/x?syncToken=SECRET").unwrap();
        assert_eq!(describe_url(&url), "www.googleapis.com/calendar/v3/x");
    }

    #[tokio::test]
    async fn the_budget_spaces_requests_after_the_burst() {
        let budget = Budget::new(20.0, 2);
        let start = Instant::now();
        for _ in 0..4 {
            budget.acquire().await;
        }
        // Two free, then two at 50 ms each.
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }
}

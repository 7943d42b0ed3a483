//! The installed-app sign-in: authorization code with PKCE (S256) and a loopback
//! redirect, usable on a headless server.
//!
//! tete listens on `127.0.0.1:<random port>` and prints the address to open. When the
//! browser runs on the same machine (or the port is tunnelled), the provider's
//! redirect reaches the listener. On a headless server the browser is elsewhere: its
//! redirect lands on an unreachable `http://127.0.0.1:PORT/?code=…&state=…` page,
//! and the user pastes that whole address back. Whichever comes first wins; `state`
//! is checked either way.

use chrono::{DateTime, Utc};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RequestTokenError, Scope, TokenResponse,
};
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::AuthError;
use super::google::OAuthClient;
use super::tokens::Secret;

/// Tokens from a completed sign-in.
#[derive(Debug, Clone)]
pub struct GrantedTokens {
    /// The first access token.
    pub access_token: Secret,
    /// The refresh token tete keeps.
    pub refresh_token: Secret,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// The scopes granted (as the provider reports them, else as requested).
    pub scopes: Vec<String>,
}

/// What one sign-in asks for.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// Extra authorization parameters (Google: `access_type=offline`, `prompt=consent`).
    pub extra_params: Vec<(String, String)>,
    /// Give up after this long.
    pub timeout: Duration,
}

impl SignInRequest {
    /// A Google sign-in that returns a refresh token: `access_type=offline` asks for
    /// one, `prompt=consent` makes Google issue a new one even on a repeated sign-in.
    pub fn google(scopes: Vec<String>) -> SignInRequest {
        SignInRequest {
            scopes,
            extra_params: vec![
                ("access_type".into(), "offline".into()),
                ("prompt".into(), "consent".into()),
            ],
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// How the authorization code arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// The browser's redirect reached the loopback listener.
    Loopback,
    /// The user pasted the redirected address.
    Pasted,
}

/// Runs the sign-in: prints the address to open on `output`, waits for the redirect
/// on the loopback listener or a pasted address on `input` (one per line), checks
/// `state`, and exchanges the code (with the PKCE verifier) for tokens.
///
/// A pasted address with the wrong `state` ends the sign-in with
/// [`AuthError::StateMismatch`]; a request to the listener with the wrong `state` is
/// answered with an error page and ignored (any local process can reach the port).
/// When `input` reaches its end, tete keeps waiting for the listener.
pub async fn sign_in<R, W>(
    client: &OAuthClient,
    request: &SignInRequest,
    http: &reqwest::Client,
    input: R,
    output: &mut W,
) -> Result<(GrantedTokens, CodeSource), AuthError>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let redirect = Url::parse(&format!("http://127.0.0.1:{port}/"))
        .map_err(|e| AuthError::Config(e.to_string()))?;
    let oauth = client.oauth_with_redirect(&redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut authorize = oauth
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in &request.scopes {
        authorize = authorize.add_scope(Scope::new(scope.clone()));
    }
    for (name, value) in &request.extra_params {
        authorize = authorize.add_extra_param(name.clone(), value.clone());
    }
    let (url, state) = authorize.url();
    writeln!(
        output,
        "Open this address in a browser and allow access:\n\n  {url}\n\n\
         If the browser runs on another machine, it ends on a page that cannot be reached \
         (http://127.0.0.1:{port}/...). Copy that page's whole address from the address bar \
         and paste it here, then press Enter.\n"
    )?;
    write!(output, "Address: ")?;
    output.flush()?;

    let wait = wait_for_code(&listener, input, state.secret());
    let (code, source) = tokio::time::timeout(request.timeout, wait)
        .await
        .map_err(|_| AuthError::TimedOut(request.timeout))??;
    writeln!(output)?;

    let answer = oauth
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await;
    let response = answer.map_err(|error| match error {
        RequestTokenError::ServerResponse(error) => {
            let mut text = error.error().to_string();
            if let Some(description) = error.error_description() {
                text.push_str(": ");
                text.push_str(description);
            }
            AuthError::Exchange(text)
        }
        RequestTokenError::Request(_) => {
            AuthError::Exchange("the token endpoint is unreachable".into())
        }
        RequestTokenError::Parse(..) => {
            AuthError::Exchange("the token endpoint's answer is unreadable".into())
        }
        RequestTokenError::Other(text) => AuthError::Exchange(text),
    })?;
    let refresh_token = response
        .refresh_token()
        .map(|token| Secret::new(token.secret().clone()))
        .ok_or(AuthError::NoRefreshToken)?;
    let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600));
    let scopes = match response.scopes() {
        Some(granted) => granted.iter().map(|s| s.to_string()).collect(),
        None => request.scopes.clone(),
    };
    Ok((
        GrantedTokens {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token,
            expires_at: super::tokens::expiry(Utc::now(), lifetime),
            scopes,
        },
        source,
    ))
}

/// What a redirect address carries.
#[derive(Debug, PartialEq, Eq)]
enum Redirect {
    Code {
        code: String,
        state: Option<String>,
    },
    Error {
        error: String,
        state: Option<String>,
    },
    Nothing,
}

fn parse_redirect_query(query: &str) -> Redirect {
    let mut code = None;
    let mut error = None;
    let mut description = None;
    let mut state = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "code" => code = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            _ => {}
        }
    }
    match (code, error) {
        (_, Some(error)) => Redirect::Error {
            error: match description {
                Some(description) => format!("{error}: {description}"),
                None => error,
            },
            state,
        },
        (Some(code), None) => Redirect::Code { code, state },
        (None, None) => Redirect::Nothing,
    }
}

/// Parses a pasted line: a whole address, or just its query (`code=…&state=…`).
fn parse_pasted(line: &str) -> Result<Redirect, AuthError> {
    let line = line.trim();
    let query = match Url::parse(line) {
        Ok(url) => url.query().unwrap_or("").to_string(),
        Err(_) => line.trim_start_matches('?').to_string(),
    };
    match parse_redirect_query(&query) {
        Redirect::Nothing => Err(AuthError::BadRedirect(
            "it has no code; paste the whole address of the page the browser ended on".into(),
        )),
        redirect => Ok(redirect),
    }
}

fn state_matches(received: Option<&str>, expected: &str) -> bool {
    // Not secret-dependent timing in any useful sense (the state is single-use), but
    // compare without an early exit anyway.
    received.is_some_and(|r| {
        r.len() == expected.len()
            && r.bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

async fn wait_for_code<R: AsyncBufRead + Unpin>(
    listener: &TcpListener,
    input: R,
    expected_state: &str,
) -> Result<(String, CodeSource), AuthError> {
    let mut lines = input.lines();
    let mut input_open = true;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                match serve_redirect(stream, expected_state).await {
                    Ok(Some(Ok(code))) => return Ok((code, CodeSource::Loopback)),
                    Ok(Some(Err(error))) => return Err(error),
                    Ok(None) => {}
                    Err(error) => tracing::debug!(%error, "loopback request failed"),
                }
            }
            line = lines.next_line(), if input_open => {
                match line? {
                    None => input_open = false,
                    Some(line) if line.trim().is_empty() => {}
                    Some(line) => match parse_pasted(&line)? {
                        Redirect::Code { code, state } => {
                            if !state_matches(state.as_deref(), expected_state) {
                                return Err(AuthError::StateMismatch);
                            }
                            return Ok((code, CodeSource::Pasted));
                        }
                        Redirect::Error { error, state } => {
                            if !state_matches(state.as_deref(), expected_state) {
                                return Err(AuthError::StateMismatch);
                            }
                            return Err(AuthError::Denied(error));
                        }
                        Redirect::Nothing => {}
                    },
                }
            }
        }
    }
}

/// Answers one request on the listener. `None`: not the redirect (or a wrong
/// `state`), keep waiting.
async fn serve_redirect(
    mut stream: TcpStream,
    expected_state: &str,
) -> std::io::Result<Option<Result<String, AuthError>>> {
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "slow client"))??;
    let target = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("/");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let (status, message, outcome) = match parse_redirect_query(query) {
        Redirect::Nothing => ("404 Not Found", "Not the sign-in address.", None),
        Redirect::Code { state, .. } | Redirect::Error { state, .. }
            if !state_matches(state.as_deref(), expected_state) =>
        {
            tracing::warn!("ignored a loopback request with the wrong state");
            (
                "400 Bad Request",
                "This address belongs to another sign-in attempt.",
                None,
            )
        }
        Redirect::Code { code, .. } => (
            "200 OK",
            "tete is signed in. You can close this tab.",
            Some(Ok(code)),
        ),
        Redirect::Error { error, .. } => (
            "200 OK",
            "Sign-in was refused. See tete's terminal.",
            Some(Err(AuthError::Denied(error))),
        ),
    };
    let body = format!("<!doctype html><title>tete</title><p>{message}</p>\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await.ok();
    Ok(outcome)
}

/// Reads a request head (up to 16 KiB).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() > 16 * 1024 {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_addresses_give_code_and_state() {
        let redirect =
            parse_pasted("  http://127.0.0.1:4711/?state=abc&code=4%2F0AX&scope=x \n").unwrap();
        assert_eq!(
            redirect,
            Redirect::Code {
                code: "4/0AX".into(),
                state: Some("abc".into())
            }
        );
        assert!(matches!(
            parse_pasted("code=c&state=s").unwrap(),
            Redirect::Code { .. }
        ));
        assert!(matches!(
            parse_pasted("http://127.0.0.1:1/?error=access_denied&state=s").unwrap(),
            Redirect::Error { .. }
        ));
        assert!(parse_pasted("hello").is_err());
    }

    #[test]
    fn state_must_match_exactly() {
        assert!(state_matches(Some("abc"), "abc"));
        assert!(!state_matches(Some("abd"), "abc"));
        assert!(!state_matches(Some("ab"), "abc"));
        assert!(!state_matches(None, "abc"));
    }
}

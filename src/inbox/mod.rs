//! Reading the replies to tete's emails from an IMAP mailbox (the daemon's reply
//! reader, `daemon/inbox.rs`, drives it; `pass::replies` applies what it reads).
//!
//! One [`Mailbox`] is one IMAP session on one selected mailbox: [`Mailbox::connect`]
//! (TCP, TLS or STARTTLS, LOGIN or XOAUTH2, SELECT), then [`Mailbox::new_messages`] above
//! a UID watermark the caller keeps per [`Mailbox::uid_validity`], [`Mailbox::mark`] once
//! a message is handled, and [`Mailbox::wait`] (IDLE) for the next one.
//!
//! The server is outside data. Nothing here panics on what it sends: every command has a
//! timeout and a budget of bytes it may read (see `transport`), a message larger than
//! the caller's `max_size` is listed but never downloaded, and error messages carry at
//! most a short, cleaned excerpt of the server's words, never the password or token.
//!
//! After an error other than [`InboxError::Refused`] the session may be out of step with
//! the server (a timeout mid-response, a dropped connection), so it is closed and every
//! later call returns [`InboxError::Closed`]: connect again.

mod transport;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_imap::error::Error as ImapError;
use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{Response, Status};
use async_imap::types::UnsolicitedResponse;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;

use transport::{Budget, Conn};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// TLS from the first byte (IMAPS, usually port 993).
    Tls,
    /// Plain TCP upgraded with STARTTLS before logging in (usually port 143); a server
    /// that refuses STARTTLS is an error, never a fallback to plaintext.
    StartTls,
    /// Plaintext all the way. The caller allows it only on loopback.
    None,
}

/// How tete proves who it is.
#[derive(Clone)]
pub enum ImapAuth {
    /// IMAP LOGIN with [`ImapSettings::username`] and this password.
    Password(String),
    /// SASL XOAUTH2 (Google, Microsoft 365) with an OAuth access token.
    XOAuth2 {
        /// The mailbox's address, as the token's owner.
        user: String,
        /// A current access token with the provider's IMAP scope.
        access_token: String,
    },
}

// Written by hand so that a settings value can be logged without its secret.
impl fmt::Debug for ImapAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapAuth::Password(_) => f.write_str("Password(<redacted>)"),
            ImapAuth::XOAuth2 { user, .. } => f
                .debug_struct("XOAuth2")
                .field("user", user)
                .field("access_token", &"<redacted>")
                .finish(),
        }
    }
}

/// Where the mailbox is and how to open it.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// The server's name, also the name its certificate must carry (an IP address works
    /// when the certificate names that address).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// TLS, STARTTLS or (loopback only) plaintext.
    pub security: ImapSecurity,
    /// The user name for LOGIN (with [`ImapAuth::Password`]).
    pub username: String,
    /// Password or OAuth token.
    pub auth: ImapAuth,
    /// The mailbox to select, e.g. `INBOX`.
    pub mailbox: String,
    /// Extra PEM root certificates trusted besides webpki-roots (a private CA; tests).
    pub ca_file: Option<PathBuf>,
    /// The limit on connecting and on each command.
    pub timeout: Duration,
}

/// One message above the watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its UID, valid while [`Mailbox::uid_validity`] stays the same.
    pub uid: u32,
    /// Its size as the server reports it (RFC822.SIZE).
    pub size: u32,
    /// The whole message, or `None` when it is larger than the caller's `max_size` and
    /// so was not downloaded.
    pub raw: Option<Vec<u8>>,
}

/// What became of a message, as the mailbox shows it to a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Handled: `\Seen` is added.
    Processed,
    /// Could not be handled: `\Flagged` is added and the message stays, so a human sees it.
    Failed,
}

/// What went wrong talking to the IMAP server. No message contains the password or token.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        /// The server's name.
        host: String,
        /// The port.
        port: u16,
        /// The operating system's reason.
        reason: String,
    },
    /// The TLS handshake failed, e.g. a certificate no trusted root vouches for.
    #[error("TLS with {host} failed: {reason}")]
    Tls {
        /// The server's name.
        host: String,
        /// rustls's reason.
        reason: String,
    },
    /// The extra CA file could not be read or holds no certificate.
    #[error("the CA file {} cannot be used: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The server refused the login.
    #[error("{host} refused the login of {user}: {reason}")]
    Auth {
        /// The server's name.
        host: String,
        /// The user tete logged in as.
        user: String,
        /// The server's words, cleaned, with any echo of the secret removed.
        reason: String,
    },
    /// The server answered a command NO or BAD; the session is still usable.
    #[error("the IMAP server refused {command}: {reason}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The server's words, cleaned and shortened.
        reason: String,
    },
    /// The server did not finish answering in time.
    #[error("IMAP {command} timed out after {after:?}")]
    Timeout {
        /// The command (or `connect`).
        command: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The connection failed or the server sent more than a command allows.
    #[error("IMAP {command} failed: {reason}")]
    Io {
        /// The command.
        command: &'static str,
        /// Why.
        reason: String,
    },
    /// The server sent something that is not IMAP, or not what the command asked for.
    #[error("the IMAP server broke the protocol in {command}: {reason}")]
    Protocol {
        /// The command.
        command: &'static str,
        /// What was wrong, shortened.
        reason: String,
    },
    /// A setting (user name, password, mailbox name) holds a character IMAP cannot send,
    /// such as a line break. The value itself is not repeated: it may be the secret.
    #[error("the {0} contains a character IMAP cannot send")]
    Unsendable(&'static str),
    /// An earlier error closed the session.
    #[error("the IMAP session was closed by an earlier error; connect again")]
    Closed,
}

/// The async-imap session over tete's stream.
type Session = async_imap::Session<Conn>;

/// What greeting, LOGIN, SELECT, STORE, NOOP and IDLE may read: far more than any honest
/// answer, far less than memory.
const CONTROL_BUDGET: u64 = 1 << 20;
/// What UID SEARCH may read: about 3 million UIDs.
const SEARCH_BUDGET: u64 = 32 << 20;
/// What a FETCH may read beyond the message bytes it asked for (the response's framing,
/// flags, and whatever unsolicited lines come along).
const FETCH_OVERHEAD: u64 = 64 << 10;
/// The longest excerpt of the server's words kept in an error.
const EXCERPT_CHARS: usize = 200;

/// An open IMAP session with the mailbox selected.
#[derive(Debug)]
pub struct Mailbox {
    /// `None` once an error closed it (see [`InboxError::Closed`]).
    session: Option<Session>,
    budget: Budget,
    uid_validity: u32,
    idle: bool,
    timeout: Duration,
}

impl Mailbox {
    /// Connects, secures the connection as `settings.security` says, logs in (LOGIN, or
    /// SASL XOAUTH2: `user={user}\x01auth=Bearer {token}\x01\x01`), asks the capabilities
    /// and selects `settings.mailbox`. Each step must finish within `settings.timeout`.
    pub async fn connect(settings: &ImapSettings) -> Result<Mailbox, InboxError> {
        let limit = settings.timeout;
        // Read the CA file before connecting: a bad file is the caller's error, not the
        // network's, and should say so even when the server is down.
        let connector = match settings.security {
            ImapSecurity::Tls | ImapSecurity::StartTls => {
                Some(transport::tls_connector(settings.ca_file.as_deref())?)
            }
            ImapSecurity::None => None,
        };
        let budget = Budget::default();
        budget.set(CONTROL_BUDGET);
        let host = settings.host.as_str();
        let tcp = within(limit, "connect", TcpStream::connect((host, settings.port)))
            .await?
            .map_err(|e| InboxError::Connect {
                host: settings.host.clone(),
                port: settings.port,
                reason: e.to_string(),
            })?;
        // Commands are small and answered one at a time: Nagle would only delay them.
        let _ = tcp.set_nodelay(true);
        let mut conn = Conn::plain(tcp, budget.clone());
        if let (ImapSecurity::Tls, Some(tls)) = (settings.security, &connector) {
            conn = within(limit, "TLS handshake", conn.upgrade(tls, host)).await??;
        }
        let mut client = async_imap::Client::new(conn);
        greeting(&mut client, limit).await?;
        if let (ImapSecurity::StartTls, Some(tls)) = (settings.security, &connector) {
            let started = within(
                limit,
                "STARTTLS",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            imap("STARTTLS", started)?;
            // No greeting follows the upgrade (RFC 3501, 6.2.1), and the capabilities are
            // asked again after the login below, over TLS, as the RFC wants.
            // `into_inner` drops whatever plaintext arrived after the OK, so nothing a
            // man in the middle injected before the handshake is read as a TLS answer.
            let conn = within(
                limit,
                "TLS handshake",
                client.into_inner().upgrade(tls, host),
            )
            .await??;
            client = async_imap::Client::new(conn);
        }
        budget.set(CONTROL_BUDGET);
        let mut session = login(client, settings).await?;

        budget.set(CONTROL_BUDGET);
        let capabilities = imap(
            "CAPABILITY",
            within(limit, "CAPABILITY", session.capabilities()).await?,
        )?;
        let idle = capabilities.has_str("IDLE");

        budget.set(CONTROL_BUDGET);
        let selected = within(limit, "SELECT", session.select(&settings.mailbox))
            .await?
            .map_err(|e| match e {
                ImapError::Validate(_) => InboxError::Unsendable("mailbox name"),
                other => from_imap("SELECT", other),
            })?;
        // Without UIDVALIDITY a UID watermark means nothing across sessions.
        let uid_validity = selected.uid_validity.ok_or(InboxError::Protocol {
            command: "SELECT",
            reason: "no UIDVALIDITY".into(),
        })?;
        Ok(Mailbox {
            session: Some(session),
            budget,
            uid_validity,
            idle,
            timeout: limit,
        })
    }

    /// The mailbox's UIDVALIDITY: when it changes, every UID (and the caller's watermark)
    /// from before means nothing.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Whether the server offers IDLE (RFC 2177); without it [`Mailbox::wait`] polls.
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// Messages with UID > `after_uid`, oldest first, at most `max_count`; each body is
    /// fetched with `BODY.PEEK[]` (which never sets `\Seen`) only when its RFC822.SIZE is
    /// at most `max_size`. A message expunged meanwhile is left out.
    pub async fn new_messages(
        &mut self,
        after_uid: u32,
        max_size: u32,
        max_count: usize,
    ) -> Result<Vec<Fetched>, InboxError> {
        let result = self.try_new_messages(after_uid, max_size, max_count).await;
        self.close_unless_usable(result)
    }

    async fn try_new_messages(
        &mut self,
        after_uid: u32,
        max_size: u32,
        max_count: usize,
    ) -> Result<Vec<Fetched>, InboxError> {
        let limit = self.timeout;
        let session = self.session.as_mut().ok_or(InboxError::Closed)?;
        // Whatever the server announced so far, this search covers.
        drain_news(session);
        let Some(first) = after_uid.checked_add(1) else {
            return Ok(Vec::new());
        };
        if max_count == 0 {
            return Ok(Vec::new());
        }
        self.budget.set(SEARCH_BUDGET);
        let query = format!("UID {first}:*");
        let found = imap(
            "UID SEARCH",
            within(limit, "UID SEARCH", session.uid_search(&query)).await?,
        )?;
        let uids = uids_after(found, after_uid, max_count);
        if uids.is_empty() {
            return Ok(Vec::new());
        }

        // A FETCH line for one size is well under 1 KiB.
        self.budget
            .set(FETCH_OVERHEAD + 1024 * u64::try_from(uids.len()).unwrap_or(u64::MAX / 2));
        let set = uid_set(&uids);
        let sizes = imap(
            "UID FETCH",
            within(limit, "UID FETCH", async {
                let fetches = session.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
                fetches.try_collect::<Vec<_>>().await
            })
            .await?,
        )?;
        let listed: Vec<(u32, u32)> = uids
            .iter()
            .filter_map(|&uid| {
                // A server may add FETCH lines of its own (flag changes): take the asked ones.
                let fetch = sizes.iter().find(|f| f.uid == Some(uid))?;
                // No size said: unknown counts as too big to download.
                Some((uid, fetch.size.unwrap_or(u32::MAX)))
            })
            .collect();

        let mut out = Vec::with_capacity(listed.len());
        for (uid, size) in listed {
            if size > max_size {
                out.push(Fetched {
                    uid,
                    size,
                    raw: None,
                });
                continue;
            }
            // The body plus framing: a server that sends more than it said is cut off.
            self.budget.set(u64::from(size) + FETCH_OVERHEAD);
            let fetches = imap(
                "UID FETCH",
                within(limit, "UID FETCH", async {
                    let fetches = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
                    fetches.try_collect::<Vec<_>>().await
                })
                .await?,
            )?;
            let Some(body) = fetches
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.body())
            else {
                // Expunged since the search.
                continue;
            };
            // The size said was a lie if the body is larger: treat it as too big.
            let raw = (body.len() <= max_size as usize).then(|| body.to_vec());
            out.push(Fetched { uid, size, raw });
        }
        Ok(out)
    }

    /// [`Mark::Processed`] adds `\Seen`; [`Mark::Failed`] adds `\Flagged`. Never deletes
    /// or expunges: a failed message stays for a human to see.
    pub async fn mark(&mut self, uid: u32, mark: Mark) -> Result<(), InboxError> {
        let result = self.try_mark(uid, mark).await;
        self.close_unless_usable(result)
    }

    async fn try_mark(&mut self, uid: u32, mark: Mark) -> Result<(), InboxError> {
        let limit = self.timeout;
        let session = self.session.as_mut().ok_or(InboxError::Closed)?;
        let flags = match mark {
            Mark::Processed => r"+FLAGS.SILENT (\Seen)",
            Mark::Failed => r"+FLAGS.SILENT (\Flagged)",
        };
        self.budget.set(CONTROL_BUDGET);
        let stored = within(limit, "UID STORE", async {
            let fetches = session.uid_store(uid.to_string(), flags).await?;
            fetches.try_collect::<Vec<_>>().await
        })
        .await?;
        imap("UID STORE", stored).map(drop)
    }

    /// Waits for news from the server for up to `timeout` (keep it under the 29 minutes
    /// RFC 2177 allows): true when the server reported a change (new mail, a flag change,
    /// an expunge), false when the time ran out. With IDLE the answer comes as soon as the
    /// server speaks; without it this sleeps `timeout`, then sends NOOP. Afterwards the
    /// session is usable again; after an error it is closed.
    ///
    /// It takes `&mut self` (not `self`) so a caller keeps one `Mailbox` in a loop; the
    /// session is taken out for the IDLE and put back after DONE.
    pub async fn wait(&mut self, timeout: Duration) -> Result<bool, InboxError> {
        let limit = self.timeout;
        let mut session = self.session.take().ok_or(InboxError::Closed)?;
        // News announced during earlier commands (an EXISTS in a FETCH's answer) counts.
        if drain_news(&session) {
            self.session = Some(session);
            return Ok(true);
        }
        self.budget.set(CONTROL_BUDGET);
        if !self.idle {
            tokio::time::sleep(timeout).await;
            imap("NOOP", within(limit, "NOOP", session.noop()).await?)?;
            let news = drain_news(&session);
            self.session = Some(session);
            return Ok(news);
        }
        let mut handle = session.idle();
        imap("IDLE", within(limit, "IDLE", handle.init()).await?)?;
        let news = {
            let (idle, _interrupt) = handle.wait_with_timeout(timeout);
            // async-imap restarts its timeout on every keepalive line ("* OK Still
            // here"); this one bounds the whole wait.
            match tokio::time::timeout(timeout, idle).await {
                Err(_elapsed) => false,
                Ok(response) => matches!(imap("IDLE", response)?, IdleResponse::NewData(_)),
            }
        };
        let session = imap("DONE", within(limit, "DONE", handle.done()).await?)?;
        let news = drain_news(&session) || news;
        self.session = Some(session);
        Ok(news)
    }

    /// Says LOGOUT (within the timeout) and closes the connection; errors are moot here.
    pub async fn logout(mut self) {
        if let Some(mut session) = self.session.take() {
            self.budget.set(CONTROL_BUDGET);
            let _ = within(self.timeout, "LOGOUT", session.logout()).await;
        }
    }

    /// Closes the session after an error that may leave it out of step with the server.
    fn close_unless_usable<T>(&mut self, result: Result<T, InboxError>) -> Result<T, InboxError> {
        if let Err(e) = &result
            && !matches!(e, InboxError::Refused { .. })
        {
            self.session = None;
        }
        result
    }
}

/// Reads the server's greeting: `* OK` goes on, anything else is an error.
async fn greeting(
    client: &mut async_imap::Client<Conn>,
    limit: Duration,
) -> Result<(), InboxError> {
    let response = within(limit, "greeting", client.read_response())
        .await?
        .map_err(|e| InboxError::Io {
            command: "greeting",
            reason: excerpt(&e.to_string()),
        })?
        .ok_or(InboxError::Io {
            command: "greeting",
            reason: "the server closed the connection".into(),
        })?;
    match response.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(InboxError::Refused {
            command: "the connection",
            reason: excerpt(outcome.information.as_deref().unwrap_or("BYE")),
        }),
        // PREAUTH (or anything else): tete always logs in, so this is not its server.
        _ => Err(InboxError::Protocol {
            command: "greeting",
            reason: "not an `* OK` greeting".into(),
        }),
    }
}

/// LOGIN or AUTHENTICATE XOAUTH2; an error never repeats the secret.
async fn login(
    client: async_imap::Client<Conn>,
    settings: &ImapSettings,
) -> Result<Session, InboxError> {
    let limit = settings.timeout;
    let (command, user, secret, result) = match &settings.auth {
        ImapAuth::Password(password) => {
            let result = within(limit, "LOGIN", client.login(&settings.username, password));
            (
                "LOGIN",
                settings.username.as_str(),
                password.as_str(),
                result.await?,
            )
        }
        ImapAuth::XOAuth2 { user, access_token } => {
            let response = xoauth2_response(user, access_token)
                .ok_or(InboxError::Unsendable("XOAUTH2 user or token"))?;
            let auth = XOAuth2(Some(response));
            let result = within(limit, "AUTHENTICATE", client.authenticate("XOAUTH2", auth));
            (
                "AUTHENTICATE",
                user.as_str(),
                access_token.as_str(),
                result.await?,
            )
        }
    };
    result.map_err(|(error, _client)| match error {
        ImapError::No(text) | ImapError::Bad(text) => InboxError::Auth {
            host: settings.host.clone(),
            user: user.to_string(),
            reason: excerpt(&redact(&text, secret)),
        },
        ImapError::Validate(_) => InboxError::Unsendable("user name or password"),
        // A parse error quotes the server's bytes, which might echo the command.
        ImapError::Parse(_) => InboxError::Protocol {
            command,
            reason: "an answer that does not parse".into(),
        },
        other => from_imap(command, other),
    })
}

/// The SASL XOAUTH2 initial response; `None` when a value holds a control character,
/// which would change the message's fields.
fn xoauth2_response(user: &str, token: &str) -> Option<String> {
    let clean = |s: &str| !s.chars().any(char::is_control);
    (clean(user) && clean(token)).then(|| format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

/// The XOAUTH2 exchange: the initial response to the first (empty) challenge. A second
/// challenge carries the server's error report and must be answered empty, after which
/// the server says NO (RFC 7628, 3.2.3).
struct XOAuth2(Option<String>);

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.0.take().unwrap_or_default()
    }
}

/// Takes the news the server sent among other answers: true when it announced mail
/// (EXISTS or RECENT). The channel holds at most 100 and drops the rest, so it is emptied
/// before every wait and every search.
fn drain_news(session: &Session) -> bool {
    let mut news = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        news |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    news
}

/// The UIDs of a `UID SEARCH UID n:*` answer that really are above `after`, oldest first,
/// at most `max_count`. RFC 3501 makes `n:*` include the highest UID even when it is
/// below n, so the answer is filtered here, not trusted.
fn uids_after(found: HashSet<u32>, after: u32, max_count: usize) -> Vec<u32> {
    let mut uids: Vec<u32> = found.into_iter().filter(|&uid| uid > after).collect();
    uids.sort_unstable();
    uids.truncate(max_count);
    uids
}

/// A UID set for a command: `3,7,9`.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs `fut` within `limit`, naming `command` when it does not finish.
async fn within<F: Future>(
    limit: Duration,
    command: &'static str,
    fut: F,
) -> Result<F::Output, InboxError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| InboxError::Timeout {
            command,
            after: limit,
        })
}

/// An async-imap result as tete's, naming the command.
fn imap<T>(command: &'static str, result: Result<T, ImapError>) -> Result<T, InboxError> {
    result.map_err(|e| from_imap(command, e))
}

/// An async-imap error as tete's: NO and BAD leave the session usable, the rest not.
fn from_imap(command: &'static str, error: ImapError) -> InboxError {
    match error {
        ImapError::No(text) | ImapError::Bad(text) => InboxError::Refused {
            command,
            reason: excerpt(&text),
        },
        ImapError::ConnectionLost => InboxError::Io {
            command,
            reason: "the server closed the connection".into(),
        },
        ImapError::Io(e) => InboxError::Io {
            command,
            reason: excerpt(&e.to_string()),
        },
        ImapError::Validate(_) => InboxError::Unsendable("command's argument"),
        other => InboxError::Protocol {
            command,
            reason: excerpt(&other.to_string()),
        },
    }
}

/// `text` with every occurrence of `secret` replaced (an empty secret replaces nothing).
fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "<redacted>")
    }
}

/// The server's words fit for a log line: control characters as spaces, at most
/// [`EXCERPT_CHARS`] characters.
fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xoauth2_response_is_the_documented_string() {
        assert_eq!(
            xoauth2_response("someone@example.org", "ya29.token").unwrap(),
            "user=someone@example.org\x01auth=Bearer ya29.token\x01\x01"
        );
    }

    #[test]
    fn control_characters_in_xoauth2_values_are_refused() {
        assert!(xoauth2_response("a\x01b", "t").is_none());
        assert!(xoauth2_response("a", "t\r\nx").is_none());
    }

    #[test]
    fn the_xoauth2_exchange_answers_an_error_challenge_empty() {
        let mut auth = XOAuth2(Some("first".into()));
        assert_eq!(async_imap::Authenticator::process(&mut auth, b""), "first");
        let error = br#"{"status":"401","schemes":"bearer"}"#;
        assert_eq!(async_imap::Authenticator::process(&mut auth, error), "");
    }

    #[test]
    fn the_highest_uid_below_the_watermark_is_dropped() {
        // `UID SEARCH UID 8:*` on a mailbox whose highest UID is 5 answers 5.
        assert!(uids_after(HashSet::from([5]), 7, 10).is_empty());
        assert_eq!(uids_after(HashSet::from([9, 3, 12, 8]), 7, 10), [8, 9, 12]);
    }

    #[test]
    fn the_oldest_come_first_and_the_count_is_capped() {
        let found: HashSet<u32> = (1..=100).collect();
        assert_eq!(uids_after(found, 0, 3), [1, 2, 3]);
        assert!(uids_after(HashSet::from([1, 2]), 0, 0).is_empty());
    }

    #[test]
    fn uid_sets_are_comma_separated() {
        assert_eq!(uid_set(&[3, 7, 9]), "3,7,9");
        assert_eq!(uid_set(&[42]), "42");
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(excerpt("NO\r\nbad"), "NO  bad");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn secrets_echoed_by_a_server_are_redacted() {
        assert_eq!(
            redact("unknown user bob with hunter2", "hunter2"),
            "unknown user bob with <redacted>"
        );
        assert_eq!(redact("text", ""), "text");
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let password = format!("{:?}", ImapAuth::Password("hunter2".into()));
        let token = format!(
            "{:?}",
            ImapAuth::XOAuth2 {
                user: "a@example.org".into(),
                access_token: "ya29.secret".into(),
            }
        );
        assert!(!password.contains("hunter2"), "{password}");
        assert!(
            !token.contains("ya29.secret") && token.contains("a@example.org"),
            "{token}"
        );
    }
}

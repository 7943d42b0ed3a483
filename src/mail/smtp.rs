//! The SMTP transport (lettre), and the choice of transport from the config.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::MailError;
use super::file::FileTransport;
use super::message::parse_from;
use super::transport::{CloseFuture, SendError, SendFuture, Transport};
use crate::config::{MailConfig, SmtpConfig, SmtpSecurity, TransportKind};

/// How long one SMTP command may take before the attempt counts as a temporary failure.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How tete authenticates to the SMTP server.
#[derive(Clone, PartialEq, Eq)]
pub enum SmtpAuth {
    /// No AUTH.
    None,
    /// AUTH PLAIN or LOGIN, whichever the server offers.
    Password {
        /// Login name.
        username: String,
        /// The password (never logged: `Debug` hides it).
        password: String,
    },
    /// AUTH XOAUTH2 with an OAuth access token. Credentials are fixed when the transport
    /// is built, so build a new transport after each token refresh.
    XOAuth2 {
        /// The mailbox the token belongs to.
        username: String,
        /// The access token (never logged).
        token: String,
    },
}

impl fmt::Debug for SmtpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpAuth::None => f.write_str("None"),
            SmtpAuth::Password { username, .. } => {
                write!(
                    f,
                    "Password {{ username: {username:?}, password: <hidden> }}"
                )
            }
            SmtpAuth::XOAuth2 { username, .. } => {
                write!(f, "XOAuth2 {{ username: {username:?}, token: <hidden> }}")
            }
        }
    }
}

impl SmtpAuth {
    /// Password authentication from `config.username` and the first line of
    /// `config.password_file` (read now; its trailing newline is not part of it).
    pub fn from_config(config: &SmtpConfig) -> Result<SmtpAuth, MailError> {
        if let Some(account) = &config.xoauth2_account {
            return Err(MailError::Config(format!(
                "mail.smtp.xoauth2_account = \"{account}\": XOAUTH2 needs the account's access token; build the transport with SmtpAuth::XOAuth2"
            )));
        }
        match (&config.username, &config.password_file) {
            (None, None) => Ok(SmtpAuth::None),
            (Some(username), Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| MailError::PasswordFile {
                        path: path.clone(),
                        source,
                    })?;
                let password = text.trim_end_matches(['\r', '\n']).to_string();
                Ok(SmtpAuth::Password {
                    username: username.clone(),
                    password,
                })
            }
            (Some(_), None) => Err(MailError::Config(
                "mail.smtp.username is set but mail.smtp.password_file is not".into(),
            )),
            (None, Some(_)) => Err(MailError::Config(
                "mail.smtp.password_file is set but mail.smtp.username is not".into(),
            )),
        }
    }
}

/// True for `localhost` and loopback IP addresses (`127.0.0.0/8`, `::1`).
fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Delivers through an SMTP server with lettre's SMTP client: one connection per
/// drain (the transport is built for each), reused for every message of it, with
/// STARTTLS, implicit TLS or none (loopback only), and optional AUTH.
///
/// tete opens the TCP connection itself so that it can set `TCP_NODELAY`: lettre
/// writes a message and its final `.` in two writes, and with Nagle's algorithm the
/// `.` waits for the server's delayed ACK (~40 ms on Linux). For all that time the
/// server holds the whole message, and a tete killed then sends it again when it
/// restarts (the "accepted but not yet recorded" window; see docs/benchmarks.md).
/// With implicit TLS lettre opens the socket, so that mode keeps the wider window.
pub struct SmtpTransport {
    host: String,
    port: u16,
    security: SmtpSecurity,
    login: Option<(Credentials, Vec<Mechanism>)>,
    hello: ClientId,
    envelope_from: Address,
    /// The open connection and when it was last used.
    connection: tokio::sync::Mutex<Option<(AsyncSmtpConnection, Instant)>>,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("envelope_from", &self.envelope_from)
            .finish_non_exhaustive()
    }
}

/// A connection idle for longer than this is checked with `NOOP` before it is reused
/// (servers close idle connections; Postfix after 300 s).
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(10);

impl SmtpTransport {
    /// A transport for `config`, sending as `from` (the `mail.from` mailbox; its address
    /// is the envelope sender). `security = "none"` is refused unless the host is
    /// loopback, whatever the config validation said. Nothing is connected yet.
    pub fn new(config: &SmtpConfig, from: &str, auth: SmtpAuth) -> Result<Self, MailError> {
        let envelope_from = parse_from(from)?.email;
        let host = config.host.trim();
        if config.security == SmtpSecurity::None && !is_loopback(host) {
            return Err(MailError::InsecureSmtp {
                host: host.to_string(),
            });
        }
        let login = match auth {
            SmtpAuth::None => None,
            SmtpAuth::Password { username, password } => Some((
                Credentials::new(username, password),
                vec![Mechanism::Plain, Mechanism::Login],
            )),
            // XOAUTH2 is never in lettre's default list: it must be asked for.
            SmtpAuth::XOAuth2 { username, token } => {
                Some((Credentials::new(username, token), vec![Mechanism::Xoauth2]))
            }
        };
        Ok(SmtpTransport {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: config.port,
            security: config.security,
            login,
            hello: ClientId::default(),
            envelope_from,
            connection: tokio::sync::Mutex::new(None),
        })
    }

    /// A transport from the config, with password AUTH read from `password_file` now.
    pub fn from_config(config: &SmtpConfig, from: &str) -> Result<Self, MailError> {
        Self::new(config, from, SmtpAuth::from_config(config)?)
    }

    /// Opens a connection: TCP (with `TCP_NODELAY`), EHLO, TLS as configured, AUTH.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let server = format!("{}:{}", self.host, self.port);
        let tls = || TlsParameters::new(self.host.clone()).map_err(|e| classify(&e));
        let mut connection = if self.security == SmtpSecurity::Tls {
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(SMTP_TIMEOUT),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(|e| classify(&e))?
        } else {
            let stream = tokio::time::timeout(
                SMTP_TIMEOUT,
                tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(|_| SendError::Transient(format!("connecting to {server} timed out")))?
            .map_err(|e| SendError::Transient(format!("cannot connect to {server}: {e}")))?;
            stream
                .set_nodelay(true)
                .map_err(|e| SendError::Transient(format!("{server}: TCP_NODELAY: {e}")))?;
            let mut connection =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                    .await
                    .map_err(|e| classify(&e))?;
            if self.security == SmtpSecurity::Starttls {
                connection
                    .starttls(tls()?, &self.hello)
                    .await
                    .map_err(|e| classify(&e))?;
            }
            connection
        };
        if let Some((credentials, mechanisms)) = &self.login
            && let Err(error) = connection.auth(mechanisms, credentials).await
        {
            connection.abort().await;
            return Err(classify(&error));
        }
        Ok(connection)
    }

    /// The open connection if it still answers, else a new one.
    async fn reuse_or_connect(
        &self,
        open: Option<(AsyncSmtpConnection, Instant)>,
    ) -> Result<AsyncSmtpConnection, SendError> {
        if let Some((mut connection, used)) = open {
            if !connection.has_broken()
                && (used.elapsed() < CHECK_IDLE_AFTER || connection.test_connected().await)
            {
                return Ok(connection);
            }
            connection.abort().await;
        }
        tokio::time::timeout(SMTP_TIMEOUT * 2, self.connect())
            .await
            .map_err(|_| SendError::Transient(format!("{}: login timed out", self.host)))?
    }
}

/// Sorts lettre's errors: 5xx replies are permanent; 4xx replies, timeouts, refused or
/// dropped connections and TLS trouble are worth another try before the meeting.
fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    // lettre's Display names the reply code and text, never the message body.
    let text = error.to_string();
    if error.is_permanent() {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}

impl Transport for SmtpTransport {
    fn send<'a>(&'a self, envelope_to: &'a str, raw: &'a [u8]) -> SendFuture<'a> {
        Box::pin(async move {
            let to: Address = envelope_to
                .parse()
                .map_err(|e| SendError::Permanent(format!("invalid recipient address: {e}")))?;
            let envelope = Envelope::new(Some(self.envelope_from.clone()), vec![to])
                .map_err(|e| SendError::Permanent(format!("invalid envelope: {e}")))?;
            let mut slot = self.connection.lock().await;
            let mut connection = self.reuse_or_connect(slot.take()).await?;
            match tokio::time::timeout(SMTP_TIMEOUT, connection.send(&envelope, raw)).await {
                Ok(Ok(_)) => {
                    *slot = Some((connection, Instant::now()));
                    Ok(())
                }
                // lettre has already closed the connection after a failed command.
                Ok(Err(error)) => Err(classify(&error)),
                Err(_) => Err(SendError::Transient(format!(
                    "{}: no answer within {} s",
                    self.host,
                    SMTP_TIMEOUT.as_secs()
                ))),
            }
        })
    }

    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async move {
            if let Some((mut connection, _)) = self.connection.lock().await.take() {
                let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
            }
        })
    }
}

/// Reads the SMTP password file now, so that a missing, unreadable or wrong file is
/// reported as the configuration problem it is before a pass starts (exit 78), not as a
/// failed delivery. Nothing to read for the file transport or XOAUTH2.
pub fn check_credentials(mail: &MailConfig) -> Result<(), MailError> {
    match &mail.smtp {
        Some(smtp) if mail.transport == TransportKind::Smtp && smtp.xoauth2_account.is_none() => {
            SmtpAuth::from_config(smtp).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// The transport `mail` asks for.
pub fn transport_from_config(mail: &MailConfig) -> Result<Box<dyn Transport>, MailError> {
    match mail.transport {
        TransportKind::File => {
            let file = mail.file.as_ref().ok_or_else(|| {
                MailError::Config("transport = \"file\" needs a [mail.file] section".into())
            })?;
            Ok(Box::new(FileTransport::new(&file.dir)))
        }
        TransportKind::Smtp => {
            let smtp = mail.smtp.as_ref().ok_or_else(|| {
                MailError::Config("transport = \"smtp\" needs a [mail.smtp] section".into())
            })?;
            Ok(Box::new(SmtpTransport::from_config(smtp, &mail.from)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(host: &str, security: SmtpSecurity) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 2525,
            security,
            username: None,
            password_file: None,
            xoauth2_account: None,
        }
    }

    #[tokio::test]
    async fn plain_smtp_is_refused_towards_a_remote_host() {
        let error = SmtpTransport::new(
            &config("smtp.example.com", SmtpSecurity::None),
            "a@example.com",
            SmtpAuth::None,
        )
        .unwrap_err();
        assert!(matches!(error, MailError::InsecureSmtp { .. }), "{error}");
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            assert!(
                SmtpTransport::new(
                    &config(host, SmtpSecurity::None),
                    "a@example.com",
                    SmtpAuth::None
                )
                .is_ok(),
                "{host}"
            );
        }
    }

    #[tokio::test]
    async fn password_file_loses_its_trailing_newline_and_never_shows_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "s3cret pass\n").unwrap();
        let mut smtp = config("smtp.example.com", SmtpSecurity::Starttls);
        smtp.username = Some("briefs".into());
        smtp.password_file = Some(path);
        let auth = SmtpAuth::from_config(&smtp).unwrap();
        assert_eq!(
            auth,
            SmtpAuth::Password {
                username: "briefs".into(),
                password: "s3cret pass".into()
            }
        );
        assert!(!format!("{auth:?}").contains("s3cret"));
        assert!(SmtpTransport::new(&smtp, "a@example.com", auth).is_ok());
    }

    #[test]
    fn building_a_transport_connects_nothing_and_needs_no_runtime() {
        let transport = SmtpTransport::new(
            &config("[::1]", SmtpSecurity::None),
            "a@example.com",
            SmtpAuth::None,
        )
        .unwrap();
        assert_eq!(transport.host, "::1");
        assert!(transport.connection.try_lock().unwrap().is_none());
    }

    #[test]
    fn config_chooses_the_file_transport_and_names_a_missing_section() {
        let mut mail = MailConfig {
            from: "briefs@example.com".into(),
            transport: TransportKind::File,
            smtp: None,
            file: Some(crate::config::FileTransportConfig {
                dir: "/tmp/tete-briefs".into(),
            }),
            allowed_domains: Vec::new(),
            opt_out: Vec::new(),
            sign_in_notices: true,
        };
        assert!(transport_from_config(&mail).is_ok());
        mail.transport = TransportKind::Smtp;
        let error = transport_from_config(&mail).err().unwrap();
        assert!(error.to_string().contains("[mail.smtp]"), "{error}");
    }

    #[test]
    fn xoauth2_is_not_read_from_a_password_file() {
        let mut smtp = config("smtp.example.com", SmtpSecurity::Starttls);
        smtp.xoauth2_account = Some("work".into());
        let error = SmtpAuth::from_config(&smtp).unwrap_err();
        assert!(error.to_string().contains("XOAUTH2"), "{error}");
    }

    #[test]
    fn missing_password_file_is_a_clear_error() {
        let mut smtp = config("smtp.example.com", SmtpSecurity::Tls);
        smtp.username = Some("briefs".into());
        smtp.password_file = Some("/nonexistent/tete-password".into());
        let error = SmtpAuth::from_config(&smtp).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/tete-password"),
            "{error}"
        );
    }
}

//! `[inbox]`: the mailbox tete reads replies to briefs from (see `docs/replies.md`).

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::raw::RawInbox;
use super::validate::Validator;
use super::{AccountConfig, MailConfig, SmtpSecurity};

/// `inbox.token_lifetime` default: a reply is accepted until 30 days after the
/// meeting the brief prepared.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 86_400);
/// The longest `inbox.token_lifetime` accepted: a year.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 86_400);
/// `inbox.poll_interval` default: the safety-net poll besides IDLE.
pub const DEFAULT_INBOX_POLL: Duration = Duration::from_secs(300);
/// The longest `inbox.poll_interval` accepted: under the 29 minutes after which
/// RFC 2177 says an IDLE must be re-issued, so one timer serves both.
pub const MAX_INBOX_POLL: Duration = Duration::from_secs(28 * 60);
/// `inbox.max_message_size` default: 1 MiB; larger replies are kept unread.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 1 << 20;
/// The largest `inbox.max_message_size` accepted: 25 MiB.
pub const MAX_MESSAGE_SIZE: u64 = 25 << 20;

/// How a reply's sender is checked before anything is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderCheck {
    /// The receiving server's `Authentication-Results` (from `authserv_id`) must say
    /// DMARC passed, or DKIM passed for the From domain.
    AuthenticationResults,
    /// Only the token and the From address are checked: for a mailbox that only
    /// authenticated senders can reach. Anyone who has a brief can then act as its
    /// recipient.
    None,
}

/// When the sender of a reply gets a confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmations {
    /// After every applied reply.
    Always,
    /// Only when something was not understood or not applied.
    OnError,
    /// Never.
    Never,
}

/// `[inbox]`: replies by email.
#[derive(Clone, Debug)]
pub struct InboxConfig {
    /// The address replies go to; briefs carry `Reply-To: local+TOKEN@domain`.
    pub address: String,
    /// IMAP server; `None` when replies arrive only through `tete reply --apply`
    /// (a pipe from the mail server).
    pub host: Option<String>,
    /// IMAP port (993 for "tls", 143 otherwise).
    pub port: u16,
    /// Connection security ("none" only to a loopback host).
    pub security: SmtpSecurity,
    /// Login name (default: `address`).
    pub username: String,
    /// File holding the IMAP password (absolute).
    pub password_file: Option<PathBuf>,
    /// Log in with XOAUTH2 using this account's token instead.
    pub xoauth2_account: Option<String>,
    /// Extra PEM certificates trusted as roots (a private CA), absolute.
    pub ca_file: Option<PathBuf>,
    /// The mailbox (folder) replies arrive in.
    pub mailbox: String,
    /// File holding the HMAC secret of reply tokens (absolute); else the systemd
    /// credential `reply-secret`.
    pub secret_file: Option<PathBuf>,
    /// How long after the meeting's start a brief's token is accepted.
    pub token_lifetime: Duration,
    /// How senders are checked.
    pub verify_sender: SenderCheck,
    /// The `authserv-id` whose `Authentication-Results` are believed; `Some("")` for
    /// a server that writes the header without one (Exchange Online).
    pub authserv_id: Option<String>,
    /// When to confirm.
    pub confirmations: Confirmations,
    /// The safety-net poll besides IDLE.
    pub poll_interval: Duration,
    /// Replies larger than this are not downloaded (kept, reported in status).
    pub max_message_size: u64,
}

/// The address part of a lettre-rendered mailbox (`"Name" <a@b>` or `a@b`).
fn address_of(mailbox: &str) -> Option<String> {
    mailbox
        .parse::<lettre::message::Mailbox>()
        .ok()
        .map(|m| m.email.to_string().to_lowercase())
}

impl Validator<'_> {
    /// Checks `[inbox]`; `None` when something required is missing or wrong.
    pub(super) fn inbox(
        &mut self,
        spanned: &Spanned<RawInbox>,
        mail: &MailConfig,
        accounts: &[AccountConfig],
    ) -> Option<InboxConfig> {
        let raw = spanned.get_ref();
        let span: Range<usize> = spanned.span();
        let address = match &raw.address {
            Some(value) => self.email(value, "inbox.address"),
            None => {
                let from = address_of(&mail.from);
                if from.is_none() && !mail.from.is_empty() {
                    self.error(
                        span.clone(),
                        "inbox",
                        "missing `address`, and mail.from has no address to use",
                        "address = \"briefs@example.com\"",
                    );
                }
                from
            }
        };
        let security = self.security(raw.security.as_ref(), "inbox.security", "tls");
        // Without a host, replies come in through `tete reply --apply` only.
        let host = match &raw.host {
            Some(_) => self.host(raw.host.as_ref(), &span, "inbox", "imap.example.com"),
            None => None,
        };
        let host_failed = raw.host.is_some() && host.is_none();
        self.refuse_clear_text(security, &host, raw.security.as_ref(), "inbox.security");
        let default_port = if security == Some(SmtpSecurity::Tls) {
            993
        } else {
            143
        };
        let port = self.port(raw.port.as_ref(), "inbox.port", default_port);
        let mut username = raw
            .username
            .as_ref()
            .and_then(|value| self.text(value, "inbox.username"));
        let password_file = raw
            .password_file
            .as_ref()
            .and_then(|value| self.checked_path(value, "inbox.password_file", true));
        let xoauth2_account = raw.xoauth2_account.as_ref().and_then(|value| {
            let name = self.xoauth2_account(value, "inbox.xoauth2_account", accounts, &mut username)?;
            let provider = accounts.iter().find(|a| a.name == name).map(|a| a.provider);
            if provider == Some(super::Provider::Microsoft) {
                // Exchange's IMAP scope (IMAP.AccessAsUser.All) needs a consent of its
                // own that `tete auth` does not ask for yet.
                self.error(
                    value.span(),
                    "inbox.xoauth2_account",
                    format!("account \"{name}\" is a microsoft account; reading mail over IMAP with its token is not supported yet"),
                    "a google account, a password_file, or no host (deliver replies with `tete reply --apply -`)",
                );
                return None;
            }
            Some(name)
        });
        self.one_login("inbox", true, &raw.password_file, &raw.xoauth2_account);
        if raw.host.is_some() && raw.password_file.is_none() && raw.xoauth2_account.is_none() {
            self.error(
                span.clone(),
                "inbox",
                "no way to log in: set password_file or xoauth2_account",
                "password_file = \"/etc/tete/imap-password\"",
            );
        }
        let ca_file = raw
            .ca_file
            .as_ref()
            .and_then(|value| self.checked_path(value, "inbox.ca_file", false));
        let mailbox = raw
            .mailbox
            .as_ref()
            .and_then(|value| self.text(value, "inbox.mailbox"))
            .unwrap_or_else(|| "INBOX".to_string());
        let secret_file = raw
            .secret_file
            .as_ref()
            .and_then(|value| self.checked_path(value, "inbox.secret_file", true));
        let token_lifetime = self.duration(
            raw.token_lifetime.as_ref(),
            "inbox.token_lifetime",
            DEFAULT_TOKEN_LIFETIME,
            MAX_TOKEN_LIFETIME,
        );
        let poll_interval = self.duration(
            raw.poll_interval.as_ref(),
            "inbox.poll_interval",
            DEFAULT_INBOX_POLL,
            MAX_INBOX_POLL,
        );
        if let Some(value) = &raw.poll_interval
            && poll_interval < super::MIN_POLL_INTERVAL
        {
            self.error(
                value.span(),
                "inbox.poll_interval",
                "shorter than the minimum of 30s",
                "at least \"30s\"",
            );
        }
        let verify_sender = match &raw.verify_sender {
            None => Some(SenderCheck::AuthenticationResults),
            Some(value) => match self.choice(
                value,
                "inbox.verify_sender",
                &["authentication-results", "none"],
            ) {
                Some("none") => Some(SenderCheck::None),
                Some(_) => Some(SenderCheck::AuthenticationResults),
                None => None,
            },
        };
        // An empty authserv_id is meaningful (Exchange Online writes none), so it is
        // not run through `text`, which refuses empty strings.
        let authserv_id = raw
            .authserv_id
            .as_ref()
            .map(|value| value.get_ref().trim().to_ascii_lowercase());
        if verify_sender == Some(SenderCheck::AuthenticationResults) && authserv_id.is_none() {
            self.error(
                span.clone(),
                "inbox",
                "missing `authserv_id`: tete must know whose Authentication-Results to believe",
                "authserv_id = \"mx.google.com\" (Gmail), \"\" (Microsoft 365), your MX's name, or verify_sender = \"none\"",
            );
        }
        if verify_sender == Some(SenderCheck::None)
            && let Some(value) = &raw.verify_sender
        {
            self.warn(
                value.span(),
                "inbox.verify_sender",
                "\"none\": a reply is applied on its token and From alone, which anyone the brief was forwarded to can forge",
            );
        }
        let confirmations = match &raw.confirmations {
            None => Some(Confirmations::Always),
            Some(value) => match self.choice(
                value,
                "inbox.confirmations",
                &["always", "on-error", "never"],
            ) {
                Some("always") => Some(Confirmations::Always),
                Some("on-error") => Some(Confirmations::OnError),
                Some(_) => Some(Confirmations::Never),
                None => None,
            },
        };
        let max_message_size = match &raw.max_message_size {
            None => DEFAULT_MAX_MESSAGE_SIZE,
            Some(value) => match self.size(value, "inbox.max_message_size") {
                Some(bytes) if bytes <= MAX_MESSAGE_SIZE => bytes,
                Some(_) => {
                    self.error(
                        value.span(),
                        "inbox.max_message_size",
                        "larger than the maximum of 25MiB",
                        "at most \"25MiB\"",
                    );
                    DEFAULT_MAX_MESSAGE_SIZE
                }
                None => DEFAULT_MAX_MESSAGE_SIZE,
            },
        };
        let address = address?;
        if host_failed {
            return None;
        }
        Some(InboxConfig {
            username: username.unwrap_or_else(|| address.clone()),
            address,
            host,
            port,
            security: security?,
            password_file,
            xoauth2_account,
            ca_file,
            mailbox,
            secret_file,
            token_lifetime,
            verify_sender: verify_sender?,
            authserv_id,
            confirmations: confirmations?,
            poll_interval,
            max_message_size,
        })
    }
}

//! Replies by email, the shell around `core::reply`: the secret, the tokens a brief
//! carries, and what one received message changes.
//!
//! [`examine`] says what tete makes of a message without writing anything (`tete
//! reply FILE.eml`); [`apply`] records it and writes its changes and confirmation in
//! one store transaction keyed by its place in the mailbox (`Store::record_reply`),
//! so a message read twice changes nothing the second time.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use thiserror::Error;

use crate::config::{Config, Confirmations, InboxConfig, SenderCheck};
use crate::core::analyze::{Analysis, SeriesView};
use crate::core::brief::RenderedBrief;
use crate::core::plan::{BriefKey, original_start};
use crate::core::reply::commands::{self, Command, Rejected, Resolved};
use crate::core::reply::token::{self, ReplyToken};
use crate::core::reply::{self as reply_core, authres, confirm};
use crate::mail::{self, MailError, Threading};
use crate::model::items::{ActionItem, ItemOrigin, Note, NoteSource, TalkingPoint};
use crate::model::replies::{MailboxUid, ReplyOutcome, ReplyRecord};
use crate::model::{EventStatus, Person, SeriesId, normalize_email};
use crate::store::{PersonalSkip, Recorded, ReplyWrites, Store, StoreError};

/// The systemd credential that holds the secret when `secret_file` is unset.
pub const SECRET_CREDENTIAL: &str = "reply-secret";

/// How long a confirmation may wait in the outbox before it is dropped as stale.
const CONFIRMATION_VALIDITY: TimeDelta = TimeDelta::days(2);

/// Why replies cannot be read or applied.
#[derive(Debug, Error)]
pub enum ReplyError {
    /// The secret could not be loaded.
    #[error("reply secret {path}: {reason}")]
    Secret {
        /// Where it was looked for.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No secret file is configured and systemd passed no credential.
    #[error(
        "no reply secret: set inbox.secret_file, or pass the systemd credential \"{SECRET_CREDENTIAL}\""
    )]
    NoSecret,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The confirmation could not be built.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The mailbox failed.
    #[error(transparent)]
    Inbox(#[from] crate::inbox::InboxError),
    /// The IMAP login cannot be made (password file, XOAUTH2 token).
    #[error("IMAP login: {0}")]
    Login(String),
}

/// Most messages read from the mailbox in one go (the rest come next time).
const MAX_MESSAGES_PER_READ: usize = 50;

/// What one look at the mailbox did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailboxRound {
    /// Messages read.
    pub read: usize,
    /// Replies applied.
    pub applied: usize,
    /// Messages ignored (robots, bad tokens, unverified senders, copies).
    pub ignored: usize,
    /// Messages that could not be read (kept, flagged).
    pub failed: usize,
}

/// The IMAP settings of `inbox`: the password from its file, or an XOAUTH2 token
/// of the configured account (fetched, and refreshed when due, now).
pub async fn imap_settings(
    config: &Config,
    inbox: &InboxConfig,
    store: &Store,
    api: &reqwest::Client,
) -> Result<crate::inbox::ImapSettings, ReplyError> {
    use crate::inbox::{ImapAuth, ImapSecurity, ImapSettings};
    let host = inbox
        .host
        .clone()
        .ok_or_else(|| ReplyError::Login("no inbox.host: replies arrive by pipe only".into()))?;
    let auth = match (&inbox.password_file, &inbox.xoauth2_account) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ReplyError::Login(format!("password file {}: {e}", path.display())))?;
            ImapAuth::Password(text.trim_end_matches(['\r', '\n']).to_string())
        }
        (None, Some(account)) => {
            let token = crate::pass::xoauth2::access_token(config, store, api, account)
                .await
                .map_err(|e| {
                    ReplyError::Login(format!("XOAUTH2 through account '{account}': {e}"))
                })?;
            ImapAuth::XOAuth2 {
                user: inbox.username.clone(),
                access_token: token,
            }
        }
        (None, None) => {
            return Err(ReplyError::Login(
                "no password_file or xoauth2_account".into(),
            ));
        }
    };
    Ok(ImapSettings {
        host,
        port: inbox.port,
        security: match inbox.security {
            crate::config::SmtpSecurity::Tls => ImapSecurity::Tls,
            crate::config::SmtpSecurity::Starttls => ImapSecurity::StartTls,
            crate::config::SmtpSecurity::None => ImapSecurity::None,
        },
        username: inbox.username.clone(),
        auth,
        mailbox: inbox.mailbox.clone(),
        ca_file: inbox.ca_file.clone(),
        timeout: std::time::Duration::from_secs(60),
    })
}

/// Reads the messages above the store's watermark for this mailbox, applies each
/// exactly once ([`apply`]), and only then marks it on the server: `\Seen` when it
/// was handled, `\Flagged` when it could not be read (it stays for a person to see).
pub async fn read_mailbox(
    config: &Config,
    inbox: &InboxConfig,
    secret: &ReplySecret,
    store: &Store,
    mailbox: &mut crate::inbox::Mailbox,
    now: DateTime<Utc>,
) -> Result<MailboxRound, ReplyError> {
    let uid_validity = mailbox.uid_validity();
    let watermark = store.reply_watermark(uid_validity)?;
    let max_size = u32::try_from(inbox.max_message_size).unwrap_or(u32::MAX);
    let fetched = mailbox
        .new_messages(watermark, max_size, MAX_MESSAGES_PER_READ)
        .await?;
    let mut round = MailboxRound::default();
    if fetched.is_empty() {
        return Ok(round);
    }
    // Only the series the replies are bound to, not the whole store.
    let bound: Vec<SeriesId> = fetched
        .iter()
        .filter_map(|message| message.raw.as_deref())
        .filter_map(|raw| reply_core::bound_series(raw, secret.bytes(), now))
        .collect();
    let analysis = crate::pass::analyze_bound_series(config, store, &bound, now)?;
    let desk = ReplyDesk {
        config,
        inbox,
        secret,
        analysis: &analysis,
        store,
    };
    for message in fetched {
        let at = MailboxUid {
            uid_validity,
            uid: message.uid,
        };
        let (record, recorded) = desk.apply(at, message.raw.as_deref(), now)?;
        round.read += 1;
        let sender = record.sender.as_deref().unwrap_or("(no sender)");
        let mark = match (&recorded, &record.outcome) {
            (
                Recorded::New,
                ReplyOutcome::Applied {
                    changes,
                    not_understood,
                },
            ) => {
                round.applied += 1;
                tracing::info!(reply = %at, sender, changes, not_understood, "reply applied");
                crate::inbox::Mark::Processed
            }
            (Recorded::New, ReplyOutcome::Ignored { reason }) => {
                round.ignored += 1;
                tracing::warn!(reply = %at, sender, "reply ignored: {reason}");
                crate::inbox::Mark::Processed
            }
            (Recorded::Duplicate(first), _) => {
                round.ignored += 1;
                tracing::info!(reply = %at, first = %first, "second copy of a reply ignored");
                crate::inbox::Mark::Processed
            }
            (_, ReplyOutcome::Failed { reason }) => {
                round.failed += 1;
                tracing::error!(reply = %at, "reply kept unread: {reason}");
                crate::inbox::Mark::Failed
            }
            (Recorded::Again(_), _) => crate::inbox::Mark::Processed,
        };
        mailbox.mark(message.uid, mark).await?;
    }
    Ok(round)
}

/// The HMAC key of reply tokens. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct ReplySecret(Vec<u8>);

impl std::fmt::Debug for ReplySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplySecret({} bytes)", self.0.len())
    }
}

impl ReplySecret {
    /// Loads the secret of `inbox`: `secret_file`, else `$CREDENTIALS_DIRECTORY/
    /// reply-secret`. Trailing line breaks are not part of it (so `openssl rand -hex
    /// 32 > file` works); at least 32 bytes must remain.
    pub fn load(inbox: &InboxConfig) -> Result<ReplySecret, ReplyError> {
        let path = match &inbox.secret_file {
            Some(path) => path.clone(),
            None => crate::auth::tokens::credentials_file(SECRET_CREDENTIAL)
                .ok_or(ReplyError::NoSecret)?,
        };
        Self::from_file(&path)
    }

    fn from_file(path: &Path) -> Result<ReplySecret, ReplyError> {
        let bad = |reason: String| ReplyError::Secret {
            path: path.to_path_buf(),
            reason,
        };
        let mut bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            bytes.pop();
        }
        if bytes.len() < token::MIN_SECRET_LEN {
            return Err(bad(format!(
                "{} bytes long; at least {} are needed (make one with `head -c 32 /dev/urandom`)",
                bytes.len(),
                token::MIN_SECRET_LEN
            )));
        }
        Ok(ReplySecret(bytes))
    }

    /// A secret from bytes already in hand (tests, benchmarks).
    pub fn from_bytes(bytes: &[u8]) -> ReplySecret {
        ReplySecret(bytes.to_vec())
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The secret for the briefs of a pass, when `[inbox]` is configured. A secret that
/// cannot be read is logged and the briefs go out without reply tokens: the brief
/// matters more than the way back.
pub fn secret_for_briefs(config: &Config) -> Option<ReplySecret> {
    let inbox = config.inbox.as_ref()?;
    match ReplySecret::load(inbox) {
        Ok(secret) => Some(secret),
        Err(error) => {
            tracing::error!("briefs go out without a reply address: {error}");
            None
        }
    }
}

/// The headers that bring a reply to `key`'s brief back: `Reply-To:
/// local+TOKEN@domain` and a Message-ID that carries the token. Nothing without an
/// inbox and its secret, or when the token cannot be made (logged).
pub fn brief_threading(
    inbox: Option<&InboxConfig>,
    secret: Option<&ReplySecret>,
    key: &BriefKey,
    meeting_start: DateTime<Utc>,
) -> Threading {
    let (Some(inbox), Some(secret)) = (inbox, secret) else {
        return Threading::default();
    };
    let lifetime = TimeDelta::from_std(inbox.token_lifetime).unwrap_or(TimeDelta::days(30));
    let expires = meeting_start
        .checked_add_signed(lifetime)
        .unwrap_or(meeting_start);
    let made =
        ReplyToken::issue(secret.bytes(), &key.series, &key.recipient, expires).and_then(|token| {
            let reply_to = token::reply_address(&inbox.address, &token)?;
            let domain = inbox.address.rsplit_once('@').map_or("", |(_, d)| d);
            let id = token::brief_message_id(&token, &mail::message::key_digest(key), domain);
            Ok((reply_to, id))
        });
    match made {
        Ok((reply_to, message_id)) => Threading {
            reply_to: Some(reply_to),
            message_id: Some(message_id),
            in_reply_to: None,
        },
        Err(error) => {
            tracing::error!(key = %key, "brief goes out without a reply address: {error}");
            Threading::default()
        }
    }
}

/// Whom a valid token names, as `tete reply` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BindingView {
    /// The series the brief belonged to.
    pub series: SeriesId,
    /// The series' title, when the series is known.
    pub title: Option<String>,
    /// The person the brief was sent to, when it is one of the series' two people.
    pub person: Option<String>,
    /// Until when the token is accepted.
    pub expires_at: DateTime<Utc>,
}

/// What tete makes of one message (the stable form `tete reply --json` prints).
#[derive(Clone, Debug, Serialize)]
pub struct Examined {
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Why it counts as automatic (then it is never applied nor answered).
    pub automatic: Option<String>,
    /// The From address.
    pub sender: Option<String>,
    /// The sender's own text, quotes and signature removed.
    pub visible_text: String,
    /// True when the visible text was cut at its bounds.
    pub truncated: bool,
    /// The series and person its token binds it to.
    pub binding: Option<BindingView>,
    /// Why it binds to nothing.
    pub binding_error: Option<String>,
    /// True when the token was issued to the sender and the sender passed the check
    /// the config asks for: only then is anything applied.
    pub authenticated: bool,
    /// What the sender check found (what passed, or why not).
    pub sender_check: Option<String>,
    /// The commands understood, in order.
    pub commands: Vec<Command>,
    /// Lines that looked like commands but were not understood.
    pub rejected: Vec<Rejected>,
    /// What each command would do against the series' items.
    pub outcomes: Vec<Resolved>,
    /// Why nothing would be applied, when nothing would.
    pub ignored: Option<String>,
}

/// A message examined, with what applying it would write.
#[derive(Debug)]
pub struct Examination {
    /// The report.
    pub examined: Examined,
    /// The changes (empty unless authenticated).
    pub writes: ReplyWrites,
    /// The confirmation to send, if the config asks for one.
    pub confirmation: Option<(Person, RenderedBrief)>,
}

impl Examination {
    fn ignored(examined: Examined) -> Examination {
        Examination {
            examined,
            writes: ReplyWrites::default(),
            confirmation: None,
        }
    }
}

/// The two people of a detected 1:1 series, by exact id.
fn one_on_one<'a>(analysis: &'a Analysis, series: &SeriesId) -> Option<&'a SeriesView> {
    analysis
        .series
        .iter()
        .find(|v| v.verdict.one_on_one && v.verdict.id == *series)
}

fn pair_of(view: &SeriesView) -> Option<[Person; 2]> {
    match view.verdict.participants.as_slice() {
        [a, b] => Some([a.clone(), b.clone()]),
        _ => None,
    }
}

/// The original start of the first upcoming meeting of `view` whose brief to
/// `person` has not been queued or sent: the meeting a reply's `skip` and `agenda:`
/// are about.
fn next_unbriefed(
    store: &Store,
    view: &SeriesView,
    person: &Person,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut upcoming: Vec<_> = view
        .occurrences
        .iter()
        .filter(|o| o.start_utc > now && o.status != EventStatus::Cancelled)
        .collect();
    upcoming.sort_by_key(|o| o.start_utc);
    for occurrence in upcoming {
        let key = BriefKey::new(view.id(), occurrence, person);
        if !store.was_queued_or_sent(&key)? {
            return Ok(Some(original_start(occurrence)));
        }
    }
    Ok(None)
}

/// What reading a reply needs: the config and its inbox, the secret, the store, and
/// an analysis of it (which series exist, and their two people).
#[derive(Clone, Copy)]
pub struct ReplyDesk<'a> {
    /// The config in force.
    pub config: &'a Config,
    /// Its `[inbox]`.
    pub inbox: &'a InboxConfig,
    /// The token secret.
    pub secret: &'a ReplySecret,
    /// The series as the store holds them now.
    pub analysis: &'a Analysis,
    /// The store.
    pub store: &'a Store,
}

impl ReplyDesk<'_> {
    /// See [`examine`].
    pub fn examine(&self, raw: &[u8], now: DateTime<Utc>) -> Result<Examination, StoreError> {
        examine(self, raw, now)
    }

    /// See [`apply`].
    pub fn apply(
        &self,
        at: MailboxUid,
        raw: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<(ReplyRecord, Recorded), ReplyError> {
        apply(self, at, raw, now)
    }
}

/// Examines `raw`: robots, token, sender, commands, and what they would change in
/// the store as it is now. Writes nothing.
pub fn examine(
    desk: &ReplyDesk<'_>,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Examination, StoreError> {
    let ReplyDesk {
        config,
        inbox,
        secret,
        analysis,
        store,
    } = *desk;
    let message = mail_parser::MessageParser::default().parse(raw);
    let message_id = message
        .as_ref()
        .filter(|m| !m.parts.is_empty())
        .and_then(|m| m.message_id())
        .map(|id| format!("<{}>", crate::core::brief::one_line(id)));
    let mut examined = Examined {
        message_id,
        automatic: None,
        sender: None,
        visible_text: String::new(),
        truncated: false,
        binding: None,
        binding_error: None,
        authenticated: false,
        sender_check: None,
        commands: Vec::new(),
        rejected: Vec::new(),
        outcomes: Vec::new(),
        ignored: None,
    };
    let Some(message) = message.filter(|m| !m.parts.is_empty()) else {
        examined.ignored = Some("not a mail message".into());
        return Ok(Examination::ignored(examined));
    };
    let report = reply_core::examine(&message, secret.bytes(), now, |series| {
        one_on_one(analysis, series).and_then(pair_of)
    });
    examined.automatic = report.automatic.clone();
    examined.sender = report.sender.clone();
    examined.visible_text = report.visible_text.clone();
    examined.truncated = report.truncated;
    examined.binding_error = report.binding_error.clone();
    examined.commands = report.commands.clone();
    examined.rejected = report.rejected.clone();
    if let Some(reason) = &report.automatic {
        examined.ignored = Some(format!("an automatic message ({reason})"));
        return Ok(Examination::ignored(examined));
    }
    let Some(binding) = &report.binding else {
        let why = report.binding_error.clone().unwrap_or_default();
        examined.ignored = Some(format!("bound to no brief: {why}"));
        return Ok(Examination::ignored(examined));
    };
    let view = one_on_one(analysis, &binding.series);
    let people = view.and_then(pair_of);
    examined.binding = Some(BindingView {
        series: binding.series.clone(),
        title: view.map(|v| v.verdict.title.clone()),
        person: people
            .as_ref()
            .and_then(|p| binding.recipient_among(secret.bytes(), p))
            .map(Person::key),
        expires_at: binding.expires_at,
    });
    let (Some(view), Some(people), Some(sender)) = (view, people, report.sender.clone()) else {
        let why = report
            .binding_error
            .clone()
            .unwrap_or_else(|| "no sender".into());
        examined.ignored = Some(format!("bound to no known 1:1: {why}"));
        return Ok(Examination::ignored(examined));
    };
    if !report.authenticated {
        examined.ignored = Some(format!("{sender} is not the person this brief was sent to"));
        return Ok(Examination::ignored(examined));
    }
    match inbox.verify_sender {
        SenderCheck::None => {
            examined.sender_check = Some("not checked (verify_sender = \"none\")".into());
        }
        SenderCheck::AuthenticationResults => {
            let authserv_id = inbox.authserv_id.as_deref().unwrap_or_default();
            match authres::sender_authenticated(&message, authserv_id, &sender) {
                Ok(passed) => examined.sender_check = Some(passed),
                Err(why) => {
                    examined.sender_check = Some(why.clone());
                    examined.ignored = Some(format!("the sender {sender} is not verified: {why}"));
                    return Ok(Examination::ignored(examined));
                }
            }
        }
    }
    examined.authenticated = true;
    let Some(person) = people.iter().find(|p| p.key() == sender).cloned() else {
        examined.ignored = Some(format!("{sender} is not one of the two people"));
        return Ok(Examination::ignored(examined));
    };

    let context = &view.context;
    let all_items = store.items(context)?;
    let open_items: Vec<ActionItem> = all_items.iter().filter(|i| i.is_open()).cloned().collect();
    let mut outcomes = commands::resolve(&report.commands, &open_items, &all_items);
    let mut writes = ReplyWrites {
        series: Some(context.clone()),
        ..ReplyWrites::default()
    };
    let next_meeting = next_unbriefed(store, view, &person, now)?;
    for outcome in &mut outcomes {
        let no_meeting = |line: usize, text: &str| {
            Resolved::Rejected(Rejected {
                line,
                text: text.to_string(),
                reason: "this 1:1 has no upcoming meeting whose brief is still to be sent".into(),
            })
        };
        match outcome {
            Resolved::Close { item, .. } => writes.close.push(item.clone()),
            Resolved::Reopen { item, .. } => writes.reopen.push(item.clone()),
            Resolved::Add { text, owner, .. } => writes.add.push(ActionItem {
                origin: ItemOrigin::Reply { added_at: now },
                ..ActionItem::from_cli(context, text, owner.clone(), now)
            }),
            Resolved::TalkingPoint { line, text } => match next_meeting {
                Some(slot) => writes
                    .topics
                    .push(TalkingPoint::new(context, text, &sender, now, slot)),
                None => *outcome = no_meeting(*line, &format!("agenda: {text}")),
            },
            Resolved::PrivateNote { text, author, .. } => writes.notes.push(Note {
                source: NoteSource::Reply,
                ..Note::from_cli(context, text, author, true, now)
            }),
            Resolved::Skip { line, person } => match next_meeting {
                Some(slot) => writes.skips.push(PersonalSkip {
                    series: context.clone(),
                    occurrence: slot,
                    person: normalize_email(person),
                }),
                None => *outcome = no_meeting(*line, "skip"),
            },
            Resolved::Unchanged { .. } | Resolved::Rejected(_) => {}
        }
    }
    let trouble = !report.rejected.is_empty()
        || report.commands.is_empty()
        || outcomes
            .iter()
            .any(|o| matches!(o, Resolved::Rejected(_) | Resolved::Unchanged { .. }));
    let wanted = match inbox.confirmations {
        Confirmations::Always => true,
        Confirmations::OnError => trouble,
        Confirmations::Never => false,
    };
    let confirmation = wanted.then(|| {
        let text = confirm::confirmation(&outcomes, &report.rejected, &people, &sender);
        let subject = message
            .subject()
            .map(crate::core::brief::one_line)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.to_ascii_lowercase().starts_with("re:") {
                    s
                } else {
                    format!("Re: {s}")
                }
            })
            .unwrap_or_else(|| format!("Re: {}", view.verdict.title));
        (person, confirmation_message(subject, text, config))
    });
    examined.outcomes = outcomes;
    Ok(Examination {
        examined,
        writes,
        confirmation,
    })
}

/// The confirmation as a message: the text, and the same text in a `<pre>`.
fn confirmation_message(subject: String, text: String, _config: &Config) -> RenderedBrief {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    RenderedBrief {
        subject,
        html: format!(
            "<html><body style=\"font-family:sans-serif\"><pre style=\"white-space:pre-wrap;font-family:inherit\">{escaped}</pre></body></html>"
        ),
        text,
    }
}

/// The changes a record counts.
fn change_count(writes: &ReplyWrites) -> usize {
    writes.close.len()
        + writes.reopen.len()
        + writes.add.len()
        + writes.topics.len()
        + writes.notes.len()
        + writes.skips.len()
}

/// Applies the message at `at` exactly once: examines it, then records it with its
/// changes and confirmation in one transaction. `raw` is `None` for a message too
/// large to download (recorded as failed). Returns the record and whether it was new.
pub fn apply(
    desk: &ReplyDesk<'_>,
    at: MailboxUid,
    raw: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<(ReplyRecord, Recorded), ReplyError> {
    let (config, inbox, store) = (desk.config, desk.inbox, desk.store);
    if let Some(earlier) = store.reply_record(at)? {
        return Ok((earlier.clone(), Recorded::Again(earlier)));
    }
    let Some(raw) = raw else {
        let record = ReplyRecord {
            at,
            message_id: None,
            sender: None,
            series: None,
            read_at: now,
            outcome: ReplyOutcome::Failed {
                reason: format!(
                    "larger than inbox.max_message_size ({} bytes); not downloaded",
                    inbox.max_message_size
                ),
            },
        };
        let recorded = store.record_reply(&record, &ReplyWrites::default(), now)?;
        return Ok((record, recorded));
    };
    let examination = examine(desk, raw, now)?;
    let examined = &examination.examined;
    let mut writes = examination.writes;
    let outcome = match &examined.ignored {
        Some(reason) => ReplyOutcome::Ignored {
            reason: reason.clone(),
        },
        None => ReplyOutcome::Applied {
            changes: change_count(&writes),
            not_understood: examined.rejected.len()
                + examined
                    .outcomes
                    .iter()
                    .filter(|o| matches!(o, Resolved::Rejected(_)))
                    .count(),
        },
    };
    if let (Some((person, message)), Some(binding)) = (&examination.confirmation, &examined.binding)
    {
        let key = BriefKey {
            series: SeriesId(format!("reply:{}", binding.series)),
            occurrence: at.to_string(),
            recipient: person.key(),
        };
        let threading = Threading {
            in_reply_to: examined.message_id.clone(),
            ..Threading::default()
        };
        match mail::outbox_entry(
            &config.mail.from,
            message,
            person,
            &key,
            now + CONFIRMATION_VALIDITY,
            now,
            &threading,
        ) {
            Ok(entry) => writes.confirmation = Some(entry),
            // The reply is still applied; only its answer is lost, and said so.
            Err(error) => tracing::error!(reply = %at, "cannot build the confirmation: {error}"),
        }
    }
    let record = ReplyRecord {
        at,
        message_id: examined.message_id.clone(),
        sender: examined.sender.clone(),
        series: examined.binding.as_ref().map(|b| b.series.clone()),
        read_at: now,
        outcome,
    };
    let recorded = store.record_reply(&record, &writes, now)?;
    Ok((record, recorded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused_and_a_trailing_newline_is_not_part_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "too short\n").unwrap();
        let error = ReplySecret::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("9 bytes long"), "{error}");
        assert!(!error.contains("too short"), "the secret leaked: {error}");
        std::fs::write(&path, format!("{}\n", "a".repeat(64))).unwrap();
        let secret = ReplySecret::from_file(&path).unwrap();
        assert_eq!(secret.bytes().len(), 64);
        assert_eq!(format!("{secret:?}"), "ReplySecret(64 bytes)");
    }
}

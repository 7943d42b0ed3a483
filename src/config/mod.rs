//! The TOML config file: schema, defaults and validation.
//!
//! Loading runs in two layers. `raw` deserializes the file exactly as written
//! (unknown keys are errors, every value keeps its span); `validate` then applies the
//! defaults and checks every value, collecting *all* problems with their
//! `FILE:LINE:COL` so one run of `tete check` shows everything to fix. A syntax or type
//! error stops at the first problem, since nothing after it can be trusted.
//!
//! Entry points: [`load`] (the daemon and commands), [`load_checked`] (also returns
//! warnings), [`parse`] / [`parse_checked`] (text already in hand, for tests),
//! [`parse_now`] (`--now`). Errors come back as [`ConfigErrors`]; what they mean for
//! an exit code is the command line's business (`cli::load_or_exit`).
//!
//! Warnings (a world-writable config file, a secret file that is missing or
//! unreadable, a transport table that is ignored, ...) never stop loading. They are
//! returned in [`Loaded::warnings`], already formatted as `FILE:LINE:COL: KEY: message`.

use chrono::NaiveTime;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod duration;
mod errors;
mod followup;
mod inbox;
mod metrics;
mod now;
mod org;
mod raw;
mod validate;

pub use duration::{format_duration, parse_duration, parse_size};
pub use errors::{ConfigError, ConfigErrors};
pub use followup::{CadenceConfig, RecapConfig};

pub use inbox::{
    Confirmations, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_TOKEN_LIFETIME, InboxConfig, SenderCheck,
};
pub use metrics::MetricsConfig;
pub use now::parse_now;
pub use org::{
    DEFAULT_DIRECTORY_REFRESH, ORG_ACCOUNT_SEPARATOR, OrgConfig, OrgCredential, RelationPrompts,
};
pub use validate::{DEFAULT_PROMPTS, parse_zone};

/// `state_dir` when neither the file nor `$STATE_DIRECTORY` sets it.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/tete";
/// `store.cache_capacity` default: 32 MiB. sled's real use is above its bound, and
/// the process's memory follows it almost one for one; at 10,000 accounts × 200
/// events 32 MiB keeps a syncing and analysing daemon under 250 MB where 64 MiB did
/// not, with no slower a first round (docs/benchmarks.md, "The store a sync leaves, and sled's bound").
pub const DEFAULT_CACHE_CAPACITY: u64 = 32 << 20;
/// `detection.horizon` default: 35 days.
pub const DEFAULT_HORIZON: Duration = Duration::from_secs(35 * 86_400);
/// `detection.history` default: 180 days.
pub const DEFAULT_HISTORY: Duration = Duration::from_secs(180 * 86_400);
/// `brief.lead_time` default: 18 hours.
pub const DEFAULT_LEAD_TIME: Duration = Duration::from_secs(18 * 3_600);
/// `accounts.poll_interval` default: 5 minutes.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(300);
/// The shortest `accounts.poll_interval` accepted: polling faster only burns quota.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// The longest `accounts.poll_interval` accepted: a calendar read less than daily
/// misses the meetings booked for tomorrow, and the bound keeps the schedule's
/// date arithmetic far from overflow.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(86_400);
/// The longest `brief.lead_time` accepted: six weeks, past any sensible lead time
/// (which the horizon must also cover), and far from the dates chrono can represent.
pub const MAX_LEAD_TIME: Duration = Duration::from_secs(6 * 7 * 86_400);
/// The longest `detection.horizon` accepted: 104 weeks, two years of expansion ahead
/// (a daily series is then ~730 occurrences per pass).
pub const MAX_HORIZON: Duration = Duration::from_secs(104 * 7 * 86_400);
/// The longest `detection.history` accepted: 260 weeks, five years back.
pub const MAX_HISTORY: Duration = Duration::from_secs(260 * 7 * 86_400);

/// A validated config and the warnings found while loading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The configuration, defaults applied, paths absolute.
    pub config: Config,
    /// Problems that do not stop tete, formatted `FILE:LINE:COL: KEY: message`.
    pub warnings: Vec<String>,
}

/// Reads, parses and validates the config file. Warnings are logged with
/// `tracing::warn!`; use [`load_checked`] to get them instead.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let loaded = load_checked(path)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.config)
}

/// Like [`load`], but returns the warnings instead of logging them. Besides what
/// [`parse_checked`] finds, this looks at the file system: a world-writable config
/// file, and secret files (`password_file`, `client_secret_file`) or an ics path that
/// do not exist or cannot be read, are warnings. Their contents are never read.
pub fn load_checked(path: &Path) -> Result<Loaded, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        let message = match error.kind() {
            ErrorKind::NotFound => "config file not found".to_string(),
            ErrorKind::PermissionDenied => "config file cannot be read: permission denied".into(),
            ErrorKind::InvalidData => "config file is not valid UTF-8".into(),
            _ => format!("config file cannot be read: {error}"),
        };
        ConfigErrors::one(ConfigError {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            key_path: String::new(),
            message,
            expected: Some("a TOML file; pass another with --config or $TETE_CONFIG".into()),
        })
    })?;
    let state_directory = std::env::var_os("STATE_DIRECTORY");
    let (mut loaded, checks) = validate::parse_inner(&text, path, state_directory.as_deref())?;
    let mut warnings = Vec::new();
    if is_world_writable(path) {
        warnings.push(format!(
            "{}: the config file is world-writable; anyone on this machine can change where briefs go (fix: chmod o-w)",
            path.display()
        ));
    }
    warnings.extend(validate::file_warnings(&checks));
    warnings.append(&mut loaded.warnings);
    loaded.warnings = warnings;
    Ok(loaded)
}

/// Parses and validates config text that was read from `path` (used for error
/// messages and to resolve relative paths). `$STATE_DIRECTORY` is read from the
/// environment; nothing else outside the text is consulted.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    parse_checked(text, path).map(|loaded| loaded.config)
}

/// Like [`parse`], but also returns the warnings found in the text.
pub fn parse_checked(text: &str, path: &Path) -> Result<Loaded, ConfigErrors> {
    let state_directory = std::env::var_os("STATE_DIRECTORY");
    validate::parse_with_env(text, path, state_directory.as_deref())
}

#[cfg(unix)]
fn is_world_writable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o002 != 0)
}

#[cfg(not(unix))]
fn is_world_writable(_path: &Path) -> bool {
    false
}

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was loaded from (errors and relative paths refer to it).
    pub source_path: PathBuf,
    /// Where the store lives (absolute after loading).
    pub state_dir: PathBuf,
    /// Default display zone, and the zone floating calendar times are read in.
    pub timezone: chrono_tz::Tz,
    /// `error`, `warn`, `info`, `debug` or `trace`; `RUST_LOG` overrides it.
    pub log_level: String,
    /// Key that encrypts OAuth refresh tokens at rest (32 bytes, raw or hex/base64;
    /// absolute after loading). Else `$CREDENTIALS_DIRECTORY/token-key`, else none.
    pub token_key_file: Option<PathBuf>,
    /// Store tuning.
    pub store: StoreConfig,
    /// Which recurring meetings count as 1:1s.
    pub detection: DetectionConfig,
    /// When and what to send.
    pub brief: BriefConfig,
    /// How mail leaves.
    pub mail: MailConfig,
    /// Per-person settings (time zone, opt-out).
    pub people: Vec<PersonConfig>,
    /// Calendars to read.
    pub accounts: Vec<AccountConfig>,
    /// Organisations whose people tete covers without a sign-in each (`[[orgs]]`).
    pub orgs: Vec<OrgConfig>,
    /// Replies by email (`[inbox]`), when configured.
    pub inbox: Option<InboxConfig>,
    /// Recaps after meetings.
    pub recap: RecapConfig,
    /// Alerts when 1:1s stop happening.
    pub cadence: CadenceConfig,
    /// The metrics endpoint (`[metrics]`), when one is configured.
    pub metrics: Option<MetricsConfig>,
}

impl Config {
    /// True when `account`'s OAuth token logs in to a mail server: it sends the
    /// briefs (`[mail.smtp] xoauth2_account`) or reads the replies (`[inbox]
    /// xoauth2_account`). Its sign-in must then ask for mail access too.
    pub fn uses_mail_token(&self, account: &str) -> bool {
        let smtp = self
            .mail
            .smtp
            .as_ref()
            .and_then(|s| s.xoauth2_account.as_deref());
        let inbox = self
            .inbox
            .as_ref()
            .and_then(|i| i.xoauth2_account.as_deref());
        smtp == Some(account) || inbox == Some(account)
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|account| account.name == name)
    }

    /// The org called `name`.
    pub fn org(&self, name: &str) -> Option<&OrgConfig> {
        self.orgs.iter().find(|org| org.name == name)
    }

    /// The zone `email`'s brief is shown in: their `[[people]]` zone, else `timezone`.
    /// `email` is compared case-insensitively.
    pub fn zone_of(&self, email: &str) -> chrono_tz::Tz {
        let email = email.trim().to_lowercase();
        self.people
            .iter()
            .find(|person| person.email == email)
            .and_then(|person| person.timezone)
            .unwrap_or(self.timezone)
    }
}

impl MailConfig {
    /// Whether `email` may receive a brief: its domain is in `allowed_domains` and it
    /// has not opted out. Case-insensitive.
    pub fn may_receive(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        self.allowed_domains.iter().any(|allowed| allowed == domain)
            && !self.opt_out.contains(&email)
    }
}

/// Store tuning.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Upper bound of sled's page cache in bytes (sled's own default is 1 GiB).
    pub cache_capacity: u64,
}

/// Which recurring meetings count as 1:1s.
#[derive(Clone, Debug, Default)]
pub struct DetectionConfig {
    /// If non-empty, only titles containing one of these (case-insensitive) are 1:1s.
    pub title_include: Vec<String>,
    /// Titles containing one of these (case-insensitive) are never 1:1s.
    pub title_exclude: Vec<String>,
    /// Meetings with a participant in one of these domains are never 1:1s
    /// (lower-cased).
    pub skip_domains: Vec<String>,
    /// Series opted out by id (`tete series` shows ids) or by UID.
    pub opt_out_series: Vec<String>,
    /// How far ahead occurrences are expanded.
    pub horizon: Duration,
    /// How far back history is kept and expanded.
    pub history: Duration,
}

/// When and what to send.
#[derive(Clone, Debug)]
pub struct BriefConfig {
    /// A brief is due this long before the meeting starts. Holds the default (18h)
    /// when `send_at` is set: `send_at`, when `Some`, takes precedence.
    pub lead_time: Duration,
    /// Instead of `lead_time`: this local time (recipient's zone) on the meeting day.
    pub send_at: Option<NaiveTime>,
    /// Rotating conversation starters.
    pub prompts: Vec<String>,
    /// Conversation starters by org-chart relation (org mode).
    pub relation_prompts: RelationPrompts,
    /// How people get their briefs unless `[[people]]` says otherwise.
    pub delivery: Delivery,
    /// When a digest goes out (local time of the recipient) unless `[[people]]`
    /// says otherwise.
    pub digest_at: NaiveTime,
}

/// How one person gets their briefs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// One brief per meeting, at its lead time.
    Each,
    /// One morning email on each day with 1:1s, holding all of that day's briefs.
    Digest,
}

/// `brief.digest_at` default: 07:30.
pub const DEFAULT_DIGEST_AT: NaiveTime = match NaiveTime::from_hms_opt(7, 30, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};

/// How mail leaves.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The From mailbox, e.g. `1:1 briefs <briefs@example.com>`. Checked with lettre
    /// and stored in lettre's rendering, so `from.parse::<lettre::message::Mailbox>()`
    /// always succeeds.
    pub from: String,
    /// Which transport sends.
    pub transport: TransportKind,
    /// SMTP settings (required when `transport = "smtp"`).
    pub smtp: Option<SmtpConfig>,
    /// File settings (required when `transport = "file"`).
    pub file: Option<FileTransportConfig>,
    /// People outside these domains get no brief; default: the owners' domains.
    /// Lower-cased.
    pub allowed_domains: Vec<String>,
    /// Addresses that asked not to receive briefs (lower-cased).
    pub opt_out: Vec<String>,
    /// Mail an account's owner once when the account needs to sign in again.
    pub sign_in_notices: bool,
}

/// Which transport sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// lettre SMTP.
    Smtp,
    /// One `.eml` file per message in a folder.
    File,
}

/// How a connection to a mail server (SMTP, IMAP) is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// STARTTLS on a plain connection (port 587).
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// No TLS: allowed only towards a loopback address.
    None,
}

/// SMTP settings.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Server port (default by security: 587, 465, 25).
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Login name for AUTH, if any.
    pub username: Option<String>,
    /// File holding the password (absolute after loading).
    pub password_file: Option<PathBuf>,
    /// Use XOAUTH2 with the token of this account instead of a password.
    pub xoauth2_account: Option<String>,
}

/// File transport settings.
#[derive(Clone, Debug)]
pub struct FileTransportConfig {
    /// Folder that receives one `.eml` per message (absolute after loading).
    pub dir: PathBuf,
}

/// Per-person settings.
#[derive(Clone, Debug)]
pub struct PersonConfig {
    /// Address (lower-cased).
    pub email: String,
    /// Display zone for this person's briefs.
    pub timezone: Option<chrono_tz::Tz>,
    /// Their delivery, when it differs from `brief.delivery`.
    pub delivery: Option<Delivery>,
    /// Their digest time, when it differs from `brief.digest_at`.
    pub digest_at: Option<NaiveTime>,
    /// Their display name from an org's directory (not a config key).
    pub name: Option<String>,
    /// Their manager's lower-cased address from an org's directory (not a config key).
    pub manager: Option<String>,
}

/// Which provider an account reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Google Calendar API v3.
    Google,
    /// Microsoft Graph.
    Microsoft,
    /// An .ics file or URL.
    Ics,
}

/// One calendar account.
#[derive(Clone, Debug)]
pub struct AccountConfig {
    /// Unique name (`tete auth <name>`).
    pub name: String,
    /// Which provider.
    pub provider: Provider,
    /// Whose calendar this is: the calendar owner's address (lower-cased).
    pub owner: Option<String>,
    /// For `ics`: a path (absolute after loading), `file://` or `https://` URL.
    /// After loading it is either an absolute path (plain paths and `file://` URLs
    /// are both turned into one) or an `https://` URL (`http://` only to loopback).
    pub url: Option<String>,
    /// OAuth client id (google, microsoft).
    pub client_id: Option<String>,
    /// File holding the OAuth client secret (absolute after loading).
    pub client_secret_file: Option<PathBuf>,
    /// Calendars to read (`primary` by default); empty for `ics` accounts.
    pub calendars: Vec<String>,
    /// How often to poll.
    pub poll_interval: Duration,
    /// Microsoft tenant (`common`, `organizations` or a tenant id); `Some("common")`
    /// by default for microsoft accounts, always `None` for the others.
    pub tenant: Option<String>,
    /// Endpoint override: API base URL.
    pub api_base_url: Option<String>,
    /// Endpoint override: OAuth authorization URL.
    pub auth_url: Option<String>,
    /// Endpoint override: OAuth token URL.
    pub token_url: Option<String>,
    /// Endpoint override: OAuth device authorization URL.
    pub device_authorization_url: Option<String>,
    /// The org (`[[orgs]]` name) this account was made for, covering its owner; `None`
    /// for `[[accounts]]` entries.
    pub org: Option<String>,
}

#[cfg(test)]
mod tests;

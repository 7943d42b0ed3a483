//! The TOML config file: schema, defaults and validation.
//!
//! SKELETON: the field layout below is the contract other modules read. Loading,
//! validation with file:line:col errors and defaults are still to be written.

use chrono::NaiveTime;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Meetings with a participant in one of these domains are never 1:1s.
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
    /// A brief is due this long before the meeting starts.
    pub lead_time: Duration,
    /// Instead of `lead_time`: this local time (recipient's zone) on the meeting day.
    pub send_at: Option<NaiveTime>,
    /// Rotating conversation starters.
    pub prompts: Vec<String>,
}

/// How mail leaves.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The From mailbox, e.g. `1:1 briefs <briefs@example.com>`.
    pub from: String,
    /// Which transport sends.
    pub transport: TransportKind,
    /// SMTP settings (required when `transport = "smtp"`).
    pub smtp: Option<SmtpConfig>,
    /// File settings (required when `transport = "file"`).
    pub file: Option<FileTransportConfig>,
    /// People outside these domains get no brief; default: the owners' domains.
    pub allowed_domains: Vec<String>,
    /// Addresses that asked not to receive briefs.
    pub opt_out: Vec<String>,
}

/// Which transport sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// lettre SMTP.
    Smtp,
    /// One `.eml` file per message in a folder.
    File,
}

/// How the SMTP connection is secured.
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
    pub url: Option<String>,
    /// OAuth client id (google, microsoft).
    pub client_id: Option<String>,
    /// File holding the OAuth client secret (absolute after loading).
    pub client_secret_file: Option<PathBuf>,
    /// Calendars to read (`primary` by default).
    pub calendars: Vec<String>,
    /// How often to poll.
    pub poll_interval: Duration,
    /// Microsoft tenant (`common`, `organizations` or a tenant id).
    pub tenant: Option<String>,
    /// Endpoint override: API base URL.
    pub api_base_url: Option<String>,
    /// Endpoint override: OAuth authorization URL.
    pub auth_url: Option<String>,
    /// Endpoint override: OAuth token URL.
    pub token_url: Option<String>,
    /// Endpoint override: OAuth device authorization URL.
    pub device_authorization_url: Option<String>,
}

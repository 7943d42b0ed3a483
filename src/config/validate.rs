//! From the raw file to a [`Config`]: defaults, checks, and every problem collected.

use super::duration::{DURATION_EXPECTED, SIZE_EXPECTED, parse_duration, parse_size};
use super::errors::{ConfigError, ConfigErrors, Source};
use super::raw::{RawAccount, RawConfig, RawMail, RawSize, RawSmtp, S};
use super::{
    AccountConfig, BriefConfig, Config, DEFAULT_CACHE_CAPACITY, DEFAULT_HISTORY, DEFAULT_HORIZON,
    DEFAULT_LEAD_TIME, DEFAULT_POLL_INTERVAL, DEFAULT_STATE_DIR, DetectionConfig,
    FileTransportConfig, Loaded, MAX_HISTORY, MAX_HORIZON, MAX_LEAD_TIME, MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL, MailConfig, PersonConfig, Provider, SmtpConfig, SmtpSecurity, StoreConfig,
    TransportKind,
};
use chrono::NaiveTime;
use chrono_tz::Tz;
use std::ffi::OsStr;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The conversation starters used when `brief.prompts` is not set. They go into real
/// emails to both people, so they are open questions that work from either side of
/// the table.
pub const DEFAULT_PROMPTS: &[&str] = &[
    "What has given you energy at work lately, and what has drained it?",
    "How are you doing, really, beyond the work itself?",
    "What is one thing the other person could do differently to make your work easier?",
    "Is there feedback, in either direction, that has been waiting for the right moment?",
    "What are you most proud of since the last time you met?",
    "What would you like to learn or get better at over the next few months?",
    "Where are you stuck right now, and what would help you get unstuck?",
    "Is anything slowing you down that the other person could help remove?",
    "Which part of your work would you like more of, and which less?",
    "Is there a decision coming up that you would like to think through together?",
    "Is your workload sustainable right now? What would you change?",
];

const ZONE_EXPECTED: &str = "an IANA time zone name such as \"Europe/Berlin\" or \"UTC\"";
const EMAIL_EXPECTED: &str = "a plain email address such as \"ana@example.com\"";
pub(super) const DOMAIN_EXPECTED: &str = "a domain such as \"example.com\", without @";
const URL_EXPECTED: &str = "an https:// URL (http:// only to localhost, 127.0.0.0/8 or ::1)";
const NAME_EXPECTED: &str = "letters, digits, _ and - only, such as \"work\"";
const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// A file to look at after parsing (only [`super::load_checked`] touches the disk).
pub(crate) struct PathCheck {
    /// `FILE:LINE:COL: KEY` of the value that named the file.
    location: String,
    path: PathBuf,
    /// Secrets should also not be readable by everyone.
    secret: bool,
}

/// Parses `text`; `state_directory` stands in for `$STATE_DIRECTORY`.
pub(crate) fn parse_with_env(
    text: &str,
    path: &Path,
    state_directory: Option<&OsStr>,
) -> Result<Loaded, ConfigErrors> {
    parse_inner(text, path, state_directory).map(|(loaded, _)| loaded)
}

/// Like [`parse_with_env`], also returning the files [`file_warnings`] should look at.
pub(crate) fn parse_inner(
    text: &str,
    path: &Path,
    state_directory: Option<&OsStr>,
) -> Result<(Loaded, Vec<PathCheck>), ConfigErrors> {
    let src = Source { path, text };
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| ConfigErrors::one(toml_error(&src, &e)))?;
    let mut v = Validator {
        dir: config_dir(path),
        src,
        errors: Vec::new(),
        warnings: Vec::new(),
        checks: Vec::new(),
    };
    let config = v.config(raw, state_directory);
    if v.errors.is_empty() {
        v.warnings.sort_by_key(|(offset, _)| *offset);
        let warnings = v.warnings.into_iter().map(|(_, w)| w).collect();
        Ok((Loaded { config, warnings }, v.checks))
    } else {
        v.errors.sort_by_key(|e| (e.line, e.col));
        v.errors.dedup();
        Err(ConfigErrors { errors: v.errors })
    }
}

/// Warnings about files named in the config: missing, unreadable, or (secrets)
/// readable by everyone. Contents are never read.
pub(crate) fn file_warnings(checks: &[PathCheck]) -> Vec<String> {
    let mut warnings = Vec::new();
    for check in checks {
        let shown = check.path.display();
        match std::fs::File::open(&check.path) {
            Ok(_) => {
                if check.secret && is_world_readable(&check.path) {
                    warnings.push(format!(
                        "{}: {shown} is readable by every user (fix: chmod o-r)",
                        check.location
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                warnings.push(format!("{}: {shown} does not exist", check.location));
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                warnings.push(format!(
                    "{}: {shown} cannot be read by this user",
                    check.location
                ));
            }
            Err(e) => warnings.push(format!("{}: {shown} cannot be opened: {e}", check.location)),
        }
    }
    warnings
}

#[cfg(unix)]
fn is_world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o004 != 0)
}

#[cfg(not(unix))]
fn is_world_readable(_path: &Path) -> bool {
    false
}

/// A toml syntax, type or unknown-key error, pointed at its span.
fn toml_error(src: &Source<'_>, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |span| span.start);
    let text = error.message().lines().next().unwrap_or("").trim();
    let (message, expected) = match text.rsplit_once(", expected ") {
        Some((message, expected)) => (message.to_string(), Some(plain_expected(expected))),
        None => (text.to_string(), None),
    };
    // serde says "field"; the file says "key".
    let message = message.replace("unknown field", "unknown key");
    let key_path = if error.span().is_some() {
        src.key_path_at(offset)
    } else {
        String::new()
    };
    src.error_at(offset, key_path, message, expected)
}

/// serde's names for what it expected, in the words of a TOML file.
fn plain_expected(expected: &str) -> String {
    match expected {
        "a sequence" => "a list, such as [\"a\", \"b\"]".to_string(),
        "i64" | "u64" | "an integer" => "a whole number".to_string(),
        other if other.starts_with("struct Raw") => "a table".to_string(),
        other => other.to_string(),
    }
}

/// The config file's folder, absolute: relative paths in the file start there.
fn config_dir(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// `base/relative` with `.` components removed (`..` is kept: with symlinks it is not
/// a lexical operation).
fn resolve(base: &Path, relative: &Path) -> PathBuf {
    // Lexical clean-up (`a/./b/../c` → `a/c`) so messages and `check` show the path a
    // person would write; config folders are not expected to be symlinks into elsewhere.
    let mut clean = PathBuf::new();
    for component in base.join(relative).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(clean.components().next_back(), Some(Component::Normal(_))) =>
            {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

/// Is `host` a loopback name or address (`localhost`, `127.0.0.0/8`, `::1`)?
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses an IANA zone name; the error names the likely intended zone when the
/// mistake is a common one (`"Berlin"`, `"europe/berlin"`, `"PST"`, `"UTC+2"`).
pub fn parse_zone(text: &str) -> Result<Tz, String> {
    let name = text.trim();
    if let Ok(zone) = name.parse::<Tz>() {
        return Ok(zone);
    }
    let mut message = format!("unknown time zone \"{name}\"");
    if let Some(suggestion) = zone_suggestion(name) {
        message.push_str(&format!("; did you mean \"{suggestion}\"?"));
    }
    Err(message)
}

fn zone_suggestion(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let underscored = name.replace(' ', "_");
    if let Some(zone) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|zone| zone.name().eq_ignore_ascii_case(&underscored))
    {
        return Some(zone.name().to_string());
    }
    let upper = name.to_ascii_uppercase();
    let abbreviation = match upper.as_str() {
        "PST" | "PDT" | "PT" => Some("America/Los_Angeles"),
        "MDT" | "MT" => Some("America/Denver"),
        "CST" | "CDT" | "CT" => Some("America/Chicago"),
        "EDT" | "ET" => Some("America/New_York"),
        "CEST" | "MEZ" | "MESZ" => Some("Europe/Berlin"),
        "BST" => Some("Europe/London"),
        "IST" => Some("Asia/Kolkata"),
        "JST" => Some("Asia/Tokyo"),
        "AEST" | "AEDT" => Some("Australia/Sydney"),
        "Z" | "ZULU" => Some("UTC"),
        _ => None,
    };
    if let Some(zone) = abbreviation {
        return Some(zone.to_string());
    }
    for prefix in ["UTC", "GMT"] {
        if let Some(offset) = upper.strip_prefix(prefix) {
            let hours: Option<i32> = offset.trim().parse().ok();
            if let Some(hours) = hours.filter(|h| (-12..=14).contains(h)) {
                // Etc/ zones count the other way round: UTC+2 is Etc/GMT-2.
                let etc = match hours {
                    0 => "UTC".to_string(),
                    h if h > 0 => format!("Etc/GMT-{h}"),
                    h => format!("Etc/GMT+{}", -h),
                };
                return Some(etc);
            }
        }
    }
    // A bare city: "Berlin" → "Europe/Berlin". Prefer the current region names over
    // legacy aliases such as "US/..." or "Etc/...".
    let suffix = format!("/{}", underscored.to_ascii_lowercase());
    let regions = [
        "Europe/",
        "America/",
        "Asia/",
        "Africa/",
        "Australia/",
        "Pacific/",
        "Atlantic/",
        "Indian/",
    ];
    let matches: Vec<&str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|zone| zone.name())
        .filter(|zone| zone.to_ascii_lowercase().ends_with(&suffix))
        .collect();
    matches
        .iter()
        .find(|zone| regions.iter().any(|r| zone.starts_with(r)))
        .or(matches.first())
        .map(|zone| zone.to_string())
}

/// Lower-cases and checks an email address.
fn check_email(text: &str) -> Result<String, String> {
    let email = text.trim().to_lowercase();
    if email.is_empty() {
        return Err("empty email address".into());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("\"{text}\" is not an email address (no @)"));
    };
    let bad_char = |c: char| c.is_whitespace() || "<>,;\"()[]".contains(c);
    if local.is_empty() || domain.is_empty() || domain.contains('@') || email.contains(bad_char) {
        return Err(format!("\"{text}\" is not a plain email address"));
    }
    Ok(email)
}

/// Lower-cases and checks a domain name.
pub(super) fn check_domain(text: &str) -> Result<String, String> {
    let domain = text.trim().to_lowercase();
    if domain.is_empty() {
        return Err("empty domain".into());
    }
    if let Some(rest) = domain.strip_prefix('@') {
        return Err(format!("write the domain without @: \"{rest}\""));
    }
    if domain.contains(|c: char| c.is_whitespace() || "@/:<>,;".contains(c)) {
        return Err(format!("\"{text}\" is not a domain"));
    }
    Ok(domain)
}

/// Checks an http(s) URL: https anywhere, plain http only to a loopback host.
fn check_http_url(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let url = reqwest::Url::parse(trimmed).map_err(|e| format!("\"{text}\" is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(format!("\"{text}\" has no host"));
    }
    match url.scheme() {
        "https" => Ok(trimmed.to_string()),
        "http" if is_loopback_host(host) => Ok(trimmed.to_string()),
        "http" => Err(format!(
            "plain http to {host} would expose calendar data and tokens; use https://"
        )),
        "webcal" => Err(format!(
            "webcal:// is not fetched as such; write https://{}",
            trimmed.trim_start_matches("webcal://")
        )),
        other => Err(format!("unsupported URL scheme \"{other}\"")),
    }
}

/// Collects problems while turning a [`RawConfig`] into a [`Config`]. Every check
/// records its error and carries on with a stand-in value, so one run reports all.
pub(super) struct Validator<'a> {
    src: Source<'a>,
    dir: PathBuf,
    errors: Vec<ConfigError>,
    /// (byte offset, formatted warning), sorted by offset at the end.
    warnings: Vec<(usize, String)>,
    checks: Vec<PathCheck>,
}

impl Validator<'_> {
    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        key: &str,
        message: impl Into<String>,
        expected: &str,
    ) {
        let expected = (!expected.is_empty()).then(|| expected.to_string());
        let error = self.src.error_at(span.start, key, message, expected);
        self.errors.push(error);
    }

    pub(super) fn warn(&mut self, span: Range<usize>, key: &str, message: impl AsRef<str>) {
        let (line, col) = self.src.line_col(span.start);
        let text = format!(
            "{}:{line}:{col}: {key}: {}",
            self.src.path.display(),
            message.as_ref()
        );
        self.warnings.push((span.start, text));
    }

    fn location(&self, span: &Range<usize>, key: &str) -> String {
        let (line, col) = self.src.line_col(span.start);
        format!("{}:{line}:{col}: {key}", self.src.path.display())
    }

    /// A non-empty string, trimmed.
    pub(super) fn text(&mut self, value: &S, key: &str) -> Option<String> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            self.error(value.span(), key, "must not be empty", "");
            return None;
        }
        Some(text.to_string())
    }

    /// A list of non-empty strings.
    pub(super) fn texts(&mut self, values: Option<&Vec<S>>, key: &str) -> Vec<String> {
        values
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, value)| self.text(value, &format!("{key}[{i}]")))
            .collect()
    }

    /// A path, relative to the config file's folder, made absolute.
    pub(super) fn path(&mut self, value: &S, key: &str) -> Option<PathBuf> {
        let text = self.text(value, key)?;
        Some(resolve(&self.dir, Path::new(&text)))
    }

    /// A file whose existence [`file_warnings`] checks later.
    pub(super) fn checked_path(&mut self, value: &S, key: &str, secret: bool) -> Option<PathBuf> {
        let path = self.path(value, key)?;
        self.checks.push(PathCheck {
            location: self.location(&value.span(), key),
            path: path.clone(),
            secret,
        });
        Some(path)
    }

    /// A duration of at most `max`, or `default` (also when invalid, so later checks
    /// can proceed). Every duration key has a maximum: an absurd one (`"99999999d"`)
    /// would otherwise pass here and overflow date arithmetic in `run` and `status`.
    pub(super) fn duration(
        &mut self,
        value: Option<&S>,
        key: &str,
        default: Duration,
        max: Duration,
    ) -> Duration {
        let Some(value) = value else {
            return default;
        };
        match parse_duration(value.get_ref()) {
            Ok(duration) if duration <= max => duration,
            Ok(_) => {
                let max = super::format_duration(max);
                self.error(
                    value.span(),
                    key,
                    format!(
                        "\"{}\" is longer than the maximum of {max}",
                        value.get_ref().trim()
                    ),
                    &format!("at most \"{max}\""),
                );
                default
            }
            Err(message) => {
                self.error(value.span(), key, message, DURATION_EXPECTED);
                default
            }
        }
    }

    fn zone(&mut self, value: &S, key: &str) -> Option<Tz> {
        match parse_zone(value.get_ref()) {
            Ok(zone) => Some(zone),
            Err(message) => {
                self.error(value.span(), key, message, ZONE_EXPECTED);
                None
            }
        }
    }

    pub(super) fn email(&mut self, value: &S, key: &str) -> Option<String> {
        match check_email(value.get_ref()) {
            Ok(email) => Some(email),
            Err(message) => {
                self.error(value.span(), key, message, EMAIL_EXPECTED);
                None
            }
        }
    }

    fn emails(&mut self, values: Option<&Vec<S>>, key: &str) -> Vec<String> {
        values
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, value)| self.email(value, &format!("{key}[{i}]")))
            .collect()
    }

    fn domains(&mut self, values: Option<&Vec<S>>, key: &str) -> Vec<String> {
        let mut domains = Vec::new();
        for (i, value) in values.into_iter().flatten().enumerate() {
            match check_domain(value.get_ref()) {
                Ok(domain) => domains.push(domain),
                Err(message) => {
                    self.error(
                        value.span(),
                        &format!("{key}[{i}]"),
                        message,
                        DOMAIN_EXPECTED,
                    );
                }
            }
        }
        domains
    }

    pub(super) fn http_url(&mut self, value: Option<&S>, key: &str) -> Option<String> {
        let value = value?;
        match check_http_url(value.get_ref()) {
            Ok(url) => Some(url),
            Err(message) => {
                self.error(value.span(), key, message, URL_EXPECTED);
                None
            }
        }
    }

    /// One of `options`, exactly as written there.
    pub(super) fn choice<'o>(
        &mut self,
        value: &S,
        key: &str,
        options: &[&'o str],
    ) -> Option<&'o str> {
        let text = value.get_ref().trim();
        if let Some(option) = options.iter().find(|o| **o == text) {
            return Some(option);
        }
        let expected = options
            .iter()
            .map(|o| format!("\"{o}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let message = if options.iter().any(|o| o.eq_ignore_ascii_case(text)) {
            format!("\"{text}\" must be written in lower case")
        } else {
            format!("unknown value \"{text}\"")
        };
        self.error(value.span(), key, message, &format!("one of {expected}"));
        None
    }

    /// `calendars`: a non-empty list of calendar ids, `["primary"]` by default.
    pub(super) fn calendars(&mut self, value: Option<&Spanned<Vec<S>>>, key: &str) -> Vec<String> {
        match value {
            None => vec!["primary".to_string()],
            Some(calendars) if calendars.get_ref().is_empty() => {
                self.error(
                    calendars.span(),
                    key,
                    "empty list",
                    "at least one calendar, such as [\"primary\"]",
                );
                Vec::new()
            }
            Some(calendars) => self.texts(Some(calendars.get_ref()), key),
        }
    }

    /// A `poll_interval`: a duration between 30 s and a day, 5 min by default.
    pub(super) fn poll_interval(&mut self, value: Option<&S>, key: &str) -> Duration {
        let interval = self.duration(value, key, DEFAULT_POLL_INTERVAL, MAX_POLL_INTERVAL);
        if interval < MIN_POLL_INTERVAL
            && let Some(value) = value
        {
            self.error(
                value.span(),
                key,
                format!(
                    "polling every {} is too often",
                    super::format_duration(interval)
                ),
                "at least \"30s\"",
            );
        }
        interval
    }

    /// A key that does not apply in this context (e.g. `tenant` on a google account).
    pub(super) fn not_applicable(&mut self, value: Option<&S>, key: &str, why: &str) {
        if let Some(value) = value {
            self.error(value.span(), key, format!("does not apply {why}"), "");
        }
    }

    /// The whole file's start: for things missing from the file as a whole.
    fn missing_at_top(&mut self, message: &str, expected: &str) {
        self.error(0..0, "", message, expected);
    }

    fn config(&mut self, raw: RawConfig, state_directory: Option<&OsStr>) -> Config {
        let state_dir = match &raw.state_dir {
            Some(value) => self.path(value, "state_dir").unwrap_or_default(),
            None => default_state_dir(state_directory, &self.dir),
        };
        let timezone = raw
            .timezone
            .as_ref()
            .and_then(|value| self.zone(value, "timezone"))
            .unwrap_or(Tz::UTC);
        let log_level = raw
            .log_level
            .as_ref()
            .and_then(|value| self.choice(value, "log_level", LOG_LEVELS))
            .unwrap_or("info")
            .to_string();
        let token_key_file = raw
            .token_key_file
            .as_ref()
            .and_then(|value| self.checked_path(value, "token_key_file", true));
        let store = self.store(&raw);
        let (mut detection, horizon_span) = self.detection(&raw);
        let (brief, lead_span) = self.brief(&raw);
        let accounts = self.accounts(raw.accounts.as_ref(), raw.orgs.is_some());
        let account_names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
        let orgs = self.orgs(raw.orgs.as_ref(), &account_names);
        let people = self.people(raw.people.as_ref());
        let mail = self.mail(raw.mail.as_ref(), &accounts, &orgs);
        let inbox = raw
            .inbox
            .as_ref()
            .and_then(|inbox| self.inbox(inbox, &mail, &accounts));
        let recap = self.recap(raw.recap.as_ref());
        let cadence = self.cadence(raw.cadence.as_ref());
        let metrics = raw
            .metrics
            .as_ref()
            .and_then(|metrics| self.metrics(metrics));

        // The horizon must reach past the next brief's meeting even when a poll comes
        // just after the moment the brief became due.
        let lead = if brief.send_at.is_some() {
            // send_at is a time on the meeting day in the recipient's zone, so it can
            // precede the meeting by up to a day plus the widest zone offset.
            Duration::from_secs(2 * 86_400)
        } else {
            brief.lead_time
        };
        let poll = accounts
            .iter()
            .map(|a| a.poll_interval)
            .chain(orgs.iter().map(|o| o.poll_interval))
            .max()
            .unwrap_or(DEFAULT_POLL_INTERVAL);
        // Saturating although the maxima keep the sum small: no config may panic here.
        let needed = lead.saturating_add(poll);
        if detection.horizon < needed {
            let needed_text = super::format_duration(needed);
            let message = format!(
                "the horizon ({}) is shorter than the lead time plus the poll interval ({needed_text}), so briefs would be missed",
                super::format_duration(detection.horizon)
            );
            let (span, key) = match (horizon_span, lead_span) {
                (Some(span), _) => (span, "detection.horizon"),
                (None, Some(span)) => (span, "brief.lead_time"),
                (None, None) => (0..0, "detection.horizon"),
            };
            self.error(span, key, message, &format!("at least {needed_text}"));
            detection.horizon = needed;
        }

        Config {
            source_path: self.src.path.to_path_buf(),
            state_dir,
            timezone,
            log_level,
            token_key_file,
            store,
            detection,
            brief,
            mail,
            people,
            accounts,
            orgs,
            inbox,
            recap,
            cadence,
            metrics,
        }
    }

    fn store(&mut self, raw: &RawConfig) -> StoreConfig {
        let cache_capacity = raw
            .store
            .as_ref()
            .and_then(|s| s.cache_capacity.as_ref())
            .and_then(|value| self.size(value, "store.cache_capacity"))
            .unwrap_or(DEFAULT_CACHE_CAPACITY);
        StoreConfig { cache_capacity }
    }

    /// A positive size: a byte count or a string with a unit.
    pub(super) fn size(&mut self, value: &Spanned<RawSize>, key: &str) -> Option<u64> {
        let parsed = match value.get_ref() {
            RawSize::Bytes(n) if *n > 0 => u64::try_from(*n).map_err(|e| e.to_string()),
            RawSize::Bytes(n) => Err(format!("size {n} must be positive")),
            RawSize::Text(text) => parse_size(text),
        };
        match parsed {
            Ok(bytes) => Some(bytes),
            Err(message) => {
                self.error(value.span(), key, message, SIZE_EXPECTED);
                None
            }
        }
    }

    fn detection(&mut self, raw: &RawConfig) -> (DetectionConfig, Option<Range<usize>>) {
        let Some(d) = &raw.detection else {
            let defaults = DetectionConfig {
                horizon: DEFAULT_HORIZON,
                history: DEFAULT_HISTORY,
                ..DetectionConfig::default()
            };
            return (defaults, None);
        };
        let config = DetectionConfig {
            title_include: self.texts(d.title_include.as_ref(), "detection.title_include"),
            title_exclude: self.texts(d.title_exclude.as_ref(), "detection.title_exclude"),
            skip_domains: self.domains(d.skip_domains.as_ref(), "detection.skip_domains"),
            opt_out_series: self.texts(d.opt_out_series.as_ref(), "detection.opt_out_series"),
            horizon: self.duration(
                d.horizon.as_ref(),
                "detection.horizon",
                DEFAULT_HORIZON,
                MAX_HORIZON,
            ),
            history: self.duration(
                d.history.as_ref(),
                "detection.history",
                DEFAULT_HISTORY,
                MAX_HISTORY,
            ),
        };
        (config, d.horizon.as_ref().map(Spanned::span))
    }

    fn brief(&mut self, raw: &RawConfig) -> (BriefConfig, Option<Range<usize>>) {
        let default_prompts = || DEFAULT_PROMPTS.iter().map(|p| p.to_string()).collect();
        let Some(b) = &raw.brief else {
            let defaults = BriefConfig {
                lead_time: DEFAULT_LEAD_TIME,
                send_at: None,
                prompts: default_prompts(),
                relation_prompts: super::RelationPrompts::default(),
                delivery: super::Delivery::Each,
                digest_at: super::DEFAULT_DIGEST_AT,
            };
            return (defaults, None);
        };
        let lead_time = self.duration(
            b.lead_time.as_ref(),
            "brief.lead_time",
            DEFAULT_LEAD_TIME,
            MAX_LEAD_TIME,
        );
        let mut send_at = None;
        if let Some(value) = &b.send_at {
            if b.lead_time.is_some() {
                self.error(
                    value.span(),
                    "brief.send_at",
                    "set either lead_time or send_at, not both",
                    "",
                );
            }
            send_at = self.time_of_day(value, "brief.send_at");
        }
        let prompts = match &b.prompts {
            Some(prompts) => self.texts(Some(prompts.get_ref()), "brief.prompts"),
            None => default_prompts(),
        };
        let delivery = b
            .delivery
            .as_ref()
            .and_then(|value| self.delivery(value, "brief.delivery"))
            .unwrap_or(super::Delivery::Each);
        let digest_at = b
            .digest_at
            .as_ref()
            .and_then(|value| self.time_of_day(value, "brief.digest_at"))
            .unwrap_or(super::DEFAULT_DIGEST_AT);
        let relation_prompts = self.relation_prompts(b.relation_prompts.as_ref());
        let config = BriefConfig {
            lead_time,
            send_at,
            prompts,
            relation_prompts,
            delivery,
            digest_at,
        };
        (config, b.lead_time.as_ref().map(Spanned::span))
    }

    /// "HH:MM", 24-hour.
    fn time_of_day(&mut self, value: &S, key: &str) -> Option<NaiveTime> {
        let text = value.get_ref().trim();
        match NaiveTime::parse_from_str(text, "%H:%M") {
            Ok(time) if text.len() == 5 => Some(time),
            _ => {
                self.error(
                    value.span(),
                    key,
                    format!("\"{text}\" is not a time of day"),
                    "\"HH:MM\" in 24-hour time, such as \"08:00\"",
                );
                None
            }
        }
    }

    /// "each" or "digest".
    fn delivery(&mut self, value: &S, key: &str) -> Option<super::Delivery> {
        match self.choice(value, key, &["each", "digest"])? {
            "digest" => Some(super::Delivery::Digest),
            _ => Some(super::Delivery::Each),
        }
    }

    fn people(&mut self, raw: Option<&Vec<Spanned<super::raw::RawPerson>>>) -> Vec<PersonConfig> {
        let mut people: Vec<PersonConfig> = Vec::new();
        for (i, person) in raw.into_iter().flatten().enumerate() {
            let key = format!("people[{i}]");
            let p = person.get_ref();
            let timezone = p
                .timezone
                .as_ref()
                .and_then(|value| self.zone(value, &format!("{key}.timezone")));
            let Some(value) = &p.email else {
                self.error(
                    person.span(),
                    &key,
                    "missing `email`",
                    "email = \"ana@example.com\"",
                );
                continue;
            };
            let Some(email) = self.email(value, &format!("{key}.email")) else {
                continue;
            };
            if people.iter().any(|other| other.email == email) {
                self.error(
                    value.span(),
                    &format!("{key}.email"),
                    format!("{email} appears twice in [[people]]"),
                    "one [[people]] entry per address",
                );
                continue;
            }
            let delivery = p
                .delivery
                .as_ref()
                .and_then(|value| self.delivery(value, &format!("{key}.delivery")));
            let digest_at = p
                .digest_at
                .as_ref()
                .and_then(|value| self.time_of_day(value, &format!("{key}.digest_at")));
            people.push(PersonConfig {
                email,
                timezone,
                delivery,
                digest_at,
                name: None,
                manager: None,
            });
        }
        people
    }

    fn accounts(
        &mut self,
        raw: Option<&Vec<Spanned<RawAccount>>>,
        has_orgs: bool,
    ) -> Vec<AccountConfig> {
        let raw = raw.map(Vec::as_slice).unwrap_or_default();
        if raw.is_empty() && !has_orgs {
            self.missing_at_top(
                "no [[accounts]] and no [[orgs]]: tete needs at least one calendar to read",
                "[[accounts]] with name, provider (\"google\", \"microsoft\" or \"ics\") and its settings",
            );
        }
        let mut accounts: Vec<AccountConfig> = Vec::new();
        // Names of every account so far, even incomplete ones, so a duplicate is
        // reported whatever else is wrong with the first.
        let mut names: Vec<String> = Vec::new();
        for (i, account) in raw.iter().enumerate() {
            if let Some(config) = self.account(i, account, &mut names) {
                accounts.push(config);
            }
        }
        accounts
    }

    fn account(
        &mut self,
        index: usize,
        spanned: &Spanned<RawAccount>,
        names: &mut Vec<String>,
    ) -> Option<AccountConfig> {
        let key = format!("accounts[{index}]");
        let k = |field: &str| format!("{key}.{field}");
        let a = spanned.get_ref();

        let name = match &a.name {
            None => {
                self.error(spanned.span(), &key, "missing `name`", "name = \"work\"");
                None
            }
            Some(value) => {
                let name = value.get_ref().trim();
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    self.error(
                        value.span(),
                        &k("name"),
                        format!("invalid account name \"{name}\""),
                        NAME_EXPECTED,
                    );
                    None
                } else if names.iter().any(|other| other == name) {
                    self.error(
                        value.span(),
                        &k("name"),
                        format!("account name \"{name}\" is already used by an earlier account"),
                        "a unique name per account",
                    );
                    None
                } else {
                    names.push(name.to_string());
                    Some(name.to_string())
                }
            }
        };
        let provider = match &a.provider {
            None => {
                self.error(
                    spanned.span(),
                    &key,
                    "missing `provider`",
                    "provider = \"google\", \"microsoft\" or \"ics\"",
                );
                None
            }
            Some(value) => {
                match self.choice(value, &k("provider"), &["google", "microsoft", "ics"]) {
                    Some("google") => Some(Provider::Google),
                    Some("microsoft") => Some(Provider::Microsoft),
                    Some(_) => Some(Provider::Ics),
                    None => None,
                }
            }
        };
        let owner = a
            .owner
            .as_ref()
            .and_then(|value| self.email(value, &k("owner")));
        let poll_interval = self.poll_interval(a.poll_interval.as_ref(), &k("poll_interval"));

        let complete = name.is_some() && provider.is_some();
        let mut config = AccountConfig {
            name: name.unwrap_or_default(),
            provider: provider.unwrap_or(Provider::Ics),
            owner,
            url: None,
            client_id: None,
            client_secret_file: None,
            calendars: Vec::new(),
            poll_interval,
            tenant: None,
            api_base_url: None,
            auth_url: None,
            token_url: None,
            device_authorization_url: None,
            org: None,
        };
        match provider {
            Some(Provider::Ics) => self.ics_account(&key, spanned, &mut config),
            Some(provider) => self.oauth_account(&key, provider, spanned, &mut config),
            None => {}
        }
        complete.then_some(config)
    }

    fn ics_account(
        &mut self,
        key: &str,
        spanned: &Spanned<RawAccount>,
        config: &mut AccountConfig,
    ) {
        let k = |field: &str| format!("{key}.{field}");
        let a = spanned.get_ref();
        let why = "to ics accounts";
        self.not_applicable(a.client_id.as_ref(), &k("client_id"), why);
        self.not_applicable(a.client_secret_file.as_ref(), &k("client_secret_file"), why);
        self.not_applicable(a.tenant.as_ref(), &k("tenant"), why);
        for (field, value) in [
            ("api_base_url", &a.api_base_url),
            ("auth_url", &a.auth_url),
            ("token_url", &a.token_url),
            ("device_authorization_url", &a.device_authorization_url),
        ] {
            self.not_applicable(value.as_ref(), &k(field), why);
        }
        if let Some(calendars) = &a.calendars {
            self.error(
                calendars.span(),
                &k("calendars"),
                "does not apply to ics accounts (an .ics file is one calendar)",
                "",
            );
        }
        if config.owner.is_none() && a.owner.is_none() {
            self.error(
                spanned.span(),
                key,
                "missing `owner`: an .ics file does not say whose calendar it is",
                "owner = \"me@example.com\"",
            );
        }
        match &a.url {
            None => self.error(
                spanned.span(),
                key,
                "missing `url`",
                "url = a path, a file:// URL or an https:// URL",
            ),
            Some(value) => config.url = self.ics_url(value, &k("url")),
        }
    }

    /// An ics source: an http(s) URL stays as written; a plain path or `file://` URL
    /// becomes an absolute path (relative ones start at the config file's folder).
    fn ics_url(&mut self, value: &S, key: &str) -> Option<String> {
        let text = self.text(value, key)?;
        let lower = text.to_ascii_lowercase();
        if let Some(rest) = lower
            .starts_with("file://")
            .then(|| &text["file://".len()..])
        {
            let rest = rest.strip_prefix("localhost").unwrap_or(rest);
            let path = if rest.starts_with('/') {
                // Absolute: let the URL parser undo percent-encoding.
                reqwest::Url::parse(&format!("file://{rest}"))
                    .ok()
                    .and_then(|url| url.to_file_path().ok())
            } else {
                Some(PathBuf::from(rest))
            };
            let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) else {
                self.error(
                    value.span(),
                    key,
                    format!("\"{text}\" is not a file URL"),
                    "file:///path/to/calendar.ics",
                );
                return None;
            };
            let path = resolve(&self.dir, &path);
            self.push_check(value, key, &path);
            return Some(path.to_string_lossy().into_owned());
        }
        if lower.contains("://") {
            return self.http_url(Some(value), key);
        }
        let path = resolve(&self.dir, Path::new(&text));
        self.push_check(value, key, &path);
        Some(path.to_string_lossy().into_owned())
    }

    fn push_check(&mut self, value: &S, key: &str, path: &Path) {
        self.checks.push(PathCheck {
            location: self.location(&value.span(), key),
            path: path.to_path_buf(),
            secret: false,
        });
    }

    fn oauth_account(
        &mut self,
        key: &str,
        provider: Provider,
        spanned: &Spanned<RawAccount>,
        config: &mut AccountConfig,
    ) {
        let k = |field: &str| format!("{key}.{field}");
        let a = spanned.get_ref();
        let why = "to google and microsoft accounts (their calendars are read through the API)";
        self.not_applicable(a.url.as_ref(), &k("url"), why);
        match &a.client_id {
            None => self.error(
                spanned.span(),
                key,
                "missing `client_id`",
                "client_id = the OAuth client id of your app registration",
            ),
            Some(value) => config.client_id = self.text(value, &k("client_id")),
        }
        config.client_secret_file = a
            .client_secret_file
            .as_ref()
            .and_then(|value| self.checked_path(value, &k("client_secret_file"), true));
        config.calendars = self.calendars(a.calendars.as_ref(), &k("calendars"));
        if provider == Provider::Microsoft {
            config.tenant = Some(match &a.tenant {
                None => "common".to_string(),
                Some(value) => {
                    let tenant = value.get_ref().trim();
                    let valid = !tenant.is_empty()
                        && tenant
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                    if !valid {
                        self.error(
                            value.span(),
                            &k("tenant"),
                            format!("invalid tenant \"{tenant}\""),
                            "\"common\", \"organizations\", \"consumers\", a tenant id or a domain",
                        );
                    }
                    tenant.to_string()
                }
            });
        } else {
            self.not_applicable(a.tenant.as_ref(), &k("tenant"), "to google accounts");
        }
        config.api_base_url = self.http_url(a.api_base_url.as_ref(), &k("api_base_url"));
        config.auth_url = self.http_url(a.auth_url.as_ref(), &k("auth_url"));
        config.token_url = self.http_url(a.token_url.as_ref(), &k("token_url"));
        config.device_authorization_url = self.http_url(
            a.device_authorization_url.as_ref(),
            &k("device_authorization_url"),
        );
    }

    fn mail(
        &mut self,
        raw: Option<&Spanned<RawMail>>,
        accounts: &[AccountConfig],
        orgs: &[super::OrgConfig],
    ) -> MailConfig {
        let mut config = MailConfig {
            from: String::new(),
            transport: TransportKind::File,
            smtp: None,
            file: None,
            allowed_domains: Vec::new(),
            opt_out: Vec::new(),
            sign_in_notices: true,
        };
        let Some(spanned) = raw else {
            self.missing_at_top(
                "no [mail] table: tete needs to know how to send briefs",
                "[mail] with from = \"Briefs <briefs@example.com>\", transport = \"smtp\" or \"file\", and a [mail.smtp] or [mail.file] table",
            );
            return config;
        };
        let m = spanned.get_ref();
        match &m.from {
            None => self.error(
                spanned.span(),
                "mail",
                "missing `from`",
                "from = \"1:1 briefs <briefs@example.com>\"",
            ),
            Some(value) => match parse_mailbox(value.get_ref()) {
                Ok(mailbox) => config.from = mailbox,
                Err(message) => self.error(
                    value.span(),
                    "mail.from",
                    message,
                    "\"Name <address@example.com>\" or \"address@example.com\"",
                ),
            },
        }

        let transport = match &m.transport {
            Some(value) => match self.choice(value, "mail.transport", &["smtp", "file"]) {
                Some("smtp") => Some(TransportKind::Smtp),
                Some(_) => Some(TransportKind::File),
                None => None,
            },
            // One transport table and no `transport`: that table is meant.
            None => match (&m.smtp, &m.file) {
                (Some(_), None) => Some(TransportKind::Smtp),
                (None, Some(_)) => Some(TransportKind::File),
                _ => {
                    self.error(
                        spanned.span(),
                        "mail",
                        "missing `transport`",
                        "transport = \"smtp\" or \"file\"",
                    );
                    None
                }
            },
        };
        if let Some(smtp) = &m.smtp {
            config.smtp = self.smtp(smtp.get_ref(), smtp.span(), accounts, orgs);
        }
        if let Some(file) = &m.file {
            match &file.get_ref().dir {
                None => self.error(
                    file.span(),
                    "mail.file",
                    "missing `dir`",
                    "dir = \"/var/lib/tete/outbox\"",
                ),
                Some(value) => {
                    config.file = self
                        .path(value, "mail.file.dir")
                        .map(|dir| FileTransportConfig { dir });
                }
            }
        }
        let transport_span = m.transport.as_ref().map_or(spanned.span(), Spanned::span);
        match transport {
            Some(TransportKind::Smtp) => {
                config.transport = TransportKind::Smtp;
                if m.smtp.is_none() {
                    self.error(
                        transport_span,
                        "mail.transport",
                        "transport is \"smtp\" but there is no [mail.smtp] table",
                        "[mail.smtp] with host = \"smtp.example.com\"",
                    );
                }
                if let Some(file) = &m.file {
                    self.warn(file.span(), "mail.file", "ignored: transport is \"smtp\"");
                }
            }
            Some(TransportKind::File) => {
                config.transport = TransportKind::File;
                if m.file.is_none() {
                    self.error(
                        transport_span,
                        "mail.transport",
                        "transport is \"file\" but there is no [mail.file] table",
                        "[mail.file] with dir = \"./briefs\"",
                    );
                }
                if let Some(smtp) = &m.smtp {
                    self.warn(smtp.span(), "mail.smtp", "ignored: transport is \"file\"");
                }
            }
            None => {}
        }

        config.allowed_domains = match &m.allowed_domains {
            Some(domains) if domains.is_empty() => {
                // An empty list cannot mean "nobody" (that is no tete at all) and must
                // not silently mean "anybody": say what to write instead.
                self.error(
                    spanned.span(),
                    "mail.allowed_domains",
                    "is empty; remove the key to allow the calendar owners' domains, or list the domains briefs may go to",
                    "[\"example.com\", ...]",
                );
                Vec::new()
            }
            Some(domains) => self.domains(Some(domains), "mail.allowed_domains"),
            None => {
                let mut domains: Vec<String> = Vec::new();
                for owner in accounts.iter().filter_map(|a| a.owner.as_deref()) {
                    if let Some((_, domain)) = owner.split_once('@')
                        && !domains.iter().any(|d| d == domain)
                    {
                        domains.push(domain.to_string());
                    }
                }
                domains
            }
        };
        // Without a configured owner (OAuth accounts learn theirs at sign-in) the list
        // stays empty here; each pass then allows the domains of the calendar owners
        // it knows, which every 1:1 has (`pass::briefs::policy`).
        config.opt_out = self.emails(m.opt_out.as_ref(), "mail.opt_out");
        config.sign_in_notices = m.sign_in_notices.unwrap_or(true);
        config
    }

    fn smtp(
        &mut self,
        s: &RawSmtp,
        span: Range<usize>,
        accounts: &[AccountConfig],
        orgs: &[super::OrgConfig],
    ) -> Option<SmtpConfig> {
        let security = self.security(s.security.as_ref(), "mail.smtp.security", "starttls");
        let host = self.host(s.host.as_ref(), &span, "mail.smtp", "smtp.example.com");
        self.refuse_clear_text(security, &host, s.security.as_ref(), "mail.smtp.security");
        let default_port = match security {
            Some(SmtpSecurity::Tls) => 465,
            Some(SmtpSecurity::None) => 25,
            _ => 587,
        };
        let port = self.port(s.port.as_ref(), "mail.smtp.port", default_port);
        let mut username = s
            .username
            .as_ref()
            .and_then(|value| self.text(value, "mail.smtp.username"));
        let password_file = s
            .password_file
            .as_ref()
            .and_then(|value| self.checked_path(value, "mail.smtp.password_file", true));
        let key = "mail.smtp.xoauth2_account";
        let xoauth2_account = s.xoauth2_account.as_ref().and_then(|value| {
            let name = value.get_ref().trim();
            if orgs.iter().any(|org| org.name == name) {
                // An org's token sends as a mailbox of the org, which only the
                // username can say (the org has no single owner).
                if username.is_none() {
                    self.error(
                        value.span(),
                        key,
                        format!("sending through org \"{name}\" needs the mailbox to send as"),
                        "username = \"briefs@example.com\" in [mail.smtp]",
                    );
                }
                return Some(name.to_string());
            }
            self.xoauth2_account(value, key, accounts, &mut username)
        });
        self.one_login(
            "mail.smtp",
            s.username.is_some(),
            &s.password_file,
            &s.xoauth2_account,
        );
        if let (Some(u), None, None) = (&s.username, &s.password_file, &s.xoauth2_account) {
            self.warn(
                u.span(),
                "mail.smtp.username",
                "set, but neither password_file nor xoauth2_account is: tete will not log in",
            );
        }
        Some(SmtpConfig {
            host: host?,
            port,
            security: security?,
            username,
            password_file,
            xoauth2_account,
        })
    }

    /// `security` of a mail server: "starttls", "tls" or "none" (`default` when unset).
    pub(super) fn security(
        &mut self,
        value: Option<&S>,
        key: &str,
        default: &str,
    ) -> Option<SmtpSecurity> {
        let chosen = match value {
            None => Some(default),
            Some(value) => self.choice(value, key, &["starttls", "tls", "none"]),
        };
        match chosen? {
            "starttls" => Some(SmtpSecurity::Starttls),
            "tls" => Some(SmtpSecurity::Tls),
            _ => Some(SmtpSecurity::None),
        }
    }

    /// A server's `host` (required in `table`): a name or an IP address, never
    /// "host:port".
    pub(super) fn host(
        &mut self,
        value: Option<&S>,
        table_span: &Range<usize>,
        table: &str,
        example: &str,
    ) -> Option<String> {
        let Some(value) = value else {
            self.error(
                table_span.clone(),
                table,
                "missing `host`",
                &format!("host = \"{example}\""),
            );
            return None;
        };
        let key = format!("{table}.host");
        let host = self.text(value, &key)?;
        // A colon is fine inside an IPv6 address, but "host:port" is a mistake
        // that would otherwise only surface as a DNS failure at connect time.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let malformed = host.contains(|c: char| c.is_whitespace() || c == '/')
            || (host.contains(':') && bare.parse::<IpAddr>().is_err());
        if malformed {
            self.error(
                value.span(),
                &key,
                format!("\"{host}\" is not a host name (put the port in `port`)"),
                &format!("a host name or IP address, such as \"{example}\""),
            );
            return None;
        }
        Some(bare.to_string())
    }

    /// Refuses `security = "none"` towards anything but a loopback host.
    pub(super) fn refuse_clear_text(
        &mut self,
        security: Option<SmtpSecurity>,
        host: &Option<String>,
        value: Option<&S>,
        key: &str,
    ) {
        if let (Some(SmtpSecurity::None), Some(host), Some(value)) = (security, host, value)
            && !is_loopback_host(host)
        {
            self.error(
                value.span(),
                key,
                format!("\"none\" would send mail and passwords in clear text to {host}; it is allowed only to a loopback host"),
                "\"starttls\" or \"tls\", or host = \"localhost\", \"127.0.0.1\" or \"::1\"",
            );
        }
    }

    /// A TCP port, or `default`.
    pub(super) fn port(&mut self, value: Option<&Spanned<i64>>, key: &str, default: u16) -> u16 {
        let Some(value) = value else {
            return default;
        };
        match u16::try_from(*value.get_ref()) {
            Ok(port) if port > 0 => port,
            _ => {
                self.error(
                    value.span(),
                    key,
                    format!("{} is not a port", value.get_ref()),
                    "1 to 65535",
                );
                default
            }
        }
    }

    /// `xoauth2_account`: a google or microsoft account whose token logs in. Sets
    /// `username` to the account's owner when it is unset.
    pub(super) fn xoauth2_account(
        &mut self,
        value: &S,
        key: &str,
        accounts: &[AccountConfig],
        username: &mut Option<String>,
    ) -> Option<String> {
        let name = value.get_ref().trim();
        match accounts.iter().find(|a| a.name == name) {
            Some(a) if a.provider != Provider::Ics => {
                // XOAUTH2 logs in as a mailbox: the account's owner unless a
                // username says otherwise.
                if username.is_none() {
                    username.clone_from(&a.owner);
                }
                if username.is_none() {
                    self.error(
                        value.span(),
                        key,
                        format!("XOAUTH2 needs the mailbox to log in as, and account \"{name}\" has no owner"),
                        "username = \"briefs@example.com\", or owner on that account",
                    );
                }
                Some(name.to_string())
            }
            Some(_) => {
                self.error(
                    value.span(),
                    key,
                    format!("account \"{name}\" is an ics account and has no OAuth token"),
                    "the name of a google or microsoft account",
                );
                None
            }
            None => {
                self.error(
                    value.span(),
                    key,
                    format!("no account named \"{name}\""),
                    "the name of a google or microsoft account",
                );
                None
            }
        }
    }

    /// A password needs a username, and a password and XOAUTH2 exclude each other.
    pub(super) fn one_login(
        &mut self,
        table: &str,
        has_username: bool,
        password_file: &Option<S>,
        xoauth2_account: &Option<S>,
    ) {
        if let (Some(p), Some(x)) = (password_file, xoauth2_account) {
            let later = if p.span().start > x.span().start {
                p
            } else {
                x
            };
            self.error(
                later.span(),
                table,
                "set either password_file or xoauth2_account, not both",
                "",
            );
        }
        if let (Some(p), false) = (password_file, has_username) {
            self.error(
                p.span(),
                &format!("{table}.password_file"),
                "a password needs a username",
                "username = \"briefs@example.com\"",
            );
        }
    }
}

/// Parses the From mailbox with lettre, and returns it in lettre's own rendering so
/// the mail module can parse it back. Display names with RFC 5322 specials that
/// people write unquoted (`1:1 briefs <a@b.c>`) are accepted and quoted.
fn parse_mailbox(text: &str) -> Result<String, String> {
    use lettre::message::Mailbox;
    let text = text.trim();
    // A line break in a header value is never wanted, and lettre's Display of a mailbox
    // whose name holds one fails, which `to_string` turned into a panic (found by fuzzing).
    if text.chars().any(char::is_control) {
        return Err(format!(
            "{text:?} is not a valid mailbox: it contains control characters"
        ));
    }
    if let Ok(mailbox) = text.parse::<Mailbox>() {
        return Ok(mailbox.to_string());
    }
    let invalid = || format!("\"{text}\" is not a valid mailbox");
    let (name, rest) = text.rsplit_once('<').ok_or_else(invalid)?;
    let address = rest.strip_suffix('>').ok_or_else(invalid)?.trim();
    let address: lettre::Address = address
        .parse()
        .map_err(|e| format!("\"{address}\" is not a valid address: {e}"))?;
    let name = name.trim().trim_matches('"').trim();
    let name = (!name.is_empty()).then(|| name.to_string());
    Ok(Mailbox::new(name, address).to_string())
}

/// `$STATE_DIRECTORY` (systemd's `StateDirectory=`; the first when there are several),
/// else [`DEFAULT_STATE_DIR`].
fn default_state_dir(state_directory: Option<&OsStr>, config_dir: &Path) -> PathBuf {
    state_directory
        .and_then(|dirs| std::env::split_paths(dirs).find(|p| !p.as_os_str().is_empty()))
        .map_or_else(
            || PathBuf::from(DEFAULT_STATE_DIR),
            |dir| resolve(config_dir, &dir),
        )
}

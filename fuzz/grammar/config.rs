//! A grammar of tete's TOML config for structure-aware fuzzing (`config_grammar`): the
//! real tables and keys of `config/tete.example.toml` (and the odd unknown one) with
//! values of every TOML kind, durations and sizes with any numbers (up to
//! "18446744073709551615s" and beyond), zones, addresses, URLs, paths and times.
//! [`Doc::render`] writes it as TOML for `tete::config::parse`, the function the
//! byte-level `config_parse` target calls.
//!
//! `Debug` prints the rendered text, so `cargo +nightly fuzz fmt config_grammar ARTIFACT`
//! shows the config a crash input stands for.

use arbitrary::Arbitrary;
use std::fmt::{self, Write};

#[derive(Arbitrary)]
pub struct Doc {
    top: Vec<(TopKey, Value)>,
    store: Option<Vec<(StoreKey, Value)>>,
    detection: Option<Vec<(DetectionKey, Value)>>,
    brief: Option<Vec<(BriefKey, Value)>>,
    mail: Option<Vec<(MailKey, Value)>>,
    smtp: Option<Vec<(SmtpKey, Value)>>,
    file: Option<Vec<(FileKey, Value)>>,
    people: Vec<Vec<(PersonKey, Value)>>,
    accounts: Vec<Vec<(AccountKey, Value)>>,
    /// A table of its own that the schema does not know.
    unknown_table: Option<(Word, Vec<(Word, Value)>)>,
    /// Write `[mail.smtp]` as an inline table in `[mail]` instead.
    inline_smtp: bool,
}

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

macro_rules! keys {
    ($name:ident { $($variant:ident => $key:literal),* $(,)? }) => {
        #[derive(Arbitrary, Clone, Copy)]
        enum $name {
            $($variant,)*
            /// A key the schema does not have.
            Unknown(Word),
        }
        impl $name {
            fn render(self, out: &mut String) {
                match self {
                    $($name::$variant => out.push_str($key),)*
                    $name::Unknown(w) => w.render_key(out),
                }
            }
        }
    };
}

keys!(TopKey {
    StateDir => "state_dir",
    Timezone => "timezone",
    LogLevel => "log_level",
    TokenKeyFile => "token_key_file",
});
keys!(StoreKey {
    CacheCapacity => "cache_capacity",
});
keys!(DetectionKey {
    TitleInclude => "title_include",
    TitleExclude => "title_exclude",
    SkipDomains => "skip_domains",
    OptOutSeries => "opt_out_series",
    Horizon => "horizon",
    History => "history",
});
keys!(BriefKey {
    LeadTime => "lead_time",
    SendAt => "send_at",
    Prompts => "prompts",
});
keys!(MailKey {
    From => "from",
    Transport => "transport",
    AllowedDomains => "allowed_domains",
    OptOut => "opt_out",
    SignInNotices => "sign_in_notices",
});
keys!(SmtpKey {
    Host => "host",
    Port => "port",
    Security => "security",
    Username => "username",
    PasswordFile => "password_file",
    Xoauth2Account => "xoauth2_account",
});
keys!(FileKey {
    Dir => "dir",
});
keys!(PersonKey {
    Email => "email",
    Timezone => "timezone",
});
keys!(AccountKey {
    Name => "name",
    Provider => "provider",
    Owner => "owner",
    Url => "url",
    ClientId => "client_id",
    ClientSecretFile => "client_secret_file",
    Calendars => "calendars",
    PollInterval => "poll_interval",
    Tenant => "tenant",
    ApiBaseUrl => "api_base_url",
    AuthUrl => "auth_url",
    TokenUrl => "token_url",
    DeviceAuthorizationUrl => "device_authorization_url",
});

/// A TOML value: mostly strings in the languages the keys expect.
#[derive(Arbitrary)]
enum Value {
    Str(Str),
    Int(i64),
    /// Past i64 (TOML rejects it; a parser must say so, not panic).
    BigInt(u64),
    Float(f64),
    Bool(bool),
    Array(Vec<Str>),
    /// An array of mixed kinds, or nested.
    Mixed(Vec<Scalar>),
    /// An inline table with a few keys.
    Table(Vec<(Word, Scalar)>),
    /// Two values where one belongs: a syntax error.
    Broken(Word),
}

#[derive(Arbitrary)]
enum Scalar {
    Str(Str),
    Int(i64),
    Bool(bool),
    EmptyArray,
}

/// The content of a string value.
#[derive(Arbitrary)]
enum Str {
    Word(Word),
    Duration(Duration),
    Size(Size),
    Zone(u8),
    Level(u8),
    Email(u8),
    From(u8, Word),
    Url(u8, Word),
    Path(u8),
    Time(u8, u8, bool),
    Provider(u8),
    Any(String),
    /// A word repeated (long values).
    Repeat(Word, u16),
    /// Written as a literal string ('…') or a multi-line one.
    Literal(Word, bool),
}

#[derive(Arbitrary)]
enum Duration {
    /// `NUMBER UNIT` parts, in whatever order and with whatever numbers.
    Parts(Vec<(Number, Unit)>),
    /// "18446744073709551615s" and its friends.
    Max(Unit),
    Text(Word),
}

#[derive(Arbitrary)]
enum Number {
    Small(u8),
    Any(u64),
    /// More digits than u64 holds.
    Huge(u8),
    Negative(i32),
    Zero,
    Spaced(u16),
}

#[derive(Arbitrary, Clone, Copy)]
enum Unit {
    S,
    M,
    H,
    D,
    W,
    None,
    Other(Word),
}

#[derive(Arbitrary)]
enum Size {
    Bytes(Number),
    With(Number, u8),
}

#[derive(Arbitrary, Clone, Copy)]
struct Word(u8);

const WORDS: &[&str] = &[
    "",
    " ",
    "work",
    "team",
    "x-y_z",
    "bad name!",
    "primary",
    "common",
    "organizations",
    "interview",
    "customer.example",
    "example.com",
    "é\u{202e}",
    "\u{0}",
    "a\nb",
    "a\r\nBcc: evil@example.com",
    "\"",
    "\\",
    "'",
    "[mail]",
    "=",
    "#",
];

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "W. Europe Standard Time",
    "Mars/Olympus",
    "",
    "utc",
    "Etc/GMT+12",
];
const LEVELS: &[&str] = &[
    "error",
    "warn",
    "info",
    "debug",
    "trace",
    "INFO",
    "tete=debug",
    "loud",
];
const EMAILS: &[&str] = &[
    "ana@example.com",
    "me@example.com",
    "ben@other.example",
    "not-an-address",
    "@example.com",
    "a@",
    "ANA@EXAMPLE.COM",
    "a b@example.com",
];
const URL_BASES: &[&str] = &[
    "https://calendar.example.com/",
    "http://localhost:8080/",
    "http://127.0.0.1/",
    "http://[::1]/",
    "http://example.com/",
    "file:///tmp/",
    "ftp://example.com/",
    "./",
    "https://",
    "",
];
const PATHS: &[&str] = &[
    "/etc/tete/token-key",
    "relative/secret",
    "",
    "/",
    "..",
    "/nonexistent/dir",
    "~/x",
];
const PROVIDERS: &[&str] = &["ics", "google", "microsoft", "Google", "caldav", ""];
const SIZE_UNITS: &[&str] = &["", "B", "KiB", "MiB", "GiB", "TiB", "KB", "k", "mib", "EiB"];
const TRANSPORTS_AND_SECURITY: &[&str] = &["smtp", "file", "starttls", "tls", "none", "SMTP"];

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

impl Word {
    fn as_str(self) -> &'static str {
        pick(WORDS, self.0)
    }

    /// As a key: bare when it can be, quoted otherwise.
    fn render_key(self, out: &mut String) {
        let w = self.as_str();
        if !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            out.push_str(w);
        } else {
            quote(w, out);
        }
    }
}

/// A TOML basic string, escaped.
fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Number {
    fn render(&self, out: &mut String) {
        let _ = match self {
            Number::Small(n) => write!(out, "{n}"),
            Number::Any(n) => write!(out, "{n}"),
            Number::Huge(n) => write!(out, "{}{n}", u64::MAX),
            Number::Negative(n) => write!(out, "{n}"),
            Number::Zero => write!(out, "0"),
            Number::Spaced(n) => write!(out, " {n} "),
        };
    }
}

impl Unit {
    fn render(self, out: &mut String) {
        match self {
            Unit::S => out.push('s'),
            Unit::M => out.push('m'),
            Unit::H => out.push('h'),
            Unit::D => out.push('d'),
            Unit::W => out.push('w'),
            Unit::None => {}
            Unit::Other(w) => out.push_str(w.as_str()),
        }
    }
}

impl Str {
    /// The string's content, unquoted.
    fn content(&self) -> String {
        let mut s = String::new();
        match self {
            Str::Word(w) | Str::Literal(w, _) => s.push_str(w.as_str()),
            Str::Duration(d) => match d {
                Duration::Parts(parts) => {
                    for (n, u) in parts {
                        n.render(&mut s);
                        u.render(&mut s);
                    }
                }
                Duration::Max(u) => {
                    let _ = write!(s, "{}", u64::MAX);
                    u.render(&mut s);
                }
                Duration::Text(w) => s.push_str(w.as_str()),
            },
            Str::Size(size) => match size {
                Size::Bytes(n) => n.render(&mut s),
                Size::With(n, u) => {
                    n.render(&mut s);
                    s.push_str(pick(SIZE_UNITS, *u));
                }
            },
            Str::Zone(i) => s.push_str(pick(ZONES, *i)),
            Str::Level(i) => s.push_str(pick(LEVELS, *i)),
            Str::Email(i) => s.push_str(pick(EMAILS, *i)),
            Str::From(i, name) => {
                let _ = write!(s, "{} <{}>", name.as_str(), pick(EMAILS, *i));
            }
            Str::Url(i, w) => {
                s.push_str(pick(URL_BASES, *i));
                s.push_str(w.as_str());
            }
            Str::Path(i) => s.push_str(pick(PATHS, *i)),
            Str::Time(h, m, pad) => {
                let _ = if *pad {
                    write!(s, "{:02}:{:02}", h % 30, m % 70)
                } else {
                    write!(s, "{h}:{m}")
                };
            }
            Str::Provider(i) => {
                let i = *i;
                s.push_str(if i & 0x80 != 0 {
                    pick(TRANSPORTS_AND_SECURITY, i)
                } else {
                    pick(PROVIDERS, i)
                });
            }
            Str::Any(text) => s.push_str(text),
            Str::Repeat(w, n) => {
                let unit = match w.as_str() {
                    "" => "x",
                    u => u,
                };
                for _ in 0..(*n).min(20_000) {
                    s.push_str(unit);
                }
            }
        }
        s
    }

    fn render(&self, out: &mut String) {
        let content = self.content();
        match self {
            Str::Literal(_, multiline) if !content.contains(['\'', '\n', '\r']) => {
                if *multiline {
                    let _ = write!(out, "'''{content}'''");
                } else {
                    let _ = write!(out, "'{content}'");
                }
            }
            _ => quote(&content, out),
        }
    }
}

impl Scalar {
    fn render(&self, out: &mut String) {
        match self {
            Scalar::Str(s) => s.render(out),
            Scalar::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Scalar::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Scalar::EmptyArray => out.push_str("[]"),
        }
    }
}

impl Value {
    fn render(&self, out: &mut String) {
        match self {
            Value::Str(s) => s.render(out),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::BigInt(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => {
                if f.is_finite() {
                    let _ = write!(out, "{f:?}");
                } else if f.is_nan() {
                    out.push_str("nan");
                } else if *f > 0.0 {
                    out.push_str("inf");
                } else {
                    out.push_str("-inf");
                }
            }
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Value::Mixed(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Value::Table(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.render_key(out);
                    out.push_str(" = ");
                    v.render(out);
                }
                out.push('}');
            }
            Value::Broken(w) => {
                out.push_str(w.as_str());
                out.push_str(" \"x\" 1");
            }
        }
    }
}

fn entries<K: Copy>(out: &mut String, entries: &[(K, Value)], key: impl Fn(K, &mut String)) {
    for (k, v) in entries {
        key(*k, out);
        out.push_str(" = ");
        v.render(out);
        out.push('\n');
    }
}

impl Doc {
    /// The config as TOML text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        entries(&mut out, &self.top, TopKey::render);
        if let Some(store) = &self.store {
            out.push_str("\n[store]\n");
            entries(&mut out, store, StoreKey::render);
        }
        if let Some(detection) = &self.detection {
            out.push_str("\n[detection]\n");
            entries(&mut out, detection, DetectionKey::render);
        }
        if let Some(brief) = &self.brief {
            out.push_str("\n[brief]\n");
            entries(&mut out, brief, BriefKey::render);
        }
        if let Some(mail) = &self.mail {
            out.push_str("\n[mail]\n");
            entries(&mut out, mail, MailKey::render);
            if self.inline_smtp
                && let Some(smtp) = &self.smtp
            {
                out.push_str("smtp = {");
                for (i, (k, v)) in smtp.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.render(&mut out);
                    out.push_str(" = ");
                    v.render(&mut out);
                }
                out.push_str("}\n");
            }
        }
        if !self.inline_smtp
            && let Some(smtp) = &self.smtp
        {
            out.push_str("\n[mail.smtp]\n");
            entries(&mut out, smtp, SmtpKey::render);
        }
        if let Some(file) = &self.file {
            out.push_str("\n[mail.file]\n");
            entries(&mut out, file, FileKey::render);
        }
        for person in &self.people {
            out.push_str("\n[[people]]\n");
            entries(&mut out, person, PersonKey::render);
        }
        for account in &self.accounts {
            out.push_str("\n[[accounts]]\n");
            entries(&mut out, account, AccountKey::render);
        }
        if let Some((name, table)) = &self.unknown_table {
            out.push_str("\n[");
            name.render_key(&mut out);
            out.push_str("]\n");
            entries(&mut out, table, |k: Word, out| k.render_key(out));
        }
        out
    }
}

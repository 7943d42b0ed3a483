//! A small iCalendar grammar for structure-aware fuzzing (`ics_grammar`): calendars,
//! components (VEVENT, VTIMEZONE with STANDARD/DAYLIGHT, VALARM, unknown X- components
//! nested to any depth, repeated components), properties, parameters and RRULE parts,
//! with numbers that are small, huge or negative. `arbitrary` builds a value from the
//! fuzzer's bytes and [`Calendar::render`] writes it as .ics text, which goes to the
//! same function as the byte-level `ics_expand` target.
//!
//! Byte mutations of real files rarely build what this grammar builds in one step:
//! depth bombs (BEGIN:X-FOO 5,000 deep inside a VEVENT), count bombs (thousands of
//! copies of a series) and size bombs (megabyte-long values).
//!
//! `Debug` prints the rendered text, so `cargo +nightly fuzz fmt ics_grammar ARTIFACT`
//! shows the calendar a crash input stands for.

use arbitrary::Arbitrary;
use std::fmt::{self, Write};

/// Rendered calendars stop growing past this (the byte-level target's `-max_len`).
const MAX_OUTPUT: usize = 256 << 10;

#[derive(Arbitrary)]
pub struct Calendar {
    /// Without BEGIN:VCALENDAR / END:VCALENDAR, components stand on their own.
    no_envelope: bool,
    style: Style,
    props: Vec<CalProp>,
    components: Vec<Component>,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[derive(Arbitrary, Clone, Copy)]
struct Style {
    /// Bare LF line ends instead of CRLF.
    lf: bool,
    /// Fold content lines at this many octets (RFC 5545 says 75), when set.
    fold: Option<u8>,
}

#[derive(Arbitrary)]
enum CalProp {
    Version,
    Prodid(Text),
    XWrTimezone(Tzid),
    Method(Text),
    Calscale(Word),
    Other(XName, Vec<Param>, Text),
}

#[derive(Arbitrary)]
enum Component {
    Event(Event),
    Timezone(Timezone),
    /// An unknown component nested `depth` times around an event (or nothing).
    Nest {
        name: XName,
        depth: Depth,
        props: Vec<Prop>,
        inside: Option<Event>,
    },
    /// The same event `count` times (with the same UID unless `distinct`).
    Repeat {
        count: Count,
        distinct: bool,
        event: Event,
    },
    /// VTODO, VJOURNAL, VFREEBUSY: components tete reads past.
    Other(OtherKind, Vec<Prop>),
    /// An event without its END line.
    Unterminated(Event),
    /// A stray END line.
    StrayEnd(XName),
    /// A line of its own, anything.
    Raw(Text),
}

#[derive(Arbitrary)]
enum OtherKind {
    Todo,
    Journal,
    Freebusy,
    Availability,
}

#[derive(Arbitrary)]
struct Event {
    uid: Uid,
    props: Vec<Prop>,
    children: Vec<Child>,
}

#[derive(Arbitrary)]
enum Child {
    Alarm(Vec<Prop>),
    /// `BEGIN:X-…` nested `depth` times inside the event.
    Nest {
        name: XName,
        depth: Depth,
        props: Vec<Prop>,
    },
    /// A component opened and never closed inside the event.
    Open(XName),
}

#[derive(Arbitrary)]
enum Uid {
    Missing,
    /// One of a few fixed UIDs, so overrides meet their masters.
    Shared(u8),
    Text(Text),
}

#[derive(Arbitrary)]
struct Timezone {
    tzid: Tzid,
    observances: Vec<Observance>,
    extra: Vec<Prop>,
}

#[derive(Arbitrary)]
struct Observance {
    daylight: bool,
    start: When,
    from: Offset,
    to: Offset,
    rrule: Option<Rrule>,
    rdates: Vec<When>,
    name: Option<Word>,
    /// Another observance (or anything) inside this one.
    nested: Option<XName>,
}

#[derive(Arbitrary)]
enum Offset {
    /// Quarter hours east of UTC, `+0530` style.
    Quarters(i8),
    /// Seconds, written `±HHMMSS` even when out of range.
    Seconds(i32),
    Text(Text),
}

#[derive(Arbitrary)]
enum Prop {
    DtStart(Vec<Param>, When),
    DtEnd(Vec<Param>, When),
    Due(When),
    Duration(Dur),
    Rrule(Rrule),
    Exrule(Rrule),
    Exdate(Vec<Param>, Vec<When>),
    Rdate(Vec<Param>, Vec<RdateValue>),
    RecurrenceId(Vec<Param>, When),
    Attendee(Vec<Param>, Addr),
    Organizer(Vec<Param>, Addr),
    Summary(Text),
    Description(Text),
    Location(Text),
    Status(Word),
    Sequence(Num),
    Transp(Word),
    Class(Word),
    Other(XName, Vec<Param>, Text),
}

#[derive(Arbitrary)]
enum RdateValue {
    At(When),
    Period(When, When),
    PeriodDuration(When, Dur),
}

#[derive(Arbitrary)]
enum Param {
    Tzid(Tzid),
    Value(ValueType),
    Range(bool),
    Cn(Text),
    Partstat(Word),
    Role(Word),
    Cutype(Word),
    Rsvp(bool),
    Email(Addr),
    Other(XName, Text),
    /// A parameter list with several values, quoted or not.
    Many(XName, Vec<Text>),
}

#[derive(Arbitrary)]
enum ValueType {
    Date,
    DateTime,
    Period,
    Text,
    Other(Word),
}

/// A DATE or DATE-TIME value, with its own TZID / VALUE parameters when rendered as a
/// property of its own.
#[derive(Arbitrary)]
struct When {
    date: Date,
    time: Option<Time>,
    utc: bool,
    tzid: Option<Tzid>,
    /// `VALUE=DATE` whatever the value looks like.
    say_date: bool,
}

#[derive(Arbitrary)]
struct Date {
    year: Year,
    month: u8,
    day: u8,
}

#[derive(Arbitrary)]
enum Year {
    /// 2020–2035, where the fuzz window is.
    Near(u8),
    /// 0–65535, printed with as many digits as it has.
    Any(u16),
    /// Anything, including negative and more than four digits.
    Wild(i32),
}

#[derive(Arbitrary)]
struct Time {
    hour: u8,
    minute: u8,
    second: u8,
}

#[derive(Arbitrary)]
enum Dur {
    /// `[-]P[nW][nD][T[nH][nM][nS]]` with any numbers.
    Parts {
        negative: bool,
        weeks: Option<Num>,
        days: Option<Num>,
        hours: Option<Num>,
        minutes: Option<Num>,
        seconds: Option<Num>,
    },
    Text(Text),
}

#[derive(Arbitrary)]
struct Rrule {
    freq: Option<Freq>,
    parts: Vec<RulePart>,
    /// Lower-case names and values.
    lower: bool,
}

#[derive(Arbitrary)]
enum Freq {
    // First: what a few bytes of input build. SECONDLY rules cost the most per input.
    Weekly,
    Daily,
    Monthly,
    Yearly,
    Hourly,
    Minutely,
    Secondly,
    Other(Word),
}

#[derive(Arbitrary)]
enum RulePart {
    Interval(Num),
    Count(Num),
    Until(When),
    ByDay(Vec<(Option<Num>, Weekday)>),
    ByMonthDay(Vec<Num>),
    ByYearDay(Vec<Num>),
    ByWeekNo(Vec<Num>),
    ByMonth(Vec<Num>),
    ByHour(Vec<Num>),
    ByMinute(Vec<Num>),
    BySecond(Vec<Num>),
    BySetPos(Vec<Num>),
    Wkst(Weekday),
    Rscale(Word),
    Skip(Word),
    Other(XName, Text),
    /// A part without `=`, or with nothing after it.
    Broken(Word),
}

#[derive(Arbitrary, Clone, Copy)]
enum Weekday {
    Mo,
    Tu,
    We,
    Th,
    Fr,
    Sa,
    Su,
    Other(u8),
}

/// A number as RRULE parts, durations and offsets write them.
#[derive(Arbitrary)]
enum Num {
    Small(i8),
    Medium(i16),
    Large(i64),
    Unsigned(u64),
    /// More digits than any integer type holds.
    Huge(u8),
    /// `+5`
    Plus(u8),
    Zero,
    Empty,
}

#[derive(Arbitrary)]
enum Tzid {
    Iana(u8),
    Windows(u8),
    /// One of the file's own VTIMEZONEs (`Custom 0`–`Custom 3`).
    Custom(u8),
    /// A vendor prefix before an IANA name.
    Prefixed(u8),
    /// `GMT+05:00`, `UTC-3`, …
    Offset(i8, bool),
    Text(Text),
}

#[derive(Arbitrary)]
enum Addr {
    Person(u8),
    Mailto(Text),
    Text(Text),
}

/// Text: words, anything, or a word repeated (size bombs).
#[derive(Arbitrary)]
enum Text {
    Word(Word),
    Any(String),
    Repeat(Word, u16),
    Escaped(Word),
}

#[derive(Arbitrary, Clone, Copy)]
struct Word(u8);

#[derive(Arbitrary)]
enum XName {
    Foo,
    Word(Word),
    Any(String),
    /// A real component name in the wrong place.
    Known(u8),
}

/// How deep a nest goes: mostly shallow, sometimes thousands.
#[derive(Arbitrary)]
enum Depth {
    Shallow(u8),
    Deep(u16),
}

/// How many copies: mostly few, sometimes thousands.
#[derive(Arbitrary)]
enum Count {
    Few(u8),
    Many(u16),
}

const WORDS: &[&str] = &[
    "1:1 Ana / Ben",
    "Weekly sync",
    "",
    " ",
    "TENTATIVE",
    "CONFIRMED",
    "CANCELLED",
    "ACCEPTED",
    "DECLINED",
    "NEEDS-ACTION",
    "REQ-PARTICIPANT",
    "OPT-PARTICIPANT",
    "CHAIR",
    "INDIVIDUAL",
    "ROOM",
    "RESOURCE",
    "GROUP",
    "OPAQUE",
    "TRANSPARENT",
    "PRIVATE",
    "GREGORIAN",
    "CHINESE",
    "OMIT",
    "BACKWARD",
    "FORWARD",
    "THISANDFUTURE",
    "VEVENT",
    "VTIMEZONE",
    "STANDARD",
    "DAYLIGHT",
    "VCALENDAR",
    "VALARM",
    "- [ ] send the deck",
    "Action items:\\n- Ana: review",
    "é\u{202e}\u{feff}",
    "\u{0}",
    "a;b,c:d",
    "\"quoted\"",
    "\\",
    "<b>html</b>",
];

const IANA: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "UTC",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "europe/lisbon",
    "\"Europe/Paris\"",
];

const WINDOWS: &[&str] = &[
    "W. Europe Standard Time",
    "Eastern Standard Time",
    "Pacific Standard Time",
    "India Standard Time",
    "Tokyo Standard Time",
    "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
    "(UTC-05:00) Eastern Time (US & Canada)",
    "Customized Time Zone",
];

const COMPONENTS: &[&str] = &[
    "VEVENT",
    "VTIMEZONE",
    "STANDARD",
    "DAYLIGHT",
    "VALARM",
    "VCALENDAR",
    "VTODO",
];

const PEOPLE: &[&str] = &[
    "ana@example.com",
    "ben@example.com",
    "room-1@resource.example.com",
    "ANA@EXAMPLE.COM",
    "",
    "not an address",
];

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

impl Word {
    fn as_str(self) -> &'static str {
        pick(WORDS, self.0)
    }
}

impl Text {
    fn render(&self, out: &mut String) {
        match self {
            Text::Word(w) => out.push_str(w.as_str()),
            Text::Any(s) => out.push_str(s),
            Text::Repeat(w, n) => {
                let unit = match w.as_str() {
                    "" => "x",
                    s => s,
                };
                for _ in 0..*n {
                    if out.len() > MAX_OUTPUT {
                        break;
                    }
                    out.push_str(unit);
                }
            }
            Text::Escaped(w) => {
                for c in w.as_str().chars() {
                    match c {
                        '\\' | ';' | ',' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '\n' => out.push_str("\\n"),
                        _ => out.push(c),
                    }
                }
            }
        }
    }
}

impl XName {
    fn render(&self, out: &mut String) {
        match self {
            XName::Foo => out.push_str("X-FOO"),
            XName::Word(w) => {
                out.push_str("X-");
                out.extend(
                    w.as_str()
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-'),
                );
            }
            XName::Any(s) => out.push_str(s),
            XName::Known(i) => out.push_str(pick(COMPONENTS, *i)),
        }
    }
}

impl Depth {
    fn get(&self) -> usize {
        match self {
            Depth::Shallow(n) => usize::from(*n % 8),
            Depth::Deep(n) => usize::from(*n),
        }
    }
}

impl Count {
    fn get(&self) -> usize {
        match self {
            Count::Few(n) => usize::from(*n % 8),
            Count::Many(n) => usize::from(*n),
        }
    }
}

impl Num {
    fn render(&self, out: &mut String) {
        let _ = match self {
            Num::Small(n) => write!(out, "{n}"),
            Num::Medium(n) => write!(out, "{n}"),
            Num::Large(n) => write!(out, "{n}"),
            Num::Unsigned(n) => write!(out, "{n}"),
            Num::Huge(n) => write!(out, "{}{}", u128::MAX, usize::from(*n)),
            Num::Plus(n) => write!(out, "+{n}"),
            Num::Zero => write!(out, "0"),
            Num::Empty => Ok(()),
        };
    }
}

impl Weekday {
    fn as_str(self) -> &'static str {
        match self {
            Weekday::Mo => "MO",
            Weekday::Tu => "TU",
            Weekday::We => "WE",
            Weekday::Th => "TH",
            Weekday::Fr => "FR",
            Weekday::Sa => "SA",
            Weekday::Su => "SU",
            Weekday::Other(n) => pick(&["XX", "", "M", "MON", "mo", "ÄÖ"], n),
        }
    }
}

impl Tzid {
    fn render(&self, out: &mut String) {
        match self {
            Tzid::Iana(i) => out.push_str(pick(IANA, *i)),
            Tzid::Windows(i) => out.push_str(pick(WINDOWS, *i)),
            Tzid::Custom(i) => {
                let _ = write!(out, "Custom {}", i % 4);
            }
            Tzid::Prefixed(i) => {
                out.push_str("/mozilla.org/20050126_1/");
                out.push_str(pick(IANA, *i));
            }
            Tzid::Offset(h, gmt) => {
                let _ = write!(out, "{}{:+03}:00", if *gmt { "GMT" } else { "UTC" }, h);
            }
            Tzid::Text(t) => t.render(out),
        }
    }
}

impl Addr {
    fn render(&self, out: &mut String) {
        match self {
            Addr::Person(i) => {
                out.push_str("mailto:");
                out.push_str(pick(PEOPLE, *i));
            }
            Addr::Mailto(t) => {
                out.push_str("mailto:");
                t.render(out);
            }
            Addr::Text(t) => t.render(out),
        }
    }
}

impl When {
    /// The value only (`20270104T100000Z`).
    fn value(&self, out: &mut String) {
        let year: i64 = match self.date.year {
            Year::Near(n) => 2020 + i64::from(n % 16),
            Year::Any(n) => i64::from(n),
            Year::Wild(n) => i64::from(n),
        };
        let _ = match self.date.year {
            Year::Wild(_) => write!(out, "{year}"),
            _ => write!(out, "{year:04}"),
        };
        let _ = write!(out, "{:02}{:02}", self.date.month % 14, self.date.day % 33);
        if let Some(t) = &self.time {
            let _ = write!(
                out,
                "T{:02}{:02}{:02}",
                t.hour % 25,
                t.minute % 61,
                t.second % 62
            );
            if self.utc {
                out.push('Z');
            }
        }
    }

    /// The parameters this value implies (`;TZID=…`, `;VALUE=DATE`).
    fn params(&self, out: &mut String) {
        if let Some(tzid) = &self.tzid {
            out.push_str(";TZID=");
            tzid.render(out);
        }
        if self.say_date || self.time.is_none() {
            out.push_str(";VALUE=DATE");
        }
    }
}

impl Dur {
    fn render(&self, out: &mut String) {
        match self {
            Dur::Parts {
                negative,
                weeks,
                days,
                hours,
                minutes,
                seconds,
            } => {
                if *negative {
                    out.push('-');
                }
                out.push('P');
                for (n, unit) in [(weeks, 'W'), (days, 'D')] {
                    if let Some(n) = n {
                        n.render(out);
                        out.push(unit);
                    }
                }
                if hours.is_some() || minutes.is_some() || seconds.is_some() {
                    out.push('T');
                }
                for (n, unit) in [(hours, 'H'), (minutes, 'M'), (seconds, 'S')] {
                    if let Some(n) = n {
                        n.render(out);
                        out.push(unit);
                    }
                }
            }
            Dur::Text(t) => t.render(out),
        }
    }
}

impl Rrule {
    fn render(&self, out: &mut String) {
        let start = out.len();
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(';');
            }
            first = false;
        };
        if let Some(freq) = &self.freq {
            sep(out);
            out.push_str("FREQ=");
            out.push_str(match freq {
                Freq::Secondly => "SECONDLY",
                Freq::Minutely => "MINUTELY",
                Freq::Hourly => "HOURLY",
                Freq::Daily => "DAILY",
                Freq::Weekly => "WEEKLY",
                Freq::Monthly => "MONTHLY",
                Freq::Yearly => "YEARLY",
                Freq::Other(w) => w.as_str(),
            });
        }
        let list = |out: &mut String, name: &str, nums: &[Num]| {
            out.push_str(name);
            out.push('=');
            for (i, n) in nums.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                n.render(out);
            }
        };
        for part in &self.parts {
            sep(out);
            match part {
                RulePart::Interval(n) => {
                    out.push_str("INTERVAL=");
                    n.render(out);
                }
                RulePart::Count(n) => {
                    out.push_str("COUNT=");
                    n.render(out);
                }
                RulePart::Until(w) => {
                    out.push_str("UNTIL=");
                    w.value(out);
                }
                RulePart::ByDay(days) => {
                    out.push_str("BYDAY=");
                    for (i, (n, d)) in days.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        if let Some(n) = n {
                            n.render(out);
                        }
                        out.push_str(d.as_str());
                    }
                }
                RulePart::ByMonthDay(n) => list(out, "BYMONTHDAY", n),
                RulePart::ByYearDay(n) => list(out, "BYYEARDAY", n),
                RulePart::ByWeekNo(n) => list(out, "BYWEEKNO", n),
                RulePart::ByMonth(n) => list(out, "BYMONTH", n),
                RulePart::ByHour(n) => list(out, "BYHOUR", n),
                RulePart::ByMinute(n) => list(out, "BYMINUTE", n),
                RulePart::BySecond(n) => list(out, "BYSECOND", n),
                RulePart::BySetPos(n) => list(out, "BYSETPOS", n),
                RulePart::Wkst(d) => {
                    out.push_str("WKST=");
                    out.push_str(d.as_str());
                }
                RulePart::Rscale(w) => {
                    out.push_str("RSCALE=");
                    out.push_str(w.as_str());
                }
                RulePart::Skip(w) => {
                    out.push_str("SKIP=");
                    out.push_str(w.as_str());
                }
                RulePart::Other(name, value) => {
                    name.render(out);
                    out.push('=');
                    value.render(out);
                }
                RulePart::Broken(w) => out.push_str(w.as_str()),
            }
        }
        if self.lower {
            let lowered = out[start..].to_ascii_lowercase();
            out.truncate(start);
            out.push_str(&lowered);
        }
    }
}

impl Param {
    fn render(&self, out: &mut String) {
        out.push(';');
        match self {
            Param::Tzid(t) => {
                out.push_str("TZID=");
                t.render(out);
            }
            Param::Value(v) => {
                out.push_str("VALUE=");
                out.push_str(match v {
                    ValueType::Date => "DATE",
                    ValueType::DateTime => "DATE-TIME",
                    ValueType::Period => "PERIOD",
                    ValueType::Text => "TEXT",
                    ValueType::Other(w) => w.as_str(),
                });
            }
            Param::Range(future) => {
                out.push_str("RANGE=");
                out.push_str(if *future {
                    "THISANDFUTURE"
                } else {
                    "THISANDPRIOR"
                });
            }
            Param::Cn(t) => {
                out.push_str("CN=\"");
                t.render(out);
                out.push('"');
            }
            Param::Partstat(w) => {
                out.push_str("PARTSTAT=");
                out.push_str(w.as_str());
            }
            Param::Role(w) => {
                out.push_str("ROLE=");
                out.push_str(w.as_str());
            }
            Param::Cutype(w) => {
                out.push_str("CUTYPE=");
                out.push_str(w.as_str());
            }
            Param::Rsvp(b) => {
                out.push_str(if *b { "RSVP=TRUE" } else { "RSVP=FALSE" });
            }
            Param::Email(a) => {
                out.push_str("EMAIL=");
                a.render(out);
            }
            Param::Other(name, value) => {
                name.render(out);
                out.push('=');
                value.render(out);
            }
            Param::Many(name, values) => {
                name.render(out);
                out.push('=');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let quote = i % 2 == 1;
                    if quote {
                        out.push('"');
                    }
                    v.render(out);
                    if quote {
                        out.push('"');
                    }
                }
            }
        }
    }
}

/// Writes content lines, folding and ending them as the style says.
struct Writer {
    out: String,
    style: Style,
}

impl Writer {
    fn full(&self) -> bool {
        self.out.len() > MAX_OUTPUT
    }

    fn line(&mut self, line: &str) {
        if self.full() {
            return;
        }
        let eol = if self.style.lf { "\n" } else { "\r\n" };
        match self.style.fold.map(usize::from) {
            Some(width) if width > 0 && line.len() > width => {
                let mut taken = 0;
                let mut first = true;
                while taken < line.len() {
                    let mut end = (taken + width).min(line.len());
                    while !line.is_char_boundary(end) {
                        end += 1;
                    }
                    if !first {
                        self.out.push(' ');
                    }
                    self.out.push_str(&line[taken..end]);
                    self.out.push_str(eol);
                    taken = end;
                    first = false;
                }
            }
            _ => {
                self.out.push_str(line);
                self.out.push_str(eol);
            }
        }
    }

    fn begin(&mut self, name: &str) {
        self.line(&format!("BEGIN:{name}"));
    }

    fn end(&mut self, name: &str) {
        self.line(&format!("END:{name}"));
    }

    fn prop(&mut self, prop: &Prop) {
        let mut l = String::new();
        let when = |l: &mut String, name: &str, params: &[Param], w: &When| {
            l.push_str(name);
            w.params(l);
            for p in params {
                p.render(l);
            }
            l.push(':');
            w.value(l);
        };
        match prop {
            Prop::DtStart(params, w) => when(&mut l, "DTSTART", params, w),
            Prop::DtEnd(params, w) => when(&mut l, "DTEND", params, w),
            Prop::Due(w) => when(&mut l, "DUE", &[], w),
            Prop::RecurrenceId(params, w) => when(&mut l, "RECURRENCE-ID", params, w),
            Prop::Duration(d) => {
                l.push_str("DURATION:");
                d.render(&mut l);
            }
            Prop::Rrule(r) => {
                l.push_str("RRULE:");
                r.render(&mut l);
            }
            Prop::Exrule(r) => {
                l.push_str("EXRULE:");
                r.render(&mut l);
            }
            Prop::Exdate(params, list) => {
                l.push_str("EXDATE");
                if let Some(w) = list.first() {
                    w.params(&mut l);
                }
                for p in params {
                    p.render(&mut l);
                }
                l.push(':');
                for (i, w) in list.iter().enumerate() {
                    if i > 0 {
                        l.push(',');
                    }
                    w.value(&mut l);
                }
            }
            Prop::Rdate(params, list) => {
                l.push_str("RDATE");
                if list.iter().any(|v| !matches!(v, RdateValue::At(_))) {
                    l.push_str(";VALUE=PERIOD");
                }
                for p in params {
                    p.render(&mut l);
                }
                l.push(':');
                for (i, v) in list.iter().enumerate() {
                    if i > 0 {
                        l.push(',');
                    }
                    match v {
                        RdateValue::At(w) => w.value(&mut l),
                        RdateValue::Period(a, b) => {
                            a.value(&mut l);
                            l.push('/');
                            b.value(&mut l);
                        }
                        RdateValue::PeriodDuration(a, d) => {
                            a.value(&mut l);
                            l.push('/');
                            d.render(&mut l);
                        }
                    }
                }
            }
            Prop::Attendee(params, a) | Prop::Organizer(params, a) => {
                l.push_str(if matches!(prop, Prop::Attendee(..)) {
                    "ATTENDEE"
                } else {
                    "ORGANIZER"
                });
                for p in params {
                    p.render(&mut l);
                }
                l.push(':');
                a.render(&mut l);
            }
            Prop::Summary(t) | Prop::Description(t) | Prop::Location(t) => {
                l.push_str(match prop {
                    Prop::Summary(_) => "SUMMARY:",
                    Prop::Description(_) => "DESCRIPTION:",
                    _ => "LOCATION:",
                });
                t.render(&mut l);
            }
            Prop::Status(w) | Prop::Transp(w) | Prop::Class(w) => {
                l.push_str(match prop {
                    Prop::Status(_) => "STATUS:",
                    Prop::Transp(_) => "TRANSP:",
                    _ => "CLASS:",
                });
                l.push_str(w.as_str());
            }
            Prop::Sequence(n) => {
                l.push_str("SEQUENCE:");
                n.render(&mut l);
            }
            Prop::Other(name, params, value) => {
                name.render(&mut l);
                for p in params {
                    p.render(&mut l);
                }
                l.push(':');
                value.render(&mut l);
            }
        }
        self.line(&l);
    }

    fn nest(&mut self, name: &XName, depth: usize, inner: impl FnOnce(&mut Self)) {
        let mut n = String::new();
        name.render(&mut n);
        for _ in 0..depth {
            if self.full() {
                break;
            }
            self.begin(&n);
        }
        inner(self);
        for _ in 0..depth {
            if self.full() {
                break;
            }
            self.end(&n);
        }
    }

    fn event(&mut self, event: &Event, uid_suffix: Option<usize>, close: bool) {
        self.begin("VEVENT");
        let mut uid = String::new();
        match &event.uid {
            Uid::Missing => {}
            Uid::Shared(i) => {
                let _ = write!(uid, "UID:series-{}@fuzz", i % 4);
            }
            Uid::Text(t) => {
                uid.push_str("UID:");
                t.render(&mut uid);
            }
        }
        if let Some(n) = uid_suffix
            && !uid.is_empty()
        {
            let _ = write!(uid, "-{n}");
        }
        if !uid.is_empty() {
            self.line(&uid);
        }
        for prop in &event.props {
            self.prop(prop);
        }
        for child in &event.children {
            match child {
                Child::Alarm(props) => {
                    self.begin("VALARM");
                    for prop in props {
                        self.prop(prop);
                    }
                    self.end("VALARM");
                }
                Child::Nest { name, depth, props } => self.nest(name, depth.get(), |w| {
                    for prop in props {
                        w.prop(prop);
                    }
                }),
                Child::Open(name) => {
                    let mut n = String::new();
                    name.render(&mut n);
                    self.begin(&n);
                }
            }
        }
        if close {
            self.end("VEVENT");
        }
    }

    fn timezone(&mut self, tz: &Timezone) {
        self.begin("VTIMEZONE");
        let mut l = String::from("TZID:");
        tz.tzid.render(&mut l);
        self.line(&l);
        for obs in &tz.observances {
            let kind = if obs.daylight { "DAYLIGHT" } else { "STANDARD" };
            self.begin(kind);
            let mut l = String::from("DTSTART:");
            obs.start.value(&mut l);
            self.line(&l);
            for (name, offset) in [("TZOFFSETFROM:", &obs.from), ("TZOFFSETTO:", &obs.to)] {
                let mut l = String::from(name);
                match offset {
                    Offset::Quarters(q) => {
                        let minutes = i32::from(*q) * 15;
                        let _ = write!(
                            l,
                            "{}{:02}{:02}",
                            if minutes < 0 { '-' } else { '+' },
                            minutes.abs() / 60,
                            minutes.abs() % 60
                        );
                    }
                    Offset::Seconds(s) => {
                        let a = s.unsigned_abs();
                        let _ = write!(
                            l,
                            "{}{:02}{:02}{:02}",
                            if *s < 0 { '-' } else { '+' },
                            a / 3600,
                            a / 60 % 60,
                            a % 60
                        );
                    }
                    Offset::Text(t) => t.render(&mut l),
                }
                self.line(&l);
            }
            if let Some(rule) = &obs.rrule {
                let mut l = String::from("RRULE:");
                rule.render(&mut l);
                self.line(&l);
            }
            for rdate in &obs.rdates {
                let mut l = String::from("RDATE:");
                rdate.value(&mut l);
                self.line(&l);
            }
            if let Some(name) = obs.name {
                self.line(&format!("TZNAME:{}", name.as_str()));
            }
            if let Some(nested) = &obs.nested {
                self.nest(nested, 1, |_| {});
            }
            self.end(kind);
        }
        for prop in &tz.extra {
            self.prop(prop);
        }
        self.end("VTIMEZONE");
    }

    fn component(&mut self, component: &Component) {
        match component {
            Component::Event(e) => self.event(e, None, true),
            Component::Timezone(tz) => self.timezone(tz),
            Component::Nest {
                name,
                depth,
                props,
                inside,
            } => self.nest(name, depth.get(), |w| {
                for prop in props {
                    w.prop(prop);
                }
                if let Some(e) = inside {
                    w.event(e, None, true);
                }
            }),
            Component::Repeat {
                count,
                distinct,
                event,
            } => {
                for i in 0..count.get() {
                    if self.full() {
                        break;
                    }
                    self.event(event, distinct.then_some(i), true);
                }
            }
            Component::Other(kind, props) => {
                let name = match kind {
                    OtherKind::Todo => "VTODO",
                    OtherKind::Journal => "VJOURNAL",
                    OtherKind::Freebusy => "VFREEBUSY",
                    OtherKind::Availability => "VAVAILABILITY",
                };
                self.begin(name);
                for prop in props {
                    self.prop(prop);
                }
                self.end(name);
            }
            Component::Unterminated(e) => self.event(e, None, false),
            Component::StrayEnd(name) => {
                let mut n = String::new();
                name.render(&mut n);
                self.end(&n);
            }
            Component::Raw(t) => {
                let mut l = String::new();
                t.render(&mut l);
                self.line(&l);
            }
        }
    }
}

impl Calendar {
    /// The calendar as .ics text.
    pub fn render(&self) -> String {
        let mut w = Writer {
            out: String::new(),
            style: self.style,
        };
        if !self.no_envelope {
            w.begin("VCALENDAR");
        }
        for prop in &self.props {
            let mut l = String::new();
            match prop {
                CalProp::Version => l.push_str("VERSION:2.0"),
                CalProp::Prodid(t) => {
                    l.push_str("PRODID:");
                    t.render(&mut l);
                }
                CalProp::XWrTimezone(t) => {
                    l.push_str("X-WR-TIMEZONE:");
                    t.render(&mut l);
                }
                CalProp::Method(t) => {
                    l.push_str("METHOD:");
                    t.render(&mut l);
                }
                CalProp::Calscale(word) => {
                    l.push_str("CALSCALE:");
                    l.push_str(word.as_str());
                }
                CalProp::Other(name, params, value) => {
                    name.render(&mut l);
                    for p in params {
                        p.render(&mut l);
                    }
                    l.push(':');
                    value.render(&mut l);
                }
            }
            w.line(&l);
        }
        for component in &self.components {
            w.component(component);
        }
        if !self.no_envelope {
            w.end("VCALENDAR");
        }
        w.out
    }
}

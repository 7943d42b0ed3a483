//! iCalendar (.ics) files and feeds: parsing into [`Event`]s with per-component
//! recovery, and fetching from a path, `file://` or `https://` URL with conditional GET.
//!
//! Parsing splits the file into top-level components itself (tracking line numbers)
//! and hands each one to the `icalendar` crate's parser, so one broken event, an
//! unterminated component or a bad sub-block costs only that component, with a warning
//! naming the file and line. Values are interpreted here (not through the crate's
//! `get_recurrence()` text round trip): TZIDs are resolved as IANA names, Windows names,
//! Outlook display names or the file's own VTIMEZONE.

use super::{SourceError, redact_url};
use crate::calendar::expand::THIS_AND_FUTURE_MARK;
use crate::calendar::lines::{event_time_from_raw, parse_time_values};
use crate::calendar::values::{RawTime, parse_duration, parse_raw_time};
use crate::calendar::windows_zones::windows_to_iana;
use crate::calendar::zones::{clean_tzid, iana_by_name, resolve_tzid};
use crate::context::text::{html_to_text_with_links, looks_like_html};
use crate::model::{
    Attendee, CuType, CustomZone, Event, EventKind, EventStatus, EventTime, Observance, PartStat,
    Person, Recurrence, Role, Zone,
};
use chrono::{DateTime, Duration, Utc};
use icalendar::parser::{Component, Property, read_components};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// Something wrong in an .ics file that tete worked around (usually by skipping a part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcsWarning {
    /// The file or URL the text came from.
    pub origin: String,
    /// 1-based line where the offending component or line starts (0: the whole file).
    pub line: usize,
    /// What was wrong and what tete did about it.
    pub message: String,
}

impl fmt::Display for IcsWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

/// The events of one .ics file and the problems met on the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedIcs {
    /// Events in file order: singles, series masters and overrides.
    pub events: Vec<Event>,
    /// One entry per skipped or repaired part.
    pub warnings: Vec<IcsWarning>,
    /// For each of `events`, the 1-based line where its VEVENT begins (to point
    /// later warnings, such as an unusable RRULE, at the right place).
    pub event_lines: Vec<usize>,
}

impl ParsedIcs {
    /// The line where the first VEVENT with this UID begins.
    pub fn line_of_uid(&self, uid: &str) -> Option<usize> {
        self.events
            .iter()
            .zip(&self.event_lines)
            .filter(|(event, _)| event.uid == uid)
            .map(|(_, line)| *line)
            .min()
    }
}

/// Decodes file bytes as UTF-8; invalid sequences become U+FFFD with a warning.
pub fn decode_ics(bytes: &[u8], origin: &str) -> (String, Option<IcsWarning>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), None),
        Err(error) => {
            let line = bytes
                .get(..error.valid_up_to())
                .map(|b| b.iter().filter(|c| **c == b'\n').count() + 1)
                .unwrap_or(0);
            let warning = IcsWarning {
                origin: origin.to_string(),
                line,
                message: "invalid UTF-8; undecodable bytes replaced with U+FFFD".into(),
            };
            (String::from_utf8_lossy(bytes).into_owned(), Some(warning))
        }
    }
}

/// [`parse_ics`] on raw bytes (lossy UTF-8 with a warning).
pub fn parse_ics_bytes(bytes: &[u8], origin: &str) -> ParsedIcs {
    let (text, warning) = decode_ics(bytes, origin);
    let mut parsed = parse_ics(&text, origin);
    if let Some(warning) = warning {
        parsed.warnings.push(warning);
        parsed.warnings.sort_by_key(|w| w.line);
    }
    parsed
}

/// Parses the events of an .ics text. Never fails: what cannot be read is skipped
/// with a warning naming `origin` and the line.
pub fn parse_ics(text: &str, origin: &str) -> ParsedIcs {
    let mut warnings = Vec::new();
    let lines = logical_lines(text);
    let layout = split_components(&lines, origin, &mut warnings);
    let mut x_wr_timezone = None;
    for (number, line) in &layout.calendar_props {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("X-WR-TIMEZONE") {
            continue;
        }
        // Windows names show up here too (Outlook exports).
        x_wr_timezone = iana_by_name(value).or_else(|| windows_to_iana(value));
        if x_wr_timezone.is_none() {
            warnings.push(IcsWarning {
                origin: origin.to_string(),
                line: *number,
                message: format!(
                    "unknown X-WR-TIMEZONE {:?} ignored; floating times stay floating",
                    value.trim()
                ),
            });
        }
    }
    let mut vtimezones: HashMap<String, CustomZone> = HashMap::new();
    let mut parsed_events = Vec::new();
    for raw in &layout.components {
        match raw.name.as_str() {
            "VTIMEZONE" => {
                if let Some(zone) =
                    parse_component(raw, origin, &mut warnings).and_then(|c| vtimezone(&c))
                {
                    vtimezones.insert(clean_tzid(&zone.tzid).to_string(), zone);
                }
            }
            "VEVENT" => parsed_events.push(raw),
            _ => {}
        }
    }
    let mut ctx = EventCtx {
        origin,
        vtimezones,
        resolved: HashMap::new(),
        x_wr_timezone,
        line: 0,
        warnings: Vec::new(),
    };
    let mut events = Vec::new();
    let mut event_lines = Vec::new();
    for raw in parsed_events {
        let Some(component) = parse_component(raw, origin, &mut warnings) else {
            continue;
        };
        ctx.line = raw.line;
        let event = ctx.event(&component, raw, &mut warnings);
        warnings.append(&mut ctx.warnings);
        match event {
            Ok(event) => {
                events.push(event);
                event_lines.push(raw.line);
            }
            Err(message) => warnings.push(IcsWarning {
                origin: origin.to_string(),
                line: raw.line,
                message: format!("VEVENT skipped: {message}"),
            }),
        }
    }
    warnings.sort_by_key(|w| w.line);
    ParsedIcs {
        events,
        warnings,
        event_lines,
    }
}

/// One unfolded content line and the physical line it starts on.
type Line = (usize, String);

/// Unfolds continuation lines (RFC 5545 §3.1) keeping each logical line's first line
/// number. Leading whitespace before a BEGIN/END line is tolerated (some producers
/// indent), and a byte-order mark is dropped.
fn logical_lines(text: &str) -> Vec<Line> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<Line> = Vec::new();
    for (index, physical) in text.split('\n').enumerate() {
        let physical = physical.strip_suffix('\r').unwrap_or(physical);
        let starts_blank = physical.starts_with([' ', '\t']);
        let trimmed = physical.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        let is_delimiter = is_begin_or_end(trimmed);
        match out.last_mut() {
            Some((_, last)) if starts_blank && !is_delimiter => {
                last.push_str(physical.get(1..).unwrap_or(""));
            }
            _ => out.push((index + 1, trimmed.to_string())),
        }
    }
    out
}

fn is_begin_or_end(line: &str) -> bool {
    let upper = line.trim_end().to_ascii_uppercase();
    ["BEGIN:", "END:"].iter().any(|p| {
        upper.strip_prefix(p).is_some_and(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    })
}

fn delimiter(line: &str) -> Option<(bool, String)> {
    if !is_begin_or_end(line) {
        return None;
    }
    let (kind, name) = line.split_once(':')?;
    Some((
        kind.eq_ignore_ascii_case("BEGIN"),
        name.trim().to_ascii_uppercase(),
    ))
}

/// Deepest sub-component nesting kept below a top-level component (VEVENT > VALARM is
/// 1; nothing in RFC 5545 or its extensions goes beyond 2). Deeper blocks are dropped
/// before any parser sees them: the `icalendar` parser recurses once per level, and a
/// 36 KB file nesting 1,500 levels overflows a tokio worker's stack, which aborts the
/// whole daemon.
pub const MAX_SUB_COMPONENT_DEPTH: usize = 4;

/// A top-level component's lines, as cut out of the file.
#[derive(Debug)]
struct RawComponent {
    name: String,
    line: usize,
    lines: Vec<Line>,
    /// How many levels below [`MAX_SUB_COMPONENT_DEPTH`] the cut currently is (their
    /// lines are dropped); 0 when not inside a too-deep block.
    too_deep: usize,
    /// Whether the one warning about dropped deep blocks was given for this component.
    warned_too_deep: bool,
}

impl RawComponent {
    fn starting(name: String, number: usize, line: &str) -> Self {
        RawComponent {
            name,
            line: number,
            lines: vec![(number, line.to_string())],
            too_deep: 0,
            warned_too_deep: false,
        }
    }
}

impl RawComponent {
    fn text(&self, nested: bool) -> String {
        let mut depth = 0usize;
        let mut out = String::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, (_, line)) in self.lines.iter().enumerate() {
            let outer = i == 0 || i == last;
            if !outer && let Some((begin, _)) = delimiter(line) {
                if begin {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
                if !nested {
                    continue;
                }
            }
            if nested || depth == 0 || outer {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

#[derive(Debug, Default)]
struct Layout {
    calendar_props: Vec<Line>,
    components: Vec<RawComponent>,
}

/// Cuts the file into top-level components. A component that is never closed (the
/// next one of the same kind begins, the calendar ends, or the file ends) is dropped
/// with a warning.
fn split_components(lines: &[Line], origin: &str, warnings: &mut Vec<IcsWarning>) -> Layout {
    let mut layout = Layout::default();
    let mut current: Option<RawComponent> = None;
    let mut nest: Vec<String> = Vec::new();
    let unterminated = |raw: &RawComponent, warnings: &mut Vec<IcsWarning>| {
        warnings.push(IcsWarning {
            origin: origin.to_string(),
            line: raw.line,
            message: format!(
                "{} is never closed (no END:{}); skipped",
                raw.name, raw.name
            ),
        });
    };
    // Levels are counted, not remembered, below the cap, so neither memory nor the
    // search for a mismatched END grows with the depth of the input.
    for (number, line) in lines {
        let found = delimiter(line);
        if let Some(raw) = current.as_mut() {
            // Only the component's own END (or the calendar's) ends a dropped block early,
            // as it ends an unclosed sub-component in the normal cut.
            let closes_outer = match &found {
                Some((begin, name)) => name == "VCALENDAR" || (!begin && *name == raw.name),
                None => false,
            };
            let begins = matches!(&found, Some((true, _)));
            if raw.too_deep > 0 && !closes_outer {
                raw.too_deep = match found {
                    Some((true, _)) => raw.too_deep + 1,
                    Some((false, _)) => raw.too_deep - 1,
                    None => raw.too_deep,
                };
                continue;
            }
            raw.too_deep = 0;
            if begins && !closes_outer && nest.len() >= MAX_SUB_COMPONENT_DEPTH {
                raw.too_deep = 1;
                if raw.warned_too_deep {
                    continue;
                }
                raw.warned_too_deep = true;
                warnings.push(IcsWarning {
                    origin: origin.to_string(),
                    line: *number,
                    message: format!(
                        "{}: sub-components nested deeper than {MAX_SUB_COMPONENT_DEPTH} levels dropped",
                        raw.name
                    ),
                });
                continue;
            }
        }
        match (found, current.as_mut()) {
            (Some((true, name)), _) if name == "VCALENDAR" => {
                if let Some(raw) = current.take() {
                    unterminated(&raw, warnings);
                }
            }
            (Some((true, name)), None) => {
                nest.clear();
                current = Some(RawComponent::starting(name, *number, line));
            }
            (Some((true, name)), Some(raw)) => {
                if nest.is_empty() && name == raw.name {
                    if let Some(raw) = current.take() {
                        unterminated(&raw, warnings);
                    }
                    current = Some(RawComponent::starting(name, *number, line));
                } else {
                    nest.push(name);
                    raw.lines.push((*number, line.clone()));
                }
            }
            (Some((false, name)), Some(raw)) => {
                if nest.last() == Some(&name) {
                    nest.pop();
                    raw.lines.push((*number, line.clone()));
                } else if name == raw.name {
                    raw.lines.push((*number, line.clone()));
                    nest.clear();
                    if let Some(done) = current.take() {
                        layout.components.push(done);
                    }
                } else if name == "VCALENDAR" {
                    if let Some(raw) = current.take() {
                        unterminated(&raw, warnings);
                    }
                } else {
                    if let Some(pos) = nest.iter().rposition(|n| *n == name) {
                        nest.truncate(pos);
                    }
                    raw.lines.push((*number, line.clone()));
                }
            }
            (Some((false, _)), None) => {}
            (None, Some(raw)) => raw.lines.push((*number, line.clone())),
            (None, None) => layout.calendar_props.push((*number, line.clone())),
        }
    }
    if let Some(raw) = current.take() {
        unterminated(&raw, warnings);
    }
    layout
}

/// An owned parse of one component: the `icalendar` crate's tree, copied out.
#[derive(Debug, Clone)]
struct Comp {
    props: Vec<Prop>,
    children: Vec<(String, Comp)>,
}

#[derive(Debug, Clone)]
struct Prop {
    name: String,
    value: String,
    params: Vec<(String, String)>,
}

impl Comp {
    fn from_parsed(component: &Component<'_>) -> Self {
        Comp {
            props: component.properties.iter().map(Prop::from_parsed).collect(),
            children: component
                .components
                .iter()
                .map(|c| (c.name.as_str().to_ascii_uppercase(), Comp::from_parsed(c)))
                .collect(),
        }
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }

    fn first(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.first(name).map(|p| p.value.trim().to_string())
    }
}

/// Properties whose values are dates or date-times, which never contain a colon.
const TIME_PROPERTIES: &[&str] = &["DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE"];

impl Prop {
    fn from_parsed(prop: &Property<'_>) -> Self {
        let mut parsed = Self::copied(prop);
        parsed.rejoin_unquoted_colon();
        parsed
    }

    /// An unquoted TZID with a colon (`DTSTART;TZID=tzone://Microsoft/Custom:2024...`,
    /// as Exchange writes it) is cut at its colon by the parser; a date-time value
    /// never holds one, so the part before the value's last colon goes back to the
    /// last parameter.
    fn rejoin_unquoted_colon(&mut self) {
        if !TIME_PROPERTIES.contains(&self.name.as_str()) {
            return;
        }
        let Some(colon) = self.value.rfind(':') else {
            return;
        };
        let Some((_, last)) = self.params.last_mut() else {
            return;
        };
        last.push(':');
        last.push_str(&self.value[..colon]);
        self.value = self.value[colon + 1..].to_string();
    }

    fn copied(prop: &Property<'_>) -> Self {
        Prop {
            name: prop.name.as_str().to_ascii_uppercase(),
            value: prop.val.as_str().to_string(),
            params: prop
                .params
                .iter()
                .map(|p| {
                    (
                        p.key.as_str().to_ascii_uppercase(),
                        p.val
                            .as_ref()
                            .map(|v| v.as_str().trim_matches('"').to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Parses one cut-out component with the `icalendar` parser; on failure retries without
/// its sub-components, then line by line (dropping lines that do not parse, with a
/// warning each), so only what is really broken is lost.
fn parse_component(
    raw: &RawComponent,
    origin: &str,
    warnings: &mut Vec<IcsWarning>,
) -> Option<Comp> {
    let first_try = |text: &str| -> Result<Comp, String> {
        let parsed = read_components(text)?;
        parsed
            .first()
            .map(Comp::from_parsed)
            .ok_or_else(|| "empty component".to_string())
    };
    let full = raw.text(true);
    let error = match first_try(&full) {
        Ok(comp) => return Some(comp),
        Err(error) => error,
    };
    if let Ok(comp) = first_try(&raw.text(false)) {
        warnings.push(IcsWarning {
            origin: origin.to_string(),
            line: raw.line,
            message: format!(
                "{}: a nested block could not be read and was ignored",
                raw.name
            ),
        });
        return Some(comp);
    }
    let mut kept = format!("BEGIN:{}\n", raw.name);
    let mut dropped = 0;
    let mut depth = 0usize;
    let last = raw.lines.len().saturating_sub(1);
    for (i, (number, line)) in raw.lines.iter().enumerate() {
        if i == 0 || i == last {
            continue;
        }
        if let Some((begin, _)) = delimiter(line) {
            depth = if begin {
                depth + 1
            } else {
                depth.saturating_sub(1)
            };
            continue;
        }
        if depth > 0 {
            continue;
        }
        let probe = format!("BEGIN:X\n{line}\nEND:X\n");
        if read_components(&probe).is_ok() {
            kept.push_str(line);
            kept.push('\n');
        } else {
            dropped += 1;
            warnings.push(IcsWarning {
                origin: origin.to_string(),
                line: *number,
                message: format!("unreadable line in {} ignored: {}", raw.name, shorten(line)),
            });
        }
    }
    kept.push_str(&format!("END:{}\n", raw.name));
    if dropped > 0
        && let Ok(comp) = first_try(&kept)
    {
        return Some(comp);
    }
    warnings.push(IcsWarning {
        origin: origin.to_string(),
        line: raw.line,
        message: format!(
            "{} could not be parsed and was skipped: {}",
            raw.name,
            first_line(&error)
        ),
    });
    None
}

fn shorten(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    }
}

fn first_line(text: &str) -> String {
    shorten(
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && *l != "error:")
            .unwrap_or(text),
    )
}

/// A VTIMEZONE's STANDARD/DAYLIGHT rules (RFC 5545 §3.6.5).
fn vtimezone(comp: &Comp) -> Option<CustomZone> {
    let tzid = comp.text("TZID")?;
    let observances = comp
        .children
        .iter()
        .filter(|(name, _)| name == "STANDARD" || name == "DAYLIGHT")
        .filter_map(|(name, obs)| {
            let start = parse_raw_time(&obs.text("DTSTART")?)?.naive();
            let offset_from = parse_offset(&obs.text("TZOFFSETFROM")?)?;
            let offset_to = parse_offset(&obs.text("TZOFFSETTO")?)?;
            let rdates = obs
                .all("RDATE")
                .flat_map(|p| {
                    p.value
                        .split(',')
                        .filter_map(parse_raw_time)
                        .map(|t| t.naive())
                        .collect::<Vec<_>>()
                })
                .collect();
            Some(Observance {
                daylight: name == "DAYLIGHT",
                start,
                offset_from,
                offset_to,
                rrule: obs.text("RRULE"),
                rdates,
            })
        })
        .collect();
    Some(CustomZone { tzid, observances })
}

/// `+0100`, `-0530`, `+013045` → seconds east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, digits) = match text.chars().next()? {
        '+' => (1, text.get(1..)?),
        '-' => (-1, text.get(1..)?),
        _ => (1, text),
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    let field = |r: std::ops::Range<usize>| -> Option<i32> { digits.get(r)?.parse().ok() };
    let (h, m, s) = match digits.len() {
        4 => (field(0..2)?, field(2..4)?, 0),
        6 => (field(0..2)?, field(2..4)?, field(4..6)?),
        _ => return None,
    };
    (h < 24 && m < 60 && s < 60).then_some(sign * (h * 3600 + m * 60 + s))
}

struct EventCtx<'a> {
    origin: &'a str,
    /// The file's VTIMEZONEs by [`clean_tzid`] of their TZID.
    vtimezones: HashMap<String, CustomZone>,
    /// Each TZID met so far (cleaned), as resolved or fallen back to.
    resolved: HashMap<String, Zone>,
    x_wr_timezone: Option<chrono_tz::Tz>,
    /// Line of the VEVENT being read, for warnings.
    line: usize,
    /// Warnings about the VEVENT being read, collected by the caller after each one.
    warnings: Vec<IcsWarning>,
}

impl EventCtx<'_> {
    /// The zone of a date-time property: its TZID resolved, or floating (which
    /// X-WR-TIMEZONE turns into that zone, as Google and Apple exports mean it).
    ///
    /// A TZID nothing resolves (Exchange's `tzone://Microsoft/Custom` without a
    /// VTIMEZONE) falls back to the calendar's X-WR-TIMEZONE, else to floating time,
    /// which the pass reads in the configured `timezone`: an hour off at worst, where
    /// dropping the event would lose the meeting. One warning per TZID and file.
    fn zone_of(&mut self, prop: &Prop, year: i32) -> Zone {
        let Some(tzid) = prop.param("TZID").map(clean_tzid).filter(|t| !t.is_empty()) else {
            return match self.x_wr_timezone {
                Some(tz) => Zone::Iana(tz),
                None => Zone::Floating,
            };
        };
        if let Some(cached) = self.resolved.get(tzid) {
            return cached.clone();
        }
        let zone = match resolve_tzid(tzid, self.vtimezones.get(tzid), (year, year + 5)) {
            Some(zone) => zone,
            None => {
                let (zone, instead) = match self.x_wr_timezone {
                    Some(tz) => (
                        Zone::Iana(tz),
                        format!("the calendar's X-WR-TIMEZONE {}", tz.name()),
                    ),
                    None => (Zone::Floating, "the configured timezone".to_string()),
                };
                self.warnings.push(IcsWarning {
                    origin: self.origin.to_string(),
                    line: self.line,
                    message: format!(
                        "unknown time zone {tzid:?} (not IANA, not a Windows name, no VTIMEZONE in the file); its times are read in {instead}"
                    ),
                });
                zone
            }
        };
        self.resolved.insert(tzid.to_string(), zone.clone());
        zone
    }

    fn time(&mut self, prop: &Prop) -> Result<EventTime, String> {
        let raw = parse_raw_time(&prop.value).ok_or_else(|| {
            format!(
                "{} has an invalid value {:?}",
                prop.name,
                shorten(&prop.value)
            )
        })?;
        let as_date = prop
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        let zone = match raw {
            RawTime::Local(t) if !as_date => self.zone_of(prop, chrono::Datelike::year(&t)),
            _ => Zone::Floating,
        };
        Ok(self.in_calendar_zone(event_time_from_raw(raw, as_date, &zone)))
    }

    /// With X-WR-TIMEZONE, UTC date-times are read in the calendar's zone (same
    /// instant, local offset), as Google's and Apple's exports intend and as the
    /// reference implementation does; recurrences then keep local wall-clock time.
    fn in_calendar_zone(&self, time: EventTime) -> EventTime {
        match (self.x_wr_timezone, time) {
            (
                Some(tz),
                EventTime::DateTime {
                    local,
                    zone: Zone::Utc,
                },
            ) => EventTime::DateTime {
                local: local.and_utc().with_timezone(&tz).naive_local(),
                zone: Zone::Iana(tz),
            },
            (_, other) => other,
        }
    }

    fn times(&mut self, prop: &Prop) -> Result<Vec<EventTime>, String> {
        let year = prop
            .value
            .split(',')
            .next()
            .and_then(parse_raw_time)
            .map(|t| chrono::Datelike::year(&t.naive()))
            .unwrap_or(2000);
        let zone = self.zone_of(prop, year);
        parse_time_values(&prop.value, prop.param("VALUE"), &zone)
            .map_err(|e| format!("{}: {e}", prop.name))
    }

    fn event(
        &mut self,
        comp: &Comp,
        raw: &RawComponent,
        warnings: &mut Vec<IcsWarning>,
    ) -> Result<Event, String> {
        let origin = self.origin;
        let mut warn = |line: usize, message: String| {
            warnings.push(IcsWarning {
                origin: origin.to_string(),
                line,
                message,
            })
        };
        let uid = match comp.text("UID").filter(|u| !u.is_empty()) {
            Some(uid) => uid,
            None => {
                let digest = Sha256::digest(raw.text(true).as_bytes());
                let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
                format!("tete-{hex}")
            }
        };
        let recurrence_id = match comp.first("RECURRENCE-ID") {
            Some(prop) => Some(self.time(prop)?),
            None => None,
        };
        // An override without DTSTART (seen in cancellation-only exports) keeps its slot.
        let start = match (comp.first("DTSTART"), &recurrence_id) {
            (Some(prop), _) => self.time(prop)?,
            (None, Some(rid)) => rid.clone(),
            (None, None) => return Err("no DTSTART".into()),
        };
        let end = match (comp.first("DTEND"), comp.first("DURATION")) {
            (Some(end), _) => match self.time(end) {
                Ok(end) => Some(end),
                Err(message) => {
                    warn(raw.line, format!("{uid}: {message}; DTEND ignored"));
                    None
                }
            },
            (None, Some(duration)) => match parse_duration(&duration.value) {
                Some((length, _)) => Some(add_duration(&start, length)),
                None => {
                    warn(
                        raw.line,
                        format!("{uid}: invalid DURATION {:?} ignored", duration.value),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        let id = match comp.first("RECURRENCE-ID") {
            Some(prop) => {
                let range = prop
                    .param("RANGE")
                    .is_some_and(|r| r.eq_ignore_ascii_case("THISANDFUTURE"));
                let mark = if range { THIS_AND_FUTURE_MARK } else { "" };
                format!("{uid}#{}{mark}", prop.value.trim())
            }
            None => uid.clone(),
        };
        let mut recurrence = Recurrence {
            rrules: comp
                .all("RRULE")
                .map(|p| p.value.trim().to_string())
                .collect(),
            exrules: comp
                .all("EXRULE")
                .map(|p| p.value.trim().to_string())
                .collect(),
            ..Recurrence::default()
        };
        for name in ["RDATE", "EXDATE"] {
            let props: Vec<Prop> = comp.all(name).cloned().collect();
            for prop in props {
                match self.times(&prop) {
                    Ok(times) if name == "RDATE" => recurrence.rdates.extend(times),
                    Ok(times) => recurrence.exdates.extend(times),
                    Err(message) => warn(raw.line, format!("{uid}: {message}; ignored")),
                }
            }
        }
        let has_recurrence = !recurrence.rrules.is_empty() || !recurrence.rdates.is_empty();
        Ok(Event {
            id,
            uid,
            recurrence_id,
            summary: comp
                .first("SUMMARY")
                .map(|p| p.value.clone())
                .unwrap_or_default(),
            description: comp
                .first("DESCRIPTION")
                .map(|p| plain_text(&p.value))
                .unwrap_or_default(),
            location: comp.text("LOCATION").filter(|l| !l.is_empty()),
            status: match comp
                .text("STATUS")
                .map(|s| s.to_ascii_uppercase())
                .as_deref()
            {
                Some("CANCELLED") => EventStatus::Cancelled,
                Some("TENTATIVE") => EventStatus::Tentative,
                _ => EventStatus::Confirmed,
            },
            start,
            end,
            recurrence: has_recurrence.then_some(recurrence),
            attendees: comp.all("ATTENDEE").map(attendee).collect(),
            organizer: comp.first("ORGANIZER").map(person),
            kind: EventKind::Default,
            sequence: comp
                .text("SEQUENCE")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            updated: comp
                .text("LAST-MODIFIED")
                .and_then(|t| parse_raw_time(&t))
                .map(utc_of),
        })
    }
}

fn utc_of(raw: RawTime) -> DateTime<Utc> {
    raw.naive().and_utc()
}

/// DTSTART + DURATION (RFC 5545 §3.8.2.5): whole days stay dates for all-day events.
fn add_duration(start: &EventTime, length: Duration) -> EventTime {
    match start {
        EventTime::Date(d) => EventTime::Date(
            d.checked_add_signed(Duration::days(length.num_days()))
                .unwrap_or(*d),
        ),
        EventTime::DateTime { local, zone } => EventTime::DateTime {
            local: local.checked_add_signed(length).unwrap_or(*local),
            zone: zone.clone(),
        },
    }
}

/// DESCRIPTION as plain text: some producers put HTML in it. The conversion is the
/// context module's, which bounds size and nesting before html2text (whose recursion
/// per element would otherwise overflow the stack on deeply nested tags).
fn plain_text(value: &str) -> String {
    if looks_like_html(value) {
        return html_to_text_with_links(value).trim_end().to_string();
    }
    value.to_string()
}

fn person(prop: &Prop) -> Person {
    let value = prop.value.trim();
    let email = match value.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => value.get(7..).unwrap_or(""),
        _ => value,
    };
    Person {
        email: email.to_string(),
        name: prop.param("CN").map(str::to_string),
    }
}

fn attendee(prop: &Prop) -> Attendee {
    Attendee {
        person: person(prop),
        role: prop.param("ROLE").map(Role::from_ical),
        partstat: prop.param("PARTSTAT").map(PartStat::from_ical),
        cutype: prop.param("CUTYPE").map(CuType::from_ical),
        is_self: false,
    }
}

/// What a feed looked like last time, for conditional GET. Stored as the account's cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedValidators {
    /// The `ETag` the server sent.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent.
    pub last_modified: Option<String>,
    /// SHA-256 (hex) of the body, for servers and files without validators.
    pub content_sha256: String,
}

/// The result of [`fetch_ics`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// Same content as last time (304, or the same hash).
    Unchanged,
    /// New content.
    Changed {
        /// The feed, decoded (invalid UTF-8 replaced).
        text: String,
        /// What to send next time.
        validators: FeedValidators,
    },
}

/// Largest feed tete reads.
pub const MAX_FEED_BYTES: u64 = 50 * 1024 * 1024;
/// Time allowed for one whole fetch.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Fetches an .ics feed from a path, `file://` URL, `https://` URL (or `http://` on a
/// loopback address, for tests), sending the previous validators so unchanged feeds
/// cost a 304. Errors name the URL without credentials or query string.
pub async fn fetch_ics(
    client: &reqwest::Client,
    url: &str,
    previous: Option<&FeedValidators>,
) -> Result<FetchOutcome, SourceError> {
    let shown = redact_url(url);
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        fetch_http(client, url, &shown, previous).await
    } else {
        let path = match lower.strip_prefix("file://") {
            Some(_) => file_url_path(url).ok_or_else(|| SourceError::Permanent {
                what: shown.clone(),
                detail: "not a usable file:// URL".into(),
            })?,
            None => std::path::PathBuf::from(url),
        };
        fetch_file(&path, &shown, previous).await
    }
}

fn file_url_path(url: &str) -> Option<std::path::PathBuf> {
    reqwest::Url::parse(url).ok()?.to_file_path().ok()
}

async fn fetch_file(
    path: &std::path::Path,
    shown: &str,
    previous: Option<&FeedValidators>,
) -> Result<FetchOutcome, SourceError> {
    let io_error = |e: std::io::Error| {
        let reason = format!("cannot read: {e}");
        match e.kind() {
            std::io::ErrorKind::NotFound
            | std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::IsADirectory => SourceError::Permanent {
                what: shown.to_string(),
                detail: reason,
            },
            _ => SourceError::Transient {
                what: shown.to_string(),
                detail: reason,
            },
        }
    };
    let meta = tokio::fs::metadata(path).await.map_err(io_error)?;
    if meta.len() > MAX_FEED_BYTES {
        return Err(too_big(shown));
    }
    let bytes = tokio::fs::read(path).await.map_err(io_error)?;
    Ok(outcome(&bytes, None, None, previous, shown))
}

fn too_big(shown: &str) -> SourceError {
    SourceError::Permanent {
        what: shown.to_string(),
        detail: format!("larger than {} MB", MAX_FEED_BYTES / (1024 * 1024)),
    }
}

fn outcome(
    bytes: &[u8],
    etag: Option<String>,
    last_modified: Option<String>,
    previous: Option<&FeedValidators>,
    shown: &str,
) -> FetchOutcome {
    let hash: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if previous.is_some_and(|p| p.content_sha256 == hash) {
        return FetchOutcome::Unchanged;
    }
    let (text, _) = decode_ics(bytes, shown);
    FetchOutcome::Changed {
        text,
        validators: FeedValidators {
            etag,
            last_modified,
            content_sha256: hash,
        },
    }
}

async fn fetch_http(
    client: &reqwest::Client,
    url: &str,
    shown: &str,
    previous: Option<&FeedValidators>,
) -> Result<FetchOutcome, SourceError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| SourceError::Permanent {
        what: shown.to_string(),
        detail: format!("invalid URL: {e}"),
    })?;
    if parsed.scheme() == "http" && !is_loopback(&parsed) {
        return Err(SourceError::Permanent {
            what: shown.to_string(),
            detail: "plain http:// is only allowed for loopback addresses; use https://".into(),
        });
    }
    let mut request = client.get(parsed).timeout(FETCH_TIMEOUT);
    if let Some(previous) = previous {
        if let Some(etag) = &previous.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &previous.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
    }
    let transport = |e: reqwest::Error| SourceError::Transient {
        what: shown.to_string(),
        detail: e.without_url().to_string(),
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(FetchOutcome::Unchanged);
    }
    if !status.is_success() {
        return Err(status_error(status, response.headers(), shown));
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_FEED_BYTES)
    {
        return Err(too_big(shown));
    }
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() as u64 + chunk.len() as u64 > MAX_FEED_BYTES {
            return Err(too_big(shown));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(outcome(&body, etag, last_modified, previous, shown))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn status_error(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    shown: &str,
) -> SourceError {
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let url = shown.to_string();
    match status.as_u16() {
        401 | 403 => SourceError::Unauthorized {
            what: url,
            detail: format!("HTTP {status}"),
        },
        429 | 503 if retry_after.is_some() || status.as_u16() == 429 => SourceError::RateLimited {
            what: url,
            // No Retry-After on a 429: a minute is a polite guess for a feed server.
            retry_after: retry_after.unwrap_or(std::time::Duration::from_secs(60)),
        },
        408 | 425 | 500..=599 => SourceError::Transient {
            what: url,
            detail: format!("HTTP {status}"),
        },
        _ => SourceError::Permanent {
            what: url,
            detail: format!("HTTP {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime};

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    fn wrap(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{body}END:VCALENDAR\r\n")
    }

    #[test]
    fn properties_map_onto_the_event() {
        let text = wrap(
            "BEGIN:VEVENT\r\nUID:u1\r\nSUMMARY:Plan\\, then act\r\nDESCRIPTION:line one\\nline \r\n two\r\n\
             LOCATION:Room 1\r\nSTATUS:TENTATIVE\r\nSEQUENCE:3\r\nLAST-MODIFIED:20240101T120000Z\r\n\
             DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20240105T100000\r\nDURATION:PT90M\r\n\
             RRULE:FREQ=WEEKLY;BYDAY=FR\r\nEXDATE;TZID=Europe/Berlin:20240112T100000,20240119T100000\r\n\
             EXDATE;VALUE=DATE:20240126\r\nRDATE;VALUE=PERIOD:20240201T090000Z/PT1H\r\n\
             ORGANIZER;CN=\"Lee, Dana\":MAILTO:dana@example.com\r\n\
             ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=DECLINED;CUTYPE=ROOM:mailto:room@example.com\r\n\
             BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let event = &parsed.events[0];
        assert_eq!(event.summary, "Plan, then act");
        assert_eq!(event.description, "line one\nline two");
        assert_eq!(event.location.as_deref(), Some("Room 1"));
        assert_eq!(event.status, EventStatus::Tentative);
        assert_eq!(event.sequence, 3);
        let berlin = Zone::Iana(chrono_tz::Europe::Berlin);
        assert_eq!(
            event.start,
            EventTime::DateTime {
                local: at(2024, 1, 5, 10, 0),
                zone: berlin.clone()
            }
        );
        assert_eq!(
            event.end,
            Some(EventTime::DateTime {
                local: at(2024, 1, 5, 11, 30),
                zone: berlin
            })
        );
        let rec = event.recurrence.as_ref().unwrap();
        assert_eq!(rec.rrules, vec!["FREQ=WEEKLY;BYDAY=FR"]);
        assert_eq!(rec.exdates.len(), 3);
        assert_eq!(
            rec.rdates,
            vec![EventTime::DateTime {
                local: at(2024, 2, 1, 9, 0),
                zone: Zone::Utc
            }]
        );
        let organizer = event.organizer.as_ref().unwrap();
        assert_eq!(
            (organizer.email.as_str(), organizer.name.as_deref()),
            ("dana@example.com", Some("Lee, Dana"))
        );
        let room = &event.attendees[0];
        assert_eq!(room.person.email, "room@example.com");
        assert_eq!(room.role, Some(Role::Optional));
        assert_eq!(room.partstat, Some(PartStat::Declined));
        assert_eq!(room.cutype, Some(CuType::Room));
    }

    #[test]
    fn overrides_get_uid_and_recurrence_id_as_their_id() {
        let text = wrap(
            "BEGIN:VEVENT\r\nUID:u2\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20240105T090000Z\r\n\
             DTSTART:20240105T100000Z\r\nEND:VEVENT\r\n",
        );
        let event = &parse_ics(&text, "t.ics").events[0];
        assert_eq!(event.id, "u2#20240105T090000Z;RANGE=THISANDFUTURE");
        assert_eq!(
            event.recurrence_id,
            Some(EventTime::DateTime {
                local: at(2024, 1, 5, 9, 0),
                zone: Zone::Utc
            })
        );
    }

    #[test]
    fn html_descriptions_become_plain_text_and_plain_ones_stay() {
        let html =
            plain_text("Agenda:<br>1. <b>Goals</b><br><a href=\"https://x.example/doc\">doc</a>");
        assert!(html.starts_with("Agenda:\n1. Goals\n"), "{html}");
        assert!(html.contains("https://x.example/doc"), "{html}");
        assert_eq!(plain_text("a < b and c > d"), "a < b and c > d");
    }

    #[test]
    fn html_nested_a_hundred_thousand_deep_becomes_text_without_overflowing_the_stack() {
        let html = format!(
            "{}deep text{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        assert_eq!(plain_text(&html), "deep text");
    }

    #[test]
    fn an_override_without_dtstart_keeps_its_slot_and_odd_calendar_zones_warn() {
        let text = wrap(
            "X-WR-TIMEZONE:Nowhere/Special\r\nBEGIN:VEVENT\r\nUID:o\r\n\
             RECURRENCE-ID:20240105T090000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        let event = &parsed.events[0];
        assert_eq!(
            event.start,
            EventTime::DateTime {
                local: at(2024, 1, 5, 9, 0),
                zone: Zone::Utc
            }
        );
        assert_eq!(event.status, EventStatus::Cancelled);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].message.contains("X-WR-TIMEZONE"));
    }

    #[test]
    fn a_missing_uid_is_derived_stably_from_the_component() {
        let text = wrap("BEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART:20240105T100000Z\r\nEND:VEVENT\r\n");
        let a = parse_ics(&text, "a.ics").events[0].uid.clone();
        let b = parse_ics(&text, "b.ics").events[0].uid.clone();
        assert_eq!(a, b);
        assert!(a.starts_with("tete-"));
    }

    #[test]
    fn floating_times_take_x_wr_timezone_and_utc_times_are_shown_in_it() {
        let text = wrap(
            "X-WR-TIMEZONE:America/New_York\r\nBEGIN:VEVENT\r\nUID:f\r\nDTSTART:20240105T100000\r\n\
             DTEND:20240105T160000Z\r\nEND:VEVENT\r\n",
        );
        let event = &parse_ics(&text, "t.ics").events[0];
        let ny = Zone::Iana(chrono_tz::America::New_York);
        assert_eq!(
            event.start,
            EventTime::DateTime {
                local: at(2024, 1, 5, 10, 0),
                zone: ny.clone()
            }
        );
        assert_eq!(
            event.end,
            Some(EventTime::DateTime {
                local: at(2024, 1, 5, 11, 0),
                zone: ny
            })
        );
    }

    #[test]
    fn leading_whitespace_and_indented_delimiters_are_tolerated() {
        let text = "   BEGIN:VCALENDAR\n  BEGIN:VEVENT\nUID:w\nDTSTART:20240105T100000Z\n  END:VEVENT\nEND:VCALENDAR\n";
        let parsed = parse_ics(text, "t.ics");
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.warnings);
    }

    #[test]
    fn an_unknown_tzid_falls_back_to_floating_time_with_one_warning_per_file() {
        let text = wrap(
            "BEGIN:VEVENT\r\nUID:z\r\nDTSTART;TZID=\"tzone://Microsoft/Custom\":20240105T100000\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:y\r\nDTSTART;TZID=tzone://Microsoft/Custom:20240106T100000\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
        assert_eq!(uids, vec!["z", "y"]);
        assert_eq!(
            parsed.events[0].start,
            EventTime::DateTime {
                local: at(2024, 1, 5, 10, 0),
                zone: Zone::Floating
            }
        );
        let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            vec![
                "t.ics:3: unknown time zone \"tzone://Microsoft/Custom\" (not IANA, not a Windows name, \
                 no VTIMEZONE in the file); its times are read in the configured timezone"
            ]
        );
    }

    #[test]
    fn an_unknown_tzid_falls_back_to_the_calendars_x_wr_timezone() {
        let text = wrap(
            "X-WR-TIMEZONE:Europe/Paris\r\nBEGIN:VEVENT\r\nUID:z\r\n\
             DTSTART;TZID=tzone://Microsoft/Custom:20240105T100000\r\n\
             DTEND;TZID=tzone://Microsoft/Custom:20240105T103000\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        let paris = Zone::Iana(chrono_tz::Europe::Paris);
        assert_eq!(
            parsed.events[0].start,
            EventTime::DateTime {
                local: at(2024, 1, 5, 10, 0),
                zone: paris.clone()
            }
        );
        assert_eq!(
            parsed.events[0].end,
            Some(EventTime::DateTime {
                local: at(2024, 1, 5, 10, 30),
                zone: paris
            })
        );
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert_eq!(parsed.warnings[0].line, 4);
        assert!(
            parsed.warnings[0]
                .message
                .ends_with("read in the calendar's X-WR-TIMEZONE Europe/Paris")
        );
    }

    #[test]
    fn a_tzid_with_stray_whitespace_matches_its_vtimezone() {
        let text = wrap(
            "BEGIN:VTIMEZONE\r\nTZID:Custom Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0517\r\nTZOFFSETTO:+0517\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nDTSTART;TZID=\" Custom Zone \":20240105T100000\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert!(
            matches!(&parsed.events[0].start, EventTime::DateTime { zone: Zone::Custom(c), .. } if c.tzid == "Custom Zone"),
            "{:?}",
            parsed.events[0].start
        );
    }

    #[test]
    fn a_bad_sub_block_or_line_costs_only_itself() {
        let text = wrap(
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240105T100000Z\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20240106T100000Z\r\nthis line is no property\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
        assert_eq!(uids, vec!["a", "b"], "{:?}", parsed.warnings);
        assert!(!parsed.warnings.is_empty());
    }

    /// A weekly event whose VEVENT holds `depth` nested `X-FOO` blocks (after its
    /// properties, as the adversarial file had them).
    fn deeply_nested(depth: usize) -> String {
        let mut body = String::from(
            "BEGIN:VEVENT\r\nUID:deep\r\nDTSTART:20240105T100000Z\r\nRRULE:FREQ=WEEKLY\r\n",
        );
        body.push_str(&"BEGIN:X-FOO\r\nX-A:1\r\n".repeat(depth));
        body.push_str(&"END:X-FOO\r\n".repeat(depth));
        body.push_str(
            "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:after\r\nDTSTART:20240106T100000Z\r\nEND:VEVENT\r\n",
        );
        wrap(&body)
    }

    #[test]
    fn deeply_nested_sub_components_are_dropped_with_one_warning_and_the_events_kept() {
        for depth in [1_500, 10_000] {
            let parsed = parse_ics(&deeply_nested(depth), "deep.ics");
            let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
            assert_eq!(uids, vec!["deep", "after"], "{:?}", parsed.warnings);
            assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
            // Line 3 + 4 lines of properties + 4 kept levels of 2 lines: the 5th BEGIN.
            assert_eq!(
                parsed.warnings[0].to_string(),
                "deep.ics:15: VEVENT: sub-components nested deeper than 4 levels dropped"
            );
        }
    }

    #[test]
    fn nesting_up_to_the_cap_is_kept_and_unclosed_deep_blocks_end_with_their_event() {
        let parsed = parse_ics(&deeply_nested(MAX_SUB_COMPONENT_DEPTH), "ok.ics");
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.events.len(), 2);
        let unclosed = wrap(&format!(
            "BEGIN:VEVENT\r\nUID:u\r\nDTSTART:20240105T100000Z\r\n{}END:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:v\r\nDTSTART:20240106T100000Z\r\nEND:VEVENT\r\n",
            "BEGIN:X-FOO\r\n".repeat(50)
        ));
        let parsed = parse_ics(&unclosed, "unclosed.ics");
        let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
        assert!(uids.contains(&"v"), "{:?}", parsed.warnings);
    }

    #[test]
    fn deep_nesting_parses_on_a_small_stack() {
        // 256 KB is an eighth of a tokio worker's stack: if anything recursed per level
        // of the input, 10,000 levels would overflow it and abort the test binary.
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| parse_ics(&deeply_nested(10_000), "deep.ics").events.len())
            .unwrap();
        assert_eq!(handle.join().unwrap(), 2);
    }

    #[test]
    fn invalid_utf8_is_replaced_with_a_warning() {
        let mut bytes = wrap("BEGIN:VEVENT\r\nUID:l\r\nSUMMARY:M\u{fc}ll\r\nDTSTART:20240105T100000Z\r\nEND:VEVENT\r\n").into_bytes();
        if let Some(pos) = bytes.iter().position(|b| *b == 0xc3) {
            bytes.remove(pos);
        }
        let parsed = parse_ics_bytes(&bytes, "latin1.ics");
        assert_eq!(parsed.events.len(), 1);
        assert!(parsed.warnings[0].message.contains("UTF-8"));
        assert_eq!(parsed.warnings[0].line, 5);
    }

    #[test]
    fn vtimezone_rules_are_read_from_the_file() {
        let text = wrap(
            "BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0517\r\nTZOFFSETTO:+0517\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nDTSTART;TZID=Custom:20240105T100000\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_ics(&text, "t.ics");
        let EventTime::DateTime {
            zone: Zone::Custom(custom),
            ..
        } = &parsed.events[0].start
        else {
            panic!("expected a custom zone: {:?}", parsed.events[0].start)
        };
        assert_eq!(custom.observances[0].offset_to, 5 * 3600 + 17 * 60);
        assert_eq!(parse_offset("-0530"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(parse_offset("+25"), None);
    }

    #[tokio::test]
    async fn files_are_unchanged_when_their_hash_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ics");
        std::fs::write(&path, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap();
        let client = reqwest::Client::new();
        let url = path.to_str().unwrap();
        let FetchOutcome::Changed { validators, .. } = fetch_ics(&client, url, None).await.unwrap()
        else {
            panic!("first fetch must be Changed")
        };
        assert_eq!(
            fetch_ics(&client, url, Some(&validators)).await.unwrap(),
            FetchOutcome::Unchanged
        );
        let file_url = format!("file://{url}");
        assert_eq!(
            fetch_ics(&client, &file_url, Some(&validators))
                .await
                .unwrap(),
            FetchOutcome::Unchanged
        );
        let missing = fetch_ics(&client, "/nonexistent/x.ics", None).await;
        assert!(matches!(missing, Err(SourceError::Permanent { .. })));
    }

    /// Serves one canned HTTP response per connection on a loopback port.
    async fn serve(responses: Vec<String>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut requests = Vec::new();
            for response in responses {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap();
                requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                socket.write_all(response.as_bytes()).await.unwrap();
                socket.shutdown().await.ok();
            }
            requests
        });
        (format!("http://{addr}/cal.ics?token=secret"), handle)
    }

    #[tokio::test]
    async fn http_feeds_use_conditional_get_and_typed_errors() {
        let body = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
        let ok = format!(
            "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let responses = vec![
            ok,
            "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n".to_string(),
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
        ];
        let (url, server) = serve(responses).await;
        let client = reqwest::Client::new();
        let FetchOutcome::Changed { text, validators } =
            fetch_ics(&client, &url, None).await.unwrap()
        else {
            panic!("first fetch must be Changed")
        };
        assert_eq!(text, body);
        assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
        assert_eq!(
            fetch_ics(&client, &url, Some(&validators)).await.unwrap(),
            FetchOutcome::Unchanged
        );
        let limited = fetch_ics(&client, &url, None).await.unwrap_err();
        assert!(
            matches!(
                &limited,
                SourceError::RateLimited { what, retry_after }
                    if *what == redact_url(&url) && *retry_after == std::time::Duration::from_secs(30)
            ),
            "{limited}"
        );
        assert!(matches!(
            fetch_ics(&client, &url, None).await,
            Err(SourceError::Unauthorized { .. })
        ));
        let missing = fetch_ics(&client, &url, None).await.unwrap_err();
        assert!(matches!(missing, SourceError::Permanent { .. }));
        assert!(!missing.to_string().contains("secret"), "{missing}");
        let requests = server.await.unwrap();
        assert!(
            requests[1]
                .to_ascii_lowercase()
                .contains("if-none-match: \"v1\""),
            "{}",
            requests[1]
        );
        assert!(
            requests[1]
                .to_ascii_lowercase()
                .contains("if-modified-since:")
        );
    }

    #[tokio::test]
    async fn plain_http_is_refused_for_remote_hosts() {
        let client = reqwest::Client::new();
        let error = fetch_ics(&client, "http://calendar.example.com/x.ics", None)
            .await
            .unwrap_err();
        assert!(matches!(error, SourceError::Permanent { .. }));
    }
}

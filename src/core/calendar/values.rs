//! iCalendar value syntax shared by every source: DATE, DATE-TIME and DURATION
//! (RFC 5545 §3.3.4, §3.3.5, §3.3.6), read leniently because real producers are sloppy.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// A DATE or DATE-TIME value as written, before any zone is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawTime {
    /// `20240101`
    Date(NaiveDate),
    /// `20240101T090000` (floating or with a TZID parameter)
    Local(NaiveDateTime),
    /// `20240101T090000Z`
    Utc(NaiveDateTime),
}

impl RawTime {
    /// The wall-clock reading (dates at midnight).
    pub fn naive(&self) -> NaiveDateTime {
        match self {
            RawTime::Date(d) => d.and_time(NaiveTime::MIN),
            RawTime::Local(t) | RawTime::Utc(t) => *t,
        }
    }
}

/// Parses `YYYYMMDD`, `YYYYMMDDTHHMMSS[Z]` (also `HHMM`, and `-`/`:` separators).
/// A date with a stray `Z` (`20131210Z`, seen in the wild) is read as a date.
pub fn parse_raw_time(text: &str) -> Option<RawTime> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect::<String>()
        .to_ascii_uppercase();
    let (body, utc) = match cleaned.strip_suffix('Z') {
        Some(body) => (body, true),
        None => (cleaned.as_str(), false),
    };
    let (date_part, time_part) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let date = parse_date_digits(date_part)?;
    let Some(time_part) = time_part else {
        return Some(RawTime::Date(date));
    };
    // Fractional seconds are not iCalendar, but some exporters write them.
    let time_part = time_part.split(['.', ',']).next().unwrap_or(time_part);
    if !time_part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let field =
        |range: std::ops::Range<usize>| -> Option<u32> { time_part.get(range)?.parse().ok() };
    let (h, m, s) = match time_part.len() {
        6 => (field(0..2)?, field(2..4)?, field(4..6)?),
        4 => (field(0..2)?, field(2..4)?, 0),
        _ => return None,
    };
    // A leap second (`:60`) is read as the last second of the minute.
    let time = NaiveTime::from_hms_opt(h, m, s.min(59))?;
    let at = date.and_time(time);
    Some(if utc {
        RawTime::Utc(at)
    } else {
        RawTime::Local(at)
    })
}

fn parse_date_digits(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let year: i32 = text.get(0..4)?.parse().ok()?;
    let month: u32 = text.get(4..6)?.parse().ok()?;
    let day: u32 = text.get(6..8)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Parses an RFC 5545 DURATION (`PT1H30M`, `-P1D`, `P2W`). Returns the signed length
/// and whether it has only whole days/weeks (a "nominal" duration, §3.3.6).
pub fn parse_duration(text: &str) -> Option<(Duration, bool)> {
    let text = text.trim().to_ascii_uppercase();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let rest = rest.strip_prefix('P')?;
    let mut seconds: i64 = 0;
    let mut in_time = false;
    let mut digits = String::new();
    let mut days_only = true;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            'T' if digits.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = digits.parse().ok()?;
                digits.clear();
                any = true;
                let unit = match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                if in_time {
                    days_only = false;
                }
                seconds = seconds.checked_add(n.checked_mul(unit)?)?;
            }
            _ => return None,
        }
    }
    if !digits.is_empty() || !any {
        return None;
    }
    // Bound to 100 years: anything longer is garbage and would overflow date math later.
    if seconds > 100 * 366 * 86_400 {
        return None;
    }
    let length = Duration::seconds(if negative { -seconds } else { seconds });
    Some((length, days_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, s))
            .unwrap()
    }

    #[test]
    fn date_time_forms_are_recognized() {
        assert_eq!(
            parse_raw_time("20240102T090000Z"),
            Some(RawTime::Utc(at(2024, 1, 2, 9, 0, 0)))
        );
        assert_eq!(
            parse_raw_time("20240102T0930"),
            Some(RawTime::Local(at(2024, 1, 2, 9, 30, 0)))
        );
        assert_eq!(
            parse_raw_time("20131210Z"),
            Some(RawTime::Date(
                NaiveDate::from_ymd_opt(2013, 12, 10).unwrap()
            ))
        );
        assert_eq!(parse_raw_time("2024013"), None);
        assert_eq!(parse_raw_time("20241301"), None);
        assert_eq!(parse_raw_time(""), None);
    }

    #[test]
    fn durations_parse_with_sign_and_units() {
        assert_eq!(
            parse_duration("PT1H30M"),
            Some((Duration::minutes(90), false))
        );
        assert_eq!(parse_duration("-P1D"), Some((Duration::days(-1), true)));
        assert_eq!(parse_duration("P2W"), Some((Duration::days(14), true)));
        assert_eq!(parse_duration("P1DT2H"), Some((Duration::hours(26), false)));
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("P1H"), None);
        assert_eq!(parse_duration("P99999999999999W"), None);
    }
}

//! RRULE handling on wall-clock time: rules are parsed by tete (UNTIL, RSCALE and
//! extensions taken out first), then expanded by the `rrule` crate with UTC standing in
//! for "no zone", so 10:00 stays 10:00 across DST and the host's `TZ` never matters.
//! The caller maps each wall-clock result to an instant through the event's own zone.

use super::values::{RawTime, parse_raw_time};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use rrule::{Frequency, RRule, Unvalidated};
use std::time::Instant;

/// Why a recurrence could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    /// The RRULE/EXRULE text is not a rule tete can expand.
    #[error("invalid recurrence rule {rule:?}: {reason}")]
    InvalidRule {
        /// The rule as written.
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// RFC 7529 calendar scales other than GREGORIAN are not supported.
    #[error("unsupported calendar scale RSCALE={0} (RFC 7529)")]
    UnsupportedScale(String),
    /// A date or date-time value that does not parse.
    #[error("invalid date or date-time {0:?}")]
    InvalidTime(String),
    /// A TZID that is neither IANA nor Windows nor defined in the file.
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    /// A recurrence line that is not RRULE/EXRULE/RDATE/EXDATE.
    #[error("unrecognized recurrence line {0:?}")]
    UnknownLine(String),
}

/// A parsed RRULE/EXRULE, UNTIL kept aside so it can be converted to wall-clock time.
#[derive(Clone, Debug)]
pub(crate) struct ParsedRule {
    pub(crate) rule: RRule<Unvalidated>,
    pub(crate) text: String,
    pub(crate) freq: Frequency,
    pub(crate) interval: u32,
    pub(crate) has_count: bool,
    pub(crate) until: Option<RawTime>,
}

/// Parses an RRULE value (`FREQ=WEEKLY;BYDAY=MO`, with or without `RRULE:`).
pub(crate) fn parse_rule(value: &str) -> Result<ParsedRule, RecurrenceError> {
    let text = value.trim();
    let body = strip_prefix_ci(text, "RRULE:")
        .or_else(|| strip_prefix_ci(text, "EXRULE:"))
        .unwrap_or(text);
    let invalid = |reason: &str| RecurrenceError::InvalidRule {
        rule: text.to_string(),
        reason: reason.to_string(),
    };
    // RRULE values are ASCII by grammar. rrule 0.14 slices BYDAY values by byte index
    // and panics inside a multi-byte character ("1S\u{fffd}"), found by fuzzing.
    if !body.is_ascii() {
        return Err(invalid("it contains non-ASCII characters"));
    }
    let mut kept: Vec<String> = Vec::new();
    let mut until = None;
    let mut freq_seen = false;
    let mut interval: u32 = 1;
    let mut has_count = false;
    for part in body.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, val)) = part.split_once('=') else {
            return Err(invalid(&format!("part {part:?} has no '='")));
        };
        let key = key.trim().to_ascii_uppercase();
        let val = val.trim();
        match key.as_str() {
            "UNTIL" => {
                until = Some(parse_raw_time(val).ok_or_else(|| invalid("UNTIL is not a date"))?);
            }
            "RSCALE" => {
                if !val.eq_ignore_ascii_case("GREGORIAN") {
                    return Err(RecurrenceError::UnsupportedScale(val.to_string()));
                }
            }
            // RFC 7529 §3.1: OMIT (the default) is what rrule does; FORWARD/BACKWARD
            // move invalid dates (Feb 29 in other years), which rrule cannot.
            "SKIP" => {
                if !val.eq_ignore_ascii_case("OMIT") {
                    return Err(invalid(&format!("SKIP={val} (RFC 7529) is not supported")));
                }
            }
            _ if key.starts_with("X-") => {}
            _ => {
                match key.as_str() {
                    "FREQ" => freq_seen = true,
                    "COUNT" => has_count = true,
                    "INTERVAL" => {
                        interval = val
                            .parse()
                            .map_err(|_| invalid("INTERVAL is not a number"))?;
                        if interval == 0 {
                            return Err(invalid("INTERVAL must be at least 1"));
                        }
                    }
                    "BYDAY" => check_byday(val).map_err(|reason| invalid(&reason))?,
                    _ => {
                        if let Some(max) = ordinal_limit(&key) {
                            check_ordinals(&key, val, max).map_err(|reason| invalid(&reason))?;
                        }
                    }
                }
                kept.push(format!("{key}={}", val.to_ascii_uppercase()));
            }
        }
    }
    if !freq_seen {
        return Err(invalid("FREQ is missing"));
    }
    let rule: RRule<Unvalidated> = kept
        .join(";")
        .parse()
        .map_err(|e: rrule::RRuleError| invalid(&e.to_string()))?;
    Ok(ParsedRule {
        freq: rule.get_freq(),
        rule,
        text: text.to_string(),
        interval,
        has_count,
        until,
    })
}

/// The largest magnitude RFC 5545 §3.3.10 allows in a list part whose values may be
/// negative (counted from the end) but never zero.
fn ordinal_limit(key: &str) -> Option<i64> {
    Some(match key {
        "BYMONTHDAY" => 31,
        "BYYEARDAY" | "BYSETPOS" => 366,
        "BYWEEKNO" => 53,
        _ => return None,
    })
}

/// `[+-]1..=max`, the grammar's ordinal (`[+-]?` then one to three digits).
fn ordinal(text: &str, max: i64) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.trim_start_matches('+').parse().ok()?;
    (n != 0 && n.abs() <= max).then_some(n)
}

/// Checks every value of a BYMONTHDAY/BYYEARDAY/BYWEEKNO/BYSETPOS list: the rrule crate
/// would take some out-of-range values as something else rather than refuse them.
fn check_ordinals(key: &str, list: &str, max: i64) -> Result<(), String> {
    for item in list.split(',').map(str::trim) {
        if ordinal(item, max).is_none() {
            return Err(format!(
                "{key} value {item:?} is out of range (1 to {max}, or -{max} to -1)"
            ));
        }
    }
    Ok(())
}

/// Checks the ordinals of a BYDAY list (`MO`, `2TU`, `-1FR`): 1 to 53 either way
/// (`BYDAY=99999999999MO` was read as every Monday).
fn check_byday(list: &str) -> Result<(), String> {
    for item in list.split(',').map(str::trim) {
        let split = item.len().saturating_sub(2);
        let (number, day) = (
            item.get(..split).unwrap_or(""),
            item.get(split..).unwrap_or(""),
        );
        let known_day = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
            .iter()
            .any(|d| d.eq_ignore_ascii_case(day));
        if !known_day {
            return Err(format!("BYDAY value {item:?} is not a weekday"));
        }
        if !number.is_empty() && ordinal(number, 53).is_none() {
            return Err(format!(
                "BYDAY value {item:?} has an ordinal out of range (1 to 53, or -53 to -1)"
            ));
        }
    }
    Ok(())
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// Work and time left for expanding one series: the guard against hostile rules.
#[derive(Debug)]
pub(crate) struct Budget {
    steps_left: usize,
    deadline: Instant,
}

impl Budget {
    pub(crate) fn new(steps: usize, time: std::time::Duration) -> Self {
        Self::until(steps, Instant::now() + time)
    }

    /// A budget of `steps` that also ends at `deadline`.
    pub(crate) fn until(steps: usize, deadline: Instant) -> Self {
        Budget {
            steps_left: steps,
            deadline,
        }
    }

    /// Spends one step; false when the budget is exhausted.
    fn step(&mut self) -> bool {
        if self.steps_left == 0 {
            return false;
        }
        self.steps_left -= 1;
        // One step of the rrule iterator can itself loop up to 100 000 times, so the
        // clock is checked every step; it is cheap next to that.
        Instant::now() <= self.deadline
    }
}

/// The result of expanding one rule inside a range.
#[derive(Debug, Default)]
pub(crate) struct WallTimes {
    pub(crate) times: Vec<NaiveDateTime>,
    /// True when the cap or the budget stopped the expansion early.
    pub(crate) truncated: bool,
}

/// Where to look for times, in wall-clock time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Times before this are not wanted.
    pub(crate) from: NaiveDateTime,
    /// Times before this are kept but do not count toward the cap (a margin).
    pub(crate) count_from: NaiveDateTime,
    /// Times after this are not wanted.
    pub(crate) to: NaiveDateTime,
}

/// Wall-clock times of `rule` (started at `dtstart`) within `[from, to]`, at most
/// `max_out` of them at or after `count_from`.
/// `until_wall` is the rule's UNTIL already converted to wall-clock time in the event's zone.
pub(crate) fn rule_wall_times(
    rule: &ParsedRule,
    dtstart: NaiveDateTime,
    until_wall: Option<NaiveDateTime>,
    bounds: &Bounds,
    max_out: usize,
    budget: &mut Budget,
) -> Result<WallTimes, RecurrenceError> {
    let Bounds {
        from,
        count_from,
        to,
    } = *bounds;
    let mut out = WallTimes::default();
    let mut counted = 0usize;
    if let Some(until) = until_wall
        && (until < dtstart || until < from)
    {
        return Ok(out);
    }
    if to < from || to < dtstart {
        return Ok(out);
    }
    let start = skip_ahead(rule, dtstart, from);
    let mut unvalidated = rule.rule.clone();
    if let Some(until) = until_wall {
        unvalidated = unvalidated.until(rrule::Tz::UTC.from_utc_datetime(&until));
    }
    let set = unvalidated
        .build(rrule::Tz::UTC.from_utc_datetime(&start))
        .map_err(|e| RecurrenceError::InvalidRule {
            rule: rule.text.clone(),
            reason: e.to_string(),
        })?
        .limit();
    for at in &set {
        if !budget.step() {
            out.truncated = true;
            break;
        }
        let wall = at.naive_utc();
        if wall > to {
            break;
        }
        if wall >= from {
            if wall >= count_from {
                if counted >= max_out {
                    out.truncated = true;
                    break;
                }
                counted += 1;
            }
            out.times.push(wall);
        }
    }
    Ok(out)
}

/// For rules without COUNT, moves the start forward by whole periods to just before
/// `from`: the set of times is unchanged (every BYxxx part and every default taken from
/// DTSTART repeats with the period), and the work no longer grows with the distance
/// between DTSTART and the window. MONTHLY and YEARLY starts move by whole months
/// only onto a month that has DTSTART's day, so the implied BYMONTHDAY stays the same.
fn skip_ahead(rule: &ParsedRule, dtstart: NaiveDateTime, from: NaiveDateTime) -> NaiveDateTime {
    if rule.has_count || from <= dtstart {
        return dtstart;
    }
    let interval = i64::from(rule.interval.max(1));
    let unit: i64 = match rule.freq {
        Frequency::Secondly => 1,
        Frequency::Minutely => 60,
        Frequency::Hourly => 3_600,
        Frequency::Daily => 86_400,
        Frequency::Weekly => 7 * 86_400,
        Frequency::Monthly => return skip_months(dtstart, from, interval),
        Frequency::Yearly => return skip_months(dtstart, from, interval.saturating_mul(12)),
    };
    let period = unit.saturating_mul(interval);
    let distance = (from - dtstart).num_seconds();
    // One period of slack so a time exactly at `from` is still generated.
    let periods = distance / period - 1;
    if periods <= 0 {
        return dtstart;
    }
    periods
        .checked_mul(period)
        .and_then(|secs| dtstart.checked_add_signed(Duration::seconds(secs)))
        .unwrap_or(dtstart)
}

fn skip_months(dtstart: NaiveDateTime, from: NaiveDateTime, period_months: i64) -> NaiveDateTime {
    let index = |t: NaiveDateTime| i64::from(t.year()) * 12 + i64::from(t.month0());
    let distance = index(from) - index(dtstart);
    // Two periods of slack: the start's day may lie after `from`'s day in its month.
    let mut periods = distance / period_months - 2;
    // A month without DTSTART's day (Feb 30, Feb 29 outside leap years): go back
    // further until one has it; give up (no skipping) after a bounded search.
    for _ in 0..64 {
        if periods <= 0 {
            return dtstart;
        }
        let target = index(dtstart) + periods * period_months;
        let moved = i32::try_from(target.div_euclid(12)).ok().and_then(|year| {
            let month = u32::try_from(target.rem_euclid(12)).ok()? + 1;
            NaiveDate::from_ymd_opt(year, month, dtstart.day()).map(|d| d.and_time(dtstart.time()))
        });
        if let Some(moved) = moved {
            return moved;
        }
        periods -= 1;
    }
    dtstart
}

/// UNTIL as a wall-clock bound: a DATE means the whole of that day (RFC 5545 §3.3.10
/// says UNTIL is inclusive), a local value is already wall-clock, a UTC value goes
/// through `utc_to_wall` (the event's zone).
pub(crate) fn until_to_wall(
    until: RawTime,
    utc_to_wall: impl Fn(NaiveDateTime) -> NaiveDateTime,
) -> NaiveDateTime {
    match until {
        RawTime::Date(d) => {
            d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
        }
        RawTime::Local(t) => t,
        RawTime::Utc(t) => utc_to_wall(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, 0, 0))
            .unwrap()
    }

    #[test]
    fn rule_text_loses_until_rscale_and_extensions() {
        let rule = parse_rule("RRULE:FREQ=weekly;UNTIL=20240131;RSCALE=GREGORIAN;X-FOO=1").unwrap();
        assert_eq!(rule.freq, Frequency::Weekly);
        assert!(matches!(rule.until, Some(RawTime::Date(_))));
        assert!(matches!(
            parse_rule("RSCALE=CHINESE;FREQ=YEARLY"),
            Err(RecurrenceError::UnsupportedScale(_))
        ));
        assert!(parse_rule("BYDAY=MO").is_err());
        assert!(parse_rule("FREQ=FORTNIGHTLY").is_err());
        assert!(parse_rule("FREQ=DAILY;INTERVAL=0").is_err());
    }

    #[test]
    fn ordinals_outside_rfc_5545_ranges_are_invalid_rules() {
        for bad in [
            "FREQ=MONTHLY;BYDAY=99999999999MO",
            "FREQ=MONTHLY;BYDAY=54MO",
            "FREQ=MONTHLY;BYDAY=0MO",
            "FREQ=MONTHLY;BYDAY=1MO,-54FR",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=MONTHLY;BYMONTHDAY=0",
            "FREQ=MONTHLY;BYMONTHDAY=-99999999999",
            "FREQ=YEARLY;BYYEARDAY=367",
            "FREQ=YEARLY;BYWEEKNO=54",
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-367",
        ] {
            let error = parse_rule(bad).expect_err(bad);
            assert!(
                matches!(&error, RecurrenceError::InvalidRule { reason, .. } if reason.contains("BY")),
                "{bad}: {error}"
            );
        }
        for good in [
            "FREQ=MONTHLY;BYDAY=53MO,-53FR,+1TU,we",
            "FREQ=MONTHLY;BYMONTHDAY=31,-31,1",
            "FREQ=YEARLY;BYYEARDAY=366,-366",
            "FREQ=YEARLY;BYWEEKNO=53,-1",
            "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1,366",
        ] {
            assert!(parse_rule(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn skipping_ahead_keeps_the_same_times() {
        let rule = parse_rule("FREQ=DAILY;INTERVAL=3;BYHOUR=9,17").unwrap();
        let march = Bounds {
            from: at(2024, 3, 1, 0),
            count_from: at(2024, 3, 1, 0),
            to: at(2024, 3, 10, 0),
        };
        let mut budget = Budget::new(100_000, std::time::Duration::from_secs(5));
        let far =
            rule_wall_times(&rule, at(2000, 1, 1, 9), None, &march, 100, &mut budget).unwrap();
        let mut budget = Budget::new(10_000_000, std::time::Duration::from_secs(20));
        let mut slow = rule.clone();
        slow.has_count = true; // disables skipping
        let near =
            rule_wall_times(&slow, at(2000, 1, 1, 9), None, &march, 100, &mut budget).unwrap();
        assert_eq!(far.times, near.times);
        assert_eq!(far.times.len(), 6);
        for text in [
            "FREQ=MONTHLY;INTERVAL=5",
            "FREQ=MONTHLY;BYDAY=-1FR",
            "FREQ=YEARLY;INTERVAL=3",
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        ] {
            for start in [at(1601, 1, 31, 9), at(1904, 2, 29, 9), at(2001, 5, 15, 9)] {
                let rule = parse_rule(text).unwrap();
                let mut slow = rule.clone();
                slow.has_count = true;
                let wide = Bounds {
                    from: at(2023, 1, 1, 0),
                    count_from: at(2023, 1, 1, 0),
                    to: at(2031, 1, 1, 0),
                };
                let mut b1 = Budget::new(1_000_000, std::time::Duration::from_secs(20));
                let mut b2 = Budget::new(1_000_000, std::time::Duration::from_secs(20));
                let fast = rule_wall_times(&rule, start, None, &wide, 1000, &mut b1).unwrap();
                let full = rule_wall_times(&slow, start, None, &wide, 1000, &mut b2).unwrap();
                assert_eq!(fast.times, full.times, "{text} from {start}");
            }
        }
    }

    #[test]
    fn date_until_covers_the_whole_day() {
        let until = until_to_wall(
            RawTime::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()),
            |t| t,
        );
        assert_eq!(
            until,
            at(2024, 1, 31, 23) + Duration::minutes(59) + Duration::seconds(59)
        );
    }
}

//! Graph's `patternedRecurrence` turned into an RFC 5545 RRULE, so tete's own
//! recurrence engine expands Microsoft series exactly like .ics and Google ones.

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use crate::core::calendar::local_to_utc;
use crate::model::Zone;

/// `recurrence` of a series master (Graph `patternedRecurrence`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct PatternedRecurrence {
    /// How often.
    pub pattern: Option<RecurrencePattern>,
    /// For how long.
    pub range: Option<RecurrenceRange>,
}

/// `recurrencePattern`: the frequency and which days.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct RecurrencePattern {
    /// `daily`, `weekly`, `absoluteMonthly`, `relativeMonthly`, `absoluteYearly`, `relativeYearly`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Units of `kind` between occurrences (1 = every).
    pub interval: Option<i64>,
    /// `monday` … `sunday`.
    pub days_of_week: Option<Vec<String>>,
    /// 1–31 for the absolute types (0 when unused).
    pub day_of_month: Option<i64>,
    /// 1–12 for the yearly types (0 when unused).
    pub month: Option<i64>,
    /// `first`, `second`, `third`, `fourth`, `last` for the relative types.
    pub index: Option<String>,
    /// Week start for weekly patterns.
    pub first_day_of_week: Option<String>,
}

/// `recurrenceRange`: when the series starts and ends.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct RecurrenceRange {
    /// `endDate`, `noEnd` or `numbered`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// First day of the series (`YYYY-MM-DD`).
    pub start_date: Option<String>,
    /// Last day of the series for `endDate` (`0001-01-01` when unused).
    pub end_date: Option<String>,
    /// Occurrence count for `numbered` (0 when unused).
    pub number_of_occurrences: Option<i64>,
    /// The zone the dates are read in, usually a Windows name.
    pub recurrence_time_zone: Option<String>,
}

/// A recurrence tete cannot express as an RRULE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported recurrence: {0}")]
pub struct RecurrenceError(pub String);

/// `monday` → `MO`.
fn weekday(day: &str) -> Result<&'static str, RecurrenceError> {
    Ok(match day.trim().to_ascii_lowercase().as_str() {
        "monday" => "MO",
        "tuesday" => "TU",
        "wednesday" => "WE",
        "thursday" => "TH",
        "friday" => "FR",
        "saturday" => "SA",
        "sunday" => "SU",
        other => return Err(RecurrenceError(format!("day of week '{other}'"))),
    })
}

/// `first` → 1 … `last` → -1 (for BYSETPOS).
fn set_position(index: Option<&str>) -> Result<i32, RecurrenceError> {
    Ok(
        match index
            .unwrap_or("first")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "first" => 1,
            "second" => 2,
            "third" => 3,
            "fourth" => 4,
            "last" => -1,
            other => return Err(RecurrenceError(format!("week index '{other}'"))),
        },
    )
}

fn by_day(pattern: &RecurrencePattern) -> Result<String, RecurrenceError> {
    let days = pattern.days_of_week.as_deref().unwrap_or_default();
    if days.is_empty() {
        return Err(RecurrenceError("a day-of-week pattern without days".into()));
    }
    let days: Result<Vec<&str>, _> = days.iter().map(|d| weekday(d)).collect();
    Ok(days?.join(","))
}

fn positive(value: Option<i64>, what: &str, max: i64) -> Result<i64, RecurrenceError> {
    match value {
        Some(v) if (1..=max).contains(&v) => Ok(v),
        other => Err(RecurrenceError(format!(
            "{what} {}",
            other.map_or("missing".to_string(), |v| v.to_string())
        ))),
    }
}

/// Graph's unused dates are written as `0001-01-01`.
fn real_date(text: Option<&str>) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(text?.trim(), "%Y-%m-%d").ok()?;
    (date > NaiveDate::from_ymd_opt(1, 1, 1)?).then_some(date)
}

/// The RRULE value (without `RRULE:`) for a Graph recurrence.
///
/// `zone` is the zone the series is expanded in (the master's start zone), used to
/// turn an `endDate` into UNTIL: the end of that day there, in UTC, as RFC 5545
/// requires for a zoned DTSTART. For all-day series (`all_day`) UNTIL is a date.
pub fn to_rrule(
    recurrence: &PatternedRecurrence,
    zone: &Zone,
    all_day: bool,
) -> Result<String, RecurrenceError> {
    let pattern = recurrence
        .pattern
        .as_ref()
        .ok_or_else(|| RecurrenceError("no pattern".into()))?;
    let kind = pattern.kind.as_deref().unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    match kind.to_ascii_lowercase().as_str() {
        "daily" => parts.push("FREQ=DAILY".into()),
        "weekly" => {
            parts.push("FREQ=WEEKLY".into());
            parts.push(format!("BYDAY={}", by_day(pattern)?));
            if let Some(first) = pattern.first_day_of_week.as_deref() {
                parts.push(format!("WKST={}", weekday(first)?));
            }
        }
        "absolutemonthly" => {
            parts.push("FREQ=MONTHLY".into());
            let day = positive(pattern.day_of_month, "day of month", 31)?;
            parts.push(format!("BYMONTHDAY={day}"));
        }
        "relativemonthly" => {
            parts.push("FREQ=MONTHLY".into());
            parts.push(format!("BYDAY={}", by_day(pattern)?));
            parts.push(format!(
                "BYSETPOS={}",
                set_position(pattern.index.as_deref())?
            ));
        }
        "absoluteyearly" => {
            parts.push("FREQ=YEARLY".into());
            let month = positive(pattern.month, "month", 12)?;
            let day = positive(pattern.day_of_month, "day of month", 31)?;
            parts.push(format!("BYMONTH={month}"));
            parts.push(format!("BYMONTHDAY={day}"));
        }
        "relativeyearly" => {
            parts.push("FREQ=YEARLY".into());
            let month = positive(pattern.month, "month", 12)?;
            parts.push(format!("BYMONTH={month}"));
            parts.push(format!("BYDAY={}", by_day(pattern)?));
            parts.push(format!(
                "BYSETPOS={}",
                set_position(pattern.index.as_deref())?
            ));
        }
        other => return Err(RecurrenceError(format!("pattern type '{other}'"))),
    }
    let interval = pattern.interval.unwrap_or(1);
    if interval < 1 {
        return Err(RecurrenceError(format!("interval {interval}")));
    }
    if interval > 1 {
        // Keep FREQ first, as RFC 5545 examples and most parsers expect.
        parts.insert(1, format!("INTERVAL={interval}"));
    }
    if let Some(range) = &recurrence.range {
        match range
            .kind
            .as_deref()
            .unwrap_or("noEnd")
            .to_ascii_lowercase()
            .as_str()
        {
            "noend" => {}
            "numbered" => {
                let count = positive(
                    range.number_of_occurrences,
                    "number of occurrences",
                    i64::MAX,
                )?;
                parts.push(format!("COUNT={count}"));
            }
            "enddate" => {
                let end = real_date(range.end_date.as_deref())
                    .ok_or_else(|| RecurrenceError("an endDate range without a date".into()))?;
                if all_day {
                    parts.push(format!("UNTIL={}", end.format("%Y%m%d")));
                } else {
                    let last_second =
                        end.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
                    // Floating cannot occur for Graph; read it as UTC if it ever does.
                    let until = local_to_utc(last_second, zone, chrono_tz::UTC);
                    parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
                }
            }
            other => return Err(RecurrenceError(format!("range type '{other}'"))),
        }
    }
    Ok(parts.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: serde_json::Value, range: serde_json::Value) -> PatternedRecurrence {
        serde_json::from_value(serde_json::json!({"pattern": pattern, "range": range})).unwrap()
    }

    fn no_end() -> serde_json::Value {
        serde_json::json!({"type": "noEnd", "startDate": "2024-01-01", "endDate": "0001-01-01",
            "numberOfOccurrences": 0, "recurrenceTimeZone": "Pacific Standard Time"})
    }

    fn utc() -> Zone {
        Zone::Utc
    }

    #[test]
    fn daily_pattern_with_interval_becomes_freq_daily() {
        let r = rule(
            serde_json::json!({"type": "daily", "interval": 3, "month": 0, "dayOfMonth": 0, "index": "first"}),
            no_end(),
        );
        assert_eq!(
            to_rrule(&r, &utc(), false).unwrap(),
            "FREQ=DAILY;INTERVAL=3"
        );
    }

    #[test]
    fn weekly_pattern_lists_days_and_week_start() {
        let r = rule(
            serde_json::json!({"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday", "friday"],
                "firstDayOfWeek": "sunday", "index": "first", "month": 0, "dayOfMonth": 0}),
            no_end(),
        );
        assert_eq!(
            to_rrule(&r, &utc(), false).unwrap(),
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;WKST=SU"
        );
    }

    #[test]
    fn absolute_monthly_pattern_uses_bymonthday() {
        let r = rule(
            serde_json::json!({"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 15}),
            no_end(),
        );
        assert_eq!(
            to_rrule(&r, &utc(), false).unwrap(),
            "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15"
        );
    }

    #[test]
    fn relative_monthly_last_friday_uses_bysetpos_minus_one() {
        let r = rule(
            serde_json::json!({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"}),
            no_end(),
        );
        assert_eq!(
            to_rrule(&r, &utc(), false).unwrap(),
            "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1"
        );
    }

    #[test]
    fn absolute_yearly_pattern_names_month_and_day() {
        let r = rule(
            serde_json::json!({"type": "absoluteYearly", "interval": 1, "month": 3, "dayOfMonth": 7}),
            no_end(),
        );
        assert_eq!(
            to_rrule(&r, &utc(), false).unwrap(),
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=7"
        );
    }

    #[test]
    fn relative_yearly_second_tuesday_of_june() {
        let r = rule(
            serde_json::json!({"type": "relativeYearly", "interval": 1, "month": 6, "daysOfWeek": ["tuesday"], "index": "second"}),
            no_end(),
        );
        assert_eq!(
            to_rrule(&r, &utc(), false).unwrap(),
            "FREQ=YEARLY;BYMONTH=6;BYDAY=TU;BYSETPOS=2"
        );
    }

    #[test]
    fn numbered_range_becomes_count() {
        let r = rule(
            serde_json::json!({"type": "daily", "interval": 1}),
            serde_json::json!({"type": "numbered", "startDate": "2024-01-01", "numberOfOccurrences": 10}),
        );
        assert_eq!(to_rrule(&r, &utc(), false).unwrap(), "FREQ=DAILY;COUNT=10");
    }

    #[test]
    fn end_date_becomes_until_at_the_end_of_that_day_in_the_series_zone() {
        let r = rule(
            serde_json::json!({"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]}),
            serde_json::json!({"type": "endDate", "startDate": "2024-01-02", "endDate": "2024-01-30",
                "recurrenceTimeZone": "Pacific Standard Time"}),
        );
        let la = Zone::Iana(chrono_tz::America::Los_Angeles);
        // 2024-01-30 23:59:59 in Los Angeles (UTC-8) is 2024-01-31 07:59:59 UTC.
        assert_eq!(
            to_rrule(&r, &la, false).unwrap(),
            "FREQ=WEEKLY;BYDAY=TU;UNTIL=20240131T075959Z"
        );
        assert_eq!(
            to_rrule(&r, &la, true).unwrap(),
            "FREQ=WEEKLY;BYDAY=TU;UNTIL=20240130"
        );
    }

    #[test]
    fn unknown_pattern_types_are_refused() {
        let r = rule(
            serde_json::json!({"type": "hourly", "interval": 1}),
            no_end(),
        );
        assert!(to_rrule(&r, &utc(), false).is_err());
        let r = rule(
            serde_json::json!({"type": "weekly", "interval": 1, "daysOfWeek": []}),
            no_end(),
        );
        assert!(to_rrule(&r, &utc(), false).is_err());
    }
}

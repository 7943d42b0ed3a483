//! Recurrence lines as Google's `recurrence[]` array (and iCalendar content lines)
//! carry them: `RRULE:...`, `EXRULE:...`, `RDATE;VALUE=DATE:...`, `EXDATE;TZID=...:...`.

use super::rules::{RecurrenceError, parse_rule};
use super::values::{RawTime, parse_raw_time};
use super::zones::resolve_tzid;
use crate::model::{EventTime, Recurrence, Zone};

/// A content line split into name, parameters (key, value) and value.
pub type ContentLine = (String, Vec<(String, String)>, String);

/// Splits a content line into (name, parameters, value), honouring quoted parameter
/// values (`TZID="(UTC+01:00) Amsterdam, Berlin"`). Names and keys are upper-cased.
pub fn split_content_line(line: &str) -> Option<ContentLine> {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let head = line.get(..colon)?;
    let value = line.get(colon + 1..)?.to_string();
    let mut parts = split_outside_quotes(head, ';').into_iter();
    let name = parts.next()?.trim().to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_uppercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    Some((name, params, value))
}

fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(text.get(start..i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    out.push(text.get(start..).unwrap_or(""));
    out
}

/// Parses an RDATE/EXDATE/RECURRENCE-ID value list: comma-separated DATE, DATE-TIME or
/// PERIOD values (a period counts as its start, RFC 5545 §3.8.5.2). Local values take
/// `zone` (the resolved TZID, or [`Zone::Floating`] when there is none).
pub fn parse_time_values(
    value: &str,
    value_type: Option<&str>,
    zone: &Zone,
) -> Result<Vec<EventTime>, RecurrenceError> {
    let as_date = value_type.is_some_and(|t| t.eq_ignore_ascii_case("DATE"));
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|item| {
            let start = item.split('/').next().unwrap_or(item);
            let raw = parse_raw_time(start)
                .ok_or_else(|| RecurrenceError::InvalidTime(item.to_string()))?;
            Ok(event_time_from_raw(raw, as_date, zone))
        })
        .collect()
}

/// An [`EventTime`] from a parsed value: `Z` means UTC whatever the TZID says,
/// `VALUE=DATE` (or a bare date) means all-day.
pub fn event_time_from_raw(raw: RawTime, as_date: bool, zone: &Zone) -> EventTime {
    match raw {
        RawTime::Date(d) => EventTime::Date(d),
        _ if as_date => EventTime::Date(raw.naive().date()),
        RawTime::Utc(t) => EventTime::DateTime {
            local: t,
            zone: Zone::Utc,
        },
        RawTime::Local(t) => EventTime::DateTime {
            local: t,
            zone: zone.clone(),
        },
    }
}

/// Builds a [`Recurrence`] from lines like Google's `recurrence[]`:
/// `RRULE:FREQ=WEEKLY;UNTIL=20110701T170000Z`, `EXDATE;TZID=America/New_York:20240115T100000`.
/// TZIDs resolve as IANA or Windows names; values without TZID or `Z` are read in
/// `start_zone` (the series' own zone). Rules are checked here so a bad one is reported
/// when the event arrives, not silently dropped later.
pub fn parse_recurrence_lines(
    lines: &[String],
    start_zone: &Zone,
) -> Result<Recurrence, RecurrenceError> {
    let mut rec = Recurrence::default();
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        let (name, params, value) = split_content_line(line)
            .ok_or_else(|| RecurrenceError::UnknownLine(line.to_string()))?;
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        match name.as_str() {
            "RRULE" | "EXRULE" => {
                parse_rule(&value)?;
                if name == "RRULE" {
                    rec.rrules.push(value.trim().to_string());
                } else {
                    rec.exrules.push(value.trim().to_string());
                }
            }
            "RDATE" | "EXDATE" => {
                let zone = match param("TZID") {
                    Some(tzid) => resolve_tzid(tzid, None, (2000, 2000))
                        .ok_or_else(|| RecurrenceError::UnknownZone(tzid.to_string()))?,
                    None => start_zone.clone(),
                };
                let times = parse_time_values(&value, param("VALUE"), &zone)?;
                if name == "RDATE" {
                    rec.rdates.extend(times);
                } else {
                    rec.exdates.extend(times);
                }
            }
            _ => return Err(RecurrenceError::UnknownLine(line.to_string())),
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn google_recurrence_lines_become_a_recurrence() {
        let lines = vec![
            "RRULE:FREQ=WEEKLY;UNTIL=20110701T170000Z".to_string(),
            "EXDATE;TZID=America/New_York:20240115T100000,20240122T100000".to_string(),
            "RDATE;VALUE=DATE:20240301".to_string(),
        ];
        let rec =
            parse_recurrence_lines(&lines, &Zone::Iana(chrono_tz::America::New_York)).unwrap();
        assert_eq!(rec.rrules, vec!["FREQ=WEEKLY;UNTIL=20110701T170000Z"]);
        assert_eq!(rec.exdates.len(), 2);
        assert!(
            matches!(&rec.exdates[0], EventTime::DateTime { zone: Zone::Iana(tz), .. } if *tz == chrono_tz::America::New_York)
        );
        assert_eq!(
            rec.rdates,
            vec![EventTime::Date(
                NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
            )]
        );
    }

    #[test]
    fn bad_lines_and_unknown_zones_are_errors() {
        let zone = Zone::Utc;
        assert!(parse_recurrence_lines(&["FOO:bar".into()], &zone).is_err());
        assert!(parse_recurrence_lines(&["RRULE:FREQ=SOMETIMES".into()], &zone).is_err());
        assert!(matches!(
            parse_recurrence_lines(&["EXDATE;TZID=Mars/Olympus:20240101T100000".into()], &zone),
            Err(RecurrenceError::UnknownZone(_))
        ));
    }

    #[test]
    fn quoted_parameters_keep_their_colons_and_periods_count_as_their_start() {
        let (name, params, value) =
            split_content_line("DTSTART;TZID=\"(UTC+01:00) Amsterdam, Berlin\":20240101T100000")
                .unwrap();
        assert_eq!(name, "DTSTART");
        assert_eq!(
            params,
            vec![(
                "TZID".to_string(),
                "(UTC+01:00) Amsterdam, Berlin".to_string()
            )]
        );
        assert_eq!(value, "20240101T100000");
        let times =
            parse_time_values("20240101T100000Z/PT1H", Some("PERIOD"), &Zone::Floating).unwrap();
        assert!(matches!(
            times[0],
            EventTime::DateTime {
                zone: Zone::Utc,
                ..
            }
        ));
    }
}

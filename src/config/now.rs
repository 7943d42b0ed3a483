//! `--now`: a fixed clock for commands, written as a local or RFC 3339 time.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};

/// Parses a point in time for `--now`: RFC 3339 (`2026-03-02T09:00:00+01:00`,
/// `2026-03-02T08:00:00Z`), or a local time in `zone` written `YYYY-MM-DDTHH:MM`,
/// `YYYY-MM-DD HH:MM` (seconds optional). A local time that falls in a DST gap is an
/// error; one that occurs twice (DST fold) means the earlier instant.
pub fn parse_now(text: &str, zone: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    let formats = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ];
    let local = formats
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| {
            format!(
                "\"{text}\" is not a time (expected RFC 3339 like 2026-03-02T09:00:00+01:00, or YYYY-MM-DDTHH:MM in {zone})"
            )
        })?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{text} does not exist in {zone} (it falls in a daylight-saving gap)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test literal")
            .with_timezone(&Utc)
    }

    #[test]
    fn rfc3339_is_taken_as_is_whatever_the_zone() {
        assert_eq!(
            parse_now("2026-03-02T09:00:00+01:00", Berlin),
            Ok(utc("2026-03-02T08:00:00Z"))
        );
        assert_eq!(
            parse_now("2026-03-02T08:00:00Z", Berlin),
            Ok(utc("2026-03-02T08:00:00Z"))
        );
    }

    #[test]
    fn local_times_are_read_in_the_given_zone() {
        let expected = Ok(utc("2026-07-01T07:30:00Z"));
        assert_eq!(parse_now("2026-07-01T09:30", Berlin), expected);
        assert_eq!(parse_now("2026-07-01 09:30", Berlin), expected);
        assert_eq!(parse_now("2026-07-01 09:30:00", Berlin), expected);
    }

    #[test]
    fn a_time_in_the_spring_gap_is_an_error_and_the_autumn_fold_takes_the_earlier() {
        assert!(parse_now("2026-03-29T02:30", Berlin).is_err());
        assert_eq!(
            parse_now("2026-10-25T02:30", Berlin),
            Ok(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn garbage_is_rejected_with_the_accepted_forms() {
        let error = parse_now("tomorrow", Berlin).unwrap_err();
        assert!(error.contains("RFC 3339"), "{error}");
        assert!(parse_now("2026-13-01T09:00", Berlin).is_err());
    }
}

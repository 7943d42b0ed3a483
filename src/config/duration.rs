//! The small value languages of the config file: durations (`"1h30m"`) and sizes
//! (`"64MiB"`).

use std::time::Duration;

/// What a duration looks like, for error messages.
pub const DURATION_EXPECTED: &str =
    "a duration such as \"30s\", \"5m\", \"18h\", \"1h30m\", \"2d\" or \"1w\"";

/// What a size looks like, for error messages.
pub const SIZE_EXPECTED: &str = "a byte count or a size such as \"64MiB\", \"512KiB\" or \"1GiB\"";

/// Parses a duration: one or more `NUMBER UNIT` parts with units `s`, `m`, `h`, `d`,
/// `w` (seconds to weeks), written largest first, e.g. `"1h30m"`. Spaces between parts
/// are allowed. Zero, negative, unit-less and empty durations are rejected: every
/// duration in tete's config is a span that must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration".into());
    }
    if trimmed.starts_with('-') {
        return Err(format!("negative duration \"{text}\""));
    }
    let mut rest = trimmed;
    let mut total: u64 = 0;
    let mut last_unit_rank = usize::MAX;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("\"{text}\" is not a duration"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large in \"{text}\""))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let (rank, seconds) = match unit {
            "w" => (0, 7 * 86_400),
            "d" => (1, 86_400),
            "h" => (2, 3_600),
            "m" => (3, 60),
            "s" => (4, 1),
            "" => return Err(format!("missing unit after {number} in \"{text}\"")),
            other => return Err(format!("unknown unit \"{other}\" in \"{text}\"")),
        };
        // "30m1h" is almost certainly a typo; insisting on order also rules out "5m5m".
        if last_unit_rank != usize::MAX && rank <= last_unit_rank {
            return Err(format!(
                "units out of order in \"{text}\" (write the largest unit first)"
            ));
        }
        last_unit_rank = rank;
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("duration \"{text}\" is too long"))?;
        rest = rest[unit_len..].trim_start();
    }
    if total == 0 {
        return Err(format!("duration \"{text}\" is zero"));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way the config file writes it (`5400s` → `"1h30m"`).
pub fn format_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 7 * 86_400),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses a size: a number with an optional unit `B`, `KB`/`KiB`, `MB`/`MiB`,
/// `GB`/`GiB` (both spellings binary, as people mean them for cache sizes). Zero is
/// rejected.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    if digits == 0 {
        return Err(format!("\"{text}\" is not a size"));
    }
    let number: u64 = trimmed[..digits]
        .parse()
        .map_err(|_| format!("number too large in \"{text}\""))?;
    let unit = trimmed[digits..].trim();
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit \"{unit}\" in \"{text}\"")),
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("size \"{text}\" is too large"))?;
    if bytes == 0 {
        return Err(format!("size \"{text}\" is zero"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Result<Duration, String> {
        Ok(Duration::from_secs(n))
    }

    #[test]
    fn single_unit_durations_parse() {
        assert_eq!(parse_duration("30s"), secs(30));
        assert_eq!(parse_duration("5m"), secs(300));
        assert_eq!(parse_duration("18h"), secs(18 * 3600));
        assert_eq!(parse_duration("2d"), secs(2 * 86_400));
        assert_eq!(parse_duration("1w"), secs(7 * 86_400));
    }

    #[test]
    fn compound_durations_add_up() {
        assert_eq!(parse_duration("1h30m"), secs(5400));
        assert_eq!(parse_duration("1d 2h"), secs(86_400 + 7200));
        assert_eq!(parse_duration(" 1w1d1h1m1s "), secs(694_861));
    }

    #[test]
    fn zero_negative_empty_and_unitless_durations_are_rejected() {
        for bad in ["0", "0s", "0h0m", "-5m", "", "  ", "5", "5m3", "m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn unknown_units_are_named_in_the_error() {
        let error = parse_duration("5min").unwrap_err();
        assert!(error.contains("\"min\""), "{error}");
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("1H").is_err());
    }

    #[test]
    fn non_ascii_input_is_an_error_not_a_panic() {
        for bad in ["５m", "5é", "é", "1h\u{200b}", "5µs"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn units_must_be_written_largest_first() {
        assert!(parse_duration("30m1h").is_err());
        assert!(parse_duration("5m5m").is_err());
    }

    #[test]
    fn overlong_durations_are_rejected_not_wrapped() {
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("9999999999999999w").is_err());
    }

    #[test]
    fn durations_format_back_to_config_syntax() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(35 * 86_400)), "5w");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
    }

    #[test]
    fn sizes_accept_bytes_and_binary_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 MB"), Ok(64 << 20));
        assert_eq!(parse_size("512kib"), Ok(512 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
    }

    #[test]
    fn bad_sizes_are_rejected() {
        for bad in [
            "0",
            "0MiB",
            "",
            "MiB",
            "12 parsecs",
            "-1MiB",
            "99999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

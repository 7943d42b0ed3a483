//! Windows time zone names (as Outlook, Exchange and Graph write them) mapped to IANA
//! names: the `001` (default territory) rows of CLDR's `windowsZones.xml`, plus the
//! display-name forms Outlook sometimes writes as TZID (`(UTC+01:00) Amsterdam, ...`).

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;
use std::str::FromStr;

/// CLDR `windowsZones.xml`, `mapZone territory="001"`: Windows id → IANA name.
pub static WINDOWS_ZONES: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("Greenland Standard Time", "America/Nuuk"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    ("Mid-Atlantic Standard Time", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kyiv"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Armenian Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Central Asia Standard Time", "Asia/Bishkek"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("Kamchatka Standard Time", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
    ("Mexico Standard Time", "America/Mexico_City"),
    ("Mexico Standard Time 2", "America/Chihuahua"),
];

/// Windows display names that name no city (`(UTC-05:00) Eastern Time (US & Canada)`):
/// the text after the offset → Windows id. Display names that list cities are matched
/// through the cities instead (see [`display_name_to_iana`]).
static DISPLAY_NAMES: &[(&str, &str)] = &[
    ("Eastern Time (US & Canada)", "Eastern Standard Time"),
    ("Central Time (US & Canada)", "Central Standard Time"),
    ("Mountain Time (US & Canada)", "Mountain Standard Time"),
    ("Pacific Time (US & Canada)", "Pacific Standard Time"),
    ("Atlantic Time (Canada)", "Atlantic Standard Time"),
    ("Alaska", "Alaskan Standard Time"),
    ("Hawaii", "Hawaiian Standard Time"),
    ("Arizona", "US Mountain Standard Time"),
    ("Indiana (East)", "US Eastern Standard Time"),
    ("Newfoundland", "Newfoundland Standard Time"),
    ("Saskatchewan", "Canada Central Standard Time"),
    ("Central America", "Central America Standard Time"),
    ("Coordinated Universal Time", "UTC"),
    (
        "Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
        "GMT Standard Time",
    ),
    ("Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"),
    ("Brisbane", "E. Australia Standard Time"),
    ("Darwin", "AUS Central Standard Time"),
    ("Adelaide", "Cen. Australia Standard Time"),
    ("Hobart", "Tasmania Standard Time"),
    ("Perth", "W. Australia Standard Time"),
    ("Canberra, Melbourne, Sydney", "AUS Eastern Standard Time"),
    ("Auckland, Wellington", "New Zealand Standard Time"),
    ("Osaka, Sapporo, Tokyo", "Tokyo Standard Time"),
    (
        "Beijing, Chongqing, Hong Kong, Urumqi",
        "China Standard Time",
    ),
    ("Chennai, Kolkata, Mumbai, New Delhi", "India Standard Time"),
    ("Kuala Lumpur, Singapore", "Singapore Standard Time"),
    ("Moscow, St. Petersburg", "Russian Standard Time"),
    ("Moscow, St. Petersburg, Volgograd", "Russian Standard Time"),
    (
        "Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        "W. Europe Standard Time",
    ),
    (
        "Brussels, Copenhagen, Madrid, Paris",
        "Romance Standard Time",
    ),
    (
        "Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        "Central Europe Standard Time",
    ),
    (
        "Sarajevo, Skopje, Warsaw, Zagreb",
        "Central European Standard Time",
    ),
    (
        "Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        "FLE Standard Time",
    ),
    (
        "Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius",
        "FLE Standard Time",
    ),
    ("Athens, Bucharest", "GTB Standard Time"),
    ("Jerusalem", "Israel Standard Time"),
];

/// The IANA zone for a Windows time zone id (`W. Europe Standard Time`), case-insensitive.
pub fn windows_to_iana(name: &str) -> Option<Tz> {
    let name = name.trim();
    WINDOWS_ZONES
        .iter()
        .find(|(windows, _)| windows.eq_ignore_ascii_case(name))
        .and_then(|(_, iana)| Tz::from_str(iana).ok())
}

/// The IANA zone for an Outlook display name used as a TZID, such as
/// `(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna` or the older
/// `(GMT+01.00) Amsterdam / Berlin / ...`: first the known display texts, then the
/// listed cities, each checked against the offset in the parentheses.
pub fn display_name_to_iana(name: &str) -> Option<Tz> {
    let name = name.trim();
    let (offset, rest) = split_display_offset(name)?;
    let rest = rest.trim();
    if let Some((_, windows)) = DISPLAY_NAMES
        .iter()
        .find(|(text, _)| text.eq_ignore_ascii_case(rest))
        && let Some(tz) = windows_to_iana(windows)
    {
        return Some(tz);
    }
    for city in rest.split([',', '/', ';']) {
        let city = city.trim().replace(' ', "_");
        if city.is_empty() {
            continue;
        }
        let found = chrono_tz::TZ_VARIANTS.iter().find(|tz| {
            tz.name()
                .rsplit('/')
                .next()
                .is_some_and(|last| last.eq_ignore_ascii_case(&city))
                && has_offset_in_2020(**tz, offset)
        });
        if let Some(tz) = found {
            return Some(*tz);
        }
    }
    None
}

/// `(UTC+01:00) rest` / `(GMT-05.00) rest` / `(GMT) rest` → (offset seconds, rest).
fn split_display_offset(name: &str) -> Option<(i32, &str)> {
    let inner_end = name.find(')')?;
    let inner = name.get(1..inner_end)?;
    if !name.starts_with('(') {
        return None;
    }
    let rest = name.get(inner_end + 1..)?;
    let sign_part = inner
        .strip_prefix("UTC")
        .or_else(|| inner.strip_prefix("GMT"))?;
    if sign_part.is_empty() {
        return Some((0, rest));
    }
    let sign = match sign_part.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits = sign_part.get(1..)?;
    let mut pieces = digits.split([':', '.']);
    let hours: i32 = pieces.next()?.trim().parse().ok()?;
    let minutes: i32 = pieces.next().unwrap_or("0").trim().parse().ok()?;
    Some((sign * (hours * 3600 + minutes * 60), rest))
}

/// True when `tz` is at `offset` in January or July 2020 (standard or summer time).
fn has_offset_in_2020(tz: Tz, offset: i32) -> bool {
    [(2020, 1, 15), (2020, 7, 15)].iter().any(|(y, m, d)| {
        chrono::NaiveDate::from_ymd_opt(*y, *m, *d)
            .and_then(|date| date.and_hms_opt(12, 0, 0))
            .map(|at| tz.offset_from_utc_datetime(&at).fix().local_minus_utc() == offset)
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_name_is_a_known_iana_zone() {
        for (windows, iana) in WINDOWS_ZONES {
            assert!(Tz::from_str(iana).is_ok(), "{windows} → {iana}");
        }
        assert!(WINDOWS_ZONES.len() >= 135);
    }

    #[test]
    fn windows_names_resolve_case_insensitively() {
        assert_eq!(
            windows_to_iana("w. europe standard time"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            windows_to_iana("Eastern Standard Time"),
            Some(chrono_tz::America::New_York)
        );
    }

    #[test]
    fn outlook_display_names_resolve_through_text_or_cities() {
        assert_eq!(
            display_name_to_iana("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            display_name_to_iana("(UTC-05:00) Eastern Time (US & Canada)"),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(
            display_name_to_iana("(GMT+01.00) Amsterdam / Berlin / Bern / Rome"),
            Some(chrono_tz::Europe::Amsterdam)
        );
        assert_eq!(display_name_to_iana("(UTC+01:00) Nowhere"), None);
    }
}

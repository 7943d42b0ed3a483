//! Time zones: resolving a TZID (IANA, Windows, Outlook display name, the file's own
//! VTIMEZONE) and converting between wall-clock readings and instants without ever
//! consulting the host's `TZ`.
//!
//! Local → instant policy (one rule everywhere): a wall time in a DST gap is shifted
//! forward by the gap (read with the offset in force before it), and a wall time in a
//! fold takes the earlier instant. Python's zoneinfo (`fold=0`) does the same.

use super::rules::{Bounds, Budget, parse_rule, rule_wall_times, until_to_wall};
use super::windows_zones::{WINDOWS_ZONES, display_name_to_iana, windows_to_iana};
use crate::model::{CustomZone, EventTime, Zone};
use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use std::str::FromStr;

/// An IANA zone named by a TZID as producers write it: plain (`Europe/Berlin`), quoted,
/// or with a vendor prefix (`/mozilla.org/20050126_1/Europe/Berlin`,
/// `/softwarestudio.org/Olson_20011030_5/America/New_York`).
pub fn iana_by_name(tzid: &str) -> Option<Tz> {
    let clean = tzid.trim().trim_matches('"').trim();
    if clean.is_empty() {
        return None;
    }
    if let Ok(tz) = Tz::from_str(clean) {
        return Some(tz);
    }
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(clean))
    {
        return Some(*tz);
    }
    let segments: Vec<&str> = clean.split('/').filter(|s| !s.is_empty()).collect();
    for take in (1..=3).rev() {
        if segments.len() >= take {
            let candidate = segments[segments.len() - take..].join("/");
            if let Ok(tz) = Tz::from_str(&candidate) {
                return Some(tz);
            }
        }
    }
    None
}

/// A TZID as it is compared: without surrounding whitespace and quotes. Producers
/// write `TZID=" Custom Zone "` for a VTIMEZONE whose TZID is `Custom Zone`, and the
/// meeting must not be lost over the spaces.
pub fn clean_tzid(tzid: &str) -> &str {
    tzid.trim().trim_matches('"').trim()
}

/// Resolves a TZID: IANA name, then Windows id (CLDR), then Outlook display name, then
/// the file's VTIMEZONE (`vtimezone`, if it has one by that TZID): an IANA zone that
/// agrees with it over `years`, else its own rules. `None` when nothing fits.
pub fn resolve_tzid(tzid: &str, vtimezone: Option<&CustomZone>, years: (i32, i32)) -> Option<Zone> {
    let clean = clean_tzid(tzid);
    if let Some(tz) = iana_by_name(clean)
        .or_else(|| windows_to_iana(clean))
        .or_else(|| display_name_to_iana(clean))
    {
        return Some(Zone::Iana(tz));
    }
    let Some(custom) = vtimezone.filter(|c| !c.observances.is_empty()) else {
        return fixed_offset_name(clean).map(Zone::Iana);
    };
    match matching_iana(custom, years) {
        Some(tz) => Some(Zone::Iana(tz)),
        None => Some(Zone::Custom(custom.clone())),
    }
}

/// A TZID that is a bare offset (`GMT-05:00`, `UTC+1`, `GMT`), used only when the file
/// defines no VTIMEZONE for it: the fixed `Etc/GMT∓h` zone (whole hours only).
fn fixed_offset_name(tzid: &str) -> Option<Tz> {
    let compact: String = tzid.chars().filter(|c| !c.is_whitespace()).collect();
    let upper = compact.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))?;
    if rest.is_empty() {
        return Some(chrono_tz::UTC);
    }
    let (sign, digits) = match rest.split_at_checked(1)? {
        ("+", d) => (1, d),
        ("-", d) => (-1, d),
        _ => return None,
    };
    let mut parts = digits.split([':', '.']);
    let hours: i32 = parts.next()?.parse().ok()?;
    let minutes: i32 = parts.next().unwrap_or("0").parse().ok()?;
    if minutes != 0 || hours > 14 || (digits.len() > 2 && !digits.contains([':', '.'])) {
        return None;
    }
    // Etc/GMT names have the sign inverted (POSIX): UTC+1 is Etc/GMT-1.
    let name = match sign * hours {
        0 => "Etc/GMT".to_string(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    Tz::from_str(&name).ok()
}

/// An IANA zone with the same offsets as `custom` at every transition and mid-month
/// sample in the given years. CLDR's primary zones are tried first, then zones whose
/// city appears in the TZID, then every other zone.
pub fn matching_iana(custom: &CustomZone, years: (i32, i32)) -> Option<Tz> {
    let (first, last) = (years.0.max(1900), years.1.min(2100).max(years.0.max(1900)));
    let rules = CustomRules::for_years(custom, first - 1, last + 1);
    let mut samples: Vec<i64> = Vec::new();
    for year in first..=last {
        for month in 1..=12 {
            if let Some(at) =
                NaiveDate::from_ymd_opt(year, month, 15).and_then(|d| d.and_hms_opt(12, 0, 0))
            {
                samples.push(at.and_utc().timestamp());
            }
        }
    }
    let lo = NaiveDate::from_ymd_opt(first, 1, 1)
        .map(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp());
    let hi = NaiveDate::from_ymd_opt(last + 1, 1, 1)
        .map(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp());
    for (at, _) in &rules.transitions {
        if lo.is_some_and(|lo| *at >= lo) && hi.is_some_and(|hi| *at < hi) {
            samples.push(at - 1);
            samples.push(*at);
            samples.push(at + 3_600);
        }
    }
    let agrees = |tz: &Tz| {
        samples.iter().all(|s| {
            DateTime::from_timestamp(*s, 0).is_some_and(|utc| {
                tz.offset_from_utc_datetime(&utc.naive_utc())
                    .fix()
                    .local_minus_utc()
                    == rules.offset_at(*s)
            })
        })
    };
    let tzid_lower = custom.tzid.to_ascii_lowercase().replace(' ', "_");
    let by_city = |tz: &&Tz| {
        tz.name()
            .rsplit('/')
            .next()
            .is_some_and(|city| tzid_lower.contains(&city.to_ascii_lowercase()))
    };
    let primary = WINDOWS_ZONES
        .iter()
        .filter_map(|(_, iana)| Tz::from_str(iana).ok());
    let named: Vec<Tz> = chrono_tz::TZ_VARIANTS
        .iter()
        .filter(by_city)
        .copied()
        .collect();
    named
        .into_iter()
        .chain(primary)
        .chain(chrono_tz::TZ_VARIANTS.iter().copied())
        .find(|tz| agrees(tz))
}

/// The transitions of a VTIMEZONE, computed once: (instant in Unix seconds, offset after).
#[derive(Clone, Debug)]
pub struct CustomRules {
    transitions: Vec<(i64, i32)>,
    initial: i32,
    /// Every offset the zone uses, for reading wall-clock times.
    offsets: Vec<i32>,
}

thread_local! {
    /// Recently built VTIMEZONE rules: zones are converted per occurrence, and building
    /// the transitions is the expensive part. Bounded; cleared when full.
    static CUSTOM_CACHE: std::cell::RefCell<Vec<(CustomZone, std::sync::Arc<CustomRules>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

const CUSTOM_CACHE_SIZE: usize = 32;

/// The rules of `zone` up to 2100, from the per-thread cache when possible.
fn cached_rules(zone: &CustomZone) -> std::sync::Arc<CustomRules> {
    if let Some(found) = CUSTOM_CACHE.with(|cache| {
        cache
            .borrow()
            .iter()
            .find(|(z, _)| z == zone)
            .map(|(_, rules)| rules.clone())
    }) {
        return found;
    }
    let rules = std::sync::Arc::new(CustomRules::new(zone, 2100));
    CUSTOM_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= CUSTOM_CACHE_SIZE {
            cache.clear();
        }
        cache.push((zone.clone(), rules.clone()));
    });
    rules
}

impl CustomRules {
    /// Computes the onsets of every observance up to the start of `until_year`
    /// (bounded: at most a few hundred per observance).
    pub fn new(zone: &CustomZone, until_year: i32) -> Self {
        Self::for_years(zone, 1900, until_year)
    }

    /// Like [`CustomRules::new`], but exact only for instants from the start of
    /// `from_year + 1` on: repeating onsets before `from_year` are left out when a
    /// later one of the same rule supersedes them. Comparing a VTIMEZONE with IANA
    /// zones over a few years then costs a few years of rule expansion, not the
    /// century since 1900 (an Outlook-style zone starts in 1601).
    fn for_years(zone: &CustomZone, from_year: i32, until_year: i32) -> Self {
        let year_start = |year: i32| {
            NaiveDate::from_ymd_opt(year.clamp(1900, 2200), 1, 1)
                .map(|d| d.and_time(NaiveTime::MIN))
        };
        let limit = year_start(until_year).unwrap_or(NaiveDateTime::MAX);
        let mut transitions = Vec::new();
        for obs in &zone.observances {
            let mut onsets = vec![obs.start];
            onsets.extend(obs.rdates.iter().copied());
            if let Some(text) = &obs.rrule
                && let Ok(rule) = parse_rule(text)
            {
                // UNTIL in UTC: the onset's wall time is in offset_from.
                let until = rule.until.map(|u| {
                    until_to_wall(u, |utc| utc + Duration::seconds(i64::from(obs.offset_from)))
                });
                let mut budget = Budget::steps(20_000);
                let mut from_floor = |floor: Option<NaiveDateTime>| {
                    let floor = floor.unwrap_or(obs.start).max(obs.start);
                    let bounds = Bounds {
                        from: floor,
                        count_from: floor,
                        to: limit,
                    };
                    rule_wall_times(&rule, obs.start, until, &bounds, 600, &mut budget)
                        .map(|found| found.times)
                        .unwrap_or_default()
                };
                // Onsets before 1900 do not matter to a calendar; starting there lets
                // the expansion skip the centuries after an Outlook-style 1601 start.
                let mut found = from_floor(year_start(from_year));
                // Without an onset in `from_year`, an earlier one may still be in force
                // (a rule that ended, or one with a longer period): expand from 1900.
                let onset_in_from_year = match (found.first(), year_start(from_year + 1)) {
                    (Some(first), Some(next)) => *first < next,
                    _ => false,
                };
                if from_year > 1900
                    && year_start(from_year).is_some_and(|floor| obs.start < floor)
                    && !onset_in_from_year
                {
                    found = from_floor(year_start(1900));
                }
                onsets.extend(found);
            }
            for onset in onsets {
                let utc = onset - Duration::seconds(i64::from(obs.offset_from));
                transitions.push((utc.and_utc().timestamp(), obs.offset_to));
            }
        }
        transitions.sort_unstable();
        transitions.dedup_by_key(|(at, _)| *at);
        // Before the first onset the zone is in that onset's TZOFFSETFROM.
        let initial = zone
            .observances
            .iter()
            .min_by_key(|o| o.start)
            .map(|o| o.offset_from)
            .unwrap_or(0);
        let mut offsets: Vec<i32> = transitions.iter().map(|(_, o)| *o).collect();
        offsets.push(initial);
        offsets.sort_unstable();
        offsets.dedup();
        CustomRules {
            transitions,
            initial,
            offsets,
        }
    }

    /// Offset (seconds east of UTC) in force at the instant `at` (Unix seconds).
    pub fn offset_at(&self, at: i64) -> i32 {
        let idx = self.transitions.partition_point(|(t, _)| *t <= at);
        match idx.checked_sub(1).and_then(|i| self.transitions.get(i)) {
            Some((_, offset)) => *offset,
            None => self.initial,
        }
    }

    fn local_to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let valid = self
            .offsets
            .iter()
            .filter_map(|o| {
                let at = (local - Duration::seconds(i64::from(*o))).and_utc();
                (self.offset_at(at.timestamp()) == *o).then_some(at)
            })
            .min();
        valid.unwrap_or_else(|| {
            let before = self.offset_at((local - Duration::days(1)).and_utc().timestamp());
            (local - Duration::seconds(i64::from(before))).and_utc()
        })
    }
}

/// A zone ready for repeated conversions (VTIMEZONE rules expanded once).
#[derive(Clone, Debug)]
pub enum ZoneCalc {
    /// UTC.
    Utc,
    /// An IANA zone (also used for floating times, with the zone the caller chose).
    Iana(Tz),
    /// A VTIMEZONE's own rules.
    Custom(std::sync::Arc<CustomRules>),
}

impl ZoneCalc {
    /// Prepares `zone`; floating times are read in `floating`.
    pub fn new(zone: &Zone, floating: Tz) -> Self {
        match zone {
            Zone::Utc => ZoneCalc::Utc,
            Zone::Floating => ZoneCalc::Iana(floating),
            Zone::Iana(tz) => ZoneCalc::Iana(*tz),
            Zone::Custom(custom) => ZoneCalc::Custom(cached_rules(custom)),
        }
    }

    /// The instant of a wall-clock reading (gap: shift forward; fold: earlier instant).
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self {
            ZoneCalc::Utc => local.and_utc(),
            ZoneCalc::Iana(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(at) => at.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
                LocalResult::None => {
                    let before = tz
                        .offset_from_utc_datetime(&(local - Duration::days(1)))
                        .fix()
                        .local_minus_utc();
                    (local - Duration::seconds(i64::from(before))).and_utc()
                }
            },
            ZoneCalc::Custom(rules) => rules.local_to_utc(local),
        }
    }

    /// The wall-clock reading of an instant.
    pub fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        match self {
            ZoneCalc::Utc => at.naive_utc(),
            ZoneCalc::Iana(tz) => at.with_timezone(tz).naive_local(),
            ZoneCalc::Custom(rules) => {
                at.naive_utc() + Duration::seconds(i64::from(rules.offset_at(at.timestamp())))
            }
        }
    }
}

/// The instant of a wall-clock reading in `zone` (floating read in `floating`).
pub fn local_to_utc(local: NaiveDateTime, zone: &Zone, floating: Tz) -> DateTime<Utc> {
    ZoneCalc::new(zone, floating).to_utc(local)
}

/// The wall-clock reading of `at` in `zone` (floating read in `floating`).
pub fn utc_to_local(at: DateTime<Utc>, zone: &Zone, floating: Tz) -> NaiveDateTime {
    ZoneCalc::new(zone, floating).to_local(at)
}

/// An [`EventTime`] as a UTC instant. All-day values are midnight in `floating`, as are
/// floating date-times; zoned values use their own zone.
pub fn event_time_to_utc(time: &EventTime, floating: Tz) -> DateTime<Utc> {
    match time {
        EventTime::Date(d) => ZoneCalc::Iana(floating).to_utc(d.and_time(NaiveTime::MIN)),
        EventTime::DateTime { local, zone } => local_to_utc(*local, zone, floating),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Observance;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    fn berlin_like(tzid: &str) -> CustomZone {
        CustomZone {
            tzid: tzid.into(),
            observances: vec![
                Observance {
                    daylight: true,
                    start: at(1970, 3, 29, 2, 0),
                    offset_from: 3600,
                    offset_to: 7200,
                    rrule: Some("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU".into()),
                    rdates: vec![],
                },
                Observance {
                    daylight: false,
                    start: at(1970, 10, 25, 3, 0),
                    offset_from: 7200,
                    offset_to: 3600,
                    rrule: Some("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU".into()),
                    rdates: vec![],
                },
            ],
        }
    }

    #[test]
    fn zone_calculators_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ZoneCalc>();
    }

    #[test]
    fn vendor_prefixed_and_quoted_names_resolve() {
        assert_eq!(
            iana_by_name("/mozilla.org/20050126_1/Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            iana_by_name("\"America/New_York\""),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(iana_by_name("Nowhere Standard Time"), None);
    }

    #[test]
    fn names_resolve_case_insensitively_and_bare_offsets_become_fixed_zones() {
        assert_eq!(
            iana_by_name("europe/berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            resolve_tzid("GMT-05:00", None, (2024, 2024)),
            Some(Zone::Iana(chrono_tz::Etc::GMTPlus5))
        );
        assert_eq!(
            resolve_tzid("UTC+1", None, (2024, 2024)),
            Some(Zone::Iana(chrono_tz::Etc::GMTMinus1))
        );
        assert_eq!(resolve_tzid("GMT+05:30", None, (2024, 2024)), None);
        assert_eq!(resolve_tzid("Nowhere", None, (2024, 2024)), None);
    }

    #[test]
    fn a_vtimezone_with_berlin_rules_maps_to_an_equivalent_iana_zone() {
        let zone = resolve_tzid(
            "Custom Berlin",
            Some(&berlin_like("Custom Berlin")),
            (2024, 2025),
        )
        .unwrap();
        let Zone::Iana(tz) = zone else {
            panic!("expected IANA, got {zone:?}")
        };
        let winter = tz
            .offset_from_utc_datetime(&at(2024, 1, 10, 12, 0))
            .fix()
            .local_minus_utc();
        let summer = tz
            .offset_from_utc_datetime(&at(2024, 7, 10, 12, 0))
            .fix()
            .local_minus_utc();
        assert_eq!((winter, summer), (3600, 7200));
    }

    #[test]
    fn rules_for_a_few_years_agree_with_the_full_table_in_those_years() {
        // Outlook-style 1601 start; DST rules that ended (2010) with a later standard
        // observance; a rule with a three-year period; an RDATE-only zone.
        let mut outlook = berlin_like("Outlook");
        for o in &mut outlook.observances {
            o.start = at(1601, 1, 1, chrono::Timelike::hour(&o.start), 0);
        }
        let mut ended = berlin_like("Ended");
        for o in &mut ended.observances {
            o.rrule = o
                .rrule
                .as_ref()
                .map(|r| format!("{r};UNTIL=20101231T000000Z"));
        }
        let mut sparse = berlin_like("Sparse");
        for o in &mut sparse.observances {
            o.rrule = o.rrule.as_ref().map(|r| format!("{r};INTERVAL=3"));
        }
        let mut counted = berlin_like("Counted");
        counted.observances[0].rrule = Some("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;COUNT=45".into());
        for zone in [berlin_like("Berlin"), outlook, ended, sparse, counted] {
            let full = CustomRules::new(&zone, 2100);
            let few = CustomRules::for_years(&zone, 2023, 2027);
            let mut t = at(2024, 1, 1, 0, 0);
            while t < at(2027, 1, 1, 0, 0) {
                let s = t.and_utc().timestamp();
                assert_eq!(few.offset_at(s), full.offset_at(s), "{} at {t}", zone.tzid);
                t += Duration::hours(7);
            }
        }
    }

    #[test]
    fn an_outlook_style_vtimezone_is_matched_without_expanding_centuries() {
        let mut outlook = berlin_like("Customized Time Zone");
        for o in &mut outlook.observances {
            o.start = at(1601, 1, 1, chrono::Timelike::hour(&o.start), 0);
        }
        // Rules from 2023 on: a few onsets, not the ~125 per observance since 1900.
        let few = CustomRules::for_years(&outlook, 2023, 2030);
        assert!(
            few.transitions.len() <= 2 + 2 * 8,
            "{}",
            few.transitions.len()
        );
        let tz = matching_iana(&outlook, (2024, 2029)).unwrap();
        let summer = tz
            .offset_from_utc_datetime(&at(2026, 7, 1, 12, 0))
            .fix()
            .local_minus_utc();
        assert_eq!(summer, 7200);
    }

    #[test]
    fn a_vtimezone_without_iana_equivalent_stays_custom_and_converts() {
        let mut odd = berlin_like("Odd");
        for o in &mut odd.observances {
            o.offset_from += 60 * 7;
            o.offset_to += 60 * 7;
        }
        let Some(Zone::Custom(custom)) = resolve_tzid("Odd", Some(&odd), (2024, 2024)) else {
            panic!("expected a custom zone")
        };
        let calc = ZoneCalc::new(&Zone::Custom(custom), chrono_tz::UTC);
        let summer = calc.to_utc(at(2024, 7, 1, 10, 0));
        assert_eq!(summer.naive_utc(), at(2024, 7, 1, 7, 53));
        assert_eq!(calc.to_local(summer), at(2024, 7, 1, 10, 0));
    }

    #[test]
    fn gap_times_shift_forward_and_fold_times_take_the_earlier_instant() {
        let ny = Zone::Iana(chrono_tz::America::New_York);
        // 2024-03-10 02:30 does not exist in New York: read with EST (-5) → 07:30Z = 03:30 EDT.
        assert_eq!(
            local_to_utc(at(2024, 3, 10, 2, 30), &ny, chrono_tz::UTC).naive_utc(),
            at(2024, 3, 10, 7, 30)
        );
        // 2024-11-03 01:30 happens twice: the earlier is EDT (-4) → 05:30Z.
        assert_eq!(
            local_to_utc(at(2024, 11, 3, 1, 30), &ny, chrono_tz::UTC).naive_utc(),
            at(2024, 11, 3, 5, 30)
        );
        let custom = Zone::Custom(berlin_like("X"));
        assert_eq!(
            local_to_utc(at(2024, 3, 31, 2, 30), &custom, chrono_tz::UTC).naive_utc(),
            at(2024, 3, 31, 1, 30)
        );
        assert_eq!(
            local_to_utc(at(2024, 10, 27, 2, 30), &custom, chrono_tz::UTC).naive_utc(),
            at(2024, 10, 27, 0, 30)
        );
    }

    #[test]
    fn floating_and_all_day_values_use_the_given_zone() {
        let floating = EventTime::DateTime {
            local: at(2024, 1, 1, 9, 0),
            zone: Zone::Floating,
        };
        assert_eq!(
            event_time_to_utc(&floating, chrono_tz::Europe::Berlin).naive_utc(),
            at(2024, 1, 1, 8, 0)
        );
        let day = EventTime::Date(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(
            event_time_to_utc(&day, chrono_tz::UTC).naive_utc(),
            at(2024, 1, 1, 0, 0)
        );
    }
}

//! Human words for how often a series repeats ("weekly", "every 2 weeks", ...).

use super::rules::parse_rule;
use crate::model::Recurrence;
use rrule::{Frequency, NWeekday, Weekday};

/// Describes a recurrence for people: `daily`, `every weekday`, `weekly`,
/// `every 2 weeks`, `2 times a week`, `monthly`, `every 3 months`, `yearly`, ...;
/// `irregular` for several rules, only RDATEs, or a rule that does not parse.
pub fn describe_cadence(rec: &Recurrence) -> String {
    let [text] = rec.rrules.as_slice() else {
        return "irregular".into();
    };
    let Ok(rule) = parse_rule(text) else {
        return "irregular".into();
    };
    let n = rule.interval;
    let days = rule.rule.get_by_weekday();
    let weekdays_only = is_every_weekday(days);
    let every = |one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            format!("every {n} {many}")
        }
    };
    match rule.freq {
        Frequency::Daily if weekdays_only && n == 1 => "every weekday".into(),
        Frequency::Daily => every("daily", "days"),
        Frequency::Weekly if weekdays_only && n == 1 => "every weekday".into(),
        Frequency::Weekly if days.len() > 1 => {
            if n == 1 {
                format!("{} times a week", days.len())
            } else {
                format!("{} times every {n} weeks", days.len())
            }
        }
        Frequency::Weekly => every("weekly", "weeks"),
        Frequency::Monthly => every("monthly", "months"),
        Frequency::Yearly => every("yearly", "years"),
        Frequency::Hourly => every("hourly", "hours"),
        Frequency::Minutely => every("every minute", "minutes"),
        Frequency::Secondly => every("every second", "seconds"),
    }
}

fn is_every_weekday(days: &[NWeekday]) -> bool {
    let plain: Vec<Weekday> = days
        .iter()
        .filter_map(|d| match d {
            NWeekday::Every(w) => Some(*w),
            NWeekday::Nth(..) => None,
        })
        .collect();
    plain.len() == 5
        && days.len() == 5
        && [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .iter()
        .all(|w| plain.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cadence(rules: &[&str]) -> String {
        describe_cadence(&Recurrence {
            rrules: rules.iter().map(|r| r.to_string()).collect(),
            ..Recurrence::default()
        })
    }

    #[test]
    fn common_rules_read_as_plain_words() {
        assert_eq!(cadence(&["FREQ=WEEKLY;BYDAY=TU"]), "weekly");
        assert_eq!(
            cadence(&["FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"]),
            "every 2 weeks"
        );
        assert_eq!(cadence(&["FREQ=DAILY"]), "daily");
        assert_eq!(
            cadence(&["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"]),
            "every weekday"
        );
        assert_eq!(
            cadence(&["FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"]),
            "every weekday"
        );
        assert_eq!(cadence(&["FREQ=WEEKLY;BYDAY=MO,TH"]), "2 times a week");
        assert_eq!(cadence(&["FREQ=MONTHLY;BYDAY=1MO"]), "monthly");
        assert_eq!(cadence(&["FREQ=MONTHLY;INTERVAL=3"]), "every 3 months");
        assert_eq!(cadence(&["FREQ=YEARLY"]), "yearly");
    }

    #[test]
    fn several_rules_no_rule_or_a_bad_rule_is_irregular() {
        assert_eq!(cadence(&[]), "irregular");
        assert_eq!(cadence(&["FREQ=DAILY", "FREQ=WEEKLY"]), "irregular");
        assert_eq!(cadence(&["FREQ=NEVER"]), "irregular");
    }
}

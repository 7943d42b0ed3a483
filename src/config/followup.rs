//! `[recap]` and `[cadence]`: what tete says after a meeting, and when 1:1s stop
//! happening.

use std::time::Duration;

use toml::Spanned;

use super::raw::{RawCadence, RawRecap};
use super::validate::Validator;

/// `recap.delay` default: two hours after the meeting ends.
pub const DEFAULT_RECAP_DELAY: Duration = Duration::from_secs(2 * 3_600);
/// `recap.max_late` default: a recap tete could not send on time (it was down) still
/// goes out up to a day after it was due, and not later.
pub const DEFAULT_RECAP_MAX_LATE: Duration = Duration::from_secs(24 * 3_600);
/// The longest `recap.delay` and `recap.max_late` accepted: a week.
pub const MAX_RECAP_DURATION: Duration = Duration::from_secs(7 * 86_400);
/// `cadence.cancelled_in_row` default.
pub const DEFAULT_CANCELLED_IN_ROW: u32 = 2;
/// `cadence.weeks_without` default.
pub const DEFAULT_WEEKS_WITHOUT: u32 = 4;

/// `[recap]`: one recap to each of the two people after a meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecapConfig {
    /// Whether recaps are sent.
    pub enabled: bool,
    /// How long after the meeting's end.
    pub delay: Duration,
    /// How late a recap may still go out after it was due.
    pub max_late: Duration,
    /// Series (id or UID) that get no recap.
    pub opt_out_series: Vec<String>,
}

impl Default for RecapConfig {
    fn default() -> Self {
        RecapConfig {
            enabled: true,
            delay: DEFAULT_RECAP_DELAY,
            max_late: DEFAULT_RECAP_MAX_LATE,
            opt_out_series: Vec::new(),
        }
    }
}

/// `[cadence]`: a note to both people when their 1:1 keeps not happening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CadenceConfig {
    /// Whether alerts are sent.
    pub alerts: bool,
    /// Alert after this many cancelled meetings in a row.
    pub cancelled_in_row: u32,
    /// Alert after this many weeks without a held meeting while the series recurs.
    pub weeks_without: u32,
}

impl Default for CadenceConfig {
    fn default() -> Self {
        CadenceConfig {
            alerts: true,
            cancelled_in_row: DEFAULT_CANCELLED_IN_ROW,
            weeks_without: DEFAULT_WEEKS_WITHOUT,
        }
    }
}

impl Validator<'_> {
    /// Checks `[recap]`.
    pub(super) fn recap(&mut self, raw: Option<&Spanned<RawRecap>>) -> RecapConfig {
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return RecapConfig::default();
        };
        RecapConfig {
            enabled: raw.enabled.unwrap_or(true),
            delay: self.duration(
                raw.delay.as_ref(),
                "recap.delay",
                DEFAULT_RECAP_DELAY,
                MAX_RECAP_DURATION,
            ),
            max_late: self.duration(
                raw.max_late.as_ref(),
                "recap.max_late",
                DEFAULT_RECAP_MAX_LATE,
                MAX_RECAP_DURATION,
            ),
            opt_out_series: raw
                .opt_out_series
                .iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, v)| self.text(v, &format!("recap.opt_out_series[{i}]")))
                .collect(),
        }
    }

    /// Checks `[cadence]`.
    pub(super) fn cadence(&mut self, raw: Option<&Spanned<RawCadence>>) -> CadenceConfig {
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return CadenceConfig::default();
        };
        CadenceConfig {
            alerts: raw.alerts.unwrap_or(true),
            cancelled_in_row: self.count(
                raw.cancelled_in_row.as_ref(),
                "cadence.cancelled_in_row",
                DEFAULT_CANCELLED_IN_ROW,
                52,
            ),
            weeks_without: self.count(
                raw.weeks_without.as_ref(),
                "cadence.weeks_without",
                DEFAULT_WEEKS_WITHOUT,
                52,
            ),
        }
    }

    /// A whole number from 1 to `max`, or `default`.
    fn count(&mut self, value: Option<&Spanned<i64>>, key: &str, default: u32, max: u32) -> u32 {
        let Some(value) = value else {
            return default;
        };
        match u32::try_from(*value.get_ref()) {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                self.error(
                    value.span(),
                    key,
                    format!("{} is out of range", value.get_ref()),
                    &format!("1 to {max}"),
                );
                default
            }
        }
    }
}

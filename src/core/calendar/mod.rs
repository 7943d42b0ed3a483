//! The recurrence engine: time zones, RRULE expansion on wall-clock time, override
//! merging and cadence descriptions. Source-neutral: .ics files, Google's
//! `recurrence[]` lines and Microsoft's patterns all arrive as [`crate::model::Event`]s.

pub mod cadence;
pub mod expand;
pub mod lines;
pub mod rules;
pub mod values;
pub mod windows_zones;
pub mod zones;

pub use cadence::describe_cadence;
pub use expand::{Expansion, Limits, Window, WindowBound, expand};
pub use lines::parse_recurrence_lines;
pub use rules::Clock;
pub use rules::RecurrenceError;
pub use zones::{event_time_to_utc, local_to_utc, resolve_tzid, utc_to_local};

//! Microsoft 365 calendars through Microsoft Graph: delta sync of calendar views,
//! the mapping of Graph events to tete's model, and patterned recurrence → RRULE.

pub mod mapping;
pub mod recurrence;
pub mod uid;

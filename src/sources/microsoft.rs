//! Microsoft 365 calendars through Microsoft Graph: delta sync of calendar views,
//! the mapping of Graph events to tete's model, and patterned recurrence → RRULE.

pub mod delta;
pub mod mapping;
pub mod recurrence;
pub mod sync;
pub mod uid;

pub use delta::{DeltaCursor, Window, WindowPolicy};
pub use sync::{API_BASE_URL, GraphApi, SyncResult, ViewTarget, sync_view};

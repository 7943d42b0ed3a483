//! Microsoft 365 calendars through Microsoft Graph: delta sync of calendar views
//! ([`sync`]), the window frozen into each delta state ([`delta`]), the mapping of
//! Graph events to tete's model ([`mapping`], [`recurrence`], [`uid`]) and the
//! provider that ties them to the shared HTTP helper ([`account`]).
//!
//! Sign-in and tokens live in [`crate::auth::microsoft`].

pub mod account;
pub mod delta;
pub mod mapping;
pub mod recurrence;
pub mod sync;
pub mod uid;

pub use account::{GraphCalendars, GraphClient, MicrosoftAccount, PREFER, api_base};
pub use delta::{DeltaCursor, Window, WindowPolicy};
pub use sync::{API_BASE_URL, GraphApi, SyncResult, ViewTarget, sync_view};

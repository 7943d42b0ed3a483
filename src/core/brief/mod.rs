//! Briefs: compose the view of one meeting for one recipient, then render it as a
//! subject, a plain-text part and an HTML part.
//!
//! The input is a view model ([`BriefInput`]) that does not depend on other modules'
//! types: the pass maps a series' context into it. Everything in it that came from a
//! calendar is untrusted: the HTML template auto-escapes, and single-line fields lose
//! their control characters before they reach a template or a header.

mod assemble;
mod compose;
mod digest;
mod recap;
mod render;

pub use assemble::{SeriesContext, assemble, base_input, meeting_index};

pub use compose::{BriefInput, ItemView, one_line};
pub use digest::{DigestPart, render_digest};
pub use recap::{CadenceView, RecapView, recap_view, render_cadence, render_recap};
pub use render::{BriefError, RenderedBrief, render};

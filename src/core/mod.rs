//! The pure core: everything a pass computes from plain values, with no I/O, no clock
//! reads and no store (time and deadlines are parameters).
//!
//! `calendar` expands recurrences, `analyze` groups stored events into series and
//! `detect` decides which are 1:1s, `context` harvests items and notes, `plan` decides
//! which briefs are due, and `brief` composes and renders them. `pass/` (the shell)
//! feeds them from the store and the sources and hands their results to the store and
//! mail. Most unit tests live here.

pub mod analyze;
pub mod attention;
pub mod brief;
pub mod cadence;
pub mod calendar;
pub mod context;
pub mod detect;
pub mod orgchart;
pub mod plan;
pub mod reply;
pub mod series;

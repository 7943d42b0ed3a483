//! One pass: sync every account, expand, detect, harvest context, plan, queue, send.
//!
//! `tete run --once` runs one pass; the daemon runs the same steps on its timers.

pub mod series;

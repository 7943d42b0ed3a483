//! tete: prepares both people for every recurring 1:1 meeting.
//!
//! One pass flows one way (see `README.md` and `docs/architecture.md`):
//! config → sources → store → calendar (recurrence) → detect → context → plan → brief → mail.
//! The binary in `main.rs` is a thin shell over [`cli::main`].

pub mod auth;
pub mod cli;
pub mod config;
pub mod control;
pub mod core;
pub mod daemon;
pub mod inbox;
pub mod logging;
pub mod mail;
pub mod model;
pub mod pass;
pub mod sources;
pub mod store;

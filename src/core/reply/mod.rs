//! Replies to a brief: people answer by mail to close, add and bring up items.
//!
//! This is the pure core of it (no I/O, no clock reads: time is a parameter). The
//! inbox (IMAP) hands a parsed message in; the pass applies what comes out through the
//! store. The steps, in the order the shell runs them:
//!
//! 1. [`robots::is_automatic`]: auto-replies, bounces and list mail are never applied
//!    and never answered.
//! 2. [`token`]: which brief the reply answers, from the reply address
//!    (`briefs+TOKEN@…`) or the brief's Message-ID in `In-Reply-To` / `References`,
//!    and whether the sender is the person it was sent to.
//! 3. [`extract::visible_text`]: the sender's own new text, without the quoted brief
//!    or signatures.
//! 4. [`commands::parse_commands`] and [`commands::resolve`]: what the person asked
//!    for, with item references turned into ids against the series' items.
//! 5. [`confirm::confirmation`]: the short answer that says what was done and what
//!    was not understood.

pub mod commands;
pub mod confirm;
pub mod extract;
pub mod robots;
pub mod token;

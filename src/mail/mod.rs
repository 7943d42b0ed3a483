//! Mail: turn a rendered brief into an RFC 5322 message, keep it in a durable outbox,
//! and hand it to a transport (SMTP or a folder of `.eml` files) with retries.
//!
//! The flow: [`message::build_message`] → [`outbox::queue_brief`] (the store's `outbox`
//! tree) → [`outbox::drain`] → [`Transport::send`] → the store's `sent` tree.

pub mod file;
pub mod message;
pub mod outbox;
pub mod smtp;
pub mod transport;

pub use file::FileTransport;
pub use message::{Threading, build_message, message_id};
pub use outbox::{
    DrainReport, OutboxEntry, OutboxState, OutboxSummary, SentRecord, UnrecordedSends, drain,
    drain_with, outbox_entry, queue_brief, queue_entry,
};
pub use smtp::{SmtpAuth, SmtpTransport, check_credentials, transport_from_config};
pub use transport::{SendError, SendFuture, Transport};

use std::path::PathBuf;

use crate::store::StoreError;

/// Errors while building messages or setting up a transport.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `mail.from` is not a usable mailbox.
    #[error("mail.from is not a valid mailbox: {0}")]
    InvalidFrom(String),
    /// A recipient address is not a valid address.
    #[error("invalid recipient address '{address}': {reason}")]
    InvalidRecipient {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The brief's key names someone else than the person it is addressed to.
    #[error("brief {key} cannot be addressed to {address}: its key names another recipient")]
    RecipientMismatch {
        /// The brief's key.
        key: String,
        /// The address it was about to go to.
        address: String,
    },
    /// lettre refused to build the message.
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// Plain-text SMTP towards a host that is not loopback.
    #[error(
        "refusing unencrypted SMTP to {host}: security = \"none\" is only allowed towards a loopback address"
    )]
    InsecureSmtp {
        /// The configured host.
        host: String,
    },
    /// The SMTP password file could not be read.
    #[error("cannot read the SMTP password file {path}: {source}")]
    PasswordFile {
        /// The configured file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// lettre could not set up the SMTP transport (TLS parameters, host name).
    #[error("cannot set up SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The mail config lacks what the chosen transport needs, or asks for what this build
    /// cannot do yet.
    #[error("mail config: {0}")]
    Config(String),
    /// The outbox could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

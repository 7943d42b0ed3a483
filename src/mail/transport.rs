//! What every transport promises: take one formatted message for one recipient, and
//! say whether a failure is worth retrying.

use std::future::Future;
use std::pin::Pin;

/// The future [`Transport::send`] returns (boxed, so transports can be trait objects).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Why a send failed, sorted by what the outbox should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: connection refused or dropped, timeouts, 4xx replies.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying will not help: 5xx replies, an invalid address.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// True for [`SendError::Transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }
}

/// The future [`Transport::close`] returns.
pub type CloseFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A way to deliver mail.
pub trait Transport: Send + Sync {
    /// Delivers `raw` (a complete RFC 5322 message) to `envelope_to` only. Returns `Ok`
    /// once the message was accepted (by the SMTP server, or durably written).
    fn send<'a>(&'a self, envelope_to: &'a str, raw: &'a [u8]) -> SendFuture<'a>;

    /// Ends what the transport holds open (an SMTP connection says QUIT). Sends after
    /// it start afresh. Does nothing by default.
    fn close(&self) -> CloseFuture<'_> {
        Box::pin(async {})
    }
}

//! The durable outbox and the sent log.

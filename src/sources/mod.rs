//! Calendar sources: each fetches what changed since its stored cursor.

pub mod error;
pub mod google;
pub mod http;

pub use error::SourceError;
pub mod microsoft;

//! What the outbox and the sent log keep: one entry per brief (or other message) on
//! its way, keyed by [`BriefKey`]. The transitions live in `mail::outbox`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::SeriesId;

/// The identity of one brief: once `sent` holds it, it is never sent again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BriefKey {
    /// The series.
    pub series: SeriesId,
    /// The occurrence's original slot as a stable string (see [`occurrence_id`]).
    pub occurrence: String,
    /// The recipient's lower-cased address.
    pub recipient: String,
}

impl BriefKey {
    /// A stable, unambiguous byte form: each part as a 4-byte big-endian length and its
    /// UTF-8 bytes. The store keys `outbox` and `sent` by it and the Message-ID is its
    /// hash, so it must never change for existing keys.
    pub fn to_bytes(&self) -> Vec<u8> {
        let parts = [
            self.series.0.as_bytes(),
            self.occurrence.as_bytes(),
            self.recipient.as_bytes(),
        ];
        let mut bytes = Vec::with_capacity(12 + parts.iter().map(|p| p.len()).sum::<usize>());
        for part in parts {
            // Parts longer than 4 GiB cannot occur (they come from ids and addresses).
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(part);
        }
        bytes
    }
}

impl fmt::Display for BriefKey {
    /// `series/occurrence/recipient`, for logs and `status`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.series, self.occurrence, self.recipient)
    }
}

/// One message waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The brief it carries.
    pub key: BriefKey,
    /// Its Message-ID, `<…@…>`.
    pub message_id: String,
    /// The one envelope recipient.
    pub recipient: String,
    /// The formatted RFC 5322 message (7-bit text: lettre encodes the bodies).
    #[serde(with = "raw_text")]
    pub raw: Vec<u8>,
    /// The meeting's start: never sent at or after it.
    pub not_after: DateTime<Utc>,
    /// Where it is in its life.
    pub state: OutboxState,
    /// When it was queued.
    pub created: DateTime<Utc>,
}

/// The life of an outbox entry (sent entries leave the outbox).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its first attempt.
    Queued,
    /// A temporary failure; the next attempt is at `next_at`.
    Retrying {
        /// Failed attempts so far.
        attempts: u32,
        /// Not before this time.
        next_at: DateTime<Utc>,
        /// The last failure, for `status`.
        last_error: String,
    },
    /// Given up: a permanent failure, or the meeting started. Kept so the brief is never
    /// queued again and `status` can show why.
    Dead {
        /// Why.
        reason: String,
    },
}

impl OutboxEntry {
    /// True when a drain at `now` must look at this entry: it is due for an attempt, or
    /// its meeting started and it must expire.
    pub fn needs_attention(&self, now: DateTime<Utc>) -> bool {
        match &self.state {
            OutboxState::Queued => true,
            OutboxState::Retrying { next_at, .. } => *next_at <= now || self.not_after <= now,
            OutboxState::Dead { .. } => false,
        }
    }

    /// Failed attempts so far.
    pub fn attempts(&self) -> u32 {
        match &self.state {
            OutboxState::Retrying { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// When a drain should next look at it (`None` when dead).
    pub fn next_attempt(&self) -> Option<DateTime<Utc>> {
        match &self.state {
            OutboxState::Queued => Some(self.created),
            OutboxState::Retrying { next_at, .. } => Some((*next_at).min(self.not_after)),
            OutboxState::Dead { .. } => None,
        }
    }
}

/// A brief in the `sent` log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    /// The brief.
    pub key: BriefKey,
    /// Its Message-ID (`None` if the outbox entry was already gone when it was recorded).
    pub message_id: Option<String>,
    /// When the transport accepted it.
    pub sent_at: DateTime<Utc>,
}

/// The outbox at a glance, for `tete status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxSummary {
    /// Entries waiting for their first attempt.
    pub queued: usize,
    /// Entries waiting for a retry.
    pub retrying: usize,
    /// Dead entries with their reasons.
    pub dead: Vec<(BriefKey, String)>,
    /// Briefs in the sent log.
    pub sent: usize,
    /// When the mailer should next drain (`None`: nothing pending).
    pub next_attempt: Option<DateTime<Utc>>,
    /// When the oldest entry still waiting to be sent (queued or retrying) was queued.
    pub oldest_waiting: Option<DateTime<Utc>>,
}

/// Stores the raw message as a JSON string instead of an array of numbers (a third of
/// the size and readable in an export). Formatted messages are 7-bit text.
mod raw_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    pub fn serialize<S: Serializer>(raw: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        let text = std::str::from_utf8(raw).map_err(S::Error::custom)?;
        serializer.serialize_str(text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer).map_err(D::Error::custom)?;
        Ok(text.into_bytes())
    }
}

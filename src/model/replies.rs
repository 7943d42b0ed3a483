//! What the store keeps of each message read from the reply mailbox: enough to apply
//! every reply exactly once and to show in `tete status` what was not applied.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::SeriesId;

/// A message's place in the mailbox. IMAP promises that a UID names the same message
/// for as long as the mailbox's UIDVALIDITY stays the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MailboxUid {
    /// The mailbox's UIDVALIDITY when the message was read.
    pub uid_validity: u32,
    /// The message's UID.
    pub uid: u32,
}

impl fmt::Display for MailboxUid {
    /// `UIDVALIDITY/UID`, for logs and `status`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.uid_validity, self.uid)
    }
}

/// What became of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// Read and applied.
    Applied {
        /// Changes made (items closed, reopened, added; talking points, notes, skips).
        changes: usize,
        /// Lines not understood or not applied.
        not_understood: usize,
    },
    /// Deliberately not applied: a robot, no or a bad token, an unverified sender, a
    /// second copy of a message already applied.
    Ignored {
        /// Why, in words.
        reason: String,
    },
    /// Could not be read (too large, not a message). Kept in the mailbox, flagged.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// The record of one message read from the reply mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRecord {
    /// Where it was in the mailbox.
    pub at: MailboxUid,
    /// Its Message-ID, when it had one (a copy delivered twice has the same one).
    pub message_id: Option<String>,
    /// The From address (lower-case), when there was one.
    pub sender: Option<String>,
    /// The series its token named, when it had a valid one.
    pub series: Option<SeriesId>,
    /// When tete read it.
    pub read_at: DateTime<Utc>,
    /// What became of it.
    pub outcome: ReplyOutcome,
}

/// The reply mailbox at a glance, for `tete status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplySummary {
    /// Replies applied.
    pub applied: usize,
    /// Messages ignored.
    pub ignored: usize,
    /// Messages that could not be read, newest last (they stay in the mailbox).
    pub failed: Vec<ReplyRecord>,
    /// The last few ignored messages, newest last, so "why did my reply do nothing"
    /// has an answer on the server too.
    pub recently_ignored: Vec<ReplyRecord>,
}

//! Morning digests: the briefs of a person whose delivery is "digest" are gathered
//! per local day during a pass and queued as one message, which records the briefs
//! it carries as sent (`Store::enqueue_covering`), so none goes out twice.
//!
//! A digest is keyed `("digest", YYYY-MM-DD, recipient)`: exactly once per person and
//! local day. A brief that becomes due after that day's digest went out (a 1:1 added
//! later that day) is sent on its own, as for everyone else.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::core::brief::{DigestPart, RenderedBrief, one_line, render_digest};
use crate::core::plan::{BriefKey, BriefPolicy, DueBrief};
use crate::mail::{self, MailError, Threading};
use crate::model::{Person, SeriesId};
use crate::store::{Store, StoreError};

/// The key of `recipient`'s digest of `day`.
pub fn digest_key(day: NaiveDate, recipient: &Person) -> BriefKey {
    BriefKey {
        series: SeriesId("digest".into()),
        occurrence: day.format("%Y-%m-%d").to_string(),
        recipient: recipient.key(),
    }
}

struct Pending {
    recipient: Person,
    day: NaiveDate,
    /// (meeting start, the brief's key, the part).
    parts: Vec<(DateTime<Utc>, BriefKey, DigestPart)>,
}

/// The digests being gathered in one pass.
#[derive(Default)]
pub struct Digests {
    pending: BTreeMap<BriefKey, Pending>,
}

impl Digests {
    /// Takes `due`'s brief into its recipient's digest when it belongs in one whose
    /// digest has not gone out; returns false when it is to be sent on its own.
    pub fn take(
        &mut self,
        store: &Store,
        policy: &BriefPolicy,
        due: &DueBrief,
        rendered: &RenderedBrief,
        threading: &Threading,
    ) -> Result<bool, StoreError> {
        let Some(day) = policy.digest_day(due.occurrence.start_utc, &due.recipient.email) else {
            return Ok(false);
        };
        let key = digest_key(day, &due.recipient);
        if store.was_queued_or_sent(&key)? {
            return Ok(false);
        }
        let zone = policy.zone_of(&due.recipient.email);
        let part = DigestPart {
            other_name: due.other.display_name().to_string(),
            time: due
                .occurrence
                .start_utc
                .with_timezone(&zone)
                .format("%H:%M")
                .to_string(),
            brief: rendered.clone(),
            reply_address: threading.reply_to.clone(),
        };
        self.pending
            .entry(key)
            .or_insert_with(|| Pending {
                recipient: due.recipient.clone(),
                day,
                parts: Vec::new(),
            })
            .parts
            .push((due.occurrence.start_utc, due.key.clone(), part));
        Ok(true)
    }

    /// Queues every gathered digest. Returns how many were queued, and the digests
    /// that could not be built (their briefs stay unqueued and are tried again).
    pub fn queue(
        self,
        config: &Config,
        store: &Store,
        policy: &BriefPolicy,
        now: DateTime<Utc>,
    ) -> Result<(usize, Vec<String>), StoreError> {
        let mut queued = 0;
        let mut failed = Vec::new();
        for (key, mut pending) in self.pending {
            pending
                .parts
                .sort_by_key(|(start, brief, _)| (*start, brief.clone()));
            let zone = policy.zone_of(&pending.recipient.email);
            let first = pending
                .parts
                .first()
                .map(|(start, _, _)| *start)
                .unwrap_or(now);
            let day = first.with_timezone(&zone).format("%A %-d %B").to_string();
            debug_assert_eq!(first.with_timezone(&zone).date_naive(), pending.day);
            let parts: Vec<DigestPart> = pending.parts.iter().map(|(_, _, p)| p.clone()).collect();
            let covered: Vec<BriefKey> = pending.parts.iter().map(|(_, k, _)| k.clone()).collect();
            let built = render_digest(&day, &parts)
                .map_err(|e| MailError::Config(e.to_string()))
                .and_then(|rendered| {
                    mail::outbox_entry(
                        &config.mail.from,
                        &rendered,
                        &pending.recipient,
                        &key,
                        first,
                        now,
                        &Threading::default(),
                    )
                });
            match built {
                Ok(entry) => {
                    if store.enqueue_covering(&entry, &covered)? {
                        tracing::info!(key = %key, briefs = covered.len(), "digest queued");
                        queued += 1;
                    }
                }
                Err(MailError::Store(error)) => return Err(error),
                Err(error) => {
                    tracing::error!(key = %key, "cannot build the digest: {error}");
                    failed.push(format!("{key}: {}", one_line(&error.to_string())));
                }
            }
        }
        Ok((queued, failed))
    }
}

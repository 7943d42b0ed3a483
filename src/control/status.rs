//! `tete status [--json]`: accounts, last sync, series, next briefs, outbox.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CommandError, DaemonHealth, Session};
use crate::pass::briefs;

/// What `status --json` prints.
#[derive(Debug, Serialize)]
pub struct Status {
    /// When the status was taken.
    pub now: DateTime<Utc>,
    /// One entry per configured account.
    pub accounts: Vec<AccountStatus>,
    /// Detected 1:1 series.
    pub one_on_ones: usize,
    /// Recurring series that are not 1:1s.
    pub other_series: usize,
    /// Briefs planned but not yet due or queued, soonest first.
    pub next_briefs: Vec<NextBrief>,
    /// The outbox.
    pub outbox: OutboxStatus,
    /// 1:1s whose meetings have not been happening (see `core::cadence`).
    pub streaks: Vec<StreakStatus>,
    /// Replies read from the mailbox (`None` without `[inbox]`).
    pub replies: Option<crate::model::replies::ReplySummary>,
    /// How the daemon's rounds go (`None` when no daemon answered).
    pub daemon: Option<DaemonHealth>,
    /// Each `[[orgs]]` entry: its directory and credential.
    pub orgs: Vec<OrgStatus>,
}

/// One org's state (org mode).
#[derive(Debug, Serialize)]
pub struct OrgStatus {
    /// Its name.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// When its directory was last read (`None`: never).
    pub directory_read: Option<DateTime<Utc>>,
    /// People whose calendars tete reads.
    pub covered: usize,
    /// People the directory described but tete does not read (excluded, opted out,
    /// or read only for the org chart).
    pub not_covered: usize,
    /// Set when the org's credential itself was refused: why (no secret).
    pub needs_attention: Option<String>,
    /// Its people's accounts whose last sync failed.
    pub failing: usize,
}

/// A 1:1 whose meetings have not been happening.
#[derive(Debug, Serialize)]
pub struct StreakStatus {
    /// Series id.
    pub series: String,
    /// Its title.
    pub title: String,
    /// The streak's numbers.
    pub streak: crate::core::cadence::Streak,
    /// The same, in words.
    pub sentence: String,
}

/// One account's state.
#[derive(Debug, Serialize)]
pub struct AccountStatus {
    /// Name.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// Last attempt.
    pub last_attempt: Option<DateTime<Utc>>,
    /// Last success.
    pub last_success: Option<DateTime<Utc>>,
    /// Last error, if the last attempt failed.
    pub error: Option<String>,
    /// Failed attempts in a row.
    pub failures_in_a_row: u32,
    /// Events held.
    pub events: Option<usize>,
    /// Set when the account must sign in again (`tete auth <name>`): why.
    pub needs_sign_in: Option<String>,
    /// A warning about sign-in expiring soon (Google apps in "Testing" mode).
    pub sign_in_warning: Option<String>,
}

/// A brief the plan expects to send.
#[derive(Debug, Serialize)]
pub struct NextBrief {
    /// Series id.
    pub series: String,
    /// Meeting title.
    pub title: String,
    /// Recipient.
    pub recipient: String,
    /// Meeting start.
    pub meeting: DateTime<Utc>,
    /// When the brief is due.
    pub due: DateTime<Utc>,
}

/// The outbox in numbers.
#[derive(Debug, Serialize)]
pub struct OutboxStatus {
    /// Waiting for a first attempt.
    pub queued: usize,
    /// Waiting for a retry.
    pub retrying: usize,
    /// Given up, with reasons.
    pub dead: Vec<DeadBrief>,
    /// Sent in total.
    pub sent: usize,
    /// Next attempt.
    pub next_attempt: Option<DateTime<Utc>>,
}

/// A brief that will not be sent.
#[derive(Debug, Serialize)]
pub struct DeadBrief {
    /// Its key.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// Each configured account's sync and sign-in state, as the store records it at
/// `now`. `status` prints it; the daemon's metrics count it.
pub fn account_statuses(
    config: &crate::config::Config,
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<Vec<AccountStatus>, crate::store::StoreError> {
    let mut accounts = Vec::new();
    for account in &config.accounts {
        let record = store.last_sync(&account.name)?;
        let state = store.account_state(&account.name)?;
        let sign_in_warning = match account.provider {
            crate::config::Provider::Google => {
                crate::auth::google::sign_in_expiry_warning(&account.name, &state, now)
            }
            _ => None,
        };
        accounts.push(AccountStatus {
            needs_sign_in: state.needs_sign_in.as_ref().map(|n| n.reason.clone()),
            sign_in_warning,
            name: account.name.clone(),
            provider: format!("{:?}", account.provider).to_lowercase(),
            last_attempt: record.as_ref().map(|r| r.at),
            last_success: record.as_ref().and_then(|r| r.last_success),
            error: record.as_ref().and_then(|r| r.error.clone()),
            failures_in_a_row: record.as_ref().map_or(0, |r| r.failures_in_a_row),
            events: record.as_ref().and_then(|r| r.events),
        });
    }
    Ok(accounts)
}

/// Gathers the status from the session's store.
pub fn gather(session: &Session) -> Result<Status, CommandError> {
    let config = &session.config;
    let accounts = account_statuses(config, &session.store, session.now)?;
    let analysis = session.analysis()?;
    let policy = session.policy()?;
    let plan = briefs::make_plan(&session.store, &analysis, &policy, session.now);
    let next_briefs = plan
        .due
        .iter()
        .chain(&plan.later)
        .take(20)
        .map(|b| NextBrief {
            series: b.key.series.0.clone(),
            title: b.occurrence.summary.clone(),
            recipient: b.key.recipient.clone(),
            meeting: b.occurrence.start_utc,
            due: b.due_at,
        })
        .collect();
    let summary = session.store.outbox_summary()?;
    let orgs = org_statuses(config, &session.store, &accounts)?;
    Ok(Status {
        now: session.now,
        accounts,
        one_on_ones: analysis.one_on_ones().count(),
        other_series: analysis.other_series().count(),
        next_briefs,
        outbox: OutboxStatus {
            queued: summary.queued,
            retrying: summary.retrying,
            dead: summary
                .dead
                .iter()
                .map(|(key, reason)| DeadBrief {
                    key: key.to_string(),
                    reason: reason.clone(),
                })
                .collect(),
            sent: summary.sent,
            next_attempt: summary.next_attempt,
        },
        streaks: analysis
            .one_on_ones()
            .filter_map(|view| {
                let streak = view.streak(session.now, &config.cadence)?;
                streak.alert.as_ref()?;
                Some(StreakStatus {
                    series: view.id().0.clone(),
                    title: view.verdict.title.clone(),
                    sentence: streak.sentence(config.timezone),
                    streak,
                })
            })
            .collect(),
        replies: match session.config.inbox {
            Some(_) => Some(session.store.reply_summary()?),
            None => None,
        },
        daemon: session.daemon.clone(),
        orgs,
    })
}

/// Each org's directory read, coverage and credential state.
fn org_statuses(
    config: &crate::config::Config,
    store: &crate::store::Store,
    accounts: &[AccountStatus],
) -> Result<Vec<OrgStatus>, crate::store::StoreError> {
    let mut orgs = Vec::new();
    for org in &config.orgs {
        let roster = store.roster(&org.name)?;
        let covered = roster.as_ref().map_or(0, |r| {
            r.covered()
                .filter(|p| crate::pass::org::covers(config, org, &p.email))
                .count()
        });
        let read = roster.as_ref().map_or(0, |r| r.people.len());
        let prefix = format!("{}{}", org.name, crate::config::ORG_ACCOUNT_SEPARATOR);
        orgs.push(OrgStatus {
            name: org.name.clone(),
            provider: format!("{:?}", org.provider).to_lowercase(),
            directory_read: roster.as_ref().map(|r| r.read_at),
            covered,
            not_covered: read.saturating_sub(covered),
            needs_attention: store
                .org_state(&org.name)?
                .needs_attention
                .map(|n| n.reason),
            failing: accounts
                .iter()
                .filter(|a| a.name.starts_with(&prefix) && a.error.is_some())
                .count(),
        });
    }
    Ok(orgs)
}

/// At most this many accounts of an org are listed by `status` (the failing ones):
/// an org of thousands would drown everything else.
const ORG_ACCOUNTS_LISTED: usize = 20;

/// Prints the status into `out`.
pub fn execute(session: &Session, json: bool, out: &mut String) -> Result<u8, CommandError> {
    let status = gather(session)?;
    if json {
        out.push_str(&serde_json::to_string_pretty(&status)?);
        out.push('\n');
        return Ok(0);
    }
    let zone = session.config.timezone;
    let local = |at: DateTime<Utc>| {
        at.with_timezone(&zone)
            .format("%a %-d %b %H:%M")
            .to_string()
    };
    if let Some(daemon) = &status.daemon {
        match (&daemon.last_error, daemon.last_round) {
            (Some(error), _) => {
                let since = daemon.failing_since.map(local).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "Daemon: PASSES FAILING since {since}: {error}\n  \
                     (what follows is what the store last recorded; briefs due are not sent)"
                );
            }
            (None, Some(at)) => {
                let _ = writeln!(out, "Daemon: running, last pass ok {}", local(at));
            }
            (None, None) => {
                let _ = writeln!(out, "Daemon: running, first pass not finished yet");
            }
        }
        if daemon.unrecorded_sends > 0 {
            let _ = writeln!(
                out,
                "  {} sent brief(s) wait to be recorded in the store",
                daemon.unrecorded_sends
            );
        }
    }
    if !status.orgs.is_empty() {
        let _ = writeln!(out, "Orgs:");
    }
    for org in &status.orgs {
        let read = match org.directory_read {
            Some(at) => format!("directory read {}", local(at)),
            None => "directory never read".to_string(),
        };
        let _ = writeln!(
            out,
            "  {} ({}): {} people covered, {} more in the org chart; {read}{}",
            org.name,
            org.provider,
            org.covered,
            org.not_covered,
            if org.failing > 0 {
                format!("; {} calendar(s) FAILING (listed below)", org.failing)
            } else {
                String::new()
            }
        );
        if let Some(reason) = &org.needs_attention {
            let _ = writeln!(
                out,
                "    NEEDS ATTENTION: the org's credential was refused ({reason}); see docs/org-admin.md"
            );
        }
    }
    let _ = writeln!(out, "Accounts:");
    let is_org_account = |name: &str| name.contains(crate::config::ORG_ACCOUNT_SEPARATOR);
    let mut org_listed = 0;
    for account in &status.accounts {
        // An org's people: only the failing ones, and not thousands of them.
        if is_org_account(&account.name) {
            if account.error.is_none() || org_listed >= ORG_ACCOUNTS_LISTED {
                continue;
            }
            org_listed += 1;
        }
        let state = match (&account.error, account.last_attempt) {
            (_, None) => "never synced".to_string(),
            (Some(error), Some(_)) => format!(
                "FAILING ({} in a row): {error}; last success {}",
                account.failures_in_a_row,
                account
                    .last_success
                    .map(local)
                    .unwrap_or_else(|| "never".into())
            ),
            (None, Some(at)) => format!(
                "ok, last sync {}{}",
                local(at),
                account
                    .events
                    .map(|n| format!(", {n} events"))
                    .unwrap_or_default()
            ),
        };
        let _ = writeln!(out, "  {} ({}): {state}", account.name, account.provider);
        if is_org_account(&account.name) {
            continue;
        }
        if let Some(reason) = &account.needs_sign_in {
            let _ = writeln!(
                out,
                "    NEEDS SIGN-IN: run `tete auth {}` ({reason})",
                account.name
            );
        }
        if let Some(warning) = &account.sign_in_warning {
            let _ = writeln!(out, "    warning: {warning}");
        }
    }
    let org_accounts = status
        .accounts
        .iter()
        .filter(|a| is_org_account(&a.name))
        .count();
    if org_accounts > org_listed {
        let _ = writeln!(
            out,
            "  and {} calendars of org people not listed (`status --json` has each)",
            org_accounts - org_listed
        );
    }
    let _ = writeln!(
        out,
        "Series: {} 1:1s, {} other recurring meetings (`tete series` explains each)",
        status.one_on_ones, status.other_series
    );
    let _ = writeln!(out, "Next briefs:");
    if status.next_briefs.is_empty() {
        let _ = writeln!(out, "  none planned in the horizon");
    }
    for brief in &status.next_briefs {
        let _ = writeln!(
            out,
            "  {}  {} → {} (meeting {})",
            local(brief.due),
            crate::core::brief::one_line(&brief.title),
            brief.recipient,
            local(brief.meeting)
        );
    }
    for streak in &status.streaks {
        let _ = writeln!(
            out,
            "Not happening: {} ({}): {}",
            crate::core::brief::one_line(&streak.title),
            streak.series,
            streak.sentence
        );
    }
    let outbox = &status.outbox;
    let _ = writeln!(
        out,
        "Outbox: {} queued, {} retrying, {} failed for good; {} sent in all{}",
        outbox.queued,
        outbox.retrying,
        outbox.dead.len(),
        outbox.sent,
        outbox
            .next_attempt
            .map(|at| format!("; next attempt {}", local(at)))
            .unwrap_or_default()
    );
    for dead in &outbox.dead {
        let _ = writeln!(out, "  not sent: {} — {}", dead.key, dead.reason);
    }
    if let Some(mailbox) = status.daemon.as_ref().and_then(|d| d.mailbox.as_ref()) {
        match (&mailbox.last_error, mailbox.last_read) {
            (Some(error), _) => {
                let since = mailbox.failing_since.map(local).unwrap_or_default();
                let _ = writeln!(out, "Reply mailbox: FAILING since {since}: {error}");
            }
            (None, Some(at)) => {
                let _ = writeln!(out, "Reply mailbox: reading, last looked {}", local(at));
            }
            (None, None) => {
                let _ = writeln!(out, "Reply mailbox: connecting");
            }
        }
    }
    if let Some(replies) = &status.replies {
        let _ = writeln!(
            out,
            "Replies: {} applied, {} ignored, {} could not be read",
            replies.applied,
            replies.ignored,
            replies.failed.len()
        );
        let shown = |record: &crate::model::replies::ReplyRecord| {
            format!(
                "{} from {}",
                record.at,
                record.sender.as_deref().unwrap_or("(unknown sender)")
            )
        };
        for record in &replies.failed {
            if let crate::model::replies::ReplyOutcome::Failed { reason } = &record.outcome {
                let _ = writeln!(out, "  kept in the mailbox: {} — {reason}", shown(record));
            }
        }
        for record in &replies.recently_ignored {
            if let crate::model::replies::ReplyOutcome::Ignored { reason } = &record.outcome {
                let _ = writeln!(out, "  ignored: {} — {reason}", shown(record));
            }
        }
    }
    Ok(0)
}

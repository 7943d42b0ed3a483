//! `tete reply FILE.eml [--json] [--apply]`: what tete makes of a received reply
//! (the answer to "why did my reply do nothing?"), and with `--apply` the way a mail
//! server hands replies over through a pipe instead of IMAP.

use std::fmt::Write as _;

use base64::Engine as _;

use super::{CommandError, Session};
use crate::core::reply::commands::Resolved;
use crate::model::replies::{MailboxUid, ReplyOutcome};
use crate::pass::replies::{Examined, ReplyDesk, ReplySecret};
use crate::store::Recorded;

/// Where a message handed over by pipe is recorded: UIDVALIDITY 0 (no IMAP mailbox
/// has it: RFC 3501 requires a non-zero one) and a UID made of the first four bytes of
/// the message's SHA-256, so the same bytes delivered twice are applied once; a copy
/// with other bytes is caught by its Message-ID.
pub fn piped_message_place(raw: &[u8]) -> MailboxUid {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(raw);
    MailboxUid {
        uid_validity: 0,
        uid: u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
    }
}

/// Largest message `tete reply` reads (it travels base64-encoded to the daemon, whose
/// request lines are capped at `MAX_LINE`).
pub const MAX_REPLY_FILE: usize = 2 * 1024 * 1024;

/// Examines the base64-encoded message `raw` and writes the report to `out`; with
/// `apply`, also applies it exactly once (see [`piped_message_place`]).
pub fn execute(
    session: &Session,
    raw_base64: &str,
    json: bool,
    apply: bool,
    out: &mut String,
) -> Result<u8, CommandError> {
    let Some(inbox) = session.config.inbox.as_ref() else {
        return Err(CommandError::config(
            "replies are not configured: add an [inbox] table (see config/tete.example.toml)",
        ));
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(raw_base64)
        .map_err(|e| CommandError::failed(format!("the message did not arrive intact: {e}")))?;
    let secret = ReplySecret::load(inbox).map_err(|e| CommandError::config(e.to_string()))?;
    let analysis = session.analysis()?;
    let desk = ReplyDesk {
        config: &session.config,
        inbox,
        secret: &secret,
        analysis: &analysis,
        store: &session.store,
    };
    if apply {
        let at = piped_message_place(&raw);
        let (record, recorded) = desk
            .apply(at, Some(&raw), session.now)
            // A message that could not be recorded is not lost: a mail server that
            // pipes replies here retries on EX_TEMPFAIL, and bounces on anything else.
            .map_err(|e| CommandError::Failed {
                code: super::EXIT_TEMPFAIL,
                message: format!("the reply was not applied, try again later: {e}"),
            })?;
        if json {
            out.push_str(&serde_json::to_string_pretty(&record)?);
            out.push('\n');
            return Ok(0);
        }
        let line = match (&recorded, &record.outcome) {
            (Recorded::Again(_), _) => "already applied before; nothing changed".to_string(),
            (Recorded::Duplicate(first), _) => {
                format!("a copy of the message applied as {first}; nothing changed")
            }
            (
                Recorded::New,
                ReplyOutcome::Applied {
                    changes,
                    not_understood,
                },
            ) => format!("applied: {changes} change(s), {not_understood} line(s) not understood"),
            (Recorded::New, ReplyOutcome::Ignored { reason }) => format!("ignored: {reason}"),
            (Recorded::New, ReplyOutcome::Failed { reason }) => format!("failed: {reason}"),
        };
        out.push_str(&line);
        out.push('\n');
        return Ok(0);
    }
    let examination = desk.examine(&raw, session.now)?;
    let examined = &examination.examined;
    if json {
        out.push_str(&serde_json::to_string_pretty(examined)?);
        out.push('\n');
    } else {
        write_text(examined, out);
    }
    Ok(0)
}

fn write_text(examined: &Examined, out: &mut String) {
    let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".into());
    let _ = writeln!(out, "From:        {}", or_none(&examined.sender));
    let _ = writeln!(out, "Message-ID:  {}", or_none(&examined.message_id));
    if let Some(reason) = &examined.automatic {
        let _ = writeln!(
            out,
            "Automatic:   yes ({reason}); never applied, never answered"
        );
    }
    match (&examined.binding, &examined.binding_error) {
        (Some(binding), _) => {
            let _ = writeln!(
                out,
                "Binding:     series {}{} for {}, token valid until {}",
                binding.series,
                binding
                    .title
                    .as_deref()
                    .map(|t| format!(" (\"{t}\")"))
                    .unwrap_or_default(),
                binding
                    .person
                    .as_deref()
                    .unwrap_or("someone who is not in the series"),
                binding.expires_at.format("%Y-%m-%d %H:%M UTC")
            );
        }
        (None, Some(error)) => {
            let _ = writeln!(out, "Binding:     none: {error}");
        }
        (None, None) => {}
    }
    let _ = writeln!(
        out,
        "Sender:      {}{}",
        if examined.authenticated {
            "authenticated"
        } else {
            "not authenticated"
        },
        examined
            .sender_check
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "\nVisible text{}:",
        if examined.truncated { " (cut)" } else { "" }
    );
    for line in examined.visible_text.lines() {
        let _ = writeln!(out, "  | {line}");
    }
    if !examined.outcomes.is_empty() {
        let _ = writeln!(out, "\nWould do:");
        for outcome in &examined.outcomes {
            let _ = writeln!(out, "  {}", describe(outcome));
        }
    } else if !examined.commands.is_empty() {
        let _ = writeln!(out, "\nCommands understood: {}", examined.commands.len());
    }
    if !examined.rejected.is_empty() {
        let _ = writeln!(out, "\nNot understood:");
        for rejected in &examined.rejected {
            let _ = writeln!(
                out,
                "  line {}: \"{}\": {}",
                rejected.line, rejected.text, rejected.reason
            );
        }
    }
    match &examined.ignored {
        Some(reason) => {
            let _ = writeln!(out, "\nResult: nothing would be applied: {reason}");
        }
        None => {
            let _ = writeln!(out, "\nResult: would be applied");
        }
    }
}

fn describe(outcome: &Resolved) -> String {
    match outcome {
        Resolved::Close { line, item, text } => format!("line {line}: close {item} \"{text}\""),
        Resolved::Reopen { line, item, text } => format!("line {line}: reopen {item} \"{text}\""),
        Resolved::Add { line, text, owner } => format!(
            "line {line}: add \"{text}\"{}",
            owner
                .as_deref()
                .map(|o| format!(" for {o}"))
                .unwrap_or_default()
        ),
        Resolved::TalkingPoint { line, text } => format!("line {line}: talking point \"{text}\""),
        Resolved::PrivateNote { line, text, .. } => {
            format!("line {line}: private note \"{text}\"")
        }
        Resolved::Skip { line, person } => format!("line {line}: skip {person}'s next brief"),
        Resolved::Unchanged {
            line, text, reason, ..
        } => format!("line {line}: nothing to change for \"{text}\": {reason}"),
        Resolved::Rejected(rejected) => format!(
            "line {}: not applied \"{}\": {}",
            rejected.line, rejected.text, rejected.reason
        ),
    }
}

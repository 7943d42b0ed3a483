//! `tete preview <series> [--to EMAIL] [--html] [--now TIME]`: render the next brief, send nothing.

use super::{CommandError, Session};
use crate::core::brief;
use crate::core::plan::{BriefKey, DueBrief};
use crate::model::normalize_email;
use crate::pass::briefs;

/// Renders the brief into `out`.
pub fn execute(
    session: &Session,
    series: &str,
    to: Option<&str>,
    html: bool,
    out: &mut String,
) -> Result<u8, CommandError> {
    let analysis = session.analysis()?;
    let Some(view) = analysis.find(series).filter(|v| v.verdict.one_on_one) else {
        return Err(CommandError::failed(format!(
            "unknown series '{}'; `tete series` lists the 1:1 series and their ids",
            series
        )));
    };
    let Some(meeting) = view.next(session.now) else {
        return Err(CommandError::failed(format!(
            "\"{}\" has no meeting in the horizon",
            view.verdict.title
        )));
    };
    let owner = view.verdict.owners.first().cloned().unwrap_or_default();
    let wanted = normalize_email(to.unwrap_or(&owner));
    let people = &view.verdict.participants;
    // Privacy: a brief only ever exists for one of the two people of the 1:1.
    let Some(recipient) = people.iter().find(|p| p.key() == wanted) else {
        return Err(CommandError::failed(format!(
            "{wanted} is not one of the two people of \"{}\"",
            view.verdict.title
        )));
    };
    let Some(other) = people.iter().find(|p| p.key() != wanted) else {
        return Err(CommandError::failed("the series has only one person"));
    };
    let policy = session.policy()?;
    let due = DueBrief {
        key: BriefKey::new(view.id(), meeting, recipient),
        due_at: policy.due_at(meeting.start_utc, &recipient.email),
        occurrence: meeting.clone(),
        recipient: recipient.clone(),
        other: other.clone(),
    };
    let input = briefs::compose(
        &session.config,
        &session.store,
        view,
        &due,
        &policy,
        session.now,
    )?;
    let rendered = brief::render(&input)?;
    if html {
        out.push_str(&rendered.html);
    } else {
        out.push_str(&format!(
            "To: {}\nSubject: {}\n\n{}",
            recipient.email, rendered.subject, rendered.text
        ));
    }
    Ok(0)
}

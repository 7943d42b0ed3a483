//! `tete preview <series> [--to EMAIL] [--html] [--now TIME]`: render the next brief, send nothing.

use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use super::control::{self, Forwarded};
use super::session::Session;
use crate::core::brief;
use crate::core::plan::{BriefKey, DueBrief};
use crate::model::normalize_email;
use crate::pass::briefs;

/// Arguments of `tete preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Series id (from `tete series`) or UID.
    pub series: String,
    /// Whose brief to show (default: the calendar owner's).
    #[arg(long, value_name = "EMAIL")]
    pub to: Option<String>,
    /// Print the HTML part instead of the text part.
    #[arg(long)]
    pub html: bool,
    /// Evaluate as of this time (RFC 3339 or YYYY-MM-DDTHH:MM in the config's zone).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Runs the command: the brief `--to` (default: the calendar owner) would get for the
/// series' next meeting, composed from the store as it is now. Nothing is sent or queued.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let request = Forwarded::Preview {
        series: args.series,
        to: args.to,
        html: args.html,
    };
    control::run(config_path, args.now.as_deref(), request, |_| Ok(()))
}

/// Renders the brief into `out`.
pub fn execute(
    session: &Session,
    series: &str,
    to: Option<&str>,
    html: bool,
    out: &mut String,
) -> anyhow::Result<u8> {
    let analysis = session.analysis()?;
    let Some(view) = analysis.find(series).filter(|v| v.verdict.one_on_one) else {
        return Err(Failure::failed(format!(
            "unknown series '{}'; `tete series` lists the 1:1 series and their ids",
            series
        ))
        .into());
    };
    let Some(meeting) = view.next(session.now) else {
        return Err(Failure::failed(format!(
            "\"{}\" has no meeting in the horizon",
            view.verdict.title
        ))
        .into());
    };
    let owner = view.verdict.owners.first().cloned().unwrap_or_default();
    let wanted = normalize_email(to.unwrap_or(&owner));
    let people = &view.verdict.participants;
    // Privacy: a brief only ever exists for one of the two people of the 1:1.
    let Some(recipient) = people.iter().find(|p| p.key() == wanted) else {
        return Err(Failure::failed(format!(
            "{wanted} is not one of the two people of \"{}\"",
            view.verdict.title
        ))
        .into());
    };
    let Some(other) = people.iter().find(|p| p.key() != wanted) else {
        return Err(Failure::failed("the series has only one person").into());
    };
    let policy = briefs::policy(&session.config, &analysis);
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

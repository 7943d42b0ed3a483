//! `tete preview <series> [--to EMAIL] [--html] [--now TIME]`: render the next brief, send nothing.

use std::path::Path;
use std::process::ExitCode;

use super::Failure;
use super::session::Session;
use crate::brief;
use crate::model::normalize_email;
use crate::pass::briefs;
use crate::plan::{BriefKey, DueBrief};

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
    let session = Session::open(config_path, args.now.as_deref())?;
    let analysis = session.analysis()?;
    let Some(view) = analysis.find(&args.series).filter(|v| v.verdict.one_on_one) else {
        return Err(Failure::failed(format!(
            "unknown series '{}'; `tete series` lists the 1:1 series and their ids",
            args.series
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
    let wanted = normalize_email(args.to.as_deref().unwrap_or(&owner));
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
    if args.html {
        super::emit(&rendered.html)?;
    } else {
        super::emit(&format!(
            "To: {}\nSubject: {}\n\n{}",
            recipient.email, rendered.subject, rendered.text
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

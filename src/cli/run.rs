//! `tete run [--once] [--now TIME]`: the daemon, or one pass.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::session::{command_error, load_or_exit, parse_now_arg, runtime};
use crate::config::{Config, TransportKind};
use crate::core::plan::WithheldReason;
use crate::daemon::{DaemonError, DaemonOptions};
use crate::pass::{self, PassReport, SyncOutcome};

/// Arguments of `tete run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One full pass, then exit 0.
    #[arg(long)]
    pub once: bool,
    /// Fix the clock (RFC 3339 or YYYY-MM-DDTHH:MM in the config's zone), for tests and demos.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    if !args.once {
        // The daemon gets a config that loaded (else exit 78) and credentials that
        // were found: what stops it from starting is decided here, at the edge.
        let config = load_or_exit(config_path)?;
        crate::logging::init(&config.log_level);
        check_mail_credentials(config_path, &config)?;
        let now = args
            .now
            .as_deref()
            .map(|text| parse_now_arg(Some(text), &config))
            .transpose()?;
        return match crate::daemon::run(config_path, config, DaemonOptions { now }) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(DaemonError::OpenStore(error)) => Err(command_error(error)),
            Err(error) => Err(error.into()),
        };
    }
    let session = super::session::open(config_path, args.now.as_deref())?;
    check_mail_credentials(config_path, &session.config)?;
    let clients = pass::Clients::new()?;
    let report = runtime()?.block_on(pass::run_once(
        &session.config,
        &session.store,
        &clients,
        session.now,
    ))?;
    super::emit(&describe_pass(&session.config, &report, session.now))?;
    Ok(ExitCode::SUCCESS)
}

/// The SMTP password file, read before anything is done: a missing, unreadable or
/// directory `password_file` is a configuration error (exit 78, so systemd does not
/// restart into it), named with the config file it comes from.
pub fn check_mail_credentials(config_path: &Path, config: &Config) -> Result<(), super::Failure> {
    crate::mail::check_credentials(&config.mail).map_err(|error| {
        super::Failure::config(format!(
            "{}: mail.smtp.password_file: {error}",
            config_path.display()
        ))
    })
}

/// A few readable lines about what a pass did.
pub fn describe_pass(config: &Config, report: &PassReport, now: DateTime<Utc>) -> String {
    let zone = config.timezone;
    let mut out = String::new();
    let _ = writeln!(out, "tete: one pass at {}", local(now, zone));
    let mut org_people = (0, 0);
    for sync in &report.syncs {
        let org = sync
            .account
            .split_once(crate::config::ORG_ACCOUNT_SEPARATOR)
            .and_then(|(org, _)| config.org(org));
        let provider = config
            .account(&sync.account)
            .map(|a| a.provider)
            .or(org.map(|o| o.provider))
            .map(|p| format!("{p:?}").to_lowercase())
            .unwrap_or_default();
        // An org's people: one line each only when something went wrong (an org of
        // thousands would drown the rest), and a count below.
        if org.is_some() && sync.warnings.is_empty() {
            match sync.outcome {
                SyncOutcome::Updated { .. } => {
                    org_people.0 += 1;
                    org_people.1 += 1;
                    continue;
                }
                SyncOutcome::Unchanged => {
                    org_people.0 += 1;
                    continue;
                }
                SyncOutcome::Failed(_) => {}
            }
        }
        let what = match &sync.outcome {
            SyncOutcome::Updated { events } => format!("{events} events read"),
            SyncOutcome::Unchanged => "unchanged since the last pass".to_string(),
            SyncOutcome::Failed(error) => format!("FAILED: {error}"),
        };
        let _ = writeln!(out, "  account {} ({provider}): {what}", sync.account);
        if !sync.warnings.is_empty() {
            let _ = writeln!(
                out,
                "    {} event(s) skipped or repaired (see the warnings above)",
                sync.warnings.len()
            );
        }
    }
    if org_people.0 > 0 {
        let _ = writeln!(
            out,
            "  org people: {} calendars read, {} with changes",
            org_people.0, org_people.1
        );
    }
    let analysis = &report.analysis;
    let ones: Vec<_> = analysis.one_on_ones().collect();
    let _ = writeln!(
        out,
        "  series: {} 1:1s among {} recurring meetings (`tete series` explains each)",
        ones.len(),
        analysis
            .series
            .iter()
            .filter(|s| s.cadence != "once")
            .count()
    );
    for view in &ones {
        let next = view
            .next(now)
            .map(|o| local(o.start_utc, zone))
            .unwrap_or_else(|| "none in the horizon".to_string());
        let _ = writeln!(
            out,
            "    {}  {}  ({}, next {})",
            view.id(),
            crate::core::brief::one_line(&view.verdict.title),
            view.cadence,
            next
        );
    }
    let queue = &report.queue;
    let mut withheld = std::collections::BTreeMap::<String, usize>::new();
    for w in &queue.withheld {
        let reason = match &w.reason {
            WithheldReason::OptedOut => "opted out".to_string(),
            WithheldReason::DomainNotAllowed(domain) => format!("domain {domain} not allowed"),
            WithheldReason::Skipped => "skipped".to_string(),
            WithheldReason::Cancelled => "meeting cancelled".to_string(),
        };
        *withheld.entry(reason).or_default() += 1;
    }
    let withheld: Vec<String> = withheld.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let _ = writeln!(
        out,
        "  briefs: {} queued{}{}",
        queue.queued,
        if withheld.is_empty() {
            String::new()
        } else {
            format!(", withheld: {}", withheld.join(", "))
        },
        queue
            .next_due
            .map(|at| format!("; next due {}", local(at, zone)))
            .unwrap_or_default()
    );
    if !queue.failed.is_empty() {
        let _ = writeln!(
            out,
            "    {} could not be composed (see the log)",
            queue.failed.len()
        );
    }
    let followups = &report.followups;
    if followups.recaps + followups.cadence_notes > 0 {
        let _ = writeln!(
            out,
            "  after meetings: {} recap(s), {} cadence note(s) queued",
            followups.recaps, followups.cadence_notes
        );
    }
    let delivery = &report.delivery;
    let via = match config.mail.transport {
        TransportKind::File => config
            .mail
            .file
            .as_ref()
            .map(|f| format!("written to {}", f.dir.display()))
            .unwrap_or_default(),
        TransportKind::Smtp => config
            .mail
            .smtp
            .as_ref()
            .map(|s| format!("sent via {}:{}", s.host, s.port))
            .unwrap_or_default(),
    };
    let _ = writeln!(
        out,
        "  mail: {} {via}; {} to retry, {} failed for good, {} expired unsent",
        delivery.sent, delivery.retried, delivery.dead, delivery.expired
    );
    out
}

fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

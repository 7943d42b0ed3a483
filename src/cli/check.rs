//! `tete check`: validate the config file.
//!
//! Valid: one summary line on stdout, warnings on stderr, exit 0. Invalid: every
//! problem on stderr as `FILE:LINE:COL: KEY: message (expected: ...)`, exit 1.

use crate::config::{self, Config, Provider, TransportKind};
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `tete check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Args {} = args;
    match config::load_checked(config_path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            super::emit(&format!("{}\n", summary(config_path, &loaded.config)))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for line in errors.lines() {
                eprintln!("{line}");
            }
            Ok(ExitCode::from(super::EXIT_FAILURE))
        }
    }
}

/// The one line `check` prints for a valid config, e.g.
/// `tete.toml: OK — 1 account (demo: ics), mail via file to /srv/briefs, timezone UTC`.
pub fn summary(config_path: &Path, config: &Config) -> String {
    let count = config.accounts.len();
    let accounts = config
        .accounts
        .iter()
        .map(|a| format!("{}: {}", a.name, provider_name(a.provider)))
        .collect::<Vec<_>>()
        .join(", ");
    let noun = if count == 1 { "account" } else { "accounts" };
    let mail = match (config.mail.transport, &config.mail.smtp, &config.mail.file) {
        (TransportKind::Smtp, Some(smtp), _) => {
            let security = match smtp.security {
                config::SmtpSecurity::Starttls => "starttls",
                config::SmtpSecurity::Tls => "tls",
                config::SmtpSecurity::None => "no tls",
            };
            format!("mail via smtp to {}:{} ({security})", smtp.host, smtp.port)
        }
        (TransportKind::File, _, Some(file)) => format!("mail via file to {}", file.dir.display()),
        (TransportKind::Smtp, ..) => "mail via smtp".to_string(),
        (TransportKind::File, ..) => "mail via file".to_string(),
    };
    let orgs = if config.orgs.is_empty() {
        String::new()
    } else {
        let names = config
            .orgs
            .iter()
            .map(|o| format!("{}: {}", o.name, provider_name(o.provider)))
            .collect::<Vec<_>>()
            .join(", ");
        let noun = if config.orgs.len() == 1 {
            "org"
        } else {
            "orgs"
        };
        format!(", {} {noun} ({names})", config.orgs.len())
    };
    format!(
        "{}: OK — {count} {noun} ({accounts}){orgs}, {mail}, timezone {}",
        config_path.display(),
        config.timezone.name()
    )
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Google => "google",
        Provider::Microsoft => "microsoft",
        Provider::Ics => "ics",
    }
}

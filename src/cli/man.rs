//! `tete man [--dir DIR]`: the manual pages, generated from the command-line definition.
//!
//! Hidden from `--help`: it exists for packagers (`packaging/build-deb.sh`), so the pages
//! can never drift from the options the binary really accepts.

use super::Cli;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `tete man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write tete.1 and one page per subcommand (tete-run.1, ...) into DIR instead of
    /// printing tete.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.dir {
        Some(dir) => {
            let written = write_pages(&dir)?;
            for path in written {
                println!("{}", path.display());
            }
        }
        None => {
            let mut page = Vec::new();
            render_main_page(&mut page)?;
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&page).and_then(|()| stdout.flush()) {
                // `tete man | head` is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command tree the pages describe: the CLI without clap's `help` subcommand, which
/// would otherwise get a page of its own.
fn command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    // Building fills in display names ("tete-run"), which name the subcommand pages.
    command.build();
    command
}

/// Renders `tete(1)`: clap's sections plus the ones an administrator looks for in a
/// daemon's page (exit status, environment, files).
pub fn render_main_page(out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    page.extend_from_slice(EXTRA_SECTIONS.as_bytes());
    man.render_version_section(&mut page)?;
    out.write_all(without_repeated_preamble(&String::from_utf8_lossy(&page)).as_bytes())
}

/// Each section rendered on its own starts with roff's two-line apostrophe preamble
/// (`.ie \n(.g .ds Aq ...`); a page needs it once, at the top.
fn without_repeated_preamble(page: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut kept = String::with_capacity(page.len());
    for line in page.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble && !seen.insert(line) {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Writes `tete.1` and a page for every visible subcommand, nested ones included, into
/// `dir` (created if needed). Returns the paths written.
pub fn write_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let root = command();
    let mut written = Vec::new();

    let main_path = dir.join("tete.1");
    let mut page = Vec::new();
    render_main_page(&mut page)?;
    std::fs::write(&main_path, page).with_context(|| format!("writing {}", main_path.display()))?;
    written.push(main_path);

    let mut pending: Vec<clap::Command> = visible_subcommands(&root);
    while let Some(sub) = pending.pop() {
        pending.extend(visible_subcommands(&sub));
        let man = clap_mangen::Man::new(sub);
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        man.render(&mut page)?;
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

fn visible_subcommands(command: &clap::Command) -> Vec<clap::Command> {
    command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        .cloned()
        .collect()
}

/// Sections clap knows nothing about. Kept in roff by hand: they change rarely and
/// mirror `docs/architecture.md` (exit codes) and `systemd/tete.service` (paths).
const EXTRA_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
The command's own failure, for example \fBtete check\fR found problems in the config.
.TP
\fB70\fR
Internal error.
.TP
\fB78\fR
Configuration error. The systemd unit sets \fBRestartPreventExitStatus=78\fR, so a bad
config stops the service instead of restarting it in a loop.
.SH ENVIRONMENT
.TP
\fBTETE_CONFIG\fR
Config file used when \fB\-\-config\fR is not given.
.TP
\fBSTATE_DIRECTORY\fR
Set by systemd's \fBStateDirectory=\fR; the default \fBstate_dir\fR when the config sets none.
.TP
\fBRUST_LOG\fR
Log filter; overrides the config's \fBlog_level\fR.
.SH FILES
.TP
\fI/etc/tete/tete.toml\fR
The config file (default path).
.TP
\fI/var/lib/tete\fR
The store, under the systemd service (\fBStateDirectory=tete\fR).
.TP
\fI/run/tete\fR
The daemon's control socket (\fBRuntimeDirectory=tete\fR).
.TP
\fI/usr/lib/systemd/system/tete.service\fR
The hardened systemd unit; change it with \fBsystemctl edit tete\fR.
.TP
\fI/usr/share/doc/tete/\fR
The annotated example config and the systemd guide (\fIsystemd.md\fR).
.SH "SEE ALSO"
\fBsystemctl\fR(1), \fBjournalctl\fR(1), \fBsystemd.exec\fR(5)
"#;

//! `tete man [--dir DIR]`: the manual pages, generated from the command-line definition
//! (`tete(1)` and one page per subcommand) and from the annotated example config
//! (`tete.toml(5)`).
//!
//! Hidden from `--help`: it exists for packagers (`packaging/build-deb.sh`), so the pages
//! can never drift from the options the binary really accepts, nor the config page from
//! `config/tete.example.toml`, which is compiled in and which a unit test holds to the
//! schema.

use super::Cli;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `tete man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write tete.1, one page per subcommand (tete-run.1, ...) and tete.toml.5 into DIR
    /// instead of printing tete.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print tete.toml(5), the config file's page, instead of tete.1.
    #[arg(long, conflicts_with = "dir")]
    pub config_file: bool,
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
            if args.config_file {
                page = render_config_page(EXAMPLE_CONFIG).into_bytes();
            } else {
                render_main_page(&mut page)?;
            }
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

    let config_path = dir.join("tete.toml.5");
    std::fs::write(&config_path, render_config_page(EXAMPLE_CONFIG))
        .with_context(|| format!("writing {}", config_path.display()))?;
    written.push(config_path);

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
\fBtete.toml\fR(5), \fBsystemctl\fR(1), \fBjournalctl\fR(1), \fBsystemd.exec\fR(5)
"#;

/// The annotated example config: the one source of `tete.toml(5)`.
const EXAMPLE_CONFIG: &str = include_str!("../../config/tete.example.toml");

/// Escapes text for roff: backslashes, and a leading `.` or `'` that would read as a
/// request.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Escapes a key or value shown in bold or as code: also `-`, which roff would
/// otherwise turn into a hyphen that cannot be copied into the file.
fn roff_code(text: &str) -> String {
    roff_text(text).replace('-', "\\-")
}

/// A table header (`[inbox]`, `[[accounts]]`), without the comment mark.
fn table_header(line: &str) -> Option<&str> {
    let line = line.trim();
    (line.starts_with('[') && line.ends_with(']') && !line.contains(' ') && !line.contains('"'))
        .then_some(line)
}

/// A `key = value` line, without the comment mark: the key and the value.
fn key_line(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(" = ")?;
    let key_chars = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    (!key.is_empty() && key.chars().all(key_chars)).then_some((key, value.trim()))
}

/// Renders `tete.toml(5)` from the annotated example config.
///
/// The example's conventions are the page's structure: the comment block at the top
/// is the description; each table header (commented out or not) starts a subsection,
/// with the comments just above it as its introduction; each key (commented out or
/// not) is a tagged paragraph whose text is the comments just above it; comment lines
/// indented by two more spaces are kept as they are laid out.
pub fn render_config_page(example: &str) -> String {
    let mut page = format!(
        ".TH TETE.TOML 5 \"\" \"tete {}\" \"File Formats\"\n\
         .SH NAME\ntete.toml \\- configuration file of tete\n\
         .SH SYNOPSIS\n\\fI/etc/tete/tete.toml\\fR\n\
         .SH DESCRIPTION\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut comments: Vec<&str> = Vec::new();
    let mut in_description = true;
    // The lines of a value written over several lines (`prompts = [` ... `]`).
    let mut open_value: Option<Vec<&str>> = None;
    for line in example.lines() {
        let (commented, body) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.strip_prefix(' ').unwrap_or(rest)),
            None => (false, line),
        };
        if let Some(value) = &mut open_value {
            value.push(body);
            if body.trim() == "]" {
                page.push_str(".RS\n.nf\n");
                for value_line in value.iter() {
                    page.push_str(&roff_code(value_line));
                    page.push('\n');
                }
                page.push_str(".fi\n.RE\n");
                open_value = None;
            }
            continue;
        }
        if line.trim().is_empty() {
            if !comments.is_empty() {
                if in_description {
                    paragraphs(&mut page, &comments);
                    page.push_str(
                        ".SH \"KEYS\"\nTop\\-level keys come first; each table follows.\n",
                    );
                    in_description = false;
                } else {
                    page.push_str(".PP\n");
                    paragraphs(&mut page, &comments);
                }
                comments.clear();
            }
            continue;
        }
        in_description = in_description && commented;
        if let Some(table) = table_header(body) {
            let _ = std::fmt::Write::write_fmt(
                &mut page,
                format_args!(".SS \"{}\"\n", roff_code(table)),
            );
            paragraphs(&mut page, &comments);
            comments.clear();
        } else if let Some((key, value)) = key_line(body) {
            let _ = std::fmt::Write::write_fmt(
                &mut page,
                format_args!(".TP\n\\fB{}\\fR = {}\n", roff_code(key), roff_code(value)),
            );
            if comments.is_empty() {
                page.push_str("(See above.)\n");
            }
            paragraphs(&mut page, &comments);
            comments.clear();
            if value == "[" {
                open_value = Some(vec![body]);
            }
        } else {
            comments.push(body);
        }
    }
    if !comments.is_empty() {
        page.push_str(".PP\n");
        paragraphs(&mut page, &comments);
    }
    page.push_str(
        ".SH FILES\n.TP\n\\fI/etc/tete/tete.toml\\fR\nThe config file the service reads.\n\
         .TP\n\\fI/usr/share/doc/tete/tete.example.toml\\fR\nThe annotated example this page is generated from.\n\
         .SH \"SEE ALSO\"\n\\fBtete\\fR(1), \\fBtete\\-check\\fR(1)\n",
    );
    page
}

/// Comment lines as roff text: running text joined, `- ` lines as bullet items (with
/// their indented continuation lines), other indented lines kept as laid out.
fn paragraphs(page: &mut String, lines: &[&str]) {
    #[derive(PartialEq)]
    enum Mode {
        Text,
        List,
        Literal,
    }
    let mut mode = Mode::Text;
    for line in lines {
        if let Some(item) = line.strip_prefix("- ") {
            if mode == Mode::Literal {
                page.push_str(".fi\n");
            }
            page.push_str(".IP \\(bu 2\n");
            page.push_str(&roff_text(item));
            mode = Mode::List;
        } else if line.starts_with("  ") && mode == Mode::List {
            page.push_str(&roff_text(line.trim_start()));
        } else if line.starts_with("  ") {
            if mode != Mode::Literal {
                page.push_str(".nf\n");
            }
            page.push_str(&roff_text(line));
            mode = Mode::Literal;
        } else {
            match mode {
                Mode::Literal => page.push_str(".fi\n"),
                Mode::List => page.push_str(".PP\n"),
                Mode::Text => {}
            }
            page.push_str(&roff_text(line));
            mode = Mode::Text;
        }
        page.push('\n');
    }
    if mode == Mode::Literal {
        page.push_str(".fi\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_table_of_the_example_is_in_the_config_page() {
        let page = render_config_page(EXAMPLE_CONFIG);
        let mut keys = 0;
        for line in EXAMPLE_CONFIG.lines() {
            let body = line.trim_start_matches('#').trim_start();
            if let Some((key, _)) = key_line(body) {
                keys += 1;
                let shown = format!("\\fB{}\\fR = ", roff_code(key));
                assert!(page.contains(&shown), "{key} is missing from tete.toml(5)");
            } else if let Some(table) = table_header(body) {
                let shown = format!(".SS \"{}\"", roff_code(table));
                assert!(
                    page.contains(&shown),
                    "{table} is missing from tete.toml(5)"
                );
            }
        }
        // The schema test holds the example to every key; a parser that found few
        // keys would pass the loop above vacuously.
        assert!(keys > 60, "only {keys} keys found");
        for table in ["[inbox]", "[metrics]", "[[accounts]]", "[mail.smtp]"] {
            assert!(
                page.contains(&format!(".SS \"{}\"", roff_code(table))),
                "{table}"
            );
        }
    }

    #[test]
    fn the_config_page_is_roff_that_cannot_run_requests_from_comments() {
        let page = render_config_page("# .so /etc/passwd\n# a \\ b\n\n# Why.\nkey = \"x-y\"\n");
        assert!(page.starts_with(".TH TETE.TOML 5 "));
        assert!(page.contains("\\&.so /etc/passwd"), "{page}");
        assert!(page.contains("a \\e b"), "{page}");
        assert!(
            page.contains(".TP\n\\fBkey\\fR = \"x\\-y\"\nWhy.\n"),
            "{page}"
        );
        assert!(!page.lines().any(|l| l.starts_with(".so")), "{page}");
    }
}

//! Integration tests: `tete check` run as a binary on the fixtures in
//! `tests/fixtures/config/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// `tete` with a clean environment for the variables config loading reads.
fn tete() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tete"));
    command
        .env_remove("TETE_CONFIG")
        .env_remove("STATE_DIRECTORY");
    command
}

fn check(config: &Path) -> Output {
    tete()
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .expect("run tete")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// 1-based line of the first non-comment line of `file` containing `needle`.
fn line_of(file: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("read fixture");
    text.lines()
        .position(|line| !line.starts_with('#') && line.contains(needle))
        .map(|i| i + 1)
        .expect("needle in fixture")
}

/// Asserts exit 1 and that stderr holds `FILE:LINE:` followed, on that line, by `words`.
fn assert_error_at(output: &Output, file: &Path, line: usize, words: &str) -> String {
    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(output));
    assert!(stdout(output).is_empty(), "stdout: {}", stdout(output));
    let prefix = format!("{}:{line}:", file.display());
    let err = stderr(output);
    let hit = err
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains(words))
        .unwrap_or_else(|| panic!("no line starting {prefix} with {words:?} in:\n{err}"));
    hit.to_string()
}

#[test]
fn a_valid_config_prints_one_summary_line_and_exits_zero() {
    let file = fixture("valid.toml");
    let output = check(&file);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(out.lines().count(), 1, "{out}");
    let briefs = fixture("briefs");
    let expected = format!(
        "{}: OK — 1 account (demo: ics), mail via file to {}, timezone Europe/Berlin\n",
        file.display(),
        briefs.display()
    );
    assert_eq!(out, expected);
}

#[test]
fn an_unknown_key_exits_one_pointing_at_its_line_and_column() {
    let file = fixture("unknown_key.toml");
    let line = line_of(&file, "poll_intervall");
    let hit = assert_error_at(&check(&file), &file, line, "unknown key `poll_intervall`");
    assert!(
        hit.starts_with(&format!(
            "{}:{line}:1: accounts[0].poll_intervall:",
            file.display()
        )),
        "{hit}"
    );
}

#[test]
fn a_bad_duration_is_reported_with_the_accepted_form() {
    let file = fixture("bad_duration.toml");
    let line = line_of(&file, "5 minutes");
    let hit = assert_error_at(&check(&file), &file, line, "accounts[0].poll_interval");
    assert!(hit.contains("(expected: a duration"), "{hit}");
}

#[test]
fn a_bad_zone_suggests_the_iana_name() {
    let file = fixture("bad_zone.toml");
    let line = line_of(&file, "timezone");
    assert_error_at(&check(&file), &file, line, "did you mean \"Europe/Berlin\"");
}

#[test]
fn duplicate_account_names_point_at_the_second_account() {
    let file = fixture("duplicate_accounts.toml");
    let text = std::fs::read_to_string(&file).expect("read fixture");
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("name = \"demo\""))
        .map(|(i, _)| i + 1)
        .nth(1)
        .expect("two demo accounts");
    assert_error_at(&check(&file), &file, second, "accounts[1].name");
}

#[test]
fn a_missing_mail_table_is_reported_at_the_top_of_the_file() {
    let file = fixture("missing_mail.toml");
    let hit = assert_error_at(&check(&file), &file, 1, "[mail]");
    assert!(
        hit.starts_with(&format!("{}:1:1:", file.display())),
        "{hit}"
    );
    assert!(hit.contains("(expected: [mail] with from ="), "{hit}");
}

#[test]
fn clear_text_smtp_to_a_remote_host_is_refused() {
    let file = fixture("smtp_none_remote.toml");
    let line = line_of(&file, "security = \"none\"");
    assert_error_at(&check(&file), &file, line, "mail.smtp.security");
}

#[test]
fn a_missing_config_file_is_one_error_naming_it() {
    let file = fixture("does-not-exist.toml");
    let output = check(&file);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("{}: config file not found", file.display())),
        "{err}"
    );
}

#[test]
fn tete_config_is_honoured_when_config_is_absent() {
    let file = fixture("valid.toml");
    let output = tete()
        .env("TETE_CONFIG", &file)
        .arg("check")
        .output()
        .expect("run tete");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(stdout(&output).starts_with(&format!("{}: OK", file.display())));

    // --config wins over $TETE_CONFIG.
    let bad = fixture("bad_zone.toml");
    let output = tete()
        .env("TETE_CONFIG", &file)
        .arg("--config")
        .arg(&bad)
        .arg("check")
        .output()
        .expect("run tete");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn the_example_config_passes_check() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/tete.example.toml");
    let output = check(&file);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 1);
}

#[test]
fn a_missing_or_directory_smtp_password_file_is_a_configuration_error_exit_78() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::demo_config_in(dir.path());
    let demo = std::fs::read_to_string(&config).unwrap();
    let with_smtp = |password_file: &Path| {
        demo.replace("transport = \"file\"", "transport = \"smtp\"")
            .replace(
                "[mail.file]",
                &format!(
                    "[mail.smtp]\nhost = \"127.0.0.1\"\nport = 2525\nsecurity = \"none\"\n\
                     username = \"briefs\"\npassword_file = {:?}\n\n[mail.file]",
                    password_file.display().to_string()
                ),
            )
    };
    for (what, password_file) in [
        ("missing", dir.path().join("no-such-password")),
        ("a directory", dir.path().to_path_buf()),
    ] {
        std::fs::write(&config, with_smtp(&password_file)).unwrap();
        for args in [&["run", "--once"][..], &["run"][..]] {
            let output = tete()
                .arg("--config")
                .arg(&config)
                .args(args)
                .output()
                .unwrap();
            let stderr = stderr(&output);
            assert_eq!(output.status.code(), Some(78), "{what}, {args:?}: {stderr}");
            assert!(
                stderr.contains("mail.smtp.password_file")
                    && stderr.contains(&password_file.display().to_string()),
                "{what}: names the key and the file: {stderr}"
            );
        }
    }
}

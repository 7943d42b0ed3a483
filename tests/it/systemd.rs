//! The systemd units and the packaging: `systemd-analyze verify` must have nothing to say
//! about the units, `systemd-analyze security` must rate the service 2.0 or lower, and the
//! Debian metadata, man page and completions must hang together.
//!
//! Where `systemd-analyze` is not installed (CI installs the `systemd` package), the tests
//! that need it say so and pass; the others always run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::support::repo_root;

/// The highest `systemd-analyze security` exposure the service may have ("OK" is below 4).
const MAX_EXPOSURE: f64 = 2.0;

/// The packaged command line, rewritten to the built binary in the copies under test:
/// `verify` checks that the executable exists.
const PACKAGED_EXEC_START: &str = "ExecStart=/usr/bin/tete ";
/// The user unit's command line (a `cargo install` binary).
const USER_EXEC_START: &str = "ExecStart=%h/.cargo/bin/tete ";

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `systemd-analyze`, or `None` (with a note) where it is not installed.
fn systemd_analyze() -> Option<Command> {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(output) if output.status.success() => Some(Command::new("systemd-analyze")),
        _ => {
            eprintln!(
                "skipped: systemd-analyze is not installed (apt-get install systemd to run this)"
            );
            None
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// A temp folder holding `name` (the unit with its ExecStart pointed at the built binary)
/// and `man/man1/tete.1`, generated from the CLI, for the unit's `Documentation=man:tete(1)`.
struct UnitUnderTest {
    dir: tempfile::TempDir,
    unit: PathBuf,
}

impl UnitUnderTest {
    fn new(source: &str, name: &str, exec_start: &str) -> UnitUnderTest {
        let text = read(source);
        assert!(
            text.contains(exec_start),
            "{source} should start the daemon with `{exec_start}...`"
        );
        let binary = env!("CARGO_BIN_EXE_tete");
        let text = text.replace(exec_start, &format!("ExecStart={binary} "));
        let dir = tempfile::tempdir().expect("temp dir");
        let unit = dir.path().join(name);
        std::fs::write(&unit, text).expect("writing the unit copy");
        tete::cli::man::write_pages(&dir.path().join("man/man1")).expect("writing the man pages");
        UnitUnderTest { dir, unit }
    }

    /// Runs `systemd-analyze [user] verify` on the copy.
    fn verify(&self, mut analyze: Command, user: bool) -> Output {
        if user {
            // A user manager needs a runtime directory, even offline.
            let runtime = self.dir.path().join("runtime");
            std::fs::create_dir_all(&runtime).expect("runtime dir");
            analyze.env("XDG_RUNTIME_DIR", &runtime).arg("--user");
        }
        analyze.arg("verify");
        if on_path("man") {
            // verify runs `man tete(1)`: let it find the page generated above.
            analyze.env("MANPATH", self.dir.path().join("man"));
        } else {
            eprintln!("note: `man` is not installed; verifying without the man page check");
            analyze.arg("--man=no");
        }
        analyze
            .arg(&self.unit)
            .output()
            .expect("systemd-analyze runs")
    }
}

/// Everything a command printed, both streams.
fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The number in `→ Overall exposure level for tete.service: 1.1 OK 🙂`.
fn overall_exposure(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|line| line.contains("Overall exposure level for"))?;
    let (_, rest) = line.split_once("service:")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn service_unit_passes_systemd_analyze_verify_without_a_word() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let unit = UnitUnderTest::new("systemd/tete.service", "tete.service", PACKAGED_EXEC_START);
    let output = unit.verify(analyze, false);
    // verify exits 0 even for unknown keys: any output at all is a finding.
    assert_eq!(printed(&output), "", "systemd-analyze verify complained");
    assert!(output.status.success(), "systemd-analyze verify failed");
}

#[test]
fn user_unit_passes_systemd_analyze_verify_without_a_word() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let unit = UnitUnderTest::new("systemd/tete-user.service", "tete.service", USER_EXEC_START);
    let output = unit.verify(analyze, true);
    assert_eq!(
        printed(&output),
        "",
        "systemd-analyze --user verify complained"
    );
    assert!(
        output.status.success(),
        "systemd-analyze --user verify failed"
    );
}

#[test]
fn service_unit_is_rated_safe_by_systemd_analyze() {
    let Some(mut analyze) = systemd_analyze() else {
        return;
    };
    let unit = UnitUnderTest::new("systemd/tete.service", "tete.service", PACKAGED_EXEC_START);
    let output = analyze
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit.unit)
        .output()
        .expect("systemd-analyze runs");
    let report = printed(&output);
    let exposure = overall_exposure(&report)
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{report}"));
    eprintln!("systemd-analyze security: overall exposure {exposure}");
    assert!(
        exposure <= MAX_EXPOSURE,
        "exposure {exposure} is above {MAX_EXPOSURE}; the findings (✗):\n{}",
        report
            .lines()
            .filter(|line| line.starts_with('✗'))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn exposure_level_is_read_from_the_security_report() {
    let report = "✓ UMask=  Files created by service are accessible only by service's own user\n\n\
                  → Overall exposure level for tete.service: 1.1 OK 🙂\n";
    assert_eq!(overall_exposure(report), Some(1.1));
    assert_eq!(overall_exposure("no summary here"), None);
}

/// The value of the first `Key=` line of a unit (comments skipped).
fn setting<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn service_unit_keeps_the_settings_the_daemon_relies_on() {
    let unit = read("systemd/tete.service");
    let expected_exec = format!(
        "/usr/bin/tete --config {} run",
        tete::cli::DEFAULT_CONFIG_PATH
    );
    assert_eq!(setting(&unit, "ExecStart"), Some(expected_exec.as_str()));
    // The daemon sends READY=1 and WATCHDOG=1; without Type=notify systemd ignores both.
    assert_eq!(setting(&unit, "Type"), Some("notify"));
    assert!(setting(&unit, "WatchdogSec").is_some());
    assert_eq!(
        setting(&unit, "ExecReload"),
        Some("/bin/kill -HUP $MAINPID")
    );
    assert_eq!(setting(&unit, "Restart"), Some("on-failure"));
    // A config error must stop the service, not loop: the code is the CLI's own constant.
    assert_eq!(
        setting(&unit, "RestartPreventExitStatus"),
        Some(tete::cli::EXIT_CONFIG.to_string().as_str())
    );
    // The store's default location is $STATE_DIRECTORY; the control socket lives in
    // $RUNTIME_DIRECTORY; both must be named `tete`, which the docs and postrm rely on.
    assert_eq!(setting(&unit, "StateDirectory"), Some("tete"));
    assert_eq!(setting(&unit, "StateDirectoryMode"), Some("0700"));
    assert_eq!(setting(&unit, "RuntimeDirectory"), Some("tete"));
    assert_eq!(setting(&unit, "DynamicUser"), Some("yes"));
    assert_eq!(setting(&unit, "User"), Some("tete"));
    assert_eq!(setting(&unit, "UMask"), Some("0077"));
    assert!(
        unit.lines().next().unwrap_or_default().starts_with('#')
            && unit.contains("systemctl edit tete"),
        "the unit should open by pointing to `systemctl edit tete`"
    );
}

#[test]
fn user_unit_reads_the_config_from_the_users_config_home() {
    let unit = read("systemd/tete-user.service");
    assert_eq!(
        setting(&unit, "ExecStart"),
        Some("%h/.cargo/bin/tete --config %E/tete/tete.toml run")
    );
    assert_eq!(setting(&unit, "Type"), Some("notify"));
    assert_eq!(setting(&unit, "RestartPreventExitStatus"), Some("78"));
    assert_eq!(setting(&unit, "WantedBy"), Some("default.target"));
}

#[test]
fn sysusers_file_is_accepted_by_systemd_sysusers() {
    if !on_path("systemd-sysusers") {
        eprintln!("skipped: systemd-sysusers is not installed");
        return;
    }
    // --root: look at (and pretend to write) an empty tree, never the host's /etc.
    let root = tempfile::tempdir().expect("temp dir");
    let output = Command::new("systemd-sysusers")
        .arg("--dry-run")
        .arg(format!("--root={}", root.path().display()))
        .arg(repo_root().join("systemd/tete.sysusers"))
        .output()
        .expect("systemd-sysusers runs");
    let said = printed(&output);
    assert!(output.status.success(), "systemd-sysusers failed:\n{said}");
    assert!(
        !said.contains("ignoring") && !said.contains("not a valid"),
        "systemd-sysusers complained:\n{said}"
    );
    assert!(
        said.contains("tete"),
        "no tete user would be created:\n{said}"
    );
}

#[test]
fn man_page_is_generated_from_the_command_line_definition() {
    let mut page = Vec::new();
    tete::cli::man::render_main_page(&mut page).expect("rendering");
    let page = String::from_utf8(page).expect("roff is text");
    assert!(page.contains("\n.TH tete 1 "), "{page}");
    assert_eq!(
        page.matches(".ds Aq").count(),
        2,
        "one roff preamble (two lines)"
    );
    for expected in [
        "tete\\-check(1)",
        "EXIT STATUS",
        "78",
        "TETE_CONFIG",
        "/etc/tete/tete.toml",
    ] {
        assert!(page.contains(expected), "the page lacks {expected:?}");
    }
    // Packaging helpers are hidden from users' help and from the page.
    assert!(
        !page.contains("completions"),
        "hidden commands leak into the page"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let written = tete::cli::man::write_pages(dir.path()).expect("writing pages");
    let names: Vec<String> = written
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["tete.1", "tete-run.1", "tete-check.1", "tete-items-add.1"] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} in {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n.contains("man") || n.contains("help"))
    );
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    use clap_complete::Shell;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut script = Vec::new();
        tete::cli::completions::write_completions(shell, &mut script);
        let script = String::from_utf8(script).expect("text");
        assert!(script.contains("tete"), "{shell}: no tete in the script");
        assert!(script.contains("check"), "{shell}: subcommands missing");
    }
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone()
}

fn assets(deb: &toml::Table) -> Vec<(String, String, String)> {
    deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|asset| {
            let parts: Vec<String> = asset
                .as_array()
                .expect("an asset is [source, target, mode]")
                .iter()
                .map(|part| part.as_str().expect("text").to_string())
                .collect();
            assert_eq!(parts.len(), 3, "{parts:?}");
            (parts[0].clone(), parts[1].clone(), parts[2].clone())
        })
        .collect()
}

#[test]
fn debian_package_installs_the_unit_disabled_and_keeps_the_config_as_a_conffile() {
    let deb = deb_metadata();

    // Installing must not start a service whose config has no accounts yet.
    let units = deb["systemd-units"].as_table().expect("systemd-units");
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
    let unit_dir = units["unit-scripts"].as_str().expect("unit-scripts");
    assert!(
        repo_root().join(unit_dir).join("tete.service").is_file(),
        "cargo-deb takes the unit from {unit_dir}"
    );

    // The config: a conffile (local edits survive upgrades), not world-readable.
    let conf_files = deb["conf-files"].as_array().expect("conf-files");
    assert!(
        conf_files
            .iter()
            .any(|f| f.as_str() == Some("/etc/tete/tete.toml"))
    );
    let assets = assets(&deb);
    let config = assets
        .iter()
        .find(|(_, target, _)| target == "etc/tete/tete.toml")
        .expect("the config is installed");
    assert_eq!(config.2, "640");
    assert!(
        assets
            .iter()
            .any(|(source, target, _)| source == "target/release/tete" && target == "usr/bin/")
    );

    // Generated assets come from build-deb.sh; the others are in the repository.
    let script = read("packaging/build-deb.sh");
    for (source, _, _) in &assets {
        if let Some(generated) = source.strip_prefix("target/assets/") {
            let folder = generated.split('/').next().unwrap_or_default();
            assert!(
                script.contains(&format!("$assets/{folder}")),
                "build-deb.sh does not generate {source}"
            );
        } else if source.starts_with("systemd/") || source.starts_with("docs/") {
            assert!(repo_root().join(source).is_file(), "{source} is missing");
        }
    }

    // cargo-deb splices its snippets in at the DEBHELPER marker and refuses scripts
    // without it; it replaces every occurrence, so a second one (say, in a comment) would
    // run the snippets twice, the first time before `set -e`.
    let scripts = repo_root().join(deb["maintainer-scripts"].as_str().expect("scripts dir"));
    for script in ["postinst", "postrm"] {
        let text = std::fs::read_to_string(scripts.join(script)).expect("maintainer script");
        assert_eq!(
            text.matches("#DEBHELPER#").count(),
            1,
            "{script} needs the marker exactly once"
        );
    }
}

#[test]
fn maintainer_scripts_are_valid_shell() {
    let dir: &Path = &repo_root().join("packaging/debian");
    for script in ["postinst", "postrm"] {
        let output = Command::new("sh")
            .arg("-n")
            .arg(dir.join(script))
            .output()
            .expect("sh runs");
        assert!(output.status.success(), "{script}: {}", printed(&output));
    }
}

#[test]
fn packaging_commands_work_from_the_binary_but_stay_out_of_help() {
    use super::support::{stderr, stdout, tete};

    let man = tete(&["man"]);
    assert!(man.status.success(), "tete man: {}", stderr(&man));
    assert!(stdout(&man).contains(".TH tete 1"));

    let completions = tete(&["completions", "bash"]);
    assert!(completions.status.success(), "{}", stderr(&completions));
    assert!(stdout(&completions).contains("_tete()"));

    let help = stdout(&tete(&["--help"]));
    assert!(help.contains("check"), "{help}");
    assert!(
        !help.contains("completions") && !help.contains(" man "),
        "{help}"
    );
}

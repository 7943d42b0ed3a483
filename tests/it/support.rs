//! Helpers shared by the integration tests: temp dirs, the demo, the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `tete` binary with `args` and returns what it did.
pub fn tete(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tete"))
        .args(args)
        .env_remove("TETE_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .output()
        .expect("the tete binary runs")
}

/// stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes a copy of the demo config into `dir` whose state and mail folders live
/// inside `dir`, and returns its path. The calendar is the bundled `config/demo.ics`.
pub fn demo_config_in(dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(repo_root().join("config/demo.toml")).expect("demo.toml");
    let ics = repo_root().join("config/demo.ics");
    let text = demo
        .replace("\"../target/demo/state\"", "\"state\"")
        .replace("\"../target/demo/briefs\"", "\"briefs\"")
        .replace(
            "url = \"demo.ics\"",
            &format!("url = {:?}", ics.display().to_string()),
        )
        .replace(
            "secret_file = \"demo-reply-secret\"",
            &format!(
                "secret_file = {:?}",
                repo_root()
                    .join("config/demo-reply-secret")
                    .display()
                    .to_string()
            ),
        );
    let path = dir.join("tete.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

//! The Debian package: `packaging/build-deb.sh` builds it, and it holds what an
//! operator needs (binary, unit, sysusers, man pages 1 and 5, completions, example
//! config, changelog, lintian override); lintian, when installed, finds nothing.
//!
//! Ignored by a plain `cargo test` (it runs cargo deb and lintian); `.ci/run` runs the
//! ignored tests. It packs the debug build (`TETE_DEB_PROFILE=dev`), which the other
//! tests have built already. Without `cargo deb` it says why and passes.
//!
//! ```sh
//! cargo test --test it package -- --ignored --nocapture
//! ```

use std::process::Command;

use crate::support::repo_root;

fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|output| output.status.success())
}

#[test]
#[ignore = "long: cargo deb and lintian on the debug build; run with --ignored"]
fn the_package_holds_the_binary_unit_man_pages_completions_and_config() {
    if !available("cargo", &["deb", "--version"]) {
        println!("skipped: cargo-deb is not installed (cargo install cargo-deb --locked)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    // The debug build the other tests made, not a cold release build (see
    // build-deb.sh): the package's contents are the same.
    let built = Command::new(repo_root().join("packaging/build-deb.sh"))
        .env("TETE_DEB_PROFILE", "dev")
        .arg("--output")
        .arg(out.path())
        .output()
        .expect("build-deb.sh runs");
    assert!(
        built.status.success(),
        "build-deb.sh failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = std::fs::read_dir(out.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");

    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let has = |path: &str| listing.lines().any(|line| line.ends_with(path));
    for path in [
        "./usr/bin/tete",
        "./usr/lib/systemd/system/tete.service",
        "./usr/lib/sysusers.d/tete.conf",
        "./usr/share/man/man1/tete.1.gz",
        "./usr/share/man/man1/tete-run.1.gz",
        "./usr/share/man/man5/tete.toml.5.gz",
        "./usr/share/bash-completion/completions/tete",
        "./usr/share/zsh/vendor-completions/_tete",
        "./usr/share/fish/vendor_completions.d/tete.fish",
        "./etc/tete/tete.toml",
        "./usr/share/doc/tete/tete.example.toml",
        "./usr/share/doc/tete/changelog.Debian.gz",
        "./usr/share/doc/tete/copyright",
        "./usr/share/lintian/overrides/tete",
    ] {
        assert!(has(path), "{path} is not in the package:\n{listing}");
    }
    // The config names secrets: 0640, as the override says.
    let config = listing
        .lines()
        .find(|line| line.ends_with("./etc/tete/tete.toml"))
        .unwrap();
    assert!(config.starts_with("-rw-r-----"), "{config}");

    if !available("lintian", &["--version"]) {
        println!("lintian not installed: the package's file list was checked, not lintian");
        return;
    }
    let lintian = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--no-tag-display-limit"])
        .arg(&deb)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&lintian.stdout);
    assert!(
        lintian.status.success() && !report.lines().any(|l| l.starts_with(['E', 'W'])),
        "lintian:\n{report}{}",
        String::from_utf8_lossy(&lintian.stderr)
    );
}

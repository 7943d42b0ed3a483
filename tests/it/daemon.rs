//! Integration tests: the daemon as systemd runs it — sd_notify, signals, the
//! control socket, a clean stop.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{demo_config_in, stderr, stdout, tete};

/// A running daemon with a fake `NOTIFY_SOCKET`; killed on drop if still running.
struct Daemon {
    child: Child,
    notify: UnixDatagram,
}

impl Daemon {
    fn start(config: &Path, dir: &Path) -> Daemon {
        let socket_path = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
        notify
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tete"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "run",
                "--now",
                "2026-12-01T08:00",
            ])
            .env("NOTIFY_SOCKET", &socket_path)
            .env_remove("TETE_CONFIG")
            .env_remove("RUNTIME_DIRECTORY")
            .env_remove("WATCHDOG_USEC")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the daemon starts");
        Daemon { child, notify }
    }

    /// Waits until a notify message has the line `wanted`; returns every message seen.
    fn wait_for(&self, wanted: &str, timeout: Duration) -> Vec<String> {
        self.wait_until(|line| line == wanted, wanted, timeout)
    }

    /// Waits until a notify message has a line that `matches`.
    fn wait_until(
        &self,
        matches: impl Fn(&str) -> bool,
        wanted: &str,
        timeout: Duration,
    ) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.notify.recv(&mut buffer) {
                let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
                let found = message.lines().any(&matches);
                seen.push(message);
                if found {
                    return seen;
                }
            }
        }
        panic!("no {wanted:?} within {timeout:?}; saw {seen:?}");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn daemon_notifies_ready_answers_the_cli_reloads_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let config_arg = config.to_str().unwrap();
    let mut daemon = Daemon::start(&config, dir.path());
    let messages = daemon.wait_for("READY=1", Duration::from_secs(20));
    assert!(
        messages.iter().any(|m| m.contains("STATUS=")),
        "a status line comes with READY: {messages:?}"
    );
    // The first pass ends with a status line about the next brief.
    daemon.wait_until(
        |l| l.starts_with("STATUS=next brief") || l.starts_with("STATUS=no brief"),
        "STATUS after the first pass",
        Duration::from_secs(20),
    );

    // While the daemon holds the store, the CLI goes through the control socket.
    let status = tete(&["--config", config_arg, "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("demo (ics): ok"),
        "{}",
        stdout(&status)
    );
    let add = tete(&[
        "--config",
        config_arg,
        "items",
        "add",
        "def764be6d",
        "Bring the roadmap draft",
    ]);
    assert!(add.status.success(), "{}", stderr(&add));
    let list = tete(&["--config", config_arg, "items", "list", "def764be6d"]);
    assert!(
        stdout(&list).contains("Bring the roadmap draft"),
        "{}",
        stdout(&list)
    );
    let unknown = tete(&["--config", config_arg, "items", "done", "nosuchid"]);
    assert_eq!(
        unknown.status.code(),
        Some(1),
        "the daemon passes on exit codes"
    );
    assert!(stderr(&unknown).contains("no action item with id 'nosuchid'"));

    // SIGHUP with a valid config: RELOADING=1, then READY=1 again.
    daemon.signal("HUP");
    daemon.wait_for("RELOADING=1", Duration::from_secs(10));
    daemon.wait_for("READY=1", Duration::from_secs(10));

    // SIGHUP with a broken config: logged, the old one kept, still answering.
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\nnot_a_key = 1\n")).unwrap();
    daemon.signal("HUP");
    daemon.wait_for("READY=1", Duration::from_secs(10));
    let still = tete(&["--config", config_arg, "status"]);
    // The CLI itself now reads the broken file, so restore it to ask the daemon.
    assert_eq!(
        still.status.code(),
        Some(78),
        "the CLI refuses the broken config too"
    );
    std::fs::write(&config, &good).unwrap();
    let after = tete(&["--config", config_arg, "status"]);
    assert!(after.status.success(), "{}", stderr(&after));

    // SIGTERM: STOPPING=1, exit 0, socket and pointer removed, the store reopens.
    daemon.signal("TERM");
    daemon.wait_for("STOPPING=1", Duration::from_secs(10));
    let exit = daemon.wait_exit(Duration::from_secs(10));
    assert!(exit.success(), "exit status {exit:?}");
    let mut log = String::new();
    if let Some(mut err) = daemon.child.stderr.take() {
        use std::io::Read;
        let _ = err.read_to_string(&mut log);
    }
    assert!(
        log.contains("new config is invalid; keeping the old one"),
        "{log}"
    );
    assert!(!dir.path().join("state/daemon.json").exists());
    assert!(!dir.path().join("state/tete.sock").exists());
    let reopened = tete(&["--config", config_arg, "items", "list", "def764be6d"]);
    assert!(reopened.status.success(), "{}", stderr(&reopened));
    assert!(stdout(&reopened).contains("Bring the roadmap draft"));
}

#[test]
fn a_reload_with_an_overflowing_duration_keeps_the_old_config_and_the_daemon_answering() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let config_arg = config.to_str().unwrap();
    let good = std::fs::read_to_string(&config).unwrap();
    let mut daemon = Daemon::start(&config, dir.path());
    daemon.wait_for("READY=1", Duration::from_secs(20));
    let first_pass =
        |l: &str| l.starts_with("STATUS=next brief") || l.starts_with("STATUS=no brief");
    daemon.wait_until(
        first_pass,
        "STATUS after the first pass",
        Duration::from_secs(20),
    );

    // `check` used to accept this history, and the next round then panicked on
    // `DateTime - TimeDelta`, killing the daemon right after "config reloaded".
    let bad = good.replace("[detection]\n", "[detection]\nhistory = \"99999999d\"\n");
    assert_ne!(bad, good, "the demo config has a [detection] table");
    std::fs::write(&config, &bad).unwrap();
    daemon.signal("HUP");
    daemon.wait_until(
        |l| l.starts_with("STATUS=config reload failed"),
        "STATUS=config reload failed",
        Duration::from_secs(10),
    );
    // The round after the reload runs with the old config and reports as usual.
    daemon.wait_until(
        first_pass,
        "STATUS after the reload",
        Duration::from_secs(20),
    );
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );

    // The CLI reads the file too, so ask the daemon with the good one back in place.
    std::fs::write(&config, &good).unwrap();
    let status = tete(&["--config", config_arg, "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("demo (ics): ok"),
        "{}",
        stdout(&status)
    );

    daemon.signal("TERM");
    let exit = daemon.wait_exit(Duration::from_secs(10));
    assert!(exit.success(), "exit status {exit:?}");
    let mut log = String::new();
    if let Some(mut err) = daemon.child.stderr.take() {
        use std::io::Read;
        let _ = err.read_to_string(&mut log);
    }
    assert!(log.contains("detection.history"), "{log}");
    assert!(
        log.contains("new config is invalid; keeping the old one"),
        "{log}"
    );
    assert!(!log.contains("config reloaded"), "{log}");
}

#[test]
fn a_bad_config_stops_the_daemon_with_exit_78() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tete.toml");
    std::fs::write(&config, "timezone = \"Mars/Olympus\"\n").unwrap();
    let output = tete(&["--config", config.to_str().unwrap(), "run"]);
    assert_eq!(output.status.code(), Some(78), "{}", stderr(&output));
    assert!(stderr(&output).contains("timezone"), "{}", stderr(&output));
}

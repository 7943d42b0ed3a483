//! Integration test: the state directory's disk fills up under a running daemon, then
//! gets space again. The daemon must say so in `tete status` while it lasts, recover by
//! itself (it reopens the store) within a poll interval once space is back, lose no
//! brief and send none twice, and stop on SIGTERM.
//!
//! The disk is a small tmpfs mounted for the test, which needs root (CI runs as root);
//! elsewhere the test says it cannot mount one and passes without checking anything.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{stderr, stdout, tete};

/// A tmpfs mounted on a folder, unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).ok()?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn event(uid: &str, other: &str, day: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:1:1 with {other}\r\n\
         DTSTART;TZID=Europe/Berlin:{day}T100000\r\nDTEND;TZID=Europe/Berlin:{day}T103000\r\n\
         RRULE:FREQ=WEEKLY\r\nORGANIZER:mailto:alex@example.com\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:alex@example.com\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:{other}@example.com\r\nEND:VEVENT\r\n"
    )
}

fn calendar(events: &[String]) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//tests//EN\r\n{}END:VCALENDAR\r\n",
        events.concat()
    )
}

fn briefs_in(dir: &Path) -> Vec<String> {
    let mut briefs: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    briefs.sort();
    briefs
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "no {what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_full_disk_shows_in_status_and_the_daemon_recovers_by_itself_without_losing_or_repeating_a_brief()
 {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("state"), "24m") else {
        eprintln!("disk_full: cannot mount a tmpfs here (not root?); nothing checked");
        return;
    };
    let ics = dir.path().join("alex.ics");
    let dana = event("dana@tests.example", "dana", "20261201");
    std::fs::write(&ics, calendar(std::slice::from_ref(&dana))).unwrap();
    let config = dir.path().join("tete.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\ntimezone = \"Europe/Berlin\"\n[brief]\nlead_time = \"18h\"\n\
             [mail]\nfrom = \"briefs@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"briefs\"\n\
             [[accounts]]\nname = \"alex\"\nprovider = \"ics\"\nurl = {:?}\nowner = \"alex@example.com\"\n\
             poll_interval = \"30s\"\n",
            ics.display().to_string()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_string();
    let briefs = dir.path().join("briefs");
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_tete"))
            .args(["--config", &config, "run", "--now", "2026-11-30T18:00"])
            .env_remove("TETE_CONFIG")
            .env_remove("RUNTIME_DIRECTORY")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let daemon_log = || std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    wait_for("first briefs", Duration::from_secs(30), || {
        briefs_in(&briefs).len() == 2
    });

    // The disk fills up; then Sam's 1:1, due tomorrow morning, appears in the calendar.
    let filler = disk.fill();
    let sam = event("sam@tests.example", "sam", "20261201");
    std::fs::write(&ics, calendar(&[dana.clone(), sam])).unwrap();
    let mut failing_status = String::new();
    wait_for("a failing status", Duration::from_secs(60), || {
        let output = tete(&["--config", &config, "status"]);
        failing_status = format!("{}{}", stdout(&output), stderr(&output));
        failing_status.contains("FAILING") || failing_status.contains("cannot use its store")
    });
    assert!(
        failing_status.contains("No space left on device") || failing_status.contains("space"),
        "status names the cause:\n{failing_status}\n{}",
        daemon_log()
    );

    // Space comes back: within a poll interval (30 s) and the store retry, Sam's
    // briefs go out, once each, and nothing earlier is sent again.
    std::fs::remove_file(&filler).unwrap();
    wait_for(
        "Sam's briefs after space came back",
        Duration::from_secs(75),
        || briefs_in(&briefs).len() >= 4,
    );
    std::thread::sleep(Duration::from_secs(3));
    let all = briefs_in(&briefs);
    assert_eq!(
        all.len(),
        4,
        "two 1:1s x two people, once each\n{}",
        daemon_log()
    );
    let mut recipients: Vec<&str> = all
        .iter()
        .map(|raw| {
            raw.lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or_default()
        })
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        [
            "alex@example.com",
            "alex@example.com",
            "dana@example.com",
            "sam@example.com"
        ]
    );
    let status = tete(&["--config", &config, "status"]);
    assert!(
        stdout(&status).contains("last pass ok"),
        "{}{}",
        stdout(&status),
        stderr(&status)
    );

    // SIGTERM ends it promptly.
    let pid = daemon.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            assert!(status.success(), "{status:?}\n{}", daemon_log());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no exit after SIGTERM\n{}",
            daemon_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(disk);
}

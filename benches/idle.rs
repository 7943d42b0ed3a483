//! The idle daemon: the release binary runs against an .ics of 1,000 weekly two-person
//! series (every one a 1:1) with no brief due, and this measures
//! - start to `READY=1`, received on a fake `NOTIFY_SOCKET` this bench binds;
//! - RSS after startup and after an "hour-equivalent" idle: `poll_interval = "30s"`
//!   for 6 minutes is 12 polls, as many as an hour at the default 5m;
//! - CPU (utime+stime from /proc/PID/stat) and voluntary context switches (all threads)
//!   over a quiet stretch between polls;
//! - the store's size on disk against the .ics it holds.
//!
//! ```sh
//! cargo bench --bench idle                       # 6 minutes
//! TETE_BENCH_IDLE_SECS=60 cargo bench --bench idle
//! ```

use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERIES: usize = 1000;

fn ics(series: usize) -> String {
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete//idle//EN\r\n");
    for n in 0..series {
        let hour = 8 + n % 9;
        let day = 4 + n % 5; // Monday 4 Jan 2027 .. Friday
        let _ = write!(
            ics,
            "BEGIN:VEVENT\r\nUID:series-{n}@idle.example\r\nDTSTAMP:20260101T000000Z\r\n\
             SUMMARY:Owner / P{n}\r\nDTSTART:202701{day:02}T{hour:02}0000Z\r\n\
             DTEND:202701{day:02}T{hour:02}3000Z\r\nRRULE:FREQ=WEEKLY\r\n\
             ORGANIZER:mailto:owner@example.com\r\nATTENDEE:mailto:owner@example.com\r\n\
             ATTENDEE;CN=Person {n}:mailto:p{n}@example.com\r\n\
             DESCRIPTION:Action items:\\n- [ ] P{n}: bring the numbers\r\nEND:VEVENT\r\n"
        );
    }
    ics.push_str("END:VCALENDAR\r\n");
    ics
}

fn status_field(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime in clock ticks (USER_HZ, 100 on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

/// Voluntary context switches summed over every thread (each is a wakeup after a sleep).
fn wakeups(pid: u32) -> (u64, usize) {
    let mut total = 0;
    let mut threads = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            threads += 1;
            total += text
                .lines()
                .find(|l| l.starts_with("voluntary_ctxt_switches"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (total, threads)
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            let meta = entry.metadata().unwrap();
            total += if meta.is_dir() {
                dir_size(&entry.path())
            } else {
                meta.len()
            };
        }
    }
    total
}

fn sigterm(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn main() {
    let idle_secs: u64 = std::env::var("TETE_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(360);
    let dir = std::env::temp_dir().join(format!("tete-idle-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ics_path = dir.join("cal.ics");
    std::fs::write(&ics_path, ics(SERIES)).unwrap();
    let config = dir.join("tete.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\ntimezone = \"UTC\"\n[brief]\nlead_time = \"18h\"\n\
             [mail]\nfrom = \"b@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"out\"\n\
             [[accounts]]\nname = \"cal\"\nprovider = \"ics\"\nurl = {:?}\nowner = \"owner@example.com\"\n\
             poll_interval = \"30s\"\n",
            ics_path.display().to_string()
        ),
    )
    .unwrap();
    let notify_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();

    // Tuesday noon: the week's meetings are behind, the next brief is due on Sunday.
    let now = "2027-01-12T12:00";
    let mut runs = Vec::new();
    for run in 0..2 {
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_tete"))
            .args(["--config", config.to_str().unwrap(), "run", "--now", now])
            .env("NOTIFY_SOCKET", &notify_path)
            .env("RUNTIME_DIRECTORY", &dir)
            .env_remove("STATE_DIRECTORY")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut buf = [0u8; 512];
        let ready = loop {
            let n = notify.recv(&mut buf).expect("a notification within 30 s");
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                break started.elapsed();
            }
        };
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(500));
        let rss_start = status_field(pid, "VmRSS:");
        println!(
            "run {run} ({}): start to READY=1 {:.1} ms; RSS after startup {} kB",
            if run == 0 {
                "empty store, first sync"
            } else {
                "existing store"
            },
            ready.as_secs_f64() * 1e3,
            rss_start
        );
        runs.push((child, pid));
        if run == 0 {
            let (mut child, _) = runs.pop().unwrap();
            std::thread::sleep(Duration::from_secs(2));
            sigterm(&mut child);
        }
    }
    let (mut child, pid) = runs.pop().unwrap();
    // Quiet stretch: 20 s between two polls (it polls every 30 s).
    let (w0, threads) = wakeups(pid);
    let c0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(20));
    let (w1, _) = wakeups(pid);
    let c1 = cpu_ticks(pid);
    println!(
        "20 s idle: CPU {} ms, {} voluntary context switches over {threads} threads",
        (c1 - c0) * 10,
        w1 - w0
    );
    let t0 = Instant::now();
    let c0 = cpu_ticks(pid);
    let (w0, _) = wakeups(pid);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let c1 = cpu_ticks(pid);
    let (w1, threads) = wakeups(pid);
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{secs:.0} s idle with a poll every 30 s ({} polls): CPU {} ms ({:.1} ms per poll of 1,000 series), \
         {} voluntary context switches over {threads} threads; RSS {} kB (peak VmHWM {} kB)",
        (secs / 30.0).floor(),
        (c1 - c0) * 10,
        (c1 - c0) as f64 * 10.0 / (secs / 30.0).floor().max(1.0),
        w1 - w0,
        status_field(pid, "VmRSS:"),
        status_field(pid, "VmHWM:"),
    );
    sigterm(&mut child);
    let store = dir_size(&dir.join("state"));
    let ics_size = std::fs::metadata(&ics_path).unwrap().len();
    println!(
        "store on disk {} kB for a {} kB .ics of {SERIES} series ({:.1}x)",
        store / 1024,
        ics_size / 1024,
        store as f64 / ics_size as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}

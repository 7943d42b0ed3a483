//! The daemon's per-account scheduling, in-process: a hanging calendar delays no one
//! else's brief, and the polls of many accounts are spread over their interval.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::demo_config_in;

/// A calendar server on loopback that records when each path was asked for. Paths
/// starting with `/hang` are never answered (the connection is held open).
struct FeedServer {
    base: String,
    requests: Arc<Mutex<Vec<(String, Instant)>>>,
}

const EMPTY_CALENDAR: &str =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tete tests//EN\r\nEND:VCALENDAR\r\n";

impl FeedServer {
    fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                std::thread::spawn(move || answer(stream, &recorded));
            }
        });
        FeedServer { base, requests }
    }

    /// When `path` was asked for, in order.
    fn times(&self, path: &str) -> Vec<Instant> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, at)| *at)
            .collect()
    }
}

fn answer(mut stream: TcpStream, recorded: &Mutex<Vec<(String, Instant)>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    recorded
        .lock()
        .unwrap()
        .push((path.clone(), Instant::now()));
    if path.starts_with("/hang") {
        // Hold the connection without a byte of answer until the client gives up.
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{EMPTY_CALENDAR}",
        EMPTY_CALENDAR.len()
    );
}

fn briefs_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().count())
        .unwrap_or(0)
}

fn start_daemon(path: &Path) -> tete::daemon::DaemonHandle {
    let config = tete::config::load(path).expect("the config loads");
    let now = "2026-12-01T08:00:00Z".parse().unwrap();
    tete::daemon::start(path, config, tete::daemon::DaemonOptions { now: Some(now) })
        .expect("the daemon starts")
}

#[test]
fn a_calendar_that_never_answers_does_not_delay_another_accounts_briefs() {
    let server = FeedServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = demo_config_in(dir.path());
    let mut text = std::fs::read_to_string(&path).unwrap();
    // Listed first, so a round that waited for every sync would wait for it (the
    // feed client gives up after two minutes).
    text = text.replacen(
        "[[accounts]]",
        &format!(
            "[[accounts]]\nname = \"stuck\"\nprovider = \"ics\"\nurl = \"{}/hang.ics\"\nowner = \"sam@example.com\"\n\n[[accounts]]",
            server.base
        ),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let daemon = start_daemon(&path);
    let briefs = dir.path().join("briefs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while briefs_in(&briefs) == 0 {
        assert!(
            Instant::now() < deadline,
            "no brief within 30 s while one calendar hangs"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The hanging calendar was asked, and is still unanswered: the briefs did not wait.
    assert_eq!(server.times("/hang.ics").len(), 1);
    daemon
        .stop()
        .expect("a clean stop, with a poll still hanging");
}

#[test]
fn the_polls_of_many_accounts_are_spread_over_their_interval() {
    const ACCOUNTS: usize = 12;
    let server = FeedServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = demo_config_in(dir.path());
    let mut text = std::fs::read_to_string(&path).unwrap();
    for n in 0..ACCOUNTS {
        text.push_str(&format!(
            "\n[[accounts]]\nname = \"person{n}\"\nprovider = \"ics\"\nurl = \"{}/p{n}.ics\"\n\
             owner = \"person{n}@example.com\"\npoll_interval = \"30s\"\n",
            server.base
        ));
    }
    std::fs::write(&path, text).unwrap();
    let started = Instant::now();
    let daemon = start_daemon(&path);
    // Every account is polled at the start, then once on its own slot in the next
    // 30 s: the second polls must not come in one burst.
    let deadline = started + Duration::from_secs(45);
    let second_polls = loop {
        let seconds: Vec<Instant> = (0..ACCOUNTS)
            .filter_map(|n| server.times(&format!("/p{n}.ics")).get(1).copied())
            .collect();
        if seconds.len() == ACCOUNTS {
            break seconds;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {ACCOUNTS} accounts polled twice in 45 s",
            seconds.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    daemon.stop().expect("a clean stop");
    for n in 0..ACCOUNTS {
        let times = server.times(&format!("/p{n}.ics"));
        let gap = times[1] - times[0];
        // On its slot: within one interval of the first poll (plus scheduling slack).
        assert!(gap <= Duration::from_secs(32), "person{n}: {gap:?}");
    }
    let first = second_polls.iter().min().unwrap();
    let last = second_polls.iter().max().unwrap();
    assert!(
        *last - *first >= Duration::from_secs(10),
        "the second polls all came within {:?}",
        *last - *first
    );
    // No three-second window holds more than half of them.
    for at in &second_polls {
        let close = second_polls
            .iter()
            .filter(|other| other.saturating_duration_since(*at) < Duration::from_secs(3))
            .filter(|other| **other >= *at)
            .count();
        assert!(close <= ACCOUNTS / 2, "{close} polls within 3 s");
    }
}

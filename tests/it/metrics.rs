//! The metrics endpoint of an in-process daemon: counters move with the passes, the
//! store's numbers are there, nothing of a calendar leaks, and odd requests get short
//! answers without stalling a scrape.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{demo_config_in, repo_root};

/// Sends `request` raw and returns the whole answer (the server closes after one).
fn exchange(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(request).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    String::from_utf8(answer).expect("utf-8")
}

fn scrape(address: SocketAddr) -> String {
    let answer = exchange(
        address,
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: application/openmetrics-text\r\n\r\n",
    );
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    body.to_string()
}

/// The value of the sample `name` (with its labels, as written), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.split(' ').next()?.parse().ok())
}

/// The demo config with the endpoint on a port of the system's choosing and an
/// account whose calendar is missing (so a sync error is counted).
fn start_demo(dir: &std::path::Path) -> tete::daemon::DaemonHandle {
    let path = demo_config_in(dir);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(
        "\n[[accounts]]\nname = \"broken\"\nprovider = \"ics\"\nurl = \"missing.ics\"\nowner = \"alex@example.com\"\n\
         \n[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    std::fs::write(&path, text).unwrap();
    let config = tete::config::load(&path).expect("the config loads");
    let now = "2026-12-02T16:00:00Z".parse().unwrap();
    tete::daemon::start(
        &path,
        config,
        tete::daemon::DaemonOptions { now: Some(now) },
    )
    .expect("the daemon starts")
}

#[test]
fn metrics_count_the_first_pass_and_show_the_store_without_a_name_or_address() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start_demo(dir.path());
    let address = daemon.metrics_address().expect("an endpoint");
    assert!(address.ip().is_loopback());

    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape(address);
        if sample(&text, "tete_passes_total{result=\"ok\"}").unwrap_or(0.0) >= 1.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "no pass counted:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };

    let sent = sample(&text, "tete_briefs_total{outcome=\"sent\"}").unwrap_or(0.0);
    let queued = sample(&text, "tete_briefs_total{outcome=\"queued\"}").unwrap_or(0.0);
    assert!(sent > 0.0, "{text}");
    assert!(queued >= sent, "{text}");
    assert_eq!(
        sample(&text, "tete_briefs_sent_recorded"),
        Some(sent),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tete_outbox_entries{state=\"queued\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "tete_outbox_oldest_entry_age_seconds"),
        Some(0.0)
    );
    assert!(sample(&text, "tete_series{kind=\"one_on_one\"}").unwrap_or(0.0) >= 4.0);
    assert!(sample(&text, "tete_pass_duration_seconds_count").unwrap_or(0.0) >= 1.0);
    assert!(sample(&text, "tete_store_size_bytes").unwrap_or(0.0) > 0.0);
    // The demo account synced just now; the broken one never did, and says why.
    let age = sample(
        &text,
        "tete_account_last_success_age_seconds{account=\"demo\"}",
    )
    .expect("the demo account's age");
    assert!((0.0..120.0).contains(&age), "{age}");
    assert_eq!(
        sample(
            &text,
            "tete_account_last_success_age_seconds{account=\"broken\"}"
        ),
        None
    );
    assert!(
        text.lines().any(|line| line
            .starts_with("tete_account_sync_errors_total{account=\"broken\",kind=")),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tete_account_failures_in_a_row{account=\"broken\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "tete_account_needs_sign_in{account=\"demo\"}"),
        Some(0.0)
    );
    // The demo has [inbox] (replies by pipe): its counts are there, zero so far.
    assert_eq!(
        sample(&text, "tete_replies_total{outcome=\"applied\"}"),
        Some(0.0)
    );

    // Nothing of the calendar: no title, no address, no person, no series id.
    let ics = std::fs::read_to_string(repo_root().join("config/demo.ics")).unwrap();
    let titles: Vec<&str> = ics
        .lines()
        .filter_map(|line| line.strip_prefix("SUMMARY:"))
        .collect();
    assert!(titles.contains(&"Alex / Dana 1:1"));
    for title in titles {
        assert!(!text.contains(title.trim()), "{title} in:\n{text}");
    }
    for word in [
        "@",
        "example.com",
        "Dana",
        "Alex",
        "dana",
        "alex",
        "def764be6d",
    ] {
        assert!(!text.contains(word), "{word} in:\n{text}");
    }

    daemon.stop().expect("a clean stop");
}

#[test]
fn odd_requests_get_short_answers_and_a_silent_client_does_not_stall_a_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = start_demo(dir.path());
    let address = daemon.metrics_address().expect("an endpoint");

    let status = |request: &[u8]| {
        let answer = exchange(address, request);
        answer.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    assert_eq!(
        status(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(status(b"hello\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    let mut huge = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let answer = exchange(address, &huge);
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "{}",
        answer.lines().next().unwrap_or_default()
    );

    // A client that connects and says nothing holds one slot, not the endpoint.
    let _silent = TcpStream::connect(address).unwrap();
    let started = Instant::now();
    scrape(address);
    assert!(started.elapsed() < Duration::from_secs(5));

    daemon.stop().expect("a clean stop");
}

#[test]
fn without_a_metrics_table_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let path = demo_config_in(dir.path());
    let config = tete::config::load(&path).expect("the config loads");
    assert!(config.metrics.is_none());
    let now = "2026-12-02T16:00:00Z".parse().unwrap();
    let daemon = tete::daemon::start(
        &path,
        config,
        tete::daemon::DaemonOptions { now: Some(now) },
    )
    .expect("the daemon starts");
    assert_eq!(daemon.metrics_address(), None);
    daemon.stop().expect("a clean stop");
}

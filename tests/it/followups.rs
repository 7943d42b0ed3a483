//! After the meeting and between meetings, through the binary on the bundled demo:
//! recaps, cadence notes and morning digests, each exactly once, to the right people.

use std::path::Path;

use crate::mail::{Recorder, start_server};
use crate::support::{demo_config_in, stdout, tete};

/// `run --once --now NOW` on `config`; panics with the output when it fails.
fn pass(config: &Path, now: &str) -> String {
    let output = tete(&[
        "--config",
        config.to_str().unwrap(),
        "run",
        "--once",
        "--now",
        now,
    ]);
    assert!(output.status.success(), "{output:?}");
    stdout(&output)
}

/// (To, Subject) of every .eml written to `dir`, subjects decoded.
fn written(dir: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let to = message
            .to()
            .and_then(|t| t.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string();
        let subject = message.subject().unwrap_or_default().to_string();
        let text = message.body_text(0).unwrap_or_default().to_string();
        out.push((to, subject, text));
    }
    out.sort();
    out
}

fn count(messages: &[(String, String, String)], subject_start: &str) -> usize {
    messages
        .iter()
        .filter(|(_, s, _)| s.starts_with(subject_start))
        .count()
}

#[test]
fn recaps_cadence_notes_and_digests_go_out_once_each_to_the_two_people() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let briefs = dir.path().join("briefs");

    // Tuesday 1 Dec: Dana's 1:1 with Alex is 10:00-10:30 (Berlin); its recap is due
    // at 12:30.
    pass(&config, "2026-12-01T12:00");
    let before = written(&briefs);
    assert_eq!(count(&before, "Recap:"), 0, "no recap before its time");
    // Jordan and Alex missed their last two Friday 1:1s: one note each, once.
    assert_eq!(count(&before, "Your 1:1s with"), 2, "{before:#?}");
    let notes: Vec<&String> = before
        .iter()
        .filter(|(_, s, _)| s.starts_with("Your 1:1s with"))
        .map(|(to, _, _)| to)
        .collect();
    assert_eq!(notes, ["alex@example.com", "jordan@example.com"]);
    let note = before
        .iter()
        .find(|(to, s, _)| to == "jordan@example.com" && s.starts_with("Your 1:1s with"))
        .unwrap();
    assert!(
        note.2.contains("The last 2 meetings were cancelled"),
        "{}",
        note.2
    );

    let summary = pass(&config, "2026-12-01T13:00");
    assert!(summary.contains("2 recap(s)"), "{summary}");
    let after = written(&briefs);
    let recaps: Vec<&(String, String, String)> = after
        .iter()
        .filter(|(_, s, _)| s.starts_with("Recap:"))
        .collect();
    assert_eq!(recaps.len(), 2, "{recaps:#?}");
    let to_dana = recaps
        .iter()
        .find(|(to, _, _)| to == "dana@example.com")
        .expect("Dana's recap");
    assert!(
        to_dana.1.starts_with("Recap: 1:1 with Alex Rivera"),
        "{}",
        to_dana.1
    );
    assert!(to_dana.2.contains("STILL OPEN"), "{}", to_dana.2);
    assert!(recaps.iter().any(|(to, _, _)| to == "alex@example.com"));
    assert_eq!(
        count(&after, "Your 1:1s with"),
        2,
        "the cadence note is not repeated"
    );

    // Again later (a restart): nothing new of either kind.
    pass(&config, "2026-12-01T15:00");
    let again = written(&briefs);
    assert_eq!(count(&again, "Recap:"), 2);
    assert_eq!(count(&again, "Your 1:1s with"), 2);
    // Cancelled meetings get no recap.
    assert!(
        !again
            .iter()
            .any(|(_, s, _)| s.starts_with("Recap: 1:1 with Jordan"))
    );

    // Friday 4 Dec: Alex's digest (delivery = "digest") holds the 14:00 with Jordan,
    // and Alex gets no separate brief for it; Jordan gets his own brief.
    pass(&config, "2026-12-04T13:00");
    pass(&config, "2026-12-04T13:30");
    let friday = written(&briefs);
    let digests: Vec<_> = friday
        .iter()
        .filter(|(_, s, _)| s.starts_with("Your 1:1s today"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:#?}");
    assert_eq!(digests[0].0, "alex@example.com");
    assert_eq!(digests[0].1, "Your 1:1s today: Jordan Lee 14:00");
    assert!(
        digests[0].2.contains("Your 1:1 with Jordan Lee"),
        "{}",
        digests[0].2
    );
    assert!(
        !friday
            .iter()
            .any(|(to, s, _)| to == "alex@example.com" && s.starts_with("1:1 with Jordan Lee"))
    );
    assert!(friday.iter().any(|(to, s, _)| to == "jordan@example.com"
        && s.starts_with("1:1 with Alex Rivera \u{2014} Fri 4 Dec")));
}

#[test]
fn recaps_notes_and_digests_reach_a_real_smtp_server_with_their_recipients() {
    let recorder = Recorder::default();
    let port = start_server(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "transport = \"file\"",
        &format!("transport = \"smtp\"\nallowed_domains = [\"example.com\", \"partner-agency.com\"]\n\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"),
    ).replace(
        "# Priya works for an agency: her domain must be allowed explicitly.\nallowed_domains = [\"example.com\", \"partner-agency.com\"]\n",
        "",
    );
    std::fs::write(&config, text).unwrap();
    pass(&config, "2026-12-04T13:00");
    let messages = recorder.messages();
    let parsed: Vec<(Vec<String>, String)> = messages
        .iter()
        .map(|m| {
            let message = mail_parser::MessageParser::default()
                .parse(&m.data)
                .unwrap();
            (
                m.envelope_to.clone(),
                message.subject().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let to_of = |subject: &str| -> Vec<Vec<String>> {
        parsed
            .iter()
            .filter(|(_, s)| s.starts_with(subject))
            .map(|(to, _)| to.clone())
            .collect()
    };
    assert_eq!(to_of("Your 1:1s today"), [["alex@example.com"]]);
    let mut recaps = to_of("Recap: ");
    recaps.sort();
    assert_eq!(recaps, [["alex@example.com"], ["dana@example.com"]]);
    let mut notes = to_of("Your 1:1s with");
    notes.sort();
    assert_eq!(notes, [["alex@example.com"], ["jordan@example.com"]]);
    // Every message has exactly one recipient.
    assert!(parsed.iter().all(|(to, _)| to.len() == 1), "{parsed:#?}");
}

/// A recap tete could not send on time (it was down) goes out late, but never later
/// than `recap.max_late`.
#[test]
fn a_late_recap_goes_out_within_max_late_and_not_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_late = \"4d\"", "max_late = \"24h\"");
    std::fs::write(&config, text).unwrap();
    let briefs = dir.path().join("briefs");
    // Tuesday's 10:30 end + 2 h = 12:30 due; + 24 h = Wednesday 12:30 the last moment.
    pass(&config, "2026-12-02T12:45");
    assert_eq!(count(&written(&briefs), "Recap:"), 0, "more than 24 h late");

    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_late = \"4d\"", "max_late = \"24h\"");
    std::fs::write(&config, text).unwrap();
    pass(&config, "2026-12-02T12:15");
    assert_eq!(
        count(&written(&dir.path().join("briefs")), "Recap:"),
        2,
        "late, but in time"
    );
}

//! Mail that no person wrote: auto-replies, out-of-office notices, bounces, receipts
//! and list traffic. Such a message is never applied (an out-of-office notice quoting
//! "done 5211d042" must not close the item) and never answered (two robots answering
//! each other is a mail loop).
//!
//! The signals are the ones RFC 3834 and the big providers set: `Auto-Submitted`,
//! `Precedence`, `X-Auto-Response-Suppress` (Exchange), `X-Autoreply` /
//! `X-Autorespond`, list headers, a null return path, `MAILER-DAEMON` / `postmaster`
//! senders, `multipart/report` (delivery and read reports), and as a last resort the
//! subject prefixes of auto-replies.

use mail_parser::Message;

/// Why `message` is automatic, or `None` when a person may have written it.
pub fn is_automatic(message: &Message<'_>) -> Option<&'static str> {
    if message.parts.is_empty() {
        return Some("the message has no headers");
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in message.headers_raw() {
        headers.push((name.to_ascii_lowercase(), unfold(value)));
    }
    let value_of = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    for value in value_of("auto-submitted") {
        // `auto-replied; owner-email=…` or `no (comment)`: the keyword comes first.
        let keyword = value.split([';', '(']).next().unwrap_or_default().trim();
        if !keyword.eq_ignore_ascii_case("no") {
            return Some("Auto-Submitted says it was sent automatically");
        }
    }
    if value_of("x-auto-response-suppress").next().is_some() {
        return Some("X-Auto-Response-Suppress marks an automatic message (Exchange)");
    }
    for value in value_of("precedence") {
        let value = value.trim().to_ascii_lowercase();
        if matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some("Precedence marks bulk, list or auto-reply mail");
        }
    }
    if value_of("x-autoreply").next().is_some()
        || value_of("x-autorespond").next().is_some()
        || value_of("x-autoresponder").next().is_some()
    {
        return Some("X-Autoreply / X-Autorespond marks an auto-reply");
    }
    if value_of("list-id").next().is_some() || value_of("list-unsubscribe").next().is_some() {
        return Some("List-Id / List-Unsubscribe: it came through a mailing list");
    }
    for value in value_of("return-path") {
        let path = value.trim();
        if path.is_empty() || path.trim_matches(['<', '>', ' ']).is_empty() {
            return Some("the return path is null (a bounce or notification)");
        }
    }
    for value in value_of("from").chain(value_of("sender")) {
        if is_system_sender(value) {
            return Some("sent by MAILER-DAEMON or postmaster");
        }
    }
    for value in value_of("content-type") {
        let mime = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if mime == "multipart/report" {
            return Some("a delivery or read report (multipart/report)");
        }
    }
    if let Some(subject) = message.subject()
        && is_auto_reply_subject(subject)
    {
        return Some("the subject is an auto-reply's");
    }
    None
}

/// A raw header value with its folding removed.
fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when any address in a `From:`/`Sender:` value has the local part
/// `mailer-daemon` or `postmaster`.
fn is_system_sender(value: &str) -> bool {
    value
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | '(' | ')' | '"'))
        .filter_map(|word| word.split_once('@').map(|(local, _)| local))
        .chain(std::iter::once(value.trim()))
        .any(|local| {
            local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
        })
}

/// Subject prefixes of out-of-office and auto-reply messages (English, German,
/// French, Spanish, Dutch), for senders that set none of the headers.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "automatic reply:",
    "auto-reply:",
    "autoreply:",
    "auto reply:",
    "out of office:",
    "out of office autoreply:",
    "automatische antwort:",
    "abwesenheitsnotiz:",
    "réponse automatique :",
    "réponse automatique:",
    "respuesta automática:",
    "automatisch antwoord:",
    "undeliverable:",
    "undelivered mail returned to sender",
    "delivery status notification",
    "mail delivery failed",
];

fn is_auto_reply_subject(subject: &str) -> bool {
    let lower = subject.trim().to_lowercase();
    AUTO_REPLY_SUBJECTS.iter().any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reply::fixture;

    fn parse(raw: &[u8]) -> Message<'_> {
        mail_parser::MessageParser::default().parse(raw).unwrap()
    }

    fn with_headers(extra: &str) -> String {
        format!(
            "From: Dana <dana@example.com>\r\nTo: briefs@example.com\r\n\
             Subject: Re: 1:1\r\n{extra}Content-Type: text/plain\r\n\r\ndone 5211d042\r\n"
        )
    }

    fn reason(extra: &str) -> Option<&'static str> {
        let raw = with_headers(extra);
        is_automatic(&parse(raw.as_bytes()))
    }

    #[test]
    fn a_plain_reply_is_not_automatic() {
        assert_eq!(reason(""), None);
        assert_eq!(reason("Auto-Submitted: no\r\n"), None);
        assert_eq!(reason("Auto-Submitted: No (a person)\r\n"), None);
        assert_eq!(reason("Precedence: first-class\r\n"), None);
        assert_eq!(reason("Return-Path: <dana@example.com>\r\n"), None);
    }

    #[test]
    fn every_robot_header_is_recognized() {
        for header in [
            "Auto-Submitted: auto-replied\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "auto-submitted: auto-notified; owner-email=x@y\r\n",
            "X-Auto-Response-Suppress: All\r\n",
            "Precedence: bulk\r\n",
            "Precedence: junk\r\n",
            "Precedence: list\r\n",
            "Precedence: auto_reply\r\n",
            "List-Id: Team <team.lists.example.com>\r\n",
            "List-Unsubscribe: <mailto:leave@lists.example.com>\r\n",
            "Return-Path: <>\r\n",
            "Return-Path: < >\r\n",
            "X-Autoreply: yes\r\n",
            "X-Autorespond: Out of office\r\n",
            "Sender: MAILER-DAEMON@mx.example.com\r\n",
            "Sender: postmaster@example.com\r\n",
        ] {
            assert!(reason(header).is_some(), "{header}");
        }
    }

    #[test]
    fn system_senders_and_reports_are_recognized() {
        let raw = "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n\
                   Subject: x\r\n\r\nbody";
        assert!(is_automatic(&parse(raw.as_bytes())).is_some());
        let raw = "From: postmaster@example.com\r\nSubject: x\r\n\r\nbody";
        assert!(is_automatic(&parse(raw.as_bytes())).is_some());
        let raw = "From: d@x\r\nSubject: Read: 1:1\r\nContent-Type: multipart/report; \
                   report-type=disposition-notification; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--";
        assert!(is_automatic(&parse(raw.as_bytes())).is_some());
        let raw = "From: d@x\r\nSubject: Automatic reply: 1:1\r\n\r\nbody";
        assert!(is_automatic(&parse(raw.as_bytes())).is_some());
    }

    #[test]
    fn a_person_named_like_a_daemon_is_not_one() {
        let raw = "From: \"Postmaster General\" <pat@example.com>\r\nSubject: Re: x\r\n\r\nx";
        assert_eq!(is_automatic(&parse(raw.as_bytes())), None);
    }

    #[test]
    fn an_empty_message_is_treated_as_automatic() {
        assert!(is_automatic(&Message::default()).is_some());
    }

    #[test]
    fn out_of_office_notices_and_bounces_are_automatic() {
        for name in [
            "out_of_office_outlook.eml",
            "out_of_office_gmail.eml",
            "bounce.eml",
        ] {
            let raw = fixture(name);
            assert!(is_automatic(&parse(&raw)).is_some(), "{name}");
        }
    }

    #[test]
    fn replies_from_people_are_not_automatic() {
        for name in [
            "gmail_plain.eml",
            "gmail_html.eml",
            "outlook_desktop_html.eml",
            "outlook_web.eml",
            "outlook_mobile.eml",
            "apple_mail.eml",
            "german_gmail.eml",
            "bottom_posted_quote.eml",
            "signature.eml",
        ] {
            let raw = fixture(name);
            assert_eq!(is_automatic(&parse(&raw)), None, "{name}");
        }
    }
}

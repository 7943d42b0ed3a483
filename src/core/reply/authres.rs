//! Did the receiving server authenticate the sender? Read from the
//! `Authentication-Results` header (RFC 8601) that the server tete trusts wrote.
//!
//! Only the topmost `Authentication-Results` header is read: receiving servers
//! prepend theirs, so anything below it came with the message and may be forged. It
//! must carry the configured `authserv-id` (Exchange Online writes none: configure
//! `""` for it). The sender passes when that header says `dmarc=pass` for the From
//! domain, or `dkim=pass` with a signing domain aligned with it (equal, or one a
//! subdomain of the other, DMARC's relaxed alignment without a public-suffix list).

use mail_parser::Message;

/// Longest header value read; a real one is a few hundred bytes.
const MAX_HEADER_LEN: usize = 8 * 1024;

/// One `method=result` with the properties that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct MethodResult {
    method: String,
    result: String,
    /// `header.from` (dmarc), `header.d` or the domain of `header.i` (dkim).
    domain: Option<String>,
}

/// Checks that `message` passed DMARC or aligned DKIM at the server named
/// `authserv_id`, for the From address `sender`. `Ok` says what passed, `Err` why
/// the sender is not believed.
pub fn sender_authenticated(
    message: &Message<'_>,
    authserv_id: &str,
    sender: &str,
) -> Result<String, String> {
    let from_domain = sender
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| "the From address has no domain".to_string())?;
    if message.parts.is_empty() {
        return Err("the message has no headers".into());
    }
    let topmost = message
        .headers_raw()
        .find(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value)
        .ok_or_else(|| "the message has no Authentication-Results header".to_string())?;
    if topmost.len() > MAX_HEADER_LEN {
        return Err("the Authentication-Results header is too long".into());
    }
    let (id, results) = parse(topmost);
    let wanted = authserv_id.trim().to_ascii_lowercase();
    if id != wanted {
        let shown = |id: &str| {
            if id.is_empty() {
                "no authserv-id".to_string()
            } else {
                format!("\"{id}\"")
            }
        };
        return Err(format!(
            "the topmost Authentication-Results is from {}, not {}",
            shown(&id),
            shown(&wanted)
        ));
    }
    let aligned = |domain: &Option<String>| {
        domain.as_deref().is_none_or(|d| {
            d == from_domain
                || from_domain.ends_with(&format!(".{d}"))
                || d.ends_with(&format!(".{from_domain}"))
        })
    };
    if let Some(dmarc) = results
        .iter()
        .find(|r| r.method == "dmarc" && r.result == "pass" && aligned(&r.domain))
    {
        return Ok(format!(
            "dmarc=pass for {}",
            dmarc.domain.as_deref().unwrap_or(&from_domain)
        ));
    }
    if let Some(dkim) = results.iter().find(|r| {
        r.method == "dkim" && r.result == "pass" && r.domain.is_some() && aligned(&r.domain)
    }) {
        return Ok(format!(
            "dkim=pass for {}",
            dkim.domain.as_deref().unwrap_or_default()
        ));
    }
    let seen: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.method.as_str(), "dmarc" | "dkim" | "spf"))
        .map(|r| match &r.domain {
            Some(domain) => format!("{}={} ({domain})", r.method, r.result),
            None => format!("{}={}", r.method, r.result),
        })
        .collect();
    Err(if seen.is_empty() {
        format!("no DMARC or DKIM result for {from_domain}")
    } else {
        format!(
            "neither DMARC nor aligned DKIM passed for {from_domain}: {}",
            seen.join(", ")
        )
    })
}

/// Removes `(comments)` (nested) and unfolds: what is left is tokens, `=`, `;` and
/// quoted strings.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            '\r' | '\n' => out.push(' '),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The authserv-id (lower-case, `""` when the header starts with a result) and the
/// method results of one header value.
fn parse(value: &str) -> (String, Vec<MethodResult>) {
    let text = strip_comments(value);
    let mut parts = text.split(';').map(str::trim);
    let first = parts.next().unwrap_or_default();
    let mut results = Vec::new();
    let id = if first.contains('=') {
        results.extend(method_result(first));
        String::new()
    } else {
        // "authserv-id [version]"
        first
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    results.extend(parts.filter_map(method_result));
    (id, results)
}

/// `dkim=pass header.d=example.com header.s=sel` → its method, result and domain.
fn method_result(resinfo: &str) -> Option<MethodResult> {
    let mut words = resinfo.split_whitespace();
    let (method, result) = words.next()?.split_once('=')?;
    let method = method
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut found = MethodResult {
        method,
        result: result.trim_matches('"').to_ascii_lowercase(),
        domain: None,
    };
    for word in words {
        let Some((property, value)) = word.split_once('=') else {
            continue;
        };
        let value = value.trim_matches('"').to_ascii_lowercase();
        let domain = match property.to_ascii_lowercase().as_str() {
            "header.from" | "header.d" => Some(value),
            "header.i" => value.rsplit_once('@').map(|(_, d)| d.to_string()),
            _ => None,
        };
        if let Some(domain) = domain.filter(|d| !d.is_empty())
            && found.domain.is_none()
        {
            found.domain = Some(domain);
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &str, authserv_id: &str) -> Result<String, String> {
        let raw = format!(
            "{headers}From: Dana <dana@example.com>\r\nTo: briefs@example.com\r\nSubject: Re\r\n\r\ndone 5211d042\r\n"
        );
        let message = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        sender_authenticated(&message, authserv_id, "dana@example.com")
    }

    #[test]
    fn gmail_dmarc_pass_is_believed() {
        let headers = "Authentication-Results: mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=sel header.b=abc;\r\n       spf=pass (google.com: domain of dana@example.com designates 1.2.3.4 as permitted sender) smtp.mailfrom=dana@example.com;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com\r\n";
        assert_eq!(
            check(headers, "mx.google.com").unwrap(),
            "dmarc=pass for example.com"
        );
    }

    #[test]
    fn exchange_online_writes_no_authserv_id() {
        let headers = "Authentication-Results: spf=pass (sender IP is 40.107.1.1)\r\n smtp.mailfrom=example.com; dkim=pass (signature was verified)\r\n header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass\r\n reason=100\r\n";
        assert!(check(headers, "").is_ok());
        let error = check(headers, "mx.google.com").unwrap_err();
        assert!(error.contains("no authserv-id"), "{error}");
    }

    #[test]
    fn aligned_dkim_passes_without_dmarc_and_a_foreign_signature_does_not() {
        let aligned =
            "Authentication-Results: mx.example.com; dkim=pass header.d=mail.example.com\r\n";
        assert!(check(aligned, "mx.example.com").is_ok());
        let foreign = "Authentication-Results: mx.example.com; dkim=pass header.d=attacker.test; spf=pass smtp.mailfrom=attacker.test\r\n";
        let error = check(foreign, "mx.example.com").unwrap_err();
        assert!(error.contains("dkim=pass (attacker.test)"), "{error}");
    }

    #[test]
    fn a_forged_header_below_the_servers_own_is_not_read() {
        let headers = "Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\nAuthentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n";
        let error = check(headers, "mx.example.com").unwrap_err();
        assert!(error.contains("dmarc=fail"), "{error}");
        let other_server =
            "Authentication-Results: relay.attacker.test; dmarc=pass header.from=example.com\r\n";
        assert!(check(other_server, "mx.example.com").is_err());
        assert!(
            check("", "mx.example.com")
                .unwrap_err()
                .contains("no Authentication-Results")
        );
    }

    #[test]
    fn dmarc_for_another_domain_does_not_count() {
        let headers =
            "Authentication-Results: mx.example.com; dmarc=pass header.from=attacker.test\r\n";
        assert!(check(headers, "mx.example.com").is_err());
    }

    #[test]
    fn comments_and_quotes_do_not_confuse_the_parser() {
        let (id, results) = parse(
            "mx.example.com 1; dkim=pass (good; \"signature\" (nested)) header.d=\"example.com\"",
        );
        assert_eq!(id, "mx.example.com");
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].domain.as_deref(), Some("example.com"));
    }
}

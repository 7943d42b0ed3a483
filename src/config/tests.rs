//! Unit tests of loading: defaults, values, paths, and the errors' positions.

use super::validate::parse_with_env;
use super::*;
use std::ffi::OsStr;

const PATH: &str = "/etc/tete/tete.toml";

/// The smallest valid config; tests append to it.
const MINIMAL: &str = r#"
[mail]
from = "briefs@example.com"
transport = "file"
[mail.file]
dir = "briefs"

[[accounts]]
name = "demo"
provider = "ics"
url = "demo.ics"
owner = "Me@Example.com"
"#;

fn parse_env(text: &str, state_directory: Option<&str>) -> Result<Loaded, ConfigErrors> {
    parse_with_env(text, Path::new(PATH), state_directory.map(OsStr::new))
}

fn ok(text: &str) -> Config {
    match parse_env(text, None) {
        Ok(loaded) => loaded.config,
        Err(errors) => panic!("unexpected errors:\n{errors}"),
    }
}

fn errors(text: &str) -> Vec<ConfigError> {
    match parse_env(text, None) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(errors) => errors.errors,
    }
}

/// The one error of `text`, asserting there is exactly one.
fn one_error(text: &str) -> ConfigError {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "expected one error, got: {all:#?}");
    all.remove(0)
}

/// 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .expect("needle in text")
}

fn with_account(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}")
}

#[test]
fn a_minimal_config_gets_every_default() {
    let config = ok(MINIMAL);
    assert_eq!(config.source_path, Path::new(PATH));
    assert_eq!(config.state_dir, Path::new("/var/lib/tete"));
    assert_eq!(config.timezone, chrono_tz::UTC);
    assert_eq!(config.log_level, "info");
    assert_eq!(config.store.cache_capacity, 32 << 20);
    assert_eq!(config.detection.horizon, Duration::from_secs(35 * 86_400));
    assert_eq!(config.detection.history, Duration::from_secs(180 * 86_400));
    assert!(config.detection.title_include.is_empty());
    assert_eq!(config.brief.lead_time, Duration::from_secs(18 * 3600));
    assert_eq!(config.brief.send_at, None);
    assert!((8..=12).contains(&config.brief.prompts.len()));
    assert_eq!(config.accounts[0].poll_interval, Duration::from_secs(300));
    assert_eq!(config.mail.allowed_domains, ["example.com"]);
    assert_eq!(config.mail.transport, TransportKind::File);
}

#[test]
fn state_dir_defaults_to_the_first_systemd_state_directory() {
    let loaded = parse_env(MINIMAL, Some("/var/lib/tete:/var/lib/other")).expect("valid");
    assert_eq!(loaded.config.state_dir, Path::new("/var/lib/tete"));
    let loaded = parse_env(MINIMAL, Some("/srv/state")).expect("valid");
    assert_eq!(loaded.config.state_dir, Path::new("/srv/state"));
    let text = format!("state_dir = \"/x\"\n{MINIMAL}");
    let loaded = parse_env(&text, Some("/srv/state")).expect("valid");
    assert_eq!(loaded.config.state_dir, Path::new("/x"), "the file wins");
}

#[test]
fn relative_paths_start_at_the_config_files_folder() {
    let text = format!(
        "state_dir = \"./state\"\n{}",
        with_account(
            "[mail.smtp]\nhost = \"localhost\"\nusername = \"u\"\npassword_file = \"../secret/pw\""
        )
    );
    let config = ok(&text);
    assert_eq!(config.state_dir, Path::new("/etc/tete/state"));
    assert_eq!(
        config.mail.file.as_ref().map(|f| f.dir.clone()),
        Some(PathBuf::from("/etc/tete/briefs"))
    );
    assert_eq!(
        config.accounts[0].url.as_deref(),
        Some("/etc/tete/demo.ics")
    );
    let smtp = config.mail.smtp.expect("smtp table kept");
    assert_eq!(smtp.password_file, Some(PathBuf::from("/etc/secret/pw")));
}

#[test]
fn ics_urls_keep_https_and_turn_file_urls_into_absolute_paths() {
    let url_of = |url: &str| {
        let text = MINIMAL.replace("\"demo.ics\"", &format!("\"{url}\""));
        ok(&text).accounts[0].url.clone()
    };
    assert_eq!(
        url_of("https://cal.example.com/a.ics").as_deref(),
        Some("https://cal.example.com/a.ics")
    );
    assert_eq!(
        url_of("file://cal/a.ics").as_deref(),
        Some("/etc/tete/cal/a.ics")
    );
    assert_eq!(
        url_of("file:///srv/my%20cal.ics").as_deref(),
        Some("/srv/my cal.ics")
    );
    assert_eq!(url_of("/srv/a.ics").as_deref(), Some("/srv/a.ics"));
}

#[test]
fn ics_urls_refuse_plain_http_to_remote_hosts_and_webcal() {
    for url in [
        "http://cal.example.com/a.ics",
        "webcal://cal.example.com/a.ics",
        "ftp://x/a.ics",
    ] {
        let text = MINIMAL.replace("\"demo.ics\"", &format!("\"{url}\""));
        let error = one_error(&text);
        assert_eq!(error.key_path, "accounts[0].url", "{url}");
    }
    let text = MINIMAL.replace("\"demo.ics\"", "\"http://127.0.0.1:8080/a.ics\"");
    ok(&text);
}

#[test]
fn email_addresses_are_lower_cased_and_must_have_an_at() {
    let text =
        format!("{MINIMAL}\n[[people]]\nemail = \"Ana@Example.COM\"\ntimezone = \"Europe/Lisbon\"");
    let config = ok(&text);
    assert_eq!(config.accounts[0].owner.as_deref(), Some("me@example.com"));
    assert_eq!(config.people[0].email, "ana@example.com");
    assert_eq!(config.people[0].timezone, Some(chrono_tz::Europe::Lisbon));

    let text = MINIMAL.replace("Me@Example.com", "me.example.com");
    let error = one_error(&text);
    assert_eq!(error.key_path, "accounts[0].owner");
    assert!(error.message.contains("no @"), "{error}");
}

#[test]
fn zone_names_go_through_chrono_tz_with_hints_for_common_mistakes() {
    assert_eq!(parse_zone("Europe/Berlin"), Ok(chrono_tz::Europe::Berlin));
    assert_eq!(parse_zone("CET"), Ok(chrono_tz::CET));
    let hint = |name: &str| parse_zone(name).expect_err(name);
    assert!(
        hint("Berlin").contains("\"Europe/Berlin\""),
        "{}",
        hint("Berlin")
    );
    assert!(hint("europe/berlin").contains("\"Europe/Berlin\""));
    assert!(hint("New York").contains("\"America/New_York\""));
    assert!(hint("PST").contains("\"America/Los_Angeles\""));
    assert!(hint("UTC+2").contains("\"Etc/GMT-2\""));
    assert!(hint("Atlantis").starts_with("unknown time zone \"Atlantis\""));
}

#[test]
fn a_bad_zone_points_at_its_value() {
    let text = format!("timezone = \"Berlin\"\n{MINIMAL}");
    let error = one_error(&text);
    assert_eq!(
        (error.line, error.col, error.key_path.as_str()),
        (1, 12, "timezone")
    );
    assert!(
        error
            .to_string()
            .starts_with("/etc/tete/tete.toml:1:12: timezone: unknown time zone")
    );
}

#[test]
fn the_from_mailbox_accepts_names_and_bare_addresses() {
    let from = |value: &str| {
        let text = MINIMAL.replace("\"briefs@example.com\"", &format!("\"{value}\""));
        parse_env(&text, None).map(|l| l.config.mail.from)
    };
    assert_eq!(
        from("briefs@example.com"),
        Ok("briefs@example.com".to_string())
    );
    let named = from("1:1 briefs <briefs@example.com>").expect("valid");
    assert!(
        named.contains("1:1 briefs") && named.ends_with("<briefs@example.com>"),
        "{named}"
    );
    assert!(
        named.parse::<lettre::message::Mailbox>().is_ok(),
        "lettre reads it back: {named}"
    );
    assert!(from("Briefs <briefs@>").is_err());
    assert!(from("not a mailbox").is_err());
}

#[test]
fn every_semantic_problem_is_reported_in_one_go_in_file_order() {
    let text = r#"
timezone = "Mars/Olympus"
log_level = "loud"
[store]
cache_capacity = 0
[detection]
history = "0s"
[mail]
from = "nobody"
transport = "pigeon"
[[accounts]]
name = "bad name"
provider = "ics"
url = "x.ics"
owner = "me@example.com"
poll_interval = "1x"
"#;
    let all = errors(text);
    let keys: Vec<&str> = all.iter().map(|e| e.key_path.as_str()).collect();
    assert_eq!(
        keys,
        [
            "timezone",
            "log_level",
            "store.cache_capacity",
            "detection.history",
            "mail.from",
            "mail.transport",
            "accounts[0].name",
            "accounts[0].poll_interval",
        ]
    );
    let lines: Vec<usize> = all.iter().map(|e| e.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn missing_mail_and_accounts_point_at_the_start_of_the_file() {
    let all = errors("timezone = \"UTC\"\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    for error in &all {
        assert_eq!((error.line, error.col), (1, 1));
        assert!(error.expected.is_some());
    }
    assert!(all.iter().any(|e| e.message.contains("[mail]")));
    assert!(all.iter().any(|e| e.message.contains("[[accounts]]")));
}

#[test]
fn unknown_keys_are_errors_at_the_key_with_the_accepted_keys() {
    let text = with_account(
        "[[accounts]]\nname = \"b\"\nprovider = \"ics\"\nurl = \"b.ics\"\nowner = \"b@example.com\"\npoll_intervall = \"5m\"",
    );
    let error = one_error(&text);
    assert_eq!(error.line, line_of(&text, "poll_intervall"));
    assert_eq!(error.col, 1);
    assert_eq!(error.key_path, "accounts[1].poll_intervall");
    assert!(
        error.message.contains("unknown key `poll_intervall`"),
        "{error}"
    );
    assert!(
        error
            .expected
            .as_deref()
            .is_some_and(|e| e.contains("`poll_interval`"))
    );
}

#[test]
fn type_and_syntax_errors_carry_their_position() {
    let text = with_account("[mail.smtp]\nhost = \"localhost\"\nport = \"twenty-five\"");
    let error = one_error(&text);
    assert_eq!(error.line, line_of(&text, "twenty-five"));
    assert_eq!(error.key_path, "mail.smtp.port");

    let error = one_error("timezone = \"UTC\nlog_level = \"info\"\n");
    assert_eq!(error.line, 1);
}

#[test]
fn duplicate_account_names_point_at_the_second_one() {
    let text = with_account(
        "[[accounts]]\nname = \"demo\"\nprovider = \"ics\"\nurl = \"b.ics\"\nowner = \"b@example.com\"",
    );
    let error = one_error(&text);
    assert_eq!(error.key_path, "accounts[1].name");
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("name = \"demo\""))
        .map(|(i, _)| i + 1)
        .last();
    assert_eq!(Some(error.line), second);
}

#[test]
fn duplicate_people_point_at_the_second_one() {
    let text = format!(
        "{MINIMAL}\n[[people]]\nemail = \"a@example.com\"\n[[people]]\nemail = \"A@example.com\""
    );
    let error = one_error(&text);
    assert_eq!(error.key_path, "people[1].email");
    assert_eq!(error.line, line_of(&text, "A@example.com"));
}

#[test]
fn google_and_microsoft_accounts_get_their_defaults_and_need_a_client_id() {
    let text = with_account(
        "[[accounts]]\nname = \"work\"\nprovider = \"google\"\nclient_id = \"id\"\n\
         [[accounts]]\nname = \"office\"\nprovider = \"microsoft\"\nclient_id = \"id\"\nclient_secret_file = \"ms-secret\"",
    );
    let config = ok(&text);
    let work = &config.accounts[1];
    assert_eq!(work.calendars, ["primary"]);
    assert_eq!(work.tenant, None);
    let office = &config.accounts[2];
    assert_eq!(office.tenant.as_deref(), Some("common"));
    assert_eq!(
        office.client_secret_file,
        Some(PathBuf::from("/etc/tete/ms-secret"))
    );
    assert!(
        config.accounts[0].calendars.is_empty(),
        "ics has no calendar list"
    );

    let text = with_account("[[accounts]]\nname = \"work\"\nprovider = \"google\"");
    let error = one_error(&text);
    assert_eq!(error.key_path, "accounts[1]");
    assert!(error.message.contains("client_id"));
    assert_eq!(
        error.line,
        line_of(&text, "name = \"work\"") - 1,
        "points at [[accounts]]"
    );
}

#[test]
fn keys_of_another_provider_are_errors() {
    let text = with_account(
        "[[accounts]]\nname = \"work\"\nprovider = \"google\"\nclient_id = \"id\"\ntenant = \"common\"\nurl = \"x.ics\"",
    );
    let keys: Vec<String> = errors(&text).into_iter().map(|e| e.key_path).collect();
    assert_eq!(keys, ["accounts[1].tenant", "accounts[1].url"]);
}

#[test]
fn endpoint_overrides_must_be_https_or_http_to_loopback() {
    let account = |url: &str| {
        with_account(&format!(
            "[[accounts]]\nname = \"work\"\nprovider = \"google\"\nclient_id = \"id\"\ntoken_url = \"{url}\""
        ))
    };
    ok(&account("https://oauth2.example.com/token"));
    ok(&account("http://127.0.0.1:9999/token"));
    ok(&account("http://[::1]:9999/token"));
    ok(&account("http://localhost/token"));
    assert_eq!(
        one_error(&account("http://oauth2.example.com/token")).key_path,
        "accounts[1].token_url"
    );
    assert_eq!(
        one_error(&account("not a url")).key_path,
        "accounts[1].token_url"
    );
}

#[test]
fn poll_intervals_below_thirty_seconds_are_rejected() {
    let text = MINIMAL.replace("owner", "poll_interval = \"29s\"\nowner");
    assert_eq!(one_error(&text).key_path, "accounts[0].poll_interval");
    ok(&MINIMAL.replace("owner", "poll_interval = \"30s\"\nowner"));
}

#[test]
fn every_duration_key_rejects_values_past_its_maximum_at_their_line() {
    let huge = "18446744073709551615s";
    let cases = [
        (
            format!("[detection]\nhorizon = \"99999999d\"\n{MINIMAL}"),
            "detection.horizon",
            "horizon",
        ),
        (
            format!("[detection]\nhistory = \"99999999d\"\n{MINIMAL}"),
            "detection.history",
            "history",
        ),
        (
            format!("[brief]\nlead_time = \"{huge}\"\n{MINIMAL}"),
            "brief.lead_time",
            "lead_time",
        ),
        (
            MINIMAL.replace("owner", &format!("poll_interval = \"{huge}\"\nowner")),
            "accounts[0].poll_interval",
            "poll_interval",
        ),
    ];
    for (text, key, needle) in cases {
        let error = one_error(&text);
        assert_eq!(
            (error.key_path.as_str(), error.line, error.col),
            (key, line_of(&text, needle), needle.len() + 4),
            "{error}"
        );
        assert!(error.message.contains("longer than the maximum"), "{error}");
    }
}

#[test]
fn durations_at_their_maximum_are_accepted() {
    let config = ok(&format!(
        "[detection]\nhorizon = \"104w\"\nhistory = \"260w\"\n[brief]\nlead_time = \"6w\"\n{}",
        MINIMAL.replace("owner", "poll_interval = \"1d\"\nowner")
    ));
    assert_eq!(config.detection.horizon, MAX_HORIZON);
    assert_eq!(config.detection.history, MAX_HISTORY);
    assert_eq!(config.brief.lead_time, MAX_LEAD_TIME);
    assert_eq!(config.accounts[0].poll_interval, MAX_POLL_INTERVAL);
    let one_more = format!("[detection]\nhorizon = \"104w1s\"\n{MINIMAL}");
    assert_eq!(
        one_error(&one_more).expected.as_deref(),
        Some("at most \"104w\"")
    );
}

#[test]
fn the_horizon_must_cover_lead_time_and_poll_interval() {
    let text = format!("[detection]\nhorizon = \"1d\"\n[brief]\nlead_time = \"1d\"\n{MINIMAL}");
    let error = one_error(&text);
    assert_eq!(
        (error.key_path.as_str(), error.line),
        ("detection.horizon", 2)
    );
    assert_eq!(error.expected.as_deref(), Some("at least 1d5m"));

    let text = format!("[brief]\nlead_time = \"6w\"\n{MINIMAL}");
    assert_eq!(
        one_error(&text).key_path,
        "brief.lead_time",
        "points at what was set"
    );
}

#[test]
fn send_at_is_a_time_of_day_and_excludes_lead_time() {
    let config = ok(&format!("[brief]\nsend_at = \"08:00\"\n{MINIMAL}"));
    assert_eq!(config.brief.send_at, NaiveTime::from_hms_opt(8, 0, 0));
    assert_eq!(
        one_error(&format!("[brief]\nsend_at = \"8am\"\n{MINIMAL}")).key_path,
        "brief.send_at"
    );
    assert_eq!(
        one_error(&format!("[brief]\nsend_at = \"25:00\"\n{MINIMAL}")).key_path,
        "brief.send_at"
    );
    let both = format!("[brief]\nlead_time = \"2h\"\nsend_at = \"08:00\"\n{MINIMAL}");
    assert!(one_error(&both).message.contains("not both"));
}

#[test]
fn smtp_port_follows_security_and_none_is_only_for_loopback() {
    let smtp = |table: &str| {
        let text = MINIMAL.replace("transport = \"file\"", "transport = \"smtp\"");
        format!("{text}\n[mail.smtp]\n{table}")
    };
    let port = |table: &str| ok(&smtp(table)).mail.smtp.map(|s| (s.port, s.security));
    assert_eq!(
        port("host = \"smtp.example.com\""),
        Some((587, SmtpSecurity::Starttls))
    );
    assert_eq!(
        port("host = \"smtp.example.com\"\nsecurity = \"tls\""),
        Some((465, SmtpSecurity::Tls))
    );
    assert_eq!(
        port("host = \"localhost\"\nsecurity = \"none\""),
        Some((25, SmtpSecurity::None))
    );
    assert_eq!(
        port("host = \"127.0.0.2\"\nsecurity = \"none\"\nport = 2525"),
        Some((2525, SmtpSecurity::None))
    );
    assert_eq!(
        port("host = \"::1\"\nsecurity = \"none\""),
        Some((25, SmtpSecurity::None))
    );
    let error = one_error(&smtp("host = \"smtp.example.com\"\nsecurity = \"none\""));
    assert_eq!(error.key_path, "mail.smtp.security");
    assert_eq!(
        one_error(&smtp("host = \"h\"\nport = 70000")).key_path,
        "mail.smtp.port"
    );
}

#[test]
fn transport_is_inferred_from_the_one_table_present_and_must_match_it() {
    let text = MINIMAL.replace("transport = \"file\"\n", "");
    assert_eq!(ok(&text).mail.transport, TransportKind::File);
    let text = MINIMAL.replace("transport = \"file\"", "transport = \"smtp\"");
    assert_eq!(one_error(&text).key_path, "mail.transport");
    let with_both = format!("{MINIMAL}\n[mail.smtp]\nhost = \"smtp.example.com\"");
    let loaded = parse_env(&with_both, None).expect("valid");
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("mail.smtp: ignored")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn xoauth2_must_name_an_oauth_account() {
    let text = |name: &str| {
        with_account(&format!(
            "[mail.smtp]\nhost = \"smtp.example.com\"\nusername = \"me@example.com\"\nxoauth2_account = \"{name}\"\n\
             [[accounts]]\nname = \"work\"\nprovider = \"google\"\nclient_id = \"id\""
        ))
    };
    assert_eq!(
        ok(&text("work"))
            .mail
            .smtp
            .and_then(|s| s.xoauth2_account)
            .as_deref(),
        Some("work")
    );
    assert!(one_error(&text("demo")).message.contains("ics account"));
    assert!(
        one_error(&text("nope"))
            .message
            .contains("no account named")
    );
    let without_username = text("work").replace("username = \"me@example.com\"\n", "");
    assert!(one_error(&without_username).message.contains("no owner"));
    let with_owner = without_username.replace(
        "client_id = \"id\"",
        "client_id = \"id\"\nowner = \"Boss@example.com\"",
    );
    let smtp = ok(&with_owner).mail.smtp.expect("smtp");
    assert_eq!(
        smtp.username.as_deref(),
        Some("boss@example.com"),
        "the owner logs in"
    );
}

#[test]
fn smtp_host_must_not_carry_a_port_or_scheme() {
    let smtp = |host: &str| format!("{MINIMAL}\n[mail.smtp]\nhost = \"{host}\"");
    for bad in [
        "smtp.example.com:587",
        "smtp://smtp.example.com",
        "smtp example.com",
    ] {
        assert_eq!(one_error(&smtp(bad)).key_path, "mail.smtp.host", "{bad}");
    }
    let host = |h: &str| ok(&smtp(h)).mail.smtp.map(|s| s.host);
    assert_eq!(host("[::1]").as_deref(), Some("::1"));
    assert_eq!(host("2001:db8::25").as_deref(), Some("2001:db8::25"));
}

#[test]
fn allowed_domains_default_to_the_owners_domains_once_each() {
    let text = with_account(
        "[[accounts]]\nname = \"b\"\nprovider = \"ics\"\nurl = \"b.ics\"\nowner = \"b@example.com\"\n[[accounts]]\nname = \"c\"\nprovider = \"ics\"\nurl = \"c.ics\"\nowner = \"c@other.org\"",
    );
    assert_eq!(ok(&text).mail.allowed_domains, ["example.com", "other.org"]);
    let text = MINIMAL.replace(
        "[mail.file]",
        "allowed_domains = [\"Corp.Example\"]\n[mail.file]",
    );
    assert_eq!(ok(&text).mail.allowed_domains, ["corp.example"]);
}

#[test]
fn a_missing_file_is_one_error_naming_the_path() {
    let path = Path::new("/nonexistent/tete/tete.toml");
    let error = load(path).expect_err("missing");
    assert_eq!(error.errors.len(), 1);
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/tete/tete.toml: config file not found")
    );
}

#[cfg(unix)]
#[test]
fn load_warns_about_a_world_writable_config_and_missing_secrets_without_reading_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("pw");
    std::fs::write(&secret, "hunter2-do-not-echo").expect("write secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let text = MINIMAL.replace("transport = \"file\"", "transport = \"smtp\"")
        + "\n[mail.smtp]\nhost = \"h\"\nusername = \"u\"\npassword_file = \"pw\"\n"
        + "[[accounts]]\nname = \"w\"\nprovider = \"google\"\nclient_id = \"i\"\nclient_secret_file = \"missing\"\n";
    let path = dir.path().join("tete.toml");
    std::fs::write(&path, text).expect("write config");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let loaded = load_checked(&path).expect("valid");
    let all = loaded.warnings.join("\n");
    assert!(all.contains("world-writable"), "{all}");
    assert!(
        all.contains("accounts[1].client_secret_file") && all.contains("does not exist"),
        "{all}"
    );
    assert!(all.contains("readable by every user"), "{all}");
    assert!(!all.contains("hunter2"), "secret contents leaked: {all}");
}

#[test]
fn the_example_config_is_valid() {
    let text = include_str!("../../config/tete.example.toml");
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/tete.example.toml"
    ));
    if let Err(errors) = parse(text, path) {
        panic!("config/tete.example.toml:\n{errors}");
    }
}

#[test]
fn the_example_configs_commented_out_accounts_are_valid_when_enabled() {
    let text = include_str!("../../config/tete.example.toml");
    let start = text.find("# A Google account").expect("google block");
    let enabled: String = text[start..]
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest.starts_with("[[") || rest.contains(" = ") => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("{}{enabled}", &text[..start]);
    let config = match parse(&text, Path::new(PATH)) {
        Ok(config) => config,
        Err(errors) => panic!("{errors}"),
    };
    let providers: Vec<Provider> = config.accounts.iter().map(|a| a.provider).collect();
    assert_eq!(
        providers,
        [Provider::Ics, Provider::Google, Provider::Microsoft]
    );
}

/// The keys of one raw table, as serde lists them when it rejects an unknown key.
fn schema_keys(prefix: &str, table: &str) -> Vec<String> {
    let text = format!("{prefix}\n{table}\nzz_not_a_key = 1\n");
    let errors = parse_env(&text, None).expect_err("unknown key");
    let expected = errors.errors[0].expected.clone().unwrap_or_default();
    // serde writes "one of `a`, `b`", or just "`a`" for a table with one key.
    assert!(expected.contains('`'), "{table}: {expected}");
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn every_key_of_the_schema_is_documented_in_the_example() {
    let text = include_str!("../../config/tete.example.toml");
    let documented = |key: &str| {
        text.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{key} =")) || line == format!("[{key}]")
        })
    };
    let tables = [
        ("", ""),
        ("", "[store]"),
        ("", "[detection]"),
        ("", "[brief]"),
        ("", "[mail]"),
        ("[mail]", "[mail.smtp]"),
        ("[mail]", "[mail.file]"),
        ("", "[[people]]"),
        ("", "[[accounts]]"),
        ("", "[inbox]"),
        ("", "[recap]"),
        ("", "[cadence]"),
        ("", "[metrics]"),
        ("", "[[orgs]]"),
        ("[brief]", "[brief.relation_prompts]"),
    ];
    let mut missing = Vec::new();
    for (prefix, table) in tables {
        let keys = schema_keys(prefix, table);
        assert!(!keys.is_empty(), "{table}");
        for key in keys {
            let nested = [
                "store",
                "detection",
                "brief",
                "mail",
                "people",
                "accounts",
                "smtp",
                "file",
                "inbox",
                "recap",
                "cadence",
                "metrics",
                "orgs",
                "relation_prompts",
            ];
            let found = if nested.contains(&key.as_str()) {
                text.contains(&format!("[{key}]"))
                    || text.contains(&format!("[[{key}]]"))
                    || text.contains(&format!("[mail.{key}]"))
                    || text.contains(&format!("[brief.{key}]"))
            } else {
                documented(&key)
            };
            if !found {
                missing.push(format!("{table} {key}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented keys: {missing:?}");
}

#[test]
fn no_truncation_or_missing_line_of_the_example_makes_loading_panic() {
    // A cheap stand-in for a fuzz target: damaged files must give errors, not panics.
    let text = include_str!("../../config/tete.example.toml");
    let cuts = (0..text.len())
        .step_by(5)
        .filter(|i| text.is_char_boundary(*i));
    for cut in cuts {
        let _ = parse_env(&text[..cut], None);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let damaged: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, line)| *line)
            .collect();
        let _ = parse_env(&damaged.join("\n"), None);
    }
}

#[test]
fn odd_unicode_values_are_errors_not_panics() {
    for url in ["file://é", "fïle://x", "https://", "é://x"] {
        let text = MINIMAL.replace("\"demo.ics\"", &format!("\"{url}\""));
        let _ = parse_env(&text, None);
    }
    assert!(parse_zone("Bérlin").is_err());
    let text = MINIMAL.replace("name = \"demo\"", "name = \"démo\"");
    assert_eq!(one_error(&text).key_path, "accounts[0].name");
}

#[test]
fn people_zones_fall_back_to_the_default_zone() {
    let text = format!(
        "timezone = \"Europe/Berlin\"\n{MINIMAL}\n[[people]]\nemail = \"ana@example.com\"\ntimezone = \"Europe/Lisbon\""
    );
    let config = ok(&text);
    assert_eq!(config.zone_of("Ana@Example.com"), chrono_tz::Europe::Lisbon);
    assert_eq!(config.zone_of("bo@example.com"), chrono_tz::Europe::Berlin);
    assert_eq!(
        config.account("demo").map(|a| a.provider),
        Some(Provider::Ics)
    );
    assert!(config.account("nope").is_none());
}

#[test]
fn only_allowed_domains_that_did_not_opt_out_may_receive_briefs() {
    let text = MINIMAL.replace(
        "[mail.file]",
        "opt_out = [\"Gone@example.com\"]\n[mail.file]",
    );
    let mail = ok(&text).mail;
    assert!(mail.may_receive("Ana@Example.COM"));
    assert!(!mail.may_receive("gone@example.com"));
    assert!(!mail.may_receive("ana@elsewhere.org"));
    assert!(!mail.may_receive("not-an-address"));
}

#[test]
fn the_values_the_example_writes_out_are_the_real_defaults() {
    let text = include_str!("../../config/tete.example.toml");
    let config = match parse_env(text, None) {
        Ok(loaded) => loaded.config,
        Err(errors) => panic!("{errors}"),
    };
    assert_eq!(config.state_dir, Path::new(DEFAULT_STATE_DIR));
    assert_eq!(config.timezone, chrono_tz::UTC);
    assert_eq!(config.log_level, "info");
    assert_eq!(config.store.cache_capacity, DEFAULT_CACHE_CAPACITY);
    assert_eq!(config.detection.horizon, DEFAULT_HORIZON);
    assert_eq!(config.detection.history, DEFAULT_HISTORY);
    assert_eq!(config.brief.lead_time, DEFAULT_LEAD_TIME);
    assert_eq!(config.brief.prompts.len(), DEFAULT_PROMPTS.len());
    assert!(text.contains(&format!("list of {} open questions", "eleven")));
    assert_eq!(DEFAULT_PROMPTS.len(), 11);
    assert_eq!(config.accounts[0].poll_interval, DEFAULT_POLL_INTERVAL);
    assert_eq!(config.mail.allowed_domains, ["example.com"]);
    let smtp = config.mail.smtp.expect("smtp");
    assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
}

#[test]
fn an_empty_allowed_domains_list_is_refused_and_an_ownerless_oauth_account_warns_nothing_false() {
    let text = MINIMAL.replace("[mail.file]", "allowed_domains = []\n[mail.file]");
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key_path, "mail.allowed_domains");
    assert!(
        found[0].message.contains("remove the key"),
        "{}",
        found[0].message
    );

    // A Google account without `owner` learns it at sign-in: no "nobody will receive a
    // brief" warning, which was false (briefs go to the owners' domains).
    let text = "[mail]\nfrom = \"briefs@example.com\"\ntransport = \"file\"\n[mail.file]\ndir = \"b\"\n\
                [[accounts]]\nname = \"work\"\nprovider = \"google\"\nclient_id = \"id\"\n\
                client_secret_file = \"secret\"\n";
    let loaded = parse_env(text, None).expect("valid");
    assert!(
        loaded.warnings.iter().all(|w| !w.contains("nobody")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn an_inbox_gets_its_defaults_and_the_from_address() {
    let config = ok(&format!(
        "{MINIMAL}\n[inbox]\nhost = \"imap.example.com\"\npassword_file = \"imap-password\"\nauthserv_id = \"mx.google.com\"\n"
    ));
    let inbox = config.inbox.expect("an inbox");
    assert_eq!(inbox.address, "briefs@example.com");
    assert_eq!(inbox.username, "briefs@example.com");
    assert_eq!(
        (inbox.host.as_deref(), inbox.port),
        (Some("imap.example.com"), 993)
    );
    assert_eq!(inbox.security, SmtpSecurity::Tls);
    assert_eq!(inbox.mailbox, "INBOX");
    assert_eq!(inbox.verify_sender, SenderCheck::AuthenticationResults);
    assert_eq!(inbox.confirmations, Confirmations::Always);
    assert_eq!(inbox.token_lifetime, DEFAULT_TOKEN_LIFETIME);
    assert_eq!(inbox.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(
        inbox.password_file,
        Some(PathBuf::from("/etc/tete/imap-password"))
    );
    // Exchange Online writes no authserv-id: "" is a value, not a missing one.
    let exchange = ok(&format!("{MINIMAL}\n[inbox]\nauthserv_id = \"\"\n"));
    assert_eq!(exchange.inbox.unwrap().authserv_id.as_deref(), Some(""));
}

#[test]
fn an_inbox_without_a_verdict_to_trust_or_a_login_is_refused_with_its_line() {
    let text = format!("{MINIMAL}\n[inbox]\nhost = \"imap.example.com\"\n");
    let all = errors(&text);
    let messages: Vec<&str> = all.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("authserv_id")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("no way to log in")),
        "{messages:?}"
    );
    let clear = format!(
        "{MINIMAL}\n[inbox]\nhost = \"imap.example.com\"\nsecurity = \"none\"\npassword_file = \"p\"\nverify_sender = \"none\"\n"
    );
    let error = one_error(&clear);
    assert_eq!(error.key_path, "inbox.security");
    assert_eq!(error.line, line_of(&clear, "security = \"none\""));
    let poll = format!("{MINIMAL}\n[inbox]\nauthserv_id = \"x\"\npoll_interval = \"29m\"\n");
    assert_eq!(one_error(&poll).key_path, "inbox.poll_interval");
}

#[test]
fn reading_mail_with_a_microsoft_token_is_refused_for_now() {
    let text = format!(
        "{MINIMAL}\n[[accounts]]\nname = \"office\"\nprovider = \"microsoft\"\nowner = \"me@example.com\"\nclient_id = \"00000000-0000-0000-0000-000000000000\"\n\n[inbox]\nhost = \"outlook.office365.com\"\nxoauth2_account = \"office\"\nauthserv_id = \"\"\n"
    );
    let error = one_error(&text);
    assert_eq!(error.key_path, "inbox.xoauth2_account");
    assert!(
        error.message.contains("not supported yet"),
        "{}",
        error.message
    );
}

#[test]
fn metrics_are_off_unless_a_listen_address_is_given() {
    assert_eq!(ok(MINIMAL).metrics, None);
    assert_eq!(ok(&format!("{MINIMAL}\n[metrics]\n")).metrics, None);
    let config = ok(&format!(
        "{MINIMAL}\n[metrics]\nlisten = \"127.0.0.1:9464\"\n"
    ));
    assert_eq!(
        config.metrics.map(|m| m.listen.to_string()),
        Some("127.0.0.1:9464".to_string())
    );
    let config = ok(&format!("{MINIMAL}\n[metrics]\nlisten = \"[::1]:9464\"\n"));
    assert!(config.metrics.is_some());
}

#[test]
fn a_metrics_address_off_loopback_needs_allow_remote() {
    let remote = format!("{MINIMAL}\n[metrics]\nlisten = \"0.0.0.0:9464\"\n");
    let error = one_error(&remote);
    assert_eq!(error.key_path, "metrics.listen");
    assert!(
        error.message.contains("not a loopback address"),
        "{error:?}"
    );
    let allowed = format!("{remote}allow_remote = true\n");
    assert!(ok(&allowed).metrics.is_some());
    let garbage = format!("{MINIMAL}\n[metrics]\nlisten = \"localhost\"\n");
    assert_eq!(one_error(&garbage).key_path, "metrics.listen");
}

#[test]
fn a_google_account_that_reads_the_replies_uses_a_mail_token() {
    let text = format!(
        "{MINIMAL}\n[[accounts]]\nname = \"work\"\nprovider = \"google\"\nowner = \"me@example.com\"\nclient_id = \"1234567890-abc.apps.googleusercontent.com\"\n\n[inbox]\nhost = \"imap.gmail.com\"\nxoauth2_account = \"work\"\nauthserv_id = \"mx.google.com\"\n"
    );
    let config = ok(&text);
    assert!(config.uses_mail_token("work"));
    assert!(!config.uses_mail_token("demo"));
    assert_eq!(config.inbox.unwrap().username, "me@example.com");
}

const GOOGLE_ORG: &str = r#"
[[orgs]]
name = "acme"
provider = "google"
service_account_key_file = "acme-key.json"
admin = "IT@acme.test"
groups = ["Managers@acme.test"]
exclude = ["CEO@acme.test"]
"#;

#[test]
fn an_org_alone_is_enough_and_gets_its_defaults() {
    let text = MINIMAL.split("[[accounts]]").next().unwrap().to_string() + GOOGLE_ORG;
    let config = ok(&text);
    assert!(config.accounts.is_empty());
    let org = &config.orgs[0];
    assert_eq!(org.name, "acme");
    assert_eq!(org.provider, Provider::Google);
    assert_eq!(
        org.credential,
        OrgCredential::ServiceAccountKey(Some(PathBuf::from("/etc/tete/acme-key.json")))
    );
    assert_eq!(org.admin.as_deref(), Some("it@acme.test"));
    assert_eq!(org.groups, ["managers@acme.test"]);
    assert_eq!(org.exclude, ["ceo@acme.test"]);
    assert_eq!(org.calendars, ["primary"]);
    assert_eq!(org.directory_refresh, DEFAULT_DIRECTORY_REFRESH);
    assert_eq!(config.brief.relation_prompts, RelationPrompts::default());
}

#[test]
fn a_microsoft_org_takes_a_certificate_and_a_real_tenant() {
    let text = with_account(
        r#"
[[orgs]]
name = "contoso"
provider = "microsoft"
tenant = "contoso.onmicrosoft.com"
client_id = "app-id"
client_certificate_file = "/etc/tete/app.pem"
domain = "Contoso.test"
"#,
    );
    let org = ok(&text).orgs.remove(0);
    assert_eq!(org.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
    assert_eq!(org.domain.as_deref(), Some("contoso.test"));
    assert_eq!(
        org.credential,
        OrgCredential::ClientCertificate {
            client_id: "app-id".into(),
            certificate_file: PathBuf::from("/etc/tete/app.pem"),
        }
    );
}

#[test]
fn org_mistakes_are_reported_on_their_line() {
    let cases = [
        // Groups are read as an administrator.
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"google\"\ngroups = [\"g@a.test\"]\n",
            "[[orgs]]",
            "missing `admin`",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"google\"\n",
            "[[orgs]]",
            "covers nobody",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"microsoft\"\ntenant = \"common\"\nclient_id = \"x\"\nclient_secret_file = \"s\"\npeople = [\"p@a.test\"]\n",
            "tenant = ",
            "is not one tenant",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"x\"\nclient_secret_file = \"s\"\nclient_certificate_file = \"c\"\npeople = [\"p@a.test\"]\n",
            "client_certificate_file",
            "not both",
        ),
        (
            "[[orgs]]\nname = \"demo\"\nprovider = \"google\"\npeople = [\"p@a.test\"]\n",
            "name = \"demo\"",
            "already the name of an account",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"google\"\npeople = [\"not an address\"]\n",
            "people = ",
            "orgs[0].people[0]",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"google\"\npeople = [\"p@a.test\"]\ntenant = \"t\"\n",
            "tenant = ",
            "does not apply to google orgs",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"google\"\npeople = [\"p@a.test\"]\ndirectory_refresh = \"5m\"\n",
            "directory_refresh",
            "too often",
        ),
        (
            "[[orgs]]\nname = \"a\"\nprovider = \"google\"\npeople = [\"p@a.test\"]\nadmins = \"x@a.test\"\n",
            "admins",
            "unknown key",
        ),
    ];
    for (org, needle, message) in cases {
        let text = with_account(org);
        let error = one_error(&text);
        // The needle's line within the org (the account above may hold the same text).
        let orgs_start = line_of(&text, "[[orgs]]");
        let line = orgs_start - 1
            + line_of(
                &text
                    .lines()
                    .skip(orgs_start - 1)
                    .collect::<Vec<_>>()
                    .join("\n"),
                needle,
            );
        assert_eq!(error.line, line, "{org}: {error}");
        assert!(error.to_string().contains(message), "{org}: {error}");
    }
}

#[test]
fn sending_through_an_org_needs_the_mailbox_to_send_as() {
    let base = MINIMAL.replace(
        "transport = \"file\"",
        "transport = \"smtp\"\n[mail.smtp]\nhost = \"smtp.gmail.com\"\nxoauth2_account = \"acme\"",
    );
    let error = one_error(&format!("{base}{GOOGLE_ORG}"));
    assert!(
        error.to_string().contains("needs the mailbox to send as"),
        "{error}"
    );
    let with_user = base.replace(
        "xoauth2_account = \"acme\"",
        "xoauth2_account = \"acme\"\nusername = \"briefs@acme.test\"",
    );
    let config = ok(&format!("{with_user}{GOOGLE_ORG}"));
    let smtp = config.mail.smtp.unwrap();
    assert_eq!(smtp.xoauth2_account.as_deref(), Some("acme"));
    assert_eq!(smtp.username.as_deref(), Some("briefs@acme.test"));
}

#[test]
fn relation_prompts_replace_the_defaults_per_kind() {
    let text = MINIMAL.replace(
        "[mail]",
        "[brief.relation_prompts]\nskip_level = [\"How is the team?\"]\n\n[mail]",
    );
    let prompts = ok(&text).brief.relation_prompts;
    assert_eq!(prompts.skip_level, ["How is the team?"]);
    assert_eq!(prompts.peer, RelationPrompts::default().peer);
}

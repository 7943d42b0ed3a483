//! Integration tests: no SMTP credential reaches the log, whatever `RUST_LOG` asks for.
//!
//! lettre writes every SMTP line it sends to `tracing` at `debug`, `AUTH PLAIN <base64 of
//! user and password>` and `AUTH XOAUTH2 <base64 with the bearer token>` included. Each
//! test first shows that a plain `trace` subscriber does print the secret (so the test
//! can fail), then that tete's own subscriber does not.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use tete::config::{SmtpConfig, SmtpSecurity};
use tete::mail::{SmtpAuth, SmtpTransport, Transport};

use crate::mail::{Recorder, start_auth_server, start_xoauth2_server};

const FROM: &str = "briefs@example.com";
const USER: &str = "briefs";
const PASSWORD: &str = "correct horse battery";
const TOKEN: &str = "ya29.a0-access-token-that-must-stay-secret";

/// A `MakeWriter` appending everything to one shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password_file: None,
        xoauth2_account: None,
    }
}

/// Sends one message through `auth` to `port` under `subscriber`, on this thread.
fn send_under(subscriber: impl tracing::Subscriber + Send + Sync, port: u16, auth: SmtpAuth) {
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let transport = SmtpTransport::new(&smtp_config(port), FROM, auth).unwrap();
            let raw = "From: briefs@example.com\r\nTo: dana@example.com\r\nSubject: x\r\n\r\nx\r\n";
            transport
                .send("dana@example.com", raw.as_bytes())
                .await
                .expect("the server accepts the login");
        });
    });
}

/// The forms a secret can take on the wire: as written and base64-encoded.
fn forms_of_secrets() -> Vec<String> {
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    vec![
        PASSWORD.to_string(),
        b64(&format!("\0{USER}\0{PASSWORD}")),
        b64(PASSWORD),
        TOKEN.to_string(),
        b64(&format!("user={FROM}\x01auth=Bearer {TOKEN}\x01\x01")),
    ]
}

fn leaked(log: &str) -> Vec<String> {
    forms_of_secrets()
        .into_iter()
        .filter(|secret| log.contains(secret.as_str()))
        .collect()
}

fn password_auth() -> SmtpAuth {
    SmtpAuth::Password {
        username: USER.into(),
        password: PASSWORD.into(),
    }
}

fn xoauth2_auth() -> SmtpAuth {
    SmtpAuth::XOAuth2 {
        username: FROM.into(),
        token: TOKEN.into(),
    }
}

#[test]
fn smtp_auth_plain_never_reaches_the_log_at_trace() {
    let recorder = Recorder::with_credentials(USER, PASSWORD);
    let port = start_auth_server(&recorder);

    let unfiltered = Captured::default();
    let plain = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(unfiltered.clone())
        .finish();
    send_under(plain, port, password_auth());
    assert!(
        !leaked(&unfiltered.text()).is_empty(),
        "without the cap lettre logs the AUTH line (else this test proves nothing)"
    );

    let ours = Captured::default();
    send_under(
        tete::logging::subscriber("trace", ours.clone()),
        port,
        password_auth(),
    );
    let log = ours.text();
    assert!(leaked(&log).is_empty(), "a secret in the log:\n{log}");
    assert_eq!(recorder.messages().len(), 2, "both sends went through");
}

#[test]
fn smtp_xoauth2_token_never_reaches_the_log_at_trace() {
    let recorder = Recorder::default();
    let port = start_xoauth2_server(&recorder, TOKEN);

    let unfiltered = Captured::default();
    let plain = tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(unfiltered.clone())
        .finish();
    send_under(plain, port, xoauth2_auth());
    assert!(
        !leaked(&unfiltered.text()).is_empty(),
        "without the cap lettre logs the AUTH line (else this test proves nothing)"
    );

    let ours = Captured::default();
    send_under(
        tete::logging::subscriber("trace", ours.clone()),
        port,
        xoauth2_auth(),
    );
    let log = ours.text();
    assert!(leaked(&log).is_empty(), "a secret in the log:\n{log}");
}

#[test]
fn a_pass_with_smtp_auth_at_rust_log_trace_prints_no_password() {
    let recorder = Recorder::with_credentials(USER, PASSWORD);
    let port = start_auth_server(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::demo_config_in(dir.path());
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("transport = \"file\"", "transport = \"smtp\"")
        .replace(
            "[mail.file]",
            &format!(
                "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
                 username = \"{USER}\"\npassword_file = {:?}\n\n[mail.file]",
                password_file.display().to_string()
            ),
        );
    std::fs::write(&config, text).unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tete"))
        .args(["--config", config.to_str().unwrap()])
        .args(["run", "--once", "--now", "2026-12-01T08:00:00Z"])
        .env("RUST_LOG", "trace")
        .env_remove("TETE_CONFIG")
        .env_remove("STATE_DIRECTORY")
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    let stderr = crate::support::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !recorder.messages().is_empty(),
        "briefs went out over SMTP with AUTH"
    );
    assert!(
        stderr.contains("brief sent"),
        "the trace log is there:\n{stderr}"
    );
    assert!(leaked(&stderr).is_empty(), "a secret in the log:\n{stderr}");
}

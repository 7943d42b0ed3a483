//! A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`), run in the
//! foreground from a config in a temp folder, and the tests of `tete::inbox` against it.
//!
//! Each [`Dovecot`] has its own temp folder (config, passwd-file, maildirs, sockets,
//! log) and two loopback ports: IMAPS (TLS from the first byte, with a certificate
//! for `localhost` and 127.0.0.1 from a CA made for the test) and plain IMAP (STARTTLS offered; LOGIN
//! allowed because Dovecot counts loopback as secured). The tests' own helper client,
//! which delivers mail with APPEND and reads flags back, speaks plain IMAP over the
//! second port: a few blocking lines, independent of the code under test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tete::inbox::{ImapAuth, ImapSecurity, ImapSettings, InboxError, Mailbox, Mark};

const DOVECOT: &str = "/usr/sbin/dovecot";

/// A running Dovecot, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Dovecot {
    /// The IMAPS port (TLS from the first byte).
    pub port: u16,
    /// The plain IMAP port (STARTTLS, or loopback plaintext).
    pub plain_port: u16,
    /// The test CA that issued the server's certificate: the file to trust.
    pub ca_file: PathBuf,
    /// The one user.
    pub user: &'static str,
    /// Its password.
    pub password: &'static str,
    dir: TempDir,
    child: Child,
}

/// Who Dovecot's processes run as. As root, Dovecot refuses to run its login processes
/// as root ("This process must not be run as root") and its auth refuses mail uid 0, so
/// it uses the package's own users; as anyone else, every process runs as that user.
struct Users {
    login: String,
    internal: String,
    internal_group: String,
    /// uid and gid that own the maildirs.
    mail_uid: u32,
    mail_gid: u32,
}

fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().expect("run id");
    assert!(out.status.success(), "id {args:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn users() -> Users {
    if id(&["-u"]) == "0" {
        Users {
            login: "dovenull".into(),
            internal: "dovecot".into(),
            internal_group: "dovecot".into(),
            mail_uid: id(&["-u", "dovecot"]).parse().unwrap(),
            mail_gid: id(&["-g", "dovecot"]).parse().unwrap(),
        }
    } else {
        Users {
            login: id(&["-un"]),
            internal: id(&["-un"]),
            internal_group: id(&["-gn"]),
            mail_uid: id(&["-u"]).parse().unwrap(),
            mail_gid: id(&["-g"]).parse().unwrap(),
        }
    }
}

/// Runs `/usr/bin/openssl` with `args`, panicking with its stderr on failure.
fn openssl(args: &[&std::ffi::OsStr]) {
    let out = Command::new("/usr/bin/openssl")
        .args(args)
        .output()
        .expect("run /usr/bin/openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 certificate in `dir` as `{name}.pem` and `{name}.key`: a CA (`issuer` None)
/// or, signed by `issuer`, a server certificate for `localhost` and 127.0.0.1. Two
/// levels because webpki (rustls) refuses a CA certificate as the server's own.
pub fn certificate(dir: &Path, name: &str, issuer: Option<(&Path, &Path)>) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let mut args: Vec<&std::ffi::OsStr> = ["req", "-x509", "-newkey", "ec", "-pkeyopt"]
        .into_iter()
        .chain(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .map(std::ffi::OsStr::new)
        .collect();
    args.extend([
        "-keyout".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        cert.as_os_str(),
    ]);
    match issuer {
        None => args.extend(["-subj", "/CN=tete test CA"].map(std::ffi::OsStr::new)),
        Some((ca_cert, ca_key)) => {
            args.extend(["-subj", "/CN=localhost", "-addext"].map(std::ffi::OsStr::new));
            args.push("subjectAltName=DNS:localhost,IP:127.0.0.1".as_ref());
            args.extend(
                ["-addext", "basicConstraints=critical,CA:FALSE"].map(std::ffi::OsStr::new),
            );
            args.extend([
                "-CA".as_ref(),
                ca_cert.as_os_str(),
                "-CAkey".as_ref(),
                ca_key.as_os_str(),
            ]);
        }
    }
    openssl(&args);
    (cert, key)
}

/// Two ports free right now on 127.0.0.1 (Dovecot binds them a moment later; a clash
/// with another test is retried by [`Dovecot::start`]).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn config(dir: &Path, users: &Users, port: u16, plain_port: u16, extra: &str) -> String {
    let d = dir.display();
    format!(
        r#"# tete's test Dovecot: everything under {d}, loopback only.
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = tete-test-{port}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {internal_group}
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
ssl = required
ssl_cert = <{d}/server.pem
ssl_key = <{d}/server.key
auth_mechanisms = plain login
# A wrong password is answered at once, not after the default 2 s.
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
{extra}
"#,
        login = users.login,
        internal = users.internal,
        internal_group = users.internal_group,
    )
}

impl Dovecot {
    /// Starts a Dovecot with its own folder and ports and waits for its greeting.
    pub fn start() -> Dovecot {
        Dovecot::start_with("")
    }

    /// [`Dovecot::start`] with extra config lines (e.g. a capability list without IDLE).
    pub fn start_with(extra: &str) -> Dovecot {
        assert!(
            Path::new(DOVECOT).exists(),
            "{DOVECOT} is missing: install Debian's dovecot-imapd \
             (apt-get install dovecot-imapd), as .ci/run does"
        );
        let mut last_log = String::new();
        for _attempt in 0..3 {
            match Dovecot::try_start(extra) {
                Ok(dovecot) => return dovecot,
                Err(log) => last_log = log,
            }
        }
        panic!("dovecot did not start:\n{last_log}");
    }

    fn try_start(extra: &str) -> Result<Dovecot, String> {
        let dir = tempfile::tempdir().unwrap();
        let users = users();
        // Dovecot's unprivileged processes (as root: dovenull, dovecot) must reach
        // the sockets and maildirs below the temp folder, which is 0700.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let (ca_file, ca_key) = certificate(dir.path(), "ca", None);
        certificate(dir.path(), "server", Some((&ca_file, &ca_key)));
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).unwrap();
        std::os::unix::fs::chown(&mail, Some(users.mail_uid), Some(users.mail_gid)).unwrap();
        let (user, password) = ("tete", "s3cret-test-password");
        std::fs::write(
            dir.path().join("passwd"),
            format!(
                "{user}:{{PLAIN}}{password}:{}:{}::{}\n",
                users.mail_uid,
                users.mail_gid,
                mail.join(user).display()
            ),
        )
        .unwrap();
        let (port, plain_port) = free_ports();
        let conf = dir.path().join("dovecot.conf");
        std::fs::write(&conf, config(dir.path(), &users, port, plain_port, extra)).unwrap();
        let out = std::fs::File::create(dir.path().join("foreground.out")).unwrap();
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn dovecot");
        let mut dovecot = Dovecot {
            port,
            plain_port,
            ca_file,
            user,
            password,
            dir,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = dovecot.child.try_wait() {
                return Err(dovecot.log());
            }
            if greets(plain_port) {
                return Ok(dovecot);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no greeting within 20 s\n{}", dovecot.log()))
    }

    /// Dovecot's log and foreground output, for failure messages.
    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name));
        format!(
            "--- dovecot.log\n{}\n--- foreground\n{}",
            read("dovecot.log").unwrap_or_default(),
            read("foreground.out").unwrap_or_default()
        )
    }

    /// Settings for `tete::inbox` against this server (IMAPS on `localhost`, the CA
    /// trusted, INBOX, a 10 s timeout); tests change what they test.
    pub fn settings(&self) -> ImapSettings {
        ImapSettings {
            host: "localhost".into(),
            port: self.port,
            security: ImapSecurity::Tls,
            username: self.user.into(),
            auth: ImapAuth::Password(self.password.into()),
            mailbox: "INBOX".into(),
            ca_file: Some(self.ca_file.clone()),
            timeout: Duration::from_secs(10),
        }
    }

    /// Delivers `raw` into `mailbox` with APPEND, as a delivering server would.
    pub fn append(&self, mailbox: &str, raw: &[u8]) {
        let mut client = self.helper();
        // LITERAL+ (which Dovecot offers): the bytes follow without waiting for `+`.
        let mut command = format!("APPEND {mailbox} {{{}+}}\r\n", raw.len()).into_bytes();
        command.extend_from_slice(raw);
        client.command(&command);
    }

    /// Every message in `mailbox` as (UID, flags), read with EXAMINE (read-only).
    pub fn flags(&self, mailbox: &str) -> Vec<(u32, Vec<String>)> {
        let mut client = self.helper();
        client.command(format!("EXAMINE {mailbox}").as_bytes());
        let lines = client.command(b"UID FETCH 1:* (FLAGS)");
        let mut out: Vec<(u32, Vec<String>)> =
            lines.iter().filter_map(|l| fetch_flags(l)).collect();
        out.sort();
        out
    }

    fn helper(&self) -> Helper {
        let stream = TcpStream::connect(("127.0.0.1", self.plain_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut helper = Helper {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            tag: 0,
        };
        let greeting = helper.line();
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        helper.command(format!("LOGIN {} {}", self.user, self.password).as_bytes());
        helper
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children; SIGKILL if it lingers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something on `port` greets with `* OK` (Dovecot is up).
fn greets(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).is_ok() && &buf == b"* OK"
}

/// `* 3 FETCH (UID 7 FLAGS (\Seen \Flagged))` → (7, ["\Seen", "\Flagged"]).
fn fetch_flags(line: &str) -> Option<(u32, Vec<String>)> {
    if !line.starts_with("* ") || !line.contains(" FETCH (") {
        return None;
    }
    let uid = line.split("UID ").nth(1)?;
    let uid: u32 = uid.split([' ', ')']).next()?.parse().ok()?;
    let flags = line.split("FLAGS (").nth(1)?.split(')').next()?;
    Some((uid, flags.split_whitespace().map(String::from).collect()))
}

/// The tests' own blocking IMAP client: tagged commands, untagged lines back.
struct Helper {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Helper {
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    /// Sends `command` tagged and returns the untagged lines; panics unless it ends OK.
    fn command(&mut self, command: &[u8]) -> Vec<String> {
        self.tag += 1;
        let tag = format!("h{}", self.tag);
        let mut bytes = format!("{tag} ").into_bytes();
        bytes.extend_from_slice(command);
        bytes.extend_from_slice(b"\r\n");
        self.writer.write_all(&bytes).unwrap();
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "connection closed during {tag}");
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{tag} failed: {line}");
                return lines;
            }
            lines.push(line);
        }
    }
}

// ---------------------------------------------------------------------------------
// The tests of tete::inbox
// ---------------------------------------------------------------------------------

/// A small message, CRLF throughout (as IMAP hands it back).
fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Ann <ann@example.org>\r\nTo: briefs@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nDone, see notes.\r\n"
    )
    .into_bytes()
}

async fn connect(settings: &ImapSettings) -> Mailbox {
    match Mailbox::connect(settings).await {
        Ok(mailbox) => mailbox,
        Err(e) => panic!("connect: {e}"),
    }
}

#[tokio::test]
async fn tls_with_the_ca_file_lists_messages_above_the_watermark_without_reading_them() {
    let dovecot = Dovecot::start();
    for subject in ["one", "two", "three"] {
        dovecot.append("INBOX", &message(subject));
    }
    let mut mailbox = connect(&dovecot.settings()).await;
    assert_ne!(mailbox.uid_validity(), 0);
    assert!(mailbox.supports_idle());

    let all = mailbox.new_messages(0, 1 << 20, 10).await.unwrap();
    let uids: Vec<u32> = all.iter().map(|m| m.uid).collect();
    assert_eq!(uids.len(), 3, "{all:?}");
    assert!(
        uids.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {uids:?}"
    );
    assert_eq!(all[0].raw.as_deref(), Some(&message("one")[..]));
    assert_eq!(all[2].size as usize, message("three").len());

    let after_first = mailbox.new_messages(uids[0], 1 << 20, 10).await.unwrap();
    assert_eq!(
        after_first.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids[1..]
    );
    // `UID n:*` above the highest UID still names the highest: filtered out.
    assert!(
        mailbox
            .new_messages(uids[2], 1 << 20, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let capped = mailbox.new_messages(0, 1 << 20, 2).await.unwrap();
    assert_eq!(capped.iter().map(|m| m.uid).collect::<Vec<_>>(), uids[..2]);

    // BODY.PEEK[]: downloading set no flag.
    let flags = dovecot.flags("INBOX");
    assert!(
        flags.iter().all(|(_, f)| !f.iter().any(|f| f == "\\Seen")),
        "{flags:?}"
    );
    mailbox.logout().await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_tls_error() {
    let dovecot = Dovecot::start();
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _) = certificate(other.path(), "other", None);
    for ca_file in [None, Some(other_ca)] {
        let settings = ImapSettings {
            ca_file,
            ..dovecot.settings()
        };
        let err = Mailbox::connect(&settings).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, InboxError::Tls { .. }), "{err:?}");
        assert!(
            text.contains("localhost") && text.contains("certificate"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_that_does_not_repeat_it() {
    let dovecot = Dovecot::start();
    let secret = "wrong-Pa55word-do-not-print";
    let settings = ImapSettings {
        auth: ImapAuth::Password(secret.into()),
        ..dovecot.settings()
    };
    let err = Mailbox::connect(&settings).await.unwrap_err();
    assert!(matches!(err, InboxError::Auth { .. }), "{err:?}");
    let (text, debug) = (err.to_string(), format!("{err:?} {settings:?}"));
    assert!(text.contains("tete"), "names the user: {text}");
    assert!(
        !text.contains(secret) && !debug.contains(secret),
        "{text} / {debug}"
    );
}

#[tokio::test]
async fn starttls_and_loopback_plaintext_reach_the_same_mailbox() {
    let dovecot = Dovecot::start();
    dovecot.append("INBOX", &message("plain"));
    for security in [ImapSecurity::StartTls, ImapSecurity::None] {
        let settings = ImapSettings {
            host: "127.0.0.1".into(),
            port: dovecot.plain_port,
            security,
            ..dovecot.settings()
        };
        let mut mailbox = connect(&settings).await;
        let got = mailbox.new_messages(0, 1 << 20, 10).await.unwrap();
        assert_eq!(got.len(), 1, "{security:?}: {got:?}");
        mailbox.logout().await;
    }
}

#[tokio::test]
async fn an_oversize_message_is_listed_without_its_body() {
    let dovecot = Dovecot::start();
    dovecot.append("INBOX", &message("small"));
    let mut big = message("big");
    big.extend(b"0123456789abcdef\r\n".repeat(1000));
    dovecot.append("INBOX", &big);
    let mut mailbox = connect(&dovecot.settings()).await;
    let got = mailbox.new_messages(0, 4096, 10).await.unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].raw.is_some());
    assert_eq!(got[1].raw, None);
    assert_eq!(got[1].size as usize, big.len());
}

#[tokio::test]
async fn marks_set_seen_or_flagged_and_the_messages_stay() {
    let dovecot = Dovecot::start();
    dovecot.append("INBOX", &message("handled"));
    dovecot.append("INBOX", &message("broken"));
    let mut mailbox = connect(&dovecot.settings()).await;
    let got = mailbox.new_messages(0, 1 << 20, 10).await.unwrap();
    mailbox.mark(got[0].uid, Mark::Processed).await.unwrap();
    mailbox.mark(got[1].uid, Mark::Failed).await.unwrap();
    let flags = dovecot.flags("INBOX");
    assert_eq!(flags.len(), 2, "both messages stay: {flags:?}");
    assert_eq!(flags[0], (got[0].uid, vec!["\\Seen".to_string()]));
    assert_eq!(flags[1], (got[1].uid, vec!["\\Flagged".to_string()]));
}

#[tokio::test]
async fn wait_wakes_on_an_append_and_times_out_otherwise() {
    let dovecot = Dovecot::start();
    let mut mailbox = connect(&dovecot.settings()).await;

    let started = Instant::now();
    assert!(!mailbox.wait(Duration::from_secs(2)).await.unwrap());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );

    let started = Instant::now();
    let waiter = tokio::spawn(async move {
        let news = mailbox.wait(Duration::from_secs(20)).await;
        (mailbox, news)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    dovecot.append("INBOX", &message("wake"));
    let (mut mailbox, news) = waiter.await.unwrap();
    assert!(news.unwrap(), "IDLE reported the new message");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The session is usable after DONE.
    let got = mailbox.new_messages(0, 1 << 20, 10).await.unwrap();
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn without_idle_wait_sleeps_then_polls() {
    // Dovecot's capability list without IDLE: tete must fall back to NOOP.
    let dovecot = Dovecot::start_with("imap_capability = IMAP4rev1 LITERAL+ UIDPLUS");
    let mut mailbox = connect(&dovecot.settings()).await;
    assert!(!mailbox.supports_idle());
    assert!(!mailbox.wait(Duration::from_millis(500)).await.unwrap());
    dovecot.append("INBOX", &message("polled"));
    let started = Instant::now();
    assert!(mailbox.wait(Duration::from_secs(1)).await.unwrap());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_message_appended_twice_has_two_uids() {
    let dovecot = Dovecot::start();
    let twice = message("twice");
    dovecot.append("INBOX", &twice);
    dovecot.append("INBOX", &twice);
    let mut mailbox = connect(&dovecot.settings()).await;
    let got = mailbox.new_messages(0, 1 << 20, 10).await.unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_ne!(got[0].uid, got[1].uid);
    assert_eq!(got[0].raw, got[1].raw);
}

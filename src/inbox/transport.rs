//! The byte stream under the IMAP session: TCP, optionally TLS, with a read budget.
//!
//! async-imap buffers a response until it parses, up to 512 MiB. A hostile or broken
//! server could make tete hold that much, so every command gets a budget of bytes it may
//! read, set by [`Budget::set`] before the command; reading past it fails the command
//! with an I/O error instead of growing the buffer.

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::InboxError;

/// How many more bytes the current command may read from the server (shared between
/// the [`Mailbox`](super::Mailbox), which sets it, and the stream, which spends it).
#[derive(Debug, Clone, Default)]
pub(super) struct Budget(Arc<AtomicU64>);

impl Budget {
    /// Allows the next command to read `bytes` bytes.
    pub(super) fn set(&self, bytes: u64) {
        self.0.store(bytes, Ordering::Relaxed);
    }

    /// Takes `n` bytes from the budget; false when it had fewer.
    fn spend(&self, n: u64) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .is_ok()
    }
}

/// Plain TCP (STARTTLS before the upgrade, or `ImapSecurity::None`) or TLS over TCP.
enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The stream async-imap talks over.
pub(super) struct Conn {
    inner: Inner,
    budget: Budget,
}

// async-imap wants `Debug` on its stream; the TLS state has nothing useful to show.
impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Plain(_) => "plain",
            Inner::Tls(_) => "tls",
        };
        f.debug_struct("Conn").field("kind", &kind).finish()
    }
}

impl Conn {
    /// A plain TCP stream spending from `budget`.
    pub(super) fn plain(tcp: TcpStream, budget: Budget) -> Conn {
        Conn {
            inner: Inner::Plain(tcp),
            budget,
        }
    }

    /// Runs the TLS handshake over this (plain) stream and returns the secured one.
    pub(super) async fn upgrade(
        self,
        connector: &TlsConnector,
        host: &str,
    ) -> Result<Conn, InboxError> {
        let tcp = match self.inner {
            Inner::Plain(tcp) => tcp,
            Inner::Tls(_) => {
                return Err(InboxError::Tls {
                    host: host.to_string(),
                    reason: "the connection is secured already".into(),
                });
            }
        };
        let name = server_name(host)?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| InboxError::Tls {
                host: host.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Conn {
            inner: Inner::Tls(Box::new(tls)),
            budget: self.budget,
        })
    }
}

/// The name the server's certificate must carry: a DNS name or an IP address.
fn server_name(host: &str) -> Result<ServerName<'static>, InboxError> {
    ServerName::try_from(host.to_string()).map_err(|_| InboxError::Tls {
        host: host.to_string(),
        reason: "not a valid DNS name or IP address for certificate checks".into(),
    })
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if let Poll::Ready(Ok(())) = polled {
            let read = (buf.filled().len() - before) as u64;
            if !this.budget.spend(read) {
                return Poll::Ready(Err(io::Error::other(
                    "the server sent more data than this command allows",
                )));
            }
        }
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TLS client trusting webpki-roots plus the certificates of `ca_file`.
///
/// The ring provider is named here rather than taken from the process default, so this
/// works whether or not anything installed a default provider.
pub(super) fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, InboxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in load_pem_certs(path)? {
            roots.add(cert).map_err(|e| InboxError::CaFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InboxError::Protocol {
            command: "TLS setup",
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Every certificate in the PEM file at `path`; an error naming the file when it cannot
/// be read, is not PEM, or holds no certificate (a key alone would trust nothing).
pub(super) fn load_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, InboxError> {
    let error = |reason: String| InboxError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| error(e.to_string()))?;
    let certs = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no PEM certificate in it".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_is_an_error_naming_it() {
        let err = load_pem_certs(Path::new("/nonexistent/tete-ca.pem")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/tete-ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_certificates_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = load_pem_certs(&path).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("empty.pem") && text.contains("no PEM"),
            "{text}"
        );
    }

    #[test]
    fn the_budget_refuses_what_it_does_not_have() {
        let budget = Budget::default();
        budget.set(10);
        assert!(budget.spend(6));
        assert!(!budget.spend(5));
        assert!(budget.spend(4));
        assert!(!budget.spend(1));
    }

    #[test]
    fn ip_addresses_and_names_are_server_names() {
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("imap.example.org").is_ok());
        assert!(server_name("not a host").is_err());
    }
}

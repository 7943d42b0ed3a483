//! The org credentials themselves: a Google service account key file and a
//! Microsoft app's secret or certificate, where their files are, and the assertions
//! they sign. No network and no store here (see the parent module).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

use crate::auth::AuthError;
use crate::auth::jwt::{AssertionHeader, SigningKey, certificate_thumbprint};
use crate::auth::tokens::Secret;

/// The grant type of RFC 7523 (JWT bearer assertion), Google's service accounts.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The client assertion type of RFC 7523, Microsoft's certificate credentials.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Google's service account token endpoint (the key file's `token_uri`).
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google: read every calendar of the person acted as.
pub const GOOGLE_CALENDAR_SCOPE: &str = crate::auth::google::CALENDAR_SCOPE;
/// Google: SMTP XOAUTH2 for the sending mailbox.
pub const GOOGLE_MAIL_SCOPE: &str = crate::auth::google::MAIL_SCOPE;
/// Microsoft Graph with the app's application permissions.
pub const GRAPH_APP_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Exchange Online SMTP with `SMTP.SendAsApp`.
pub const EXCHANGE_APP_SCOPE: &str = "https://outlook.office365.com/.default";
/// Lifetime of a Google assertion: Google refuses more than an hour.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
/// Lifetime of a Microsoft client assertion (the platform takes up to ten minutes).
pub const CLIENT_ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// A Google service account key (the JSON key file of the Cloud console).
#[derive(Clone, Debug)]
pub struct ServiceAccount {
    /// `client_email`: the assertion's `iss`.
    pub client_email: String,
    /// `private_key_id`: the assertion's `kid`.
    pub private_key_id: String,
    key: SigningKey,
    /// Where assertions are redeemed (`token_uri`, or the override).
    pub token_url: Url,
}

/// The fields of a key file tete reads.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Reads a JSON key file; `token_url` overrides its `token_uri` (tests, proxies).
    pub fn from_file(path: &Path, token_url: Option<&str>) -> Result<ServiceAccount, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::File {
            what: "service account key",
            path: path.to_path_buf(),
            source,
        })?;
        ServiceAccount::from_json(&text, &path.display().to_string(), token_url)
    }

    /// Reads the text of a key file; `origin` names it in errors.
    pub fn from_json(
        text: &str,
        origin: &str,
        token_url: Option<&str>,
    ) -> Result<ServiceAccount, AuthError> {
        let bad = |what: String| AuthError::Config(format!("service account key {origin}: {what}"));
        let file: KeyFile = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "not a JSON key file (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if file.kind.as_deref() != Some("service_account") {
            return Err(bad(format!(
                "field \"type\" is {}, expected \"service_account\"",
                file.kind.map_or("missing".into(), |k| format!("\"{k}\""))
            )));
        }
        let field = |value: Option<String>, name: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| bad(format!("field \"{name}\" is missing or empty")))
        };
        let client_email = field(file.client_email, "client_email")?;
        let private_key_id = field(file.private_key_id, "private_key_id")?;
        let pem = field(file.private_key, "private_key")?;
        let key =
            SigningKey::from_pem(&pem).map_err(|e| bad(format!("field \"private_key\": {e}")))?;
        let token_uri = file.token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URL.into());
        let url_text = token_url.unwrap_or(&token_uri);
        let token_url =
            Url::parse(url_text).map_err(|e| bad(format!("token URL {url_text}: {e}")))?;
        Ok(ServiceAccount {
            client_email,
            private_key_id,
            key,
            token_url,
        })
    }

    /// The signed assertion acting as `subject` with `scopes`, issued at `now`.
    pub fn assertion(
        &self,
        subject: &str,
        scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<Secret, String> {
        let iat = now.timestamp();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": scopes.join(" "),
            "aud": self.token_url.as_str(),
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs() as i64,
        });
        let header = AssertionHeader {
            kid: Some(self.private_key_id.clone()),
            x5t_s256: None,
        };
        self.key.sign(header, &claims)
    }
}

/// How a Microsoft app proves who it is.
#[derive(Clone, Debug)]
pub enum AppSecret {
    /// A client secret (from a file).
    Secret(Secret),
    /// A certificate's private key and the certificate's SHA-256 thumbprint.
    Certificate {
        /// Signs the client assertion.
        key: SigningKey,
        /// `x5t#S256`.
        thumbprint: String,
    },
}

/// A Microsoft Entra app registration with application permissions.
#[derive(Clone, Debug)]
pub struct AppCredential {
    /// The tenant id or domain.
    pub tenant: String,
    /// The application (client) id.
    pub client_id: String,
    /// The secret or certificate.
    pub secret: AppSecret,
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`, or the override.
    pub token_url: Url,
}

impl AppCredential {
    /// An app authenticated by the client secret in `path` (the bare secret).
    pub fn with_secret_file(
        tenant: &str,
        client_id: &str,
        path: &Path,
        token_url: Option<&str>,
    ) -> Result<AppCredential, AuthError> {
        let text = read(path, "client secret")?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(AuthError::Config(format!(
                "client secret file {} is empty",
                path.display()
            )));
        }
        AppCredential::new(
            tenant,
            client_id,
            AppSecret::Secret(Secret::new(secret)),
            token_url,
        )
    }

    /// An app authenticated by a certificate: `path` is a PEM file holding the
    /// certificate (uploaded to the app registration) and its private key.
    pub fn with_certificate_file(
        tenant: &str,
        client_id: &str,
        path: &Path,
        token_url: Option<&str>,
    ) -> Result<AppCredential, AuthError> {
        let text = read(path, "certificate")?;
        let bad = |what: String| {
            AuthError::Config(format!("certificate file {}: {what}", path.display()))
        };
        let thumbprint = certificate_thumbprint(&text).map_err(bad)?;
        let key = SigningKey::from_pem(&text).map_err(bad)?;
        AppCredential::new(
            tenant,
            client_id,
            AppSecret::Certificate { key, thumbprint },
            token_url,
        )
    }

    fn new(
        tenant: &str,
        client_id: &str,
        secret: AppSecret,
        token_url: Option<&str>,
    ) -> Result<AppCredential, AuthError> {
        if tenant.trim().is_empty() || client_id.trim().is_empty() {
            return Err(AuthError::Config(
                "a Microsoft org needs a tenant and a client id".into(),
            ));
        }
        let text = match token_url {
            Some(url) => url.to_string(),
            None => format!(
                "{}/{tenant}/oauth2/v2.0/token",
                crate::auth::microsoft::AUTHORITY
            ),
        };
        let token_url =
            Url::parse(&text).map_err(|e| AuthError::Config(format!("token URL {text}: {e}")))?;
        Ok(AppCredential {
            tenant: tenant.to_string(),
            client_id: client_id.to_string(),
            secret,
            token_url,
        })
    }

    /// The form of a client credentials request for `scope`.
    pub(crate) fn form(
        &self,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(&'static str, Secret)>, String> {
        let mut form = vec![
            ("grant_type", Secret::new("client_credentials")),
            ("client_id", Secret::new(self.client_id.clone())),
            ("scope", Secret::new(scope)),
        ];
        match &self.secret {
            AppSecret::Secret(secret) => form.push(("client_secret", secret.clone())),
            AppSecret::Certificate { key, thumbprint } => {
                let now_s = now.timestamp();
                let claims = serde_json::json!({
                    "aud": self.token_url.as_str(),
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "jti": unique_id(),
                    "nbf": now_s,
                    "iat": now_s,
                    "exp": now_s + CLIENT_ASSERTION_LIFETIME.as_secs() as i64,
                });
                let header = AssertionHeader {
                    kid: None,
                    x5t_s256: Some(thumbprint.clone()),
                };
                form.push(("client_assertion_type", Secret::new(CLIENT_ASSERTION_TYPE)));
                form.push(("client_assertion", key.sign(header, &claims)?));
            }
        }
        Ok(form)
    }
}

/// Where an org's credential file is: `configured` if given, else the systemd
/// credential `<org>-<name>` (`LoadCredential=`), e.g. `corp-google-key`,
/// `corp-client-secret`, `corp-certificate`.
pub fn credential_path(
    org: &str,
    name: &str,
    configured: Option<&Path>,
) -> Result<PathBuf, AuthError> {
    if let Some(path) = configured {
        return Ok(path.to_path_buf());
    }
    let credential = format!("{org}-{name}");
    crate::auth::tokens::credentials_file(&credential).ok_or_else(|| {
        AuthError::Config(format!(
            "org '{org}' names no {name} file and systemd passed no credential '{credential}'"
        ))
    })
}

fn read(path: &Path, what: &'static str) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|source| AuthError::File {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// A random 128-bit id, hex (the `jti` of a client assertion).
fn unique_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which org credential.
#[derive(Clone, Debug)]
pub enum OrgKey {
    /// Google Workspace: a service account with domain-wide delegation.
    Google(ServiceAccount),
    /// Microsoft 365: an app with application permissions.
    Microsoft(AppCredential),
}

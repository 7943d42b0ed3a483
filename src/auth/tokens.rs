//! Secrets in memory and at rest: a redacting wrapper, the token key, sealing.
//!
//! Refresh tokens are the keys to someone's calendar; when a key file is configured
//! they are sealed with XChaCha20-Poly1305 before they reach the store. The account
//! name and the field name are the associated data, so a sealed token copied onto
//! another account (or from the access slot to the refresh slot) fails to open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use std::path::{Path, PathBuf};

use super::AuthError;
use crate::store::StoredSecret;

/// The longest an access token is taken to live, whatever its token endpoint says:
/// real ones live an hour or so, and an answer of `"expires_in": 18446744073709551615`
/// must not overflow the date arithmetic.
pub const MAX_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// When an access token issued at `now` with `lifetime` (the answer's `expires_in`)
/// expires, the lifetime capped at [`MAX_TOKEN_LIFETIME`].
pub fn expiry(
    now: chrono::DateTime<chrono::Utc>,
    lifetime: std::time::Duration,
) -> chrono::DateTime<chrono::Utc> {
    let capped = chrono::TimeDelta::from_std(lifetime.min(MAX_TOKEN_LIFETIME)).unwrap_or_default();
    now.checked_add_signed(capped).unwrap_or(now)
}

/// A secret string (token, client secret). `Debug` and `Display` print `<redacted>`;
/// read it with [`Secret::expose`] only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The 32-byte key that seals tokens at rest.
#[derive(Clone)]
pub struct TokenKey(chacha20poly1305::Key);

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// The file name of the token key inside `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
pub const TOKEN_KEY_CREDENTIAL: &str = "token-key";

impl TokenKey {
    /// Builds a key from its file contents: 32 raw bytes, or 64 hex digits, or 44
    /// base64 characters (surrounding whitespace ignored), so `head -c32 /dev/urandom`,
    /// `openssl rand -hex 32` and `openssl rand -base64 32` all make one.
    pub fn from_bytes(bytes: &[u8]) -> Result<TokenKey, AuthError> {
        let text = std::str::from_utf8(bytes).map(str::trim).ok();
        let raw: Vec<u8> = if bytes.len() == 32 {
            bytes.to_vec()
        } else if let Some(text) = text.filter(|t| t.len() == 64) {
            decode_hex(text).ok_or_else(|| AuthError::TokenKey("not valid hex".into()))?
        } else if let Some(text) = text.filter(|t| t.len() == 44) {
            STANDARD
                .decode(text)
                .map_err(|_| AuthError::TokenKey("not valid base64".into()))?
        } else {
            return Err(AuthError::TokenKey(
                "expected 32 bytes, 64 hex digits or 44 base64 characters".into(),
            ));
        };
        if raw.len() != 32 {
            return Err(AuthError::TokenKey("the key must be 32 bytes".into()));
        }
        Ok(TokenKey(*chacha20poly1305::Key::from_slice(&raw)))
    }

    /// Reads a key file.
    pub fn from_file(path: &Path) -> Result<TokenKey, AuthError> {
        let bytes = std::fs::read(path).map_err(|source| AuthError::File {
            what: "token key",
            path: path.to_path_buf(),
            source,
        })?;
        TokenKey::from_bytes(&bytes)
    }

    /// The key tete should use: `configured` (the account's `token_key_file`) if
    /// given, else `$CREDENTIALS_DIRECTORY/token-key` if that file exists, else none
    /// (tokens are then stored unsealed, protected only by the state directory's 0700).
    pub fn locate(configured: Option<&Path>) -> Result<Option<TokenKey>, AuthError> {
        if let Some(path) = configured {
            return TokenKey::from_file(path).map(Some);
        }
        match credentials_file(TOKEN_KEY_CREDENTIAL) {
            Some(path) => TokenKey::from_file(&path).map(Some),
            None => Ok(None),
        }
    }

    /// Seals a secret for `account`'s `field` slot.
    pub fn seal(&self, account: &str, field: &str, secret: &Secret) -> StoredSecret {
        let cipher = XChaCha20Poly1305::new(&self.0);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(account, field);
        // Encryption with a valid key and an in-memory buffer cannot fail.
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        StoredSecret::Sealed {
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        }
    }

    fn open(&self, account: &str, field: &str, nonce: &str, ciphertext: &str) -> Option<Secret> {
        let nonce = STANDARD.decode(nonce).ok().filter(|n| n.len() == 24)?;
        let ciphertext = STANDARD.decode(ciphertext).ok()?;
        let cipher = XChaCha20Poly1305::new(&self.0);
        let aad = associated_data(account, field);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok().map(Secret)
    }
}

/// Prepares a secret for the store: sealed with `key` when there is one.
pub fn seal(key: Option<&TokenKey>, account: &str, field: &str, secret: &Secret) -> StoredSecret {
    match key {
        Some(key) => key.seal(account, field, secret),
        None => StoredSecret::Plain(secret.expose().to_string()),
    }
}

/// Reads a secret from the store. A plain secret is accepted even when a key is now
/// configured (it is sealed on the next save); a sealed one needs the right key.
pub fn unseal(
    key: Option<&TokenKey>,
    account: &str,
    field: &str,
    stored: &StoredSecret,
) -> Result<Secret, AuthError> {
    match (stored, key) {
        (StoredSecret::Plain(value), _) => Ok(Secret::new(value.clone())),
        (StoredSecret::Sealed { .. }, None) => Err(AuthError::TokenKey(format!(
            "the stored {field} of account '{account}' is encrypted but no token key is configured"
        ))),
        (StoredSecret::Sealed { nonce, ciphertext }, Some(key)) => {
            key.open(account, field, nonce, ciphertext).ok_or_else(|| {
                AuthError::TokenKey(format!(
                    "the stored {field} of account '{account}' does not open with the configured token key"
                ))
            })
        }
    }
}

/// `$CREDENTIALS_DIRECTORY/<name>` when systemd passed such a credential.
pub fn credentials_file(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty())?;
    let path = PathBuf::from(dir).join(name);
    path.is_file().then_some(path)
}

fn associated_data(account: &str, field: &str) -> Vec<u8> {
    format!("tete-token-v1\0{account}\0{field}").into_bytes()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_token_lifetime_is_capped_instead_of_overflowing() {
        let now = chrono::Utc::now();
        assert_eq!(
            expiry(now, std::time::Duration::from_secs(u64::MAX)),
            now + chrono::TimeDelta::hours(24)
        );
        assert_eq!(
            expiry(now, std::time::Duration::from_secs(3599)),
            now + chrono::TimeDelta::seconds(3599)
        );
        assert_eq!(
            expiry(chrono::DateTime::<chrono::Utc>::MAX_UTC, MAX_TOKEN_LIFETIME),
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        );
    }

    fn key() -> TokenKey {
        TokenKey::from_bytes(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            .unwrap()
    }

    #[test]
    fn sealed_tokens_open_only_for_their_account_and_field() {
        let key = key();
        let secret = Secret::new("1//refresh-token-value");
        let sealed = seal(Some(&key), "work", "refresh_token", &secret);
        let StoredSecret::Sealed { ciphertext, .. } = &sealed else {
            panic!("not sealed")
        };
        assert!(!ciphertext.contains("refresh-token-value"));
        let opened = unseal(Some(&key), "work", "refresh_token", &sealed).unwrap();
        assert_eq!(opened, secret);
        assert!(unseal(Some(&key), "home", "refresh_token", &sealed).is_err());
        assert!(unseal(Some(&key), "work", "access_token", &sealed).is_err());
        assert!(unseal(None, "work", "refresh_token", &sealed).is_err());
    }

    #[test]
    fn key_files_may_be_raw_hex_or_base64() {
        assert!(TokenKey::from_bytes(&[7u8; 32]).is_ok());
        assert!(TokenKey::from_bytes(STANDARD.encode([7u8; 32]).as_bytes()).is_ok());
        assert!(TokenKey::from_bytes(b"short").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("ya29.very-secret");
        assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
    }
}

//! RS256 assertions for org credentials (RFC 7523): the JWT a Google service account
//! signs for each person it acts as, and the client assertion of a Microsoft app
//! with a certificate. The private key lives only inside [`SigningKey`], whose
//! `Debug` is redacted and whose errors never quote the key.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Secret;

/// An RSA private key that signs assertions.
#[derive(Clone)]
pub struct SigningKey(EncodingKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Reads the first RSA private key of a PEM text (PKCS#8 `PRIVATE KEY` or PKCS#1
    /// `RSA PRIVATE KEY`). The error says what is wrong, never what the key is.
    pub fn from_pem(pem: &str) -> Result<SigningKey, String> {
        let block = ["PRIVATE KEY", "RSA PRIVATE KEY"]
            .iter()
            .find_map(|label| pem_text(pem, label))
            .ok_or("no PEM private key (-----BEGIN PRIVATE KEY-----) found")?;
        let key = EncodingKey::from_rsa_pem(block.as_bytes())
            .map_err(|_| "the private key is not a readable RSA key".to_string())?;
        // Sign once now, so a key that parses but cannot sign fails at load time
        // rather than at the first token request.
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &serde_json::json!({}), &key)
            .map_err(|_| "the private key cannot sign RS256".to_string())?;
        Ok(SigningKey(key))
    }

    /// `header.payload.signature` of `claims`, RS256, with the given header fields.
    pub fn sign(&self, header: AssertionHeader, claims: &impl Serialize) -> Result<Secret, String> {
        let mut jwt_header = Header::new(Algorithm::RS256);
        jwt_header.kid = header.kid;
        jwt_header.x5t_s256 = header.x5t_s256;
        jsonwebtoken::encode(&jwt_header, claims, &self.0)
            .map(Secret::new)
            .map_err(|e| format!("cannot sign the assertion: {}", e.kind_name()))
    }
}

/// The header fields an assertion may carry besides `alg` and `typ`.
#[derive(Clone, Debug, Default)]
pub struct AssertionHeader {
    /// Google: the key's `private_key_id`.
    pub kid: Option<String>,
    /// Microsoft: the certificate's SHA-256 thumbprint, base64url.
    pub x5t_s256: Option<String>,
}

/// The name of a jsonwebtoken error kind, without any key material.
trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> String {
        // The kinds are unit-like descriptions ("InvalidRsaKey", ...), never key bytes.
        let text = format!("{:?}", self.kind());
        text.chars().take_while(|c| c.is_alphanumeric()).collect()
    }
}

/// The base64url SHA-256 of the first certificate's DER in a PEM text: the
/// `x5t#S256` header Microsoft's identity platform matches against the uploaded
/// certificate.
pub fn certificate_thumbprint(pem: &str) -> Result<String, String> {
    let der = pem_der(pem, "CERTIFICATE")
        .ok_or("no PEM certificate (-----BEGIN CERTIFICATE-----) found")?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)))
}

/// The whole PEM block labelled `label` (BEGIN line to END line), if any.
fn pem_text(pem: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let stop = pem[start..].find(&end)? + start + end.len();
    Some(pem[start..stop].to_string())
}

/// The DER bytes of the PEM block labelled `label`.
fn pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let block = pem_text(pem, label)?;
    let body: String = block
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.trim().chars())
        .collect();
    STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_not_keys_are_refused_without_echoing_them() {
        let error = SigningKey::from_pem("secret-looking garbage").unwrap_err();
        assert!(!error.contains("garbage"), "{error}");
        let error = SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(error.contains("not a readable RSA key"), "{error}");
        assert!(!error.contains("bm90IGEga2V5"), "{error}");
    }

    #[test]
    fn the_thumbprint_is_the_sha256_of_the_certificate_der() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest([0u8, 1, 2, 3]));
        assert_eq!(certificate_thumbprint(pem).unwrap(), expected);
        assert!(certificate_thumbprint("no certificate").is_err());
    }
}

//! OAuth sign-in and token refresh.
//!
//! - [`loopback`]: the installed-app sign-in (authorization code + PKCE, a loopback
//!   redirect on 127.0.0.1, or the redirected address pasted back on a headless box).
//! - [`tokens`]: secrets in memory and at rest (redaction, the token key, sealing).
//! - [`token_source`]: [`token_source::TokenSource`], one account's tokens for any
//!   provider (cache, refresh ahead of expiry, rotation, "needs sign-in"), over a
//!   provider's [`token_source::TokenEndpoint`].
//! - [`google`]: Google's endpoints and scopes, the client secret, and its endpoint.
//! - [`microsoft`]: Microsoft's endpoints and scopes, the device sign-in, and its endpoint.
//! - [`org`]: org credentials (Google service account, Microsoft app) that act for
//!   many people without their sign-in; [`jwt`] signs their assertions.

pub mod credentials;
pub mod device;
pub mod google;
pub mod jwt;
pub mod loopback;
pub mod microsoft;
pub mod org;
pub mod token_source;
pub mod tokens;

pub use credentials::{Credentials, ProviderError, error_chain};
pub use tokens::{Secret, TokenKey};

use std::path::PathBuf;

use crate::store::StoreError;

/// What can go wrong signing in or handling tokens. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The account's configuration is incomplete or wrong.
    #[error("{0}")]
    Config(String),
    /// A secret file could not be read.
    #[error("cannot read the {what} file {path}: {source}")]
    File {
        /// Which file (`client secret`, `token key`).
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The token key is unusable, or does not open a stored token.
    #[error("token key: {0}")]
    TokenKey(String),
    /// The redirect's `state` is not the one tete sent: the address belongs to
    /// another sign-in attempt, or someone tried to inject a code.
    #[error(
        "the address's state does not match this sign-in; paste the address of the page this sign-in opened"
    )]
    StateMismatch,
    /// The pasted text is not a redirect address with a code.
    #[error("not a sign-in address: {0}")]
    BadRedirect(String),
    /// The provider (or the user) refused consent.
    #[error("sign-in refused: {0}")]
    Denied(String),
    /// Nobody completed the sign-in in time.
    #[error("sign-in timed out after {0:?}")]
    TimedOut(std::time::Duration),
    /// The token endpoint refused or failed.
    #[error("token request failed: {0}")]
    Exchange(String),
    /// The account must sign in again (`tete auth <account>`): its refresh token is
    /// dead, or the API refused a freshly refreshed access token.
    #[error("account needs sign-in: run `tete auth {account}` ({detail})")]
    NeedsSignIn {
        /// The account name.
        account: String,
        /// Why, without secrets.
        detail: String,
    },
    /// An org's credential itself was refused (key deleted or disabled, secret
    /// expired, consent revoked, delegation missing): an admin must fix it.
    #[error(
        "org '{org}': its credential was refused, an admin must fix it (see docs/org-admin.md): {detail}"
    )]
    OrgNeedsAttention {
        /// The org name.
        org: String,
        /// The provider's reason, without secrets.
        detail: String,
    },
    /// An org's credential works, but not for this person (unknown or suspended
    /// user, a mailbox outside the app's scope).
    #[error("org '{org}' cannot act for {person}: {detail}")]
    PersonRefused {
        /// The org name.
        org: String,
        /// The person acted as.
        person: String,
        /// The provider's reason, without secrets.
        detail: String,
    },
    /// The token endpoint failed for now (network, 5xx, an unreadable answer): retry later.
    #[error("{what}: temporary failure: {detail}")]
    Unavailable {
        /// Which endpoint, of which account.
        what: String,
        /// What happened.
        detail: String,
    },
    /// The token endpoint refused the request for a reason retrying will not fix.
    #[error("{what}: {detail}")]
    Refused {
        /// Which endpoint, of which account.
        what: String,
        /// The endpoint's error code and description.
        detail: String,
    },
    /// An account's stored tokens could not be read or written.
    #[error("tokens of account '{account}': {source}")]
    Tokens {
        /// The account name.
        account: String,
        /// What failed: the store, or the token key.
        #[source]
        source: Box<AuthError>,
    },
    /// The token endpoint returned no refresh token (offline access not granted).
    #[error(
        "the provider returned no refresh token; revoke tete's access in the account's security settings and sign in again"
    )]
    NoRefreshToken,
    /// Local I/O (the loopback listener, the terminal).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

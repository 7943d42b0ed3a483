//! OAuth tokens and account sign-in state, per account.
//!
//! The store keeps what `auth/` hands it: secrets arrive already sealed (or
//! deliberately plain when no key is configured), so this module never sees a key.
//! Keys: `token \0 <account>` holds a [`TokenRecord`], `state \0 <account>` an
//! [`AccountState`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::{Store, StoreError, decode, encode};

const TREE: &str = "tokens";

/// A secret as kept at rest: plain, or sealed with an AEAD by `auth::tokens`.
/// `Debug` never shows the contents.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredSecret {
    /// Kept as is: no token key is configured.
    Plain(String),
    /// XChaCha20-Poly1305 ciphertext, base64 (standard alphabet) with its nonce.
    Sealed {
        /// The 24-byte nonce, base64.
        nonce: String,
        /// Ciphertext and tag, base64.
        ciphertext: String,
    },
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredSecret::Plain(_) => f.write_str("Plain(<redacted>)"),
            StoredSecret::Sealed { .. } => f.write_str("Sealed(<redacted>)"),
        }
    }
}

/// The tokens of one signed-in account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// `google` or `microsoft`.
    pub provider: String,
    /// The long-lived refresh token.
    pub refresh_token: StoredSecret,
    /// When the provider issued the refresh token (its lifetime counts from here).
    pub refresh_issued_at: DateTime<Utc>,
    /// The last access token, so a new process need not refresh at once.
    pub access_token: Option<StoredSecret>,
    /// When `access_token` stops working.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// The scopes that were granted.
    pub scopes: Vec<String>,
}

/// Why and since when an account cannot sync until someone runs `tete auth`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInNeeded {
    /// When tete found out.
    pub since: DateTime<Utc>,
    /// The provider's reason, without secrets (e.g. `invalid_grant: Token has been expired or revoked.`).
    pub reason: String,
}

/// What `tete status` shows about an account's sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// When the account last signed in through `tete auth`.
    pub signed_in_at: Option<DateTime<Utc>>,
    /// When the current refresh token was issued.
    pub refresh_issued_at: Option<DateTime<Utc>>,
    /// Set when the refresh token stopped working; cleared by the next sign-in.
    pub needs_sign_in: Option<SignInNeeded>,
    /// The account's own address as the provider reports it (Google: the primary
    /// calendar's id), learned at sign-in or on the first sync.
    pub owner: Option<String>,
}

fn key(kind: &str, account: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(kind.len() + account.len() + 1);
    key.extend_from_slice(kind.as_bytes());
    key.push(0);
    key.extend_from_slice(account.as_bytes());
    key
}

impl Store {
    /// Stores an account's tokens. When the refresh token is newer than a recorded
    /// "needs sign-in", that mark is cleared: the account signed in again.
    pub fn save_token(&self, account: &str, record: &TokenRecord) -> Result<(), StoreError> {
        let mut state = self.account_state(account)?;
        if let Some(needed) = &state.needs_sign_in
            && record.refresh_issued_at > needed.since
        {
            state.needs_sign_in = None;
        }
        state.refresh_issued_at = Some(record.refresh_issued_at);
        let token = encode(TREE, record)?;
        let state = encode(TREE, &state)?;
        let mut batch = sled::Batch::default();
        batch.insert(key("token", account), token);
        batch.insert(key("state", account), state);
        self.trees.tokens.apply_batch(batch)?;
        Ok(())
    }

    /// Records a completed sign-in (after [`Store::save_token`]): clears any
    /// "needs sign-in" mark and remembers when.
    pub fn record_sign_in(&self, account: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut state = self.account_state(account)?;
        state.signed_in_at = Some(at);
        state.needs_sign_in = None;
        self.trees
            .tokens
            .insert(key("state", account), encode(TREE, &state)?)?;
        Ok(())
    }

    /// The stored tokens of an account, if it ever signed in.
    pub fn token(&self, account: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self.trees.tokens.get(key("token", account))? {
            Some(bytes) => Ok(Some(decode(TREE, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Marks an account as needing `tete auth <account>`, with when and why.
    pub fn mark_needs_sign_in(
        &self,
        account: &str,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.account_state(account)?;
        state.needs_sign_in = Some(SignInNeeded {
            since: at,
            reason: reason.to_string(),
        });
        self.trees
            .tokens
            .insert(key("state", account), encode(TREE, &state)?)?;
        Ok(())
    }

    /// Remembers the account's own address (Google: the primary calendar's id).
    pub fn set_account_owner(&self, account: &str, owner: &str) -> Result<(), StoreError> {
        let mut state = self.account_state(account)?;
        state.owner = Some(owner.to_string());
        self.trees
            .tokens
            .insert(key("state", account), encode(TREE, &state)?)?;
        Ok(())
    }

    /// The sign-in state of an account (default when it never signed in).
    pub fn account_state(&self, account: &str) -> Result<AccountState, StoreError> {
        match self.trees.tokens.get(key("state", account))? {
            Some(bytes) => decode(TREE, &bytes),
            None => Ok(AccountState::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap()
    }

    fn record(issued: DateTime<Utc>) -> TokenRecord {
        TokenRecord {
            provider: "google".into(),
            refresh_token: StoredSecret::Plain("1//refresh-secret".into()),
            refresh_issued_at: issued,
            access_token: None,
            access_expires_at: None,
            scopes: vec![],
        }
    }

    #[test]
    fn a_newer_refresh_token_clears_needs_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        store.save_token("work", &record(at(1))).unwrap();
        store
            .mark_needs_sign_in("work", at(2), "invalid_grant")
            .unwrap();
        // Saving the old refresh token again (an access-token refresh) keeps the mark.
        store.save_token("work", &record(at(1))).unwrap();
        assert!(store.account_state("work").unwrap().needs_sign_in.is_some());
        store.save_token("work", &record(at(3))).unwrap();
        let state = store.account_state("work").unwrap();
        assert_eq!(state.needs_sign_in, None);
        assert_eq!(state.refresh_issued_at, Some(at(3)));
        assert_eq!(
            store.account_state("home").unwrap(),
            AccountState::default()
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let text = format!("{:?}", record(at(1)));
        assert!(!text.contains("refresh-secret"), "{text}");
    }
}

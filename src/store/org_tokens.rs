//! Access tokens minted from an org credential, and the org's "needs attention" mark.
//!
//! An org credential (a Google service account, a Microsoft app) has no refresh
//! token: access tokens are minted from the credential itself. They are kept here so
//! that a new pass, or a restarted daemon, reuses them instead of asking again for
//! each of thousands of people. Keys (in the tokens tree): `org-token \0 <org> \0
//! <slot>` holds an [`OrgToken`] (a slot is one subject and scope set, or one tenant
//! and resource), `org-state \0 <org>` an [`OrgState`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tokens::StoredSecret;
use super::{Store, StoreError, decode, encode};

const TREE: &str = "tokens";

/// One access token minted from an org credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgToken {
    /// The access token, sealed by `auth::tokens` when a token key is configured.
    pub access_token: StoredSecret,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was minted (requests refused together share one fresh token).
    pub issued_at: DateTime<Utc>,
}

/// Why and since when an org's credential is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgAttention {
    /// When tete found out.
    pub since: DateTime<Utc>,
    /// The provider's reason, without secrets.
    pub reason: String,
    /// A fingerprint of the refused credential (not the credential): a new key or
    /// secret is tried at once instead of waiting out the retry interval.
    pub credential: String,
}

/// What `tete status` shows about an org's credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgState {
    /// Set when the provider refused the credential itself; cleared by the next
    /// token it grants.
    pub needs_attention: Option<OrgAttention>,
}

fn key(kind: &str, parts: &[&str]) -> Vec<u8> {
    let mut key = kind.as_bytes().to_vec();
    for part in parts {
        key.push(0);
        key.extend_from_slice(part.as_bytes());
    }
    key
}

impl Store {
    /// The stored token of an org's `slot`, if any.
    pub fn org_token(&self, org: &str, slot: &str) -> Result<Option<OrgToken>, StoreError> {
        match self.trees.tokens.get(key("org-token", &[org, slot]))? {
            Some(bytes) => Ok(Some(decode(TREE, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Stores a token minted for an org's `slot`, and clears the org's "needs
    /// attention" mark: the credential works again.
    pub fn save_org_token(
        &self,
        org: &str,
        slot: &str,
        token: &OrgToken,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.insert(key("org-token", &[org, slot]), encode(TREE, token)?);
        if self.org_state(org)?.needs_attention.is_some() {
            batch.insert(
                key("org-state", &[org]),
                encode(TREE, &OrgState::default())?,
            );
        }
        self.trees.tokens.apply_batch(batch)?;
        Ok(())
    }

    /// Marks an org's credential as refused, with when, why and which credential.
    pub fn mark_org_needs_attention(
        &self,
        org: &str,
        attention: &OrgAttention,
    ) -> Result<(), StoreError> {
        let state = OrgState {
            needs_attention: Some(attention.clone()),
        };
        self.trees
            .tokens
            .insert(key("org-state", &[org]), encode(TREE, &state)?)?;
        Ok(())
    }

    /// The state of an org's credential (default when nothing was ever refused).
    pub fn org_state(&self, org: &str) -> Result<OrgState, StoreError> {
        match self.trees.tokens.get(key("org-state", &[org]))? {
            Some(bytes) => decode(TREE, &bytes),
            None => Ok(OrgState::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn a_granted_token_clears_the_orgs_mark() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let now = Utc::now();
        let attention = OrgAttention {
            since: now,
            reason: "invalid_client".into(),
            credential: "abc".into(),
        };
        store.mark_org_needs_attention("acme", &attention).unwrap();
        assert_eq!(
            store.org_state("acme").unwrap().needs_attention,
            Some(attention)
        );
        assert_eq!(store.org_state("other").unwrap(), OrgState::default());
        let token = OrgToken {
            access_token: StoredSecret::Plain("t".into()),
            expires_at: now,
            issued_at: now,
        };
        store.save_org_token("acme", "a@x", &token).unwrap();
        assert_eq!(store.org_token("acme", "a@x").unwrap(), Some(token));
        assert_eq!(store.org_token("acme", "b@x").unwrap(), None);
        assert_eq!(store.org_state("acme").unwrap().needs_attention, None);
    }
}

//! OAuth tokens and account sign-in state, per account.

//! Integration tests: mail.

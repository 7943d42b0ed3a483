//! Integration tests: expand.

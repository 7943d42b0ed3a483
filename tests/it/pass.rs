//! Integration tests: pass.

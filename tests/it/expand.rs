//! Integration tests: `tete expand` on small fixtures.

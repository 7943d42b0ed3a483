//! SKELETON: to be written.

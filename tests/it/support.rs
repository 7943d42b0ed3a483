//! Helpers shared by the integration tests: temp dirs, fake servers, the binary.

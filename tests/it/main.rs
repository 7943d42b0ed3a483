//! The one integration-test binary (each extra binary costs a link and ~100 MB).

mod support;

mod check;
mod context;
mod corpus;
mod crash;
mod daemon;
mod expand;
mod fake_google;
mod fake_graph;
mod faults;
mod google;
mod hardening;
mod hostile;
mod mail;
mod microsoft;
mod pass;
mod store;
mod systemd;

//! The one integration-test binary (each extra binary costs a link and ~100 MB).

mod support;

mod architecture;
mod brief_snapshots;
mod check;
mod context;
mod corpus;
mod crash;
mod daemon;
mod directory;
mod disk_full;
mod dovecot;
mod expand;
mod fake_google;
mod fake_graph;
mod faults;
mod followups;
mod google;
mod hardening;
mod hostile;
mod incremental;
mod log_secrets;
mod mail;
mod metrics;
mod microsoft;
mod org;
mod org_auth;
mod package;
mod pass;
mod privacy;
mod replies;
mod schedule;
mod store;
mod store_compat;
mod systemd;

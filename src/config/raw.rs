//! The file as written: serde structs with the exact key names, no defaults applied,
//! and a span on every value that is checked after deserialization so errors can point
//! at it. `deny_unknown_fields` everywhere: a misspelt key is an error, not a silent
//! default.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use toml::Spanned;

/// A spanned string.
pub(crate) type S = Spanned<String>;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub state_dir: Option<S>,
    pub timezone: Option<S>,
    pub log_level: Option<S>,
    pub token_key_file: Option<S>,
    pub store: Option<RawStore>,
    pub detection: Option<RawDetection>,
    pub brief: Option<RawBrief>,
    pub mail: Option<Spanned<RawMail>>,
    pub people: Option<Vec<Spanned<RawPerson>>>,
    pub accounts: Option<Vec<Spanned<RawAccount>>>,
    pub orgs: Option<Vec<Spanned<RawOrg>>>,
    pub inbox: Option<Spanned<RawInbox>>,
    pub recap: Option<Spanned<RawRecap>>,
    pub cadence: Option<Spanned<RawCadence>>,
    pub metrics: Option<Spanned<RawMetrics>>,
}

/// `[recap]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecap {
    pub enabled: Option<bool>,
    pub delay: Option<S>,
    pub max_late: Option<S>,
    pub opt_out_series: Option<Vec<S>>,
}

/// `[cadence]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCadence {
    pub alerts: Option<bool>,
    pub cancelled_in_row: Option<Spanned<i64>>,
    pub weeks_without: Option<Spanned<i64>>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub cache_capacity: Option<Spanned<RawSize>>,
}

/// A size written as a byte count or as a string with a unit.
#[derive(Debug)]
pub(crate) enum RawSize {
    Bytes(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte count or a size string such as \"64MiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSize, E> {
                i64::try_from(v)
                    .map(RawSize::Bytes)
                    .map_err(|_| E::custom("size too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// `[detection]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDetection {
    pub title_include: Option<Vec<S>>,
    pub title_exclude: Option<Vec<S>>,
    pub skip_domains: Option<Vec<S>>,
    pub opt_out_series: Option<Vec<S>>,
    pub horizon: Option<S>,
    pub history: Option<S>,
}

/// `[brief]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBrief {
    pub lead_time: Option<S>,
    pub send_at: Option<S>,
    pub prompts: Option<Spanned<Vec<S>>>,
    pub delivery: Option<S>,
    pub digest_at: Option<S>,
    pub relation_prompts: Option<Spanned<RawRelationPrompts>>,
}

/// `[brief.relation_prompts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelationPrompts {
    pub manager_report: Option<Spanned<Vec<S>>>,
    pub skip_level: Option<Spanned<Vec<S>>>,
    pub peer: Option<Spanned<Vec<S>>>,
}

/// `[mail]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMail {
    pub from: Option<S>,
    pub transport: Option<S>,
    pub allowed_domains: Option<Vec<S>>,
    pub opt_out: Option<Vec<S>>,
    pub sign_in_notices: Option<bool>,
    pub smtp: Option<Spanned<RawSmtp>>,
    pub file: Option<Spanned<RawFile>>,
}

/// `[mail.smtp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSmtp {
    pub host: Option<S>,
    pub port: Option<Spanned<i64>>,
    pub security: Option<S>,
    pub username: Option<S>,
    pub password_file: Option<S>,
    pub xoauth2_account: Option<S>,
}

/// `[inbox]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInbox {
    pub address: Option<S>,
    pub host: Option<S>,
    pub port: Option<Spanned<i64>>,
    pub security: Option<S>,
    pub username: Option<S>,
    pub password_file: Option<S>,
    pub xoauth2_account: Option<S>,
    pub ca_file: Option<S>,
    pub mailbox: Option<S>,
    pub secret_file: Option<S>,
    pub token_lifetime: Option<S>,
    pub verify_sender: Option<S>,
    pub authserv_id: Option<S>,
    pub confirmations: Option<S>,
    pub poll_interval: Option<S>,
    pub max_message_size: Option<Spanned<RawSize>>,
}

/// `[metrics]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub listen: Option<S>,
    pub allow_remote: Option<Spanned<bool>>,
}

/// `[mail.file]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub dir: Option<S>,
}

/// `[[people]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPerson {
    pub email: Option<S>,
    pub timezone: Option<S>,
    pub delivery: Option<S>,
    pub digest_at: Option<S>,
}

/// `[[accounts]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    pub name: Option<S>,
    pub provider: Option<S>,
    pub owner: Option<S>,
    pub url: Option<S>,
    pub client_id: Option<S>,
    pub client_secret_file: Option<S>,
    pub calendars: Option<Spanned<Vec<S>>>,
    pub poll_interval: Option<S>,
    pub tenant: Option<S>,
    pub api_base_url: Option<S>,
    pub auth_url: Option<S>,
    pub token_url: Option<S>,
    pub device_authorization_url: Option<S>,
}

/// `[[orgs]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrg {
    pub name: Option<S>,
    pub provider: Option<S>,
    pub service_account_key_file: Option<S>,
    pub admin: Option<S>,
    pub notify: Option<S>,
    pub tenant: Option<S>,
    pub client_id: Option<S>,
    pub client_secret_file: Option<S>,
    pub client_certificate_file: Option<S>,
    pub people: Option<Vec<S>>,
    pub groups: Option<Vec<S>>,
    pub domain: Option<S>,
    pub exclude: Option<Vec<S>>,
    pub calendars: Option<Spanned<Vec<S>>>,
    pub poll_interval: Option<S>,
    pub directory_refresh: Option<S>,
    pub api_base_url: Option<S>,
    pub directory_base_url: Option<S>,
    pub token_url: Option<S>,
}

//! `[metrics]`: the OpenMetrics endpoint the daemon serves (see README, "Monitoring").

use std::net::SocketAddr;

use toml::Spanned;

use super::raw::RawMetrics;
use super::validate::Validator;

/// `[metrics]`: where the daemon serves `/metrics`. Absent (or without `listen`): no
/// endpoint at all, so nothing listens unless the operator asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The address and port the endpoint listens on.
    pub listen: SocketAddr,
}

impl Validator<'_> {
    /// Checks `[metrics]`; `None` when it is off or `listen` is wrong.
    pub(super) fn metrics(&mut self, spanned: &Spanned<RawMetrics>) -> Option<MetricsConfig> {
        let raw = spanned.get_ref();
        let allow_remote = raw.allow_remote.as_ref().is_some_and(|v| *v.get_ref());
        let value = raw.listen.as_ref()?;
        let Ok(listen) = value.get_ref().trim().parse::<SocketAddr>() else {
            self.error(
                value.span(),
                "metrics.listen",
                format!("\"{}\" is not an IP address and port", value.get_ref()),
                "\"127.0.0.1:9464\" or \"[::1]:9464\"",
            );
            return None;
        };
        // The numbers name no one, but they still tell who uses which calendar how
        // much: reachable from elsewhere only when the operator says so.
        if !listen.ip().is_loopback() && !allow_remote {
            self.error(
                value.span(),
                "metrics.listen",
                format!("{listen} is not a loopback address"),
                "\"127.0.0.1:9464\", or allow_remote = true to serve other hosts",
            );
            return None;
        }
        Some(MetricsConfig { listen })
    }
}

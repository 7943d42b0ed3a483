//! sd_notify messages, when systemd asked for them (`NOTIFY_SOCKET` set).

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    // Not under systemd (no NOTIFY_SOCKET) is fine; a failing socket is only logged.
    if let Err(error) = sd_notify::notify(states) {
        tracing::debug!("sd_notify failed: {error}");
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STATUS=` only.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// `RELOADING=1` (followed by [`ready`] once the reload is done).
pub fn reloading() {
    send(&[NotifyState::Reloading]);
}

/// `STOPPING=1`.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// Half the unit's `WatchdogSec=`, when it set one for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}

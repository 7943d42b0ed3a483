//! The daemon's reply reader: one IMAP session on the reply mailbox, kept open, that
//! waits with IDLE (re-issued before RFC 2177's 29 minutes: `inbox.poll_interval` is
//! at most 28) and applies new replies as they come. A poll after each wait is the
//! safety net for servers whose IDLE misses something. Connection failures are
//! retried with a growing delay; a config reload reconnects with the new settings.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::control::MailboxHealth;
use crate::control::server::{Clock, ControlState};
use crate::inbox::Mailbox;
use crate::pass::replies::{self, ReplySecret};

/// First delay after a failure; doubled after each one, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// Longest delay between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs until the task is aborted (at the daemon's stop). `wake` is notified when a
/// reply queued a confirmation, so the main loop drains the outbox without waiting
/// for its next round.
pub async fn run(
    mut state: watch::Receiver<ControlState>,
    api: reqwest::Client,
    clock: Clock,
    wake: Arc<Notify>,
    health: Arc<std::sync::Mutex<MailboxHealth>>,
) {
    let record = |result: Result<(), String>| {
        if let Ok(mut health) = health.lock() {
            match result {
                Ok(()) => health.read_ok(clock()),
                Err(error) => health.failed(clock(), error),
            }
        }
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        let (config, store) = {
            let current = state.borrow_and_update();
            (current.config.clone(), current.store.clone())
        };
        let Some(inbox) = config.inbox.clone().filter(|i| i.host.is_some()) else {
            // No IMAP mailbox configured: wait for a reload that adds one.
            if state.changed().await.is_err() {
                return;
            }
            continue;
        };
        let Some(store) = store else {
            // The store is being reopened.
            tokio::time::sleep(FIRST_BACKOFF).await;
            continue;
        };
        let session = async {
            let secret = ReplySecret::load(&inbox)?;
            let settings = replies::imap_settings(&config, &inbox, &store, &api).await?;
            let mailbox = Mailbox::connect(&settings).await?;
            Ok::<_, replies::ReplyError>((secret, mailbox))
        };
        let (secret, mut mailbox) = match session.await {
            Ok(session) => session,
            Err(error) => {
                record(Err(error.to_string()));
                tracing::error!("reply mailbox: {error}; trying again in {backoff:?}");
                drop(store);
                if wait_or_reload(&mut state, backoff).await.is_err() {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        drop(store);
        tracing::info!(
            mailbox = %inbox.mailbox,
            idle = mailbox.supports_idle(),
            "reading replies"
        );
        loop {
            // The store of this moment: a reopened one replaces a failed one.
            let Some(store) = state.borrow().store.clone() else {
                break;
            };
            let read =
                replies::read_mailbox(&config, &inbox, &secret, &store, &mut mailbox, clock())
                    .await;
            drop(store);
            match read {
                Ok(round) => {
                    record(Ok(()));
                    backoff = FIRST_BACKOFF;
                    if round.applied > 0 {
                        wake.notify_one();
                    }
                }
                Err(error) => {
                    record(Err(error.to_string()));
                    tracing::error!("reading replies failed: {error}; reconnecting");
                    break;
                }
            }
            // Not raced against a reload: dropping an IDLE halfway would leave the
            // session out of step. A reload is picked up after the wait.
            if let Err(error) = mailbox.wait(inbox.poll_interval).await {
                record(Err(error.to_string()));
                tracing::warn!("reply mailbox: {error}; reconnecting");
                break;
            }
            let same = state.borrow().config.inbox.as_ref().map(|i| {
                (
                    i.host.clone(),
                    i.port,
                    i.mailbox.clone(),
                    i.username.clone(),
                )
            }) == Some((
                inbox.host.clone(),
                inbox.port,
                inbox.mailbox.clone(),
                inbox.username.clone(),
            ));
            if !same {
                tracing::info!("inbox settings changed; reconnecting");
                break;
            }
        }
        mailbox.logout().await;
        if wait_or_reload(&mut state, backoff).await.is_err() {
            return;
        }
    }
}

/// Sleeps `delay`, or less when the config or store changes; `Err` when the daemon
/// is gone.
async fn wait_or_reload(
    state: &mut watch::Receiver<ControlState>,
    delay: Duration,
) -> Result<(), watch::error::RecvError> {
    tokio::select! {
        _ = tokio::time::sleep(delay) => Ok(()),
        changed = state.changed() => changed,
    }
}

//! The polls in flight: each account's sync runs as its own task, so a slow or hanging
//! account holds one slot and nothing else; the daemon's loop collects them as they
//! finish, and plans and sends meanwhile.
//!
//! Two limits apply. At most [`PARALLEL_ACCOUNTS`] accounts sync at once (the global
//! limit: memory and sockets grow with the polls in flight, not with the accounts).
//! And one mailbox is synced by one poll at a time: Outlook allows an app four
//! concurrent requests per mailbox ("MailboxConcurrency", Microsoft Graph throttling
//! limits), and one Microsoft account's sync already uses up to four
//! (`sources::microsoft`); two accounts reading the same mailbox (org-wide mode next
//! to a personal sign-in) would otherwise be throttled. Google documents per-user
//! rate quotas, no concurrency limit: its accounts' own request budget covers those.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::task::{Id, JoinSet};

use crate::config::{AccountConfig, Config, Provider};
use crate::pass::sync::{self, AccountSync, Clients, PARALLEL_ACCOUNTS};
use crate::store::Store;

/// A finished poll.
pub struct Polled {
    /// The account, as configured when the poll started.
    pub account: AccountConfig,
    /// When the poll started (the daemon's clock).
    pub started: DateTime<Utc>,
    /// How it went; `None` when the task ended abnormally (a bug, reported as a
    /// failure of the account).
    pub sync: Option<AccountSync>,
}

struct Running {
    account: AccountConfig,
    started: DateTime<Utc>,
    mailbox: String,
}

/// Polls waiting for a slot and polls running.
#[derive(Default)]
pub struct Pollers {
    tasks: JoinSet<AccountSync>,
    running: HashMap<Id, Running>,
    /// The mailboxes of the running polls.
    mailboxes: HashSet<String>,
    /// Accounts due but not started (the limits held them back), oldest first.
    waiting: VecDeque<String>,
}

impl Pollers {
    /// Queues the accounts named in `due`.
    pub fn enqueue(&mut self, due: impl IntoIterator<Item = String>) {
        self.waiting.extend(due);
    }

    /// Starts waiting polls while the limits allow, at `now`; `accounts` is looked up
    /// by name (an account no longer listed is dropped). Returns how many started.
    pub fn start<'a>(
        &mut self,
        accounts: impl Fn(&str) -> Option<&'a AccountConfig>,
        config: &Arc<Config>,
        store: &Store,
        clients: &Clients,
        now: DateTime<Utc>,
    ) -> usize {
        let mut started = 0;
        let mut held = Vec::new();
        while self.running.len() < PARALLEL_ACCOUNTS {
            let Some(name) = self.waiting.pop_front() else {
                break;
            };
            let Some(account) = accounts(&name) else {
                continue;
            };
            let mailbox = mailbox(account);
            if self.mailboxes.contains(&mailbox) {
                held.push(name);
                continue;
            }
            let (config, store, clients, task_account) = (
                config.clone(),
                store.clone(),
                clients.clone(),
                account.clone(),
            );
            let handle = self.tasks.spawn(async move {
                sync::sync_account(&config, &task_account, &store, &clients, now).await
            });
            self.mailboxes.insert(mailbox.clone());
            self.running.insert(
                handle.id(),
                Running {
                    account: account.clone(),
                    started: now,
                    mailbox,
                },
            );
            started += 1;
        }
        // Held back by their mailbox: first in line once it is free.
        for name in held.into_iter().rev() {
            self.waiting.push_front(name);
        }
        started
    }

    /// True when no poll runs or waits.
    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.waiting.is_empty()
    }

    /// The next poll to finish; pending forever while none runs (for `select!`).
    pub async fn next_finished(&mut self) -> Polled {
        loop {
            match self.tasks.join_next_with_id().await {
                Some(Ok((id, sync))) => {
                    if let Some(polled) = self.finish(id, Some(sync)) {
                        return polled;
                    }
                }
                Some(Err(error)) => {
                    if error.is_panic() {
                        tracing::error!("an account's sync task panicked (a bug)");
                    }
                    if let Some(polled) = self.finish(error.id(), None) {
                        return polled;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// Abandons every running poll (the store is being reopened, or the daemon stops):
    /// returns their accounts, to be polled again. A sync stopped at an await point
    /// has written nothing or whole transactions, so it is redone, never half-applied.
    pub async fn abandon(&mut self) -> Vec<String> {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.mailboxes.clear();
        self.running
            .drain()
            .map(|(_, running)| running.account.name)
            .collect()
    }

    fn finish(&mut self, id: Id, sync: Option<AccountSync>) -> Option<Polled> {
        let running = self.running.remove(&id)?;
        self.mailboxes.remove(&running.mailbox);
        Some(Polled {
            account: running.account,
            started: running.started,
            sync,
        })
    }
}

/// Which mailbox an account reads: its provider and owner (the account's name when
/// the owner is learned at sign-in, so two such accounts never wait for each other).
fn mailbox(account: &AccountConfig) -> String {
    let provider = match account.provider {
        Provider::Google => "google",
        Provider::Microsoft => "microsoft",
        // A feed is not a mailbox: each account is its own.
        Provider::Ics => return format!("ics:{}", account.name),
    };
    match &account.owner {
        Some(owner) => format!("{provider}:{}", crate::model::normalize_email(owner)),
        None => format!("{provider}:account:{}", account.name),
    }
}

//! The store: the only module that knows sled.
//!
//! Everything else sees typed methods in domain terms (`store.save_changes(..)`,
//! `store.open_items(..)`), so the engine can be swapped. Values are serialized as a
//! one-byte format tag followed by JSON (see [`codec`]), so a later schema can read
//! them and a JSON-lines export is trivial.
//!
//! **One process at a time**: sled takes an exclusive lock on its folder. While the
//! daemon runs, other `tete` commands must talk to it instead of opening the store.

mod bindings;
mod codec;
mod events;
mod items;
mod org_tokens;
mod orgs;
mod outbox;
mod replies;
mod series;
mod syncs;
mod tokens;

pub use codec::{decode, encode};
pub use events::{CalendarChanges, CalendarRef, StoredEvent};
pub use org_tokens::{OrgAttention, OrgState, OrgToken};
pub use replies::{PersonalSkip, Recorded, ReplyWrites};
pub use series::DirtySeries;
pub use syncs::SyncRecord;
pub use tokens::{AccountState, SignInNeeded, StoredSecret, TokenRecord};

use std::path::{Path, PathBuf};

/// How long opening waits for another holder of the store's lock to let go.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// sled reports a held lock only as an I/O error with this text.
fn is_lock_busy(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// The schema this build writes. A store stamped with a higher number is refused.
/// Version 2 added the per-series index and the dirty set (`series.rs`).
pub const SCHEMA_VERSION: u32 = 2;

const META_SCHEMA_KEY: &[u8] = b"schema_version";

/// `1` while a process has the store open, `0` once it let go of it cleanly.
const META_OPEN_KEY: &[u8] = b"open";

/// Marks the store closed when the last handle of a process goes (its `Drop`), so the
/// next open can tell a clean stop from a crash. sled's own `was_recovered` says only
/// that the store existed before, which a clean stop does too.
struct OpenMarker {
    db: sled::Db,
    meta: sled::Tree,
}

impl Drop for OpenMarker {
    fn drop(&mut self) {
        // Best effort: a store that fails here (a full disk) reads as a crash next time.
        if self.meta.insert(META_OPEN_KEY, &[0u8]).is_ok() {
            let _ = self.db.flush();
        }
    }
}

/// Errors of the store. Messages name the folder, never values' contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The folder could not be created or secured.
    #[error("cannot prepare state directory {path}: {source}")]
    Directory {
        /// The state directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another process holds the store, or sled failed to open it.
    #[error("cannot open the store in {path}: {source}{hint}", hint = open_hint(source))]
    Open {
        /// The state directory.
        path: PathBuf,
        /// sled's error.
        source: sled::Error,
    },
    /// The store was written by a newer tete.
    #[error(
        "the store in {path} has schema version {found}, newer than this tete understands ({supported}); upgrade tete or restore a backup"
    )]
    TooNew {
        /// The state directory.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// sled failed during an operation.
    #[error("store operation failed: {0}")]
    Sled(#[from] sled::Error),
    /// A value could not be encoded or decoded.
    #[error("store value in tree '{tree}' is unreadable: {reason}")]
    Corrupt {
        /// The tree it lives in.
        tree: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// The lock hint belongs only to errors that can mean another process holds the store
/// (a full disk said "is the daemon running?" too, which sent people looking elsewhere).
fn open_hint(source: &sled::Error) -> &'static str {
    match source {
        sled::Error::Io(error) if error.kind() == std::io::ErrorKind::StorageFull => {
            " (the disk is full: free some space and start again)"
        }
        sled::Error::Io(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Other
            ) =>
        {
            " (only one process may open it at a time; is the daemon running?)"
        }
        _ => "",
    }
}

impl StoreError {
    /// True when the storage engine itself failed (an I/O error such as a full disk)
    /// rather than a value being unreadable. sled keeps such an error for the life of
    /// the handle, so the only way back is to reopen the store once the cause is gone.
    pub fn is_engine_failure(&self) -> bool {
        matches!(self, StoreError::Sled(error) if !matches!(error, sled::Error::Corruption { .. }))
    }

    /// True when the store's contents are not trustworthy and the daemon must not
    /// start from them (starting empty would re-send every brief).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. } | StoreError::Sled(sled::Error::Corruption { .. })
        )
    }
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled page cache bound in bytes (sled's default is 1 GiB).
    pub cache_capacity: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            // `config::DEFAULT_CACHE_CAPACITY` (the store does not see the config; a
            // test in tests/it/store.rs keeps the two equal).
            cache_capacity: 32 << 20,
        }
    }
}

/// Handles to every tree, opened once.
#[derive(Clone)]
pub(crate) struct Trees {
    pub(crate) meta: sled::Tree,
    pub(crate) tokens: sled::Tree,
    pub(crate) cursors: sled::Tree,
    /// Large, rarely changing source state beside a cursor ([`CalendarChanges::index`]),
    /// in its own tree so that the small cursors rewritten at every poll do not share
    /// pages with it.
    pub(crate) indexes: sled::Tree,
    pub(crate) events: sled::Tree,
    pub(crate) items: sled::Tree,
    pub(crate) notes: sled::Tree,
    pub(crate) history: sled::Tree,
    pub(crate) skips: sled::Tree,
    /// Talking points raised by reply (`series/id`).
    pub(crate) topics: sled::Tree,
    /// Messages read from the reply mailbox (see `replies.rs`).
    pub(crate) replies: sled::Tree,
    pub(crate) outbox: sled::Tree,
    pub(crate) sent: sled::Tree,
    pub(crate) syncs: sled::Tree,
    /// Series id → the pair that first met in it (see `bindings.rs`).
    pub(crate) bindings: sled::Tree,
    /// Org name → its last directory read ([`crate::model::org::OrgRoster`]).
    pub(crate) orgs: sled::Tree,
    /// Series UID + event key → nothing: one series' events (see `series.rs`).
    pub(crate) series_index: sled::Tree,
    /// Event key → its series' UID.
    pub(crate) event_series: sled::Tree,
    /// Series UIDs a sync touched since the analysis last cleared them.
    pub(crate) dirty: sled::Tree,
    /// Series id → UID of each series an analysis found to be a 1:1, so a reply bound
    /// to a series id finds its events without analysing the store.
    pub(crate) one_on_one_uids: sled::Tree,
}

/// The open store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    path: PathBuf,
    pub(crate) trees: Trees,
    /// Whether the previous process that had the store open did not let go of it.
    unclean: bool,
    _marker: std::sync::Arc<OpenMarker>,
}

impl Store {
    /// Opens (creating if needed) the store in `state_dir`, created with mode 0700.
    pub fn open(state_dir: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        create_private_dir(state_dir)?;
        let path = state_dir.join("store");
        let config = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_capacity)
            .mode(sled::Mode::LowSpace)
            .flush_every_ms(Some(500));
        // A process that just closed the store (a daemon stopping, or a handle dropped
        // in this process whose flusher thread is still winding down) releases its lock
        // a moment later: wait briefly for it rather than failing at once.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(source) if is_lock_busy(&source) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(source) => {
                    return Err(StoreError::Open {
                        path: path.clone(),
                        source,
                    });
                }
            }
        };
        let open = |name: &str| db.open_tree(name);
        let trees = Trees {
            meta: open("meta")?,
            tokens: open("tokens")?,
            cursors: open("cursors")?,
            indexes: open("indexes")?,
            events: open("events")?,
            items: open("items")?,
            notes: open("notes")?,
            history: open("history")?,
            skips: open("skips")?,
            topics: open("topics")?,
            replies: open("replies")?,
            outbox: open("outbox")?,
            sent: open("sent")?,
            syncs: open("syncs")?,
            bindings: open("bindings")?,
            orgs: open("orgs")?,
            series_index: open("series_index")?,
            event_series: open("event_series")?,
            dirty: open("dirty")?,
            one_on_one_uids: open("one_on_one_uids")?,
        };
        let unclean = trees
            .meta
            .get(META_OPEN_KEY)?
            .is_some_and(|v| v.as_ref() == [1u8]);
        trees.meta.insert(META_OPEN_KEY, &[1u8])?;
        // On disk now, not at the next background flush: a process killed within its
        // first half second must still read as a crash next time.
        db.flush()?;
        let marker = std::sync::Arc::new(OpenMarker {
            db: db.clone(),
            meta: trees.meta.clone(),
        });
        let store = Store {
            db,
            path,
            trees,
            unclean,
            _marker: marker,
        };
        store.check_schema()?;
        Ok(store)
    }

    /// Stamps a new store with [`SCHEMA_VERSION`]; refuses a store from a newer tete.
    fn check_schema(&self) -> Result<(), StoreError> {
        match self.trees.meta.get(META_SCHEMA_KEY)? {
            None => {
                self.trees
                    .meta
                    .insert(META_SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                Ok(())
            }
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        tree: "meta",
                        reason: "schema version is not a 4-byte number".into(),
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::TooNew {
                        path: self.path.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                // Older schemas are migrated one step at a time; each step is
                // idempotent and the new number is stamped only after it, so a crash
                // in the middle repeats the step at the next open.
                if found < 2 {
                    self.build_series_index()?;
                    self.trees
                        .meta
                        .insert(META_SCHEMA_KEY, &2u32.to_be_bytes())?;
                    self.db.flush()?;
                }
                Ok(())
            }
        }
    }

    /// The schema version stamped in the store.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let bytes = self
            .trees
            .meta
            .get(META_SCHEMA_KEY)?
            .ok_or(StoreError::Corrupt {
                tree: "meta",
                reason: "schema version missing".into(),
            })?;
        <[u8; 4]>::try_from(bytes.as_ref())
            .map(u32::from_be_bytes)
            .map_err(|_| StoreError::Corrupt {
                tree: "meta",
                reason: "schema version is not a 4-byte number".into(),
            })
    }

    /// Writes everything to disk; call before exiting.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// True when the last process that had the store open ended without letting go of
    /// it (killed, crashed, power lost): what it wrote after its last flush may be lost.
    pub fn was_shut_down_uncleanly(&self) -> bool {
        self.unclean
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates `dir` (and parents) and restricts it to its owner: the store holds
/// private meeting notes and, later, OAuth tokens.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let wrap = |source| StoreError::Directory {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(wrap)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(wrap)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_let_go_of_cleanly_does_not_read_as_recovered_from_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert!(!store.was_shut_down_uncleanly(), "a new store");
        let clone = store.clone();
        drop(store);
        drop(clone);
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert!(!store.was_shut_down_uncleanly(), "after a clean close");
    }

    #[test]
    fn new_store_is_stamped_with_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn state_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        Store::open(&state, &StoreOptions::default()).unwrap();
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn store_from_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            store
                .trees
                .meta
                .insert(META_SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            store.flush().unwrap();
        }
        let error = Store::open(dir.path(), &StoreOptions::default())
            .err()
            .unwrap();
        assert!(matches!(error, StoreError::TooNew { .. }), "{error}");
        assert!(error.to_string().contains("newer"));
    }
}

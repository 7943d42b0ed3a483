//! Integration tests: the store as an operator meets it.

use crate::support::{demo_config_in, stderr, tete};

#[test]
fn a_store_from_a_newer_tete_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let config = config.to_str().unwrap();
    let first = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2026-12-01T08:00",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));

    // What a later tete with schema 3 would leave behind.
    {
        let db = sled::open(dir.path().join("state/store")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("schema_version", &3u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let refused = tete(&[
        "--config",
        config,
        "run",
        "--once",
        "--now",
        "2026-12-01T08:00",
    ]);
    assert_eq!(refused.status.code(), Some(78), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains("schema version 3"), "{message}");
    assert!(
        message.contains("upgrade tete or restore a backup"),
        "{message}"
    );
}

#[test]
fn a_second_process_gets_told_the_store_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_in(dir.path());
    let config = config.to_str().unwrap();
    let first = tete(&["--config", config, "series", "--now", "2026-12-01T08:00"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // Hold the store open the way a running daemon does (without its control socket).
    let _held = sled::open(dir.path().join("state/store")).unwrap();
    let second = tete(&["--config", config, "items", "list", "def764be6d"]);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("only one process may open it at a time"),
        "{}",
        stderr(&second)
    );
}

/// The store's own default cache bound is the config's: a daemon and a command that
/// open the store without a config section hold the same memory.
#[test]
fn the_store_default_cache_is_the_config_default() {
    assert_eq!(
        tete::store::StoreOptions::default().cache_capacity,
        tete::config::DEFAULT_CACHE_CAPACITY
    );
}

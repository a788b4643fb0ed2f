//! Behaviour common to every store: reads, writes, removal, domain case and `stored_at`.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use autodiscover::Flavor;
use autodiscover_cache::{CacheStore, FileStore, MemoryStore, NoStore};
use common::{assert_same_entry, cache_path, entry, file_store, temp_dir};

/// Runs get, put, overwrite, delete and clear against `store`, which must start empty.
fn check_round_trip(store: &dyn CacheStore) {
    let first = entry(
        "https://autodiscover.example.com/autodiscover/autodiscover.svc",
        Flavor::Soap,
    );
    let second = entry(
        "https://mail.example.org/autodiscover/autodiscover.xml",
        Flavor::Pox,
    );
    let replacement = entry(
        "https://exchange.example.com/autodiscover/autodiscover.svc",
        Flavor::Soap,
    );

    assert!(store.get("example.com").is_none(), "new store has an entry");

    store.put("example.com", Some(first.clone()));
    store.put("example.org", Some(second.clone()));
    let stored = store.get("example.com").expect("first entry missing");
    assert_same_entry(&stored, &first);
    let stored = store.get("example.org").expect("second entry missing");
    assert_same_entry(&stored, &second);

    store.put("example.com", Some(replacement.clone()));
    let stored = store.get("example.com").expect("replaced entry missing");
    assert_same_entry(&stored, &replacement);

    store.put("example.com", None);
    assert!(store.get("example.com").is_none(), "deleted entry is back");
    assert!(
        store.get("example.org").is_some(),
        "delete removed another domain"
    );

    store.clear();
    assert!(store.get("example.org").is_none(), "clear left an entry");

    let warnings = store.take_warnings();
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
}

/// Stores an entry under a mixed-case domain and reads it back under other spellings.
fn check_domain_case(store: &dyn CacheStore) {
    let stored = entry(
        "https://autodiscover.example.com/autodiscover/autodiscover.svc",
        Flavor::Soap,
    );

    store.put("Example.COM", Some(stored.clone()));

    for spelling in ["example.com", "EXAMPLE.COM", "eXample.Com"] {
        let found = store.get(spelling);
        assert!(found.is_some(), "no entry under {spelling}");
    }
    store.put("EXAMPLE.com", None);
    assert!(store.get("example.com").is_none(), "delete ignored case");
}

/// Checks that `put` replaces the caller's `stored_at` with the time of the write, to within
/// `precision`.
fn check_stored_at(store: &dyn CacheStore, precision: Duration) {
    let mut stored = entry(
        "https://autodiscover.example.com/autodiscover/autodiscover.svc",
        Flavor::Soap,
    );
    stored.stored_at = Some(UNIX_EPOCH);

    let before = SystemTime::now();
    store.put("example.com", Some(stored));
    let after = SystemTime::now();

    let stored_at = store
        .get("example.com")
        .expect("entry missing")
        .stored_at
        .expect("stored_at not set");
    assert!(
        stored_at + precision > before,
        "stored_at {stored_at:?} is before the write {before:?}"
    );
    assert!(
        stored_at <= after,
        "stored_at {stored_at:?} is after the write {after:?}"
    );
}

#[test]
fn memory_store_round_trip() {
    check_round_trip(&MemoryStore::new());
}

#[test]
fn file_store_round_trip() {
    let dir = temp_dir();
    check_round_trip(&file_store(&dir));
}

#[test]
fn memory_store_ignores_domain_case() {
    check_domain_case(&MemoryStore::new());
}

#[test]
fn file_store_ignores_domain_case() {
    let dir = temp_dir();
    check_domain_case(&file_store(&dir));
}

#[test]
fn memory_store_sets_stored_at() {
    check_stored_at(&MemoryStore::new(), Duration::from_nanos(1));
}

#[test]
fn file_store_sets_stored_at() {
    // The file keeps whole seconds.
    let dir = temp_dir();
    check_stored_at(&file_store(&dir), Duration::from_secs(1));
}

#[test]
fn file_store_persists_across_instances() {
    let dir = temp_dir();
    let stored = entry(
        "https://autodiscover.example.com/autodiscover/autodiscover.svc",
        Flavor::Pox,
    );

    file_store(&dir).put("example.com", Some(stored.clone()));
    let reopened = file_store(&dir);

    let found = reopened
        .get("example.com")
        .expect("entry lost on reopening");
    assert_same_entry(&found, &stored);
}

#[test]
fn file_store_keeps_missing_auth_scheme() {
    let dir = temp_dir();
    let store = file_store(&dir);
    let mut stored = entry(
        "https://autodiscover.example.com/autodiscover/autodiscover.svc",
        Flavor::Soap,
    );
    stored.auth_scheme = None;

    store.put("example.com", Some(stored));

    let found = store.get("example.com").expect("entry missing");
    assert_eq!(found.auth_scheme, None);
}

#[test]
fn file_store_delete_without_file_creates_nothing() {
    let dir = temp_dir();
    let store = file_store(&dir);

    store.put("example.com", None);

    assert!(
        !cache_path(&dir).exists(),
        "deleting from an empty cache wrote a file"
    );
    assert!(store.take_warnings().is_empty());
}

#[test]
fn file_store_clear_removes_file() {
    let dir = temp_dir();
    let store = file_store(&dir);
    store.put(
        "example.com",
        Some(entry("https://autodiscover.example.com/", Flavor::Soap)),
    );
    assert!(cache_path(&dir).exists(), "put wrote no file");

    store.clear();

    assert!(!cache_path(&dir).exists(), "clear left the file");
    assert!(store.take_warnings().is_empty());
}

#[test]
fn file_store_clear_without_directory() {
    let dir = temp_dir();
    let store = file_store(&dir);

    store.clear();

    assert!(
        !cache_path(&dir).parent().unwrap().exists(),
        "clear created the directory"
    );
    let warnings = store.take_warnings();
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
}

#[test]
fn file_store_lock_path_appends_lock() {
    let store = FileStore::new("/var/cache/test/endpoints.json");

    assert_eq!(
        store.path(),
        std::path::Path::new("/var/cache/test/endpoints.json")
    );
    assert_eq!(
        store.lock_path(),
        std::path::Path::new("/var/cache/test/endpoints.json.lock")
    );
}

#[test]
fn no_store_keeps_nothing() {
    let store = NoStore;

    store.put(
        "example.com",
        Some(entry("https://autodiscover.example.com/", Flavor::Soap)),
    );

    assert!(store.get("example.com").is_none());
    assert!(store.take_warnings().is_empty());
}

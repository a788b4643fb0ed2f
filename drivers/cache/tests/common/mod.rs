//! Helpers shared by the test binaries.

#![allow(dead_code)] // Each test binary uses a different part.

use std::path::PathBuf;

use autodiscover::{CacheEntry, Flavor};
use autodiscover_cache::FileStore;
use tempfile::TempDir;
use url::Url;

/// Returns an entry for `endpoint` with the `Basic` scheme and no `stored_at`.
pub fn entry(endpoint: &str, flavor: Flavor) -> CacheEntry {
    CacheEntry {
        endpoint: Url::parse(endpoint).expect("test endpoints are valid URLs"),
        flavor,
        auth_scheme: Some("Basic".to_owned()),
        stored_at: None,
    }
}

/// Returns the cache file path inside `dir`, one directory down so that the store creates the
/// directory itself.
pub fn cache_path(dir: &TempDir) -> PathBuf {
    dir.path().join("autodiscover-rs").join("endpoints.json")
}

/// Returns a store on [`cache_path`].
pub fn file_store(dir: &TempDir) -> FileStore {
    FileStore::new(cache_path(dir))
}

/// Creates a temporary directory for one test.
pub fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("failed to create a temporary directory")
}

/// Asserts that `actual` has the fields of `expected`, apart from `stored_at`, which the store
/// sets.
pub fn assert_same_entry(actual: &CacheEntry, expected: &CacheEntry) {
    assert_eq!(actual.endpoint, expected.endpoint);
    assert_eq!(actual.flavor, expected.flavor);
    assert_eq!(actual.auth_scheme, expected.auth_scheme);
}

//! Stores that keep no file.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use autodiscover::CacheEntry;

use crate::{domain_key, stamp, CacheStore};

/// A cache held in memory, for callers that want caching within one process and no file.
///
/// It keeps `stored_at` at full precision, unlike a [`FileStore`](crate::FileStore), which
/// keeps whole seconds.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, CacheEntry>>,
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, CacheEntry>> {
        // No operation on the map can panic half-way, so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CacheStore for MemoryStore {
    fn get(&self, domain: &str) -> Option<CacheEntry> {
        self.entries().get(&domain_key(domain)).cloned()
    }

    fn put(&self, domain: &str, entry: Option<CacheEntry>) {
        let key = domain_key(domain);
        let mut entries = self.entries();
        match entry {
            Some(entry) => {
                entries.insert(key, stamp(entry, SystemTime::now()));
            }
            None => {
                entries.remove(&key);
            }
        }
    }

    fn clear(&self) {
        self.entries().clear();
    }
}

/// A cache that keeps nothing: every lookup misses and every write is dropped.
///
/// Useful where a driver needs a store but the caller turned caching off. Turning off
/// `Config::use_cache` in the core instead also saves the cache actions.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStore;

impl CacheStore for NoStore {
    fn get(&self, _domain: &str) -> Option<CacheEntry> {
        None
    }

    fn put(&self, _domain: &str, _entry: Option<CacheEntry>) {}

    fn clear(&self) {}
}

//! The endpoint cache behind the Autodiscover drivers.
//!
//! The core emits [`Action::CacheGet`] and [`Action::CachePut`] to read and write cache
//! entries, and a driver performs both through a [`CacheStore`]:
//!
//! - [`FileStore`] keeps the entries in one JSON file that every process of the user shares,
//!   by default `$XDG_CACHE_HOME/autodiscover-rs/endpoints.json` (see [`default_path`]).
//! - [`MemoryStore`] keeps them in memory for the life of the value.
//! - [`NoStore`] keeps nothing.
//!
//! A store keeps only what the core hands it: the domain, the endpoint URL, the flavour, the
//! name of the authentication scheme, and the time the store wrote the entry. The core never
//! passes credentials to the cache.
//!
//! No method returns an error. A store that cannot read its file treats the cache as empty, and
//! one that cannot write leaves the file as it was. Both log a `tracing` warning and keep the
//! [`CacheError`] for [`CacheStore::take_warnings`], because a failed cache only costs a slower
//! discovery.
//!
//! # Answering the core's cache actions
//!
//! ```
//! use autodiscover::{Action, Event};
//! use autodiscover_cache::{CacheStore, MemoryStore};
//!
//! /// Performs a cache action, or returns `None` for any other kind of action.
//! fn perform(store: &dyn CacheStore, action: Action) -> Option<Event> {
//!     match action {
//!         Action::CacheGet { id, domain } => Some(Event::CacheGet {
//!             id,
//!             entry: store.get(&domain),
//!         }),
//!         Action::CachePut { id, domain, entry } => {
//!             store.put(&domain, entry);
//!             Some(Event::CachePut { id })
//!         }
//!         _ => None,
//!     }
//! }
//!
//! let store = MemoryStore::new();
//! let lookup = Action::CacheGet {
//!     id: autodiscover::ActionId(1),
//!     domain: "example.com".to_owned(),
//! };
//! assert!(matches!(
//!     perform(&store, lookup),
//!     Some(Event::CacheGet { entry: None, .. })
//! ));
//! ```
//!
//! [`Action::CacheGet`]: autodiscover::Action::CacheGet
//! [`Action::CachePut`]: autodiscover::Action::CachePut

#![warn(missing_docs)]

mod error;
mod file;
mod format;
mod memory;
mod path;
mod warnings;

use std::time::SystemTime;

use autodiscover::CacheEntry;

pub use error::CacheError;
pub use file::{FileStore, MAX_FILE_BYTES, MAX_LOCK_WAIT};
pub use format::FORMAT_VERSION;
pub use memory::{MemoryStore, NoStore};
pub use path::{default_path, default_path_from, CACHE_DIRECTORY_NAME, CACHE_FILE_NAME};

/// A map from email domain to the Autodiscover endpoint that last returned settings for it.
///
/// Domains are compared after ASCII lowercasing, as the core lowercases them too. Every method
/// takes `&self` and the trait requires `Send + Sync`, so one store can serve every discovery
/// of a process through an `Arc<dyn CacheStore>`.
///
/// The methods of a [`FileStore`] block on file IO, and `put` and `clear` wait up to
/// [`MAX_LOCK_WAIT`] for the lock that other processes may hold while they write. An async
/// driver calls them from a thread that is allowed to block.
pub trait CacheStore: Send + Sync {
    /// Returns the entry of `domain`, or `None` when there is none or the cache cannot be read.
    fn get(&self, domain: &str) -> Option<CacheEntry>;

    /// Stores `entry` for `domain`, or removes the domain's entry when `entry` is `None`.
    ///
    /// The store sets [`CacheEntry::stored_at`] to the current time and ignores the value
    /// that `entry` carries.
    fn put(&self, domain: &str, entry: Option<CacheEntry>);

    /// Removes every entry.
    fn clear(&self);

    /// Removes and returns the warnings recorded since the last call, oldest first.
    ///
    /// Stores that cannot fail return an empty list, as this default does.
    fn take_warnings(&self) -> Vec<CacheError> {
        Vec::new()
    }
}

/// Returns the key under which a store files `domain`.
fn domain_key(domain: &str) -> String {
    domain.to_ascii_lowercase()
}

/// Returns `entry` with `stored_at` set to `now`.
fn stamp(entry: CacheEntry, now: SystemTime) -> CacheEntry {
    CacheEntry {
        stored_at: Some(now),
        ..entry
    }
}

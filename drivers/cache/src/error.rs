//! The crate's error type.

use std::io;
use std::path::PathBuf;

use crate::format::FORMAT_VERSION;

/// A failure to read or write the cache file, or a missing default path.
///
/// The stores never return these from [`CacheStore`](crate::CacheStore) methods. They log them
/// and keep them for [`CacheStore::take_warnings`](crate::CacheStore::take_warnings). Only
/// [`FileStore::open_default`](crate::FileStore::open_default) returns one as an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Neither `XDG_CACHE_HOME` nor `HOME` is an absolute path.
    #[error("no cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute path; set one, or give FileStore::new a path")]
    NoCacheDirectory,

    /// The cache file exists but could not be read. The cache counts as empty, and the next
    /// write replaces the file.
    #[error("failed to read cache file {}: {error}; treating the cache as empty", path.display())]
    Read {
        /// The cache file.
        path: PathBuf,
        /// The error from the operating system.
        error: io::Error,
    },

    /// The cache path names something other than a regular file, such as a FIFO, a socket, a
    /// device or a directory, or a symbolic link to one. The cache counts as empty, and the
    /// store neither reads from nor writes over it, so a FIFO cannot block it.
    #[error("cache path {} is a {kind}, not a regular file; treating the cache as empty and leaving the path unchanged, so remove it or choose another cache file", path.display())]
    NotRegularFile {
        /// The cache file path.
        path: PathBuf,
        /// The file type at the path: `directory`, `FIFO`, `socket`, `block device`,
        /// `character device` or `special file`.
        kind: &'static str,
    },

    /// The cache file is larger than [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES). The cache
    /// counts as empty, and the next write replaces the file.
    #[error("cache file {} is larger than {max_bytes} bytes; treating the cache as empty, the next write replaces it", path.display())]
    TooLarge {
        /// The cache file.
        path: PathBuf,
        /// The largest file the store reads, in bytes.
        max_bytes: u64,
    },

    /// The cache file is empty or contains only whitespace. The cache counts as empty, and the
    /// next write replaces the file.
    #[error("cache file {} is empty; treating the cache as empty, the next write replaces it", path.display())]
    Empty {
        /// The cache file.
        path: PathBuf,
    },

    /// The cache file is not a JSON cache document. The cache counts as empty, and the next
    /// write replaces the file.
    #[error("cache file {} is not a valid cache document: {error}; treating the cache as empty, the next write replaces it", path.display())]
    Invalid {
        /// The cache file.
        path: PathBuf,
        /// The error from the JSON parser.
        error: serde_json::Error,
    },

    /// The cache file has a format version this build cannot read, perhaps written by a newer
    /// release. The cache counts as empty, and the next write replaces the file with the
    /// version this build writes.
    #[error("cache file {} has format version {version}, but this build reads only version {FORMAT_VERSION}; treating the cache as empty, the next write replaces it", path.display())]
    UnsupportedVersion {
        /// The cache file.
        path: PathBuf,
        /// The version the file declares.
        version: u64,
    },

    /// One entry of the cache file is malformed. The other entries stay usable, and the next
    /// write drops the malformed one.
    #[error("cache file {} has an invalid entry for domain {domain:?}: {error}; skipping the entry", path.display())]
    InvalidEntry {
        /// The cache file.
        path: PathBuf,
        /// The key of the entry, lowercased.
        domain: String,
        /// The error from the JSON parser.
        error: serde_json::Error,
    },

    /// The directory of the cache file could not be created, so nothing was written.
    #[error("failed to create cache directory {}: {error}; the cache was not written", path.display())]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The error from the operating system.
        error: io::Error,
    },

    /// The lock file could not be opened or locked, so nothing was written. When another
    /// process or thread holds the lock for longer than
    /// [`MAX_LOCK_WAIT`](crate::MAX_LOCK_WAIT), `error` has the kind
    /// [`io::ErrorKind::TimedOut`].
    #[error("failed to lock {}: {error}; the cache was not written", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The error from the operating system.
        error: io::Error,
    },

    /// The new cache file could not be written or moved into place, so the old file is
    /// unchanged.
    #[error("failed to write cache file {}: {error}; the cache was not written", path.display())]
    Write {
        /// The cache file.
        path: PathBuf,
        /// The error from the operating system.
        error: io::Error,
    },

    /// The cache file could not be removed while clearing the cache.
    #[error("failed to remove cache file {}: {error}; the cache was not cleared", path.display())]
    Remove {
        /// The cache file.
        path: PathBuf,
        /// The error from the operating system.
        error: io::Error,
    },
}

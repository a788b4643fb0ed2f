//! The on-disk format of the cache file, described with an example on
//! [`FileStore`](crate::FileStore).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use autodiscover::{CacheEntry, Flavor};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::CacheError;

/// The format version this build reads and writes. A file with another version counts as
/// empty and is replaced by the next write.
pub const FORMAT_VERSION: u64 = 1;

/// Cache entries by lowercased domain.
pub(crate) type Entries = BTreeMap<String, CacheEntry>;

/// A document as read: the version, with the entries left unparsed until the version is known
/// to be one this build reads.
#[derive(Deserialize)]
struct DocumentIn {
    version: u64,
    /// `Null` when missing, which then fails as "expected a map".
    #[serde(default)]
    entries: serde_json::Value,
}

/// The entries of a version 1 document, each not yet parsed.
type RawEntries = BTreeMap<String, serde_json::Value>;

/// A version 1 document as written.
#[derive(Serialize)]
struct DocumentOut<'a> {
    version: u64,
    entries: BTreeMap<&'a str, StoredEntry>,
}

/// One entry as stored in the file.
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    endpoint: Url,
    flavor: Flavor,
    auth_scheme: Option<String>,
    /// Whole seconds since the Unix epoch.
    stored_at: Option<u64>,
}

impl From<&CacheEntry> for StoredEntry {
    fn from(entry: &CacheEntry) -> Self {
        StoredEntry {
            endpoint: entry.endpoint.clone(),
            flavor: entry.flavor,
            auth_scheme: entry.auth_scheme.clone(),
            // A time before the epoch cannot come from a sane clock, so it is dropped.
            stored_at: entry
                .stored_at
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .map(|since_epoch| since_epoch.as_secs()),
        }
    }
}

impl From<StoredEntry> for CacheEntry {
    fn from(stored: StoredEntry) -> Self {
        CacheEntry {
            endpoint: stored.endpoint,
            flavor: stored.flavor,
            auth_scheme: stored.auth_scheme,
            stored_at: stored.stored_at.and_then(system_time_from_unix),
        }
    }
}

/// Returns the time `seconds` after the epoch, or `None` when `SystemTime` cannot hold it.
fn system_time_from_unix(seconds: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Parses a cache file's contents.
///
/// Returns the usable entries and one warning per problem. A damaged or unknown document
/// gives no entries and one warning. A malformed entry is skipped with a warning of its own.
pub(crate) fn decode(path: &Path, bytes: &[u8]) -> (Entries, Vec<CacheError>) {
    let mut entries = Entries::new();
    let mut warnings = Vec::new();

    if bytes.iter().all(u8::is_ascii_whitespace) {
        warnings.push(CacheError::Empty {
            path: path.to_owned(),
        });
        return (entries, warnings);
    }

    let document = match serde_json::from_slice::<DocumentIn>(bytes) {
        Ok(document) => document,
        Err(error) => {
            warnings.push(invalid(path, error));
            return (entries, warnings);
        }
    };
    if document.version != FORMAT_VERSION {
        warnings.push(CacheError::UnsupportedVersion {
            path: path.to_owned(),
            version: document.version,
        });
        return (entries, warnings);
    }

    // Each entry stays a `Value` here so that one malformed entry does not discard the others.
    let raw_entries = match serde_json::from_value::<RawEntries>(document.entries) {
        Ok(raw_entries) => raw_entries,
        Err(error) => {
            warnings.push(invalid(path, error));
            return (entries, warnings);
        }
    };

    for (domain, value) in raw_entries {
        let domain = crate::domain_key(&domain);
        match serde_json::from_value::<StoredEntry>(value) {
            Ok(stored) => {
                entries.insert(domain, stored.into());
            }
            Err(error) => warnings.push(CacheError::InvalidEntry {
                path: path.to_owned(),
                domain,
                error,
            }),
        }
    }
    (entries, warnings)
}

fn invalid(path: &Path, error: serde_json::Error) -> CacheError {
    CacheError::Invalid {
        path: path.to_owned(),
        error,
    }
}

/// Serializes `entries` as a version 1 document, pretty-printed and ending in a newline.
pub(crate) fn encode(entries: &Entries) -> io::Result<Vec<u8>> {
    let document = DocumentOut {
        version: FORMAT_VERSION,
        entries: entries
            .iter()
            .map(|(domain, entry)| (domain.as_str(), StoredEntry::from(entry)))
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&document).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

//! The cache kept in one JSON file shared by every process of the user.

use std::ffi::OsString;
use std::fs::{self, File, FileType, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use autodiscover::CacheEntry;

use crate::error::CacheError;
use crate::format::{self, Entries};
use crate::path::default_path;
use crate::warnings::WarningLog;
use crate::{domain_key, stamp, CacheStore};

/// The largest cache file a [`FileStore`] reads, in bytes. A larger file counts as damaged.
///
/// An entry with an endpoint URL of about 60 characters takes about 200 bytes, so this leaves
/// room for tens of thousands of domains while keeping a stray huge file out of memory. The
/// bound is a choice, not a measured need.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Maximum time a [`FileStore`] write waits for the lock that another process or thread holds.
/// After that it skips the write with a [`CacheError::Lock`] warning, so that a writer that
/// hangs while holding the lock delays each write by at most this long.
///
/// A write holds the lock for one read, one small write and one `fsync`, usually milliseconds,
/// so two seconds covers a slow disk. The bound is a choice, not a measured need.
pub const MAX_LOCK_WAIT: Duration = Duration::from_secs(2);

/// The first pause between two attempts to take the lock. Pauses double up to
/// [`MAX_LOCK_RETRY_PAUSE`], so a lock released soon is taken soon without polling a held lock
/// in a tight loop.
const FIRST_LOCK_RETRY_PAUSE: Duration = Duration::from_millis(1);

/// Maximum pause between two attempts to take the lock.
const MAX_LOCK_RETRY_PAUSE: Duration = Duration::from_millis(20);

/// A cache kept in one JSON file, shared by every thread and process that opens the same path.
///
/// # Format
///
/// ```json
/// {
///   "version": 1,
///   "entries": {
///     "example.com": {
///       "endpoint": "https://autodiscover.example.com/autodiscover/autodiscover.svc",
///       "flavor": "soap",
///       "auth_scheme": "Basic",
///       "stored_at": 1767225600
///     }
///   }
/// }
/// ```
///
/// `flavor` is `soap` or `pox`. `auth_scheme` may be `null`. `stored_at` is whole seconds since
/// the Unix epoch, so an entry read back has lost the fraction of a second. Readers ignore
/// unknown fields, and the next write drops them.
///
/// # Concurrency
///
/// - Every write (`put`, `clear`) runs under an exclusive lock on a separate lock file, the
///   cache path with `.lock` appended, taken with [`File::try_lock`] (`flock` on Unix,
///   `LockFileEx` on Windows). Inside the lock it reads the file again, changes it and writes
///   the result, so writers that go through a `FileStore` never lose each other's entries.
/// - A write waits at most [`MAX_LOCK_WAIT`] for the lock. When another process or thread
///   holds it longer, the write is skipped with a [`CacheError::Lock`] warning.
/// - A write goes to a temporary file in the same directory, which is flushed to disk and then
///   renamed over the cache file. A reader therefore sees either the old or the new file,
///   never a torn one, so `get` reads without the lock.
/// - The lock file is never deleted, because a writer could still be waiting on the old one.
///
/// # Permissions
///
/// On Unix the cache file, its temporary files and the lock file are created with mode 0600,
/// and a directory the store creates gets mode 0700. An existing directory keeps its mode.
///
/// # Special files and symbolic links
///
/// The store reads and replaces only regular files. When the cache path names a FIFO, a
/// socket, a device or a directory, the cache counts as empty, a
/// [`CacheError::NotRegularFile`] warning is recorded, and `put` and `clear` leave the path
/// unchanged. The file type is checked before the file is opened, and a FIFO is opened without
/// blocking and checked again, so no read waits on a FIFO.
///
/// A symbolic link is followed for reading and for the type check. A write renames the new
/// file over the path, which replaces the link itself and leaves its target unchanged, and
/// `clear` removes the link. A dangling link counts as no file.
///
/// # Damaged files
///
/// An empty, unreadable, unparsable, oversized or unknown-version file counts as empty, and
/// the next write replaces it with a sound file. A malformed entry is skipped, and the next
/// write drops it. Each such problem becomes a warning (see [`CacheStore::take_warnings`]).
/// A file written by a newer release with another format version is therefore overwritten by
/// the first write from this one.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    warnings: WarningLog,
}

impl FileStore {
    /// Creates a store for the cache file at `path`. Nothing is read or created until the
    /// first call.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock_name = OsString::from(path.as_os_str());
        lock_name.push(".lock");
        FileStore {
            path,
            lock_path: PathBuf::from(lock_name),
            warnings: WarningLog::default(),
        }
    }

    /// Creates a store for the file at [`default_path`].
    ///
    /// # Errors
    ///
    /// Returns [`CacheError::NoCacheDirectory`] when neither `XDG_CACHE_HOME` nor `HOME` is
    /// an absolute path.
    pub fn open_default() -> Result<Self, CacheError> {
        default_path()
            .map(FileStore::new)
            .ok_or(CacheError::NoCacheDirectory)
    }

    /// Returns the path of the cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the path of the lock file that serializes writers.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Returns the directory that contains the cache file, its lock file and its temporary files.
    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    /// Reads and parses the cache file, recording a warning for each problem.
    fn load(&self) -> Loaded {
        let bytes = match read_file(&self.path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                tracing::trace!(path = %self.path.display(), "no cache file yet");
                return Loaded {
                    entries: Entries::new(),
                    sound: true,
                    replaceable: true,
                };
            }
            Err(warning) => {
                let replaceable = !matches!(warning, CacheError::NotRegularFile { .. });
                self.warnings.record(warning);
                return Loaded {
                    entries: Entries::new(),
                    sound: false,
                    replaceable,
                };
            }
        };

        let (entries, problems) = format::decode(&self.path, &bytes);
        let sound = problems.is_empty();
        for problem in problems {
            self.warnings.record(problem);
        }
        Loaded {
            entries,
            sound,
            replaceable: true,
        }
    }

    /// Applies `change` to the file's entries under the write lock and writes the result.
    ///
    /// `change` returns whether it changed anything. The file is rewritten when it did, or when
    /// the file was damaged, so that any write repairs the file.
    fn update(&self, change: impl FnOnce(&mut Entries) -> bool) -> Result<(), CacheError> {
        // Checked before the lock too, so that a write to a FIFO is skipped without waiting.
        // Other problems with the path are reported by the steps below.
        reject_special_file(&self.path)?;
        let directory = self.directory();
        create_private_directory(directory).map_err(|error| CacheError::CreateDirectory {
            path: directory.to_owned(),
            error,
        })?;
        let lock = lock_exclusive(&self.lock_path)?;

        let Loaded {
            mut entries,
            sound,
            replaceable,
        } = self.load();
        if !replaceable {
            // The path turned into a special file after the check above. `load` has recorded
            // the warning already.
            return Ok(());
        }
        let changed = change(&mut entries);
        if !changed && sound {
            tracing::trace!(path = %self.path.display(), "cache file already up to date");
            return Ok(());
        }

        tracing::debug!(path = %self.path.display(), entries = entries.len(), "writing the cache file");
        format::encode(&entries)
            .and_then(|bytes| replace_file(&self.path, directory, &bytes))
            .map_err(|error| CacheError::Write {
                path: self.path.clone(),
                error,
            })?;

        // Closing the lock file releases the lock. The explicit drop shows that the lock
        // covers the whole read-modify-write.
        drop(lock);
        Ok(())
    }

    /// Removes the cache file under the write lock.
    fn remove(&self) -> Result<(), CacheError> {
        reject_special_file(&self.path)?;
        let lock = match lock_exclusive(&self.lock_path) {
            Ok(lock) => lock,
            // The directory was never created, so there is no file to remove.
            Err(CacheError::Lock { error, .. }) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(());
            }
            Err(error) => return Err(error),
        };

        tracing::debug!(path = %self.path.display(), "removing the cache file");
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(CacheError::Remove {
                    path: self.path.clone(),
                    error,
                })
            }
        }

        drop(lock);
        Ok(())
    }

    /// Records a failed write as a warning, or resets the repeat filter after a good one.
    fn finish_write(&self, result: Result<(), CacheError>) {
        match result {
            Ok(()) => self.warnings.reset_repeats(),
            Err(warning) => self.warnings.record(warning),
        }
    }
}

impl CacheStore for FileStore {
    fn get(&self, domain: &str) -> Option<CacheEntry> {
        let key = domain_key(domain);
        let entry = self.load().entries.remove(&key);
        tracing::trace!(domain = %key, hit = entry.is_some(), "cache lookup");
        entry
    }

    fn put(&self, domain: &str, entry: Option<CacheEntry>) {
        let key = domain_key(domain);
        let entry = entry.map(|entry| stamp(entry, SystemTime::now()));
        let result = self.update(|entries| match entry {
            Some(entry) => {
                entries.insert(key, entry);
                true
            }
            None => entries.remove(&key).is_some(),
        });
        self.finish_write(result);
    }

    fn clear(&self) {
        let result = self.remove();
        self.finish_write(result);
    }

    fn take_warnings(&self) -> Vec<CacheError> {
        self.warnings.take()
    }
}

/// The entries read from the cache file.
struct Loaded {
    entries: Entries,
    /// False when the file was damaged or unreadable and needs rewriting.
    sound: bool,
    /// False when the path names a special file, which must not be written over.
    replaceable: bool,
}

/// Reads the file at `path`, or returns `None` when it does not exist.
///
/// # Errors
/// [`CacheError::NotRegularFile`] when `path` names a special file or a directory,
/// [`CacheError::TooLarge`] past [`MAX_FILE_BYTES`], and [`CacheError::Read`] otherwise.
fn read_file(path: &Path) -> Result<Option<Vec<u8>>, CacheError> {
    let read_error = |error| CacheError::Read {
        path: path.to_owned(),
        error,
    };
    let too_large = || CacheError::TooLarge {
        path: path.to_owned(),
        max_bytes: MAX_FILE_BYTES,
    };

    if !check_regular_or_missing(path)? {
        return Ok(None);
    }
    let file = match open_without_blocking(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(error)),
    };
    // The path may have been replaced between the check and the open, so the opened file is
    // checked again.
    let metadata = file.metadata().map_err(read_error)?;
    check_regular(path, metadata.file_type())?;
    let length = metadata.len();
    if length > MAX_FILE_BYTES {
        return Err(too_large());
    }

    // The limit applies again while reading, in case the file grew after the size check.
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// Returns whether `path` exists, following symbolic links, and fails with
/// [`CacheError::NotRegularFile`] when it names anything but a regular file.
fn check_regular_or_missing(path: &Path) -> Result<bool, CacheError> {
    match fs::metadata(path) {
        Ok(metadata) => check_regular(path, metadata.file_type()).map(|()| true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(CacheError::Read {
            path: path.to_owned(),
            error,
        }),
    }
}

/// Fails with [`CacheError::NotRegularFile`] when `path` names anything but a regular file,
/// and passes when it is a regular file, missing or cannot be examined.
fn reject_special_file(path: &Path) -> Result<(), CacheError> {
    match check_regular_or_missing(path) {
        Err(warning @ CacheError::NotRegularFile { .. }) => Err(warning),
        _ => Ok(()),
    }
}

fn check_regular(path: &Path, file_type: FileType) -> Result<(), CacheError> {
    if file_type.is_file() {
        return Ok(());
    }
    Err(CacheError::NotRegularFile {
        path: path.to_owned(),
        kind: describe(file_type),
    })
}

/// Returns the usual name of a file type that is not a regular file.
fn describe(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        return "directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_block_device() {
            return "block device";
        }
        if file_type.is_char_device() {
            return "character device";
        }
    }
    "special file"
}

/// Opens `path` for reading. On Unix it passes `O_NONBLOCK`, so that opening a FIFO returns at
/// once instead of waiting for a writer. The flag changes nothing for a regular file.
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

/// Creates `directory` and its missing parents, with mode 0700 on Unix.
fn create_private_directory(directory: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(directory)
}

/// Opens (creating it with mode 0600 on Unix) and exclusively locks the lock file, waiting at
/// most [`MAX_LOCK_WAIT`] for another holder. The lock lasts until the returned file is closed.
fn lock_exclusive(lock_path: &Path) -> Result<File, CacheError> {
    let lock_error = |error| CacheError::Lock {
        path: lock_path.to_owned(),
        error,
    };

    let mut options = OpenOptions::new();
    // Windows refuses to lock a file opened only for appending, so it is opened for writing.
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        // A FIFO in place of the lock file must not block the open.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(lock_path).map_err(lock_error)?;
    if !file.metadata().map_err(lock_error)?.is_file() {
        return Err(lock_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the lock file is not a regular file",
        )));
    }

    let started = Instant::now();
    let mut pause = FIRST_LOCK_RETRY_PAUSE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(error)) => return Err(lock_error(error)),
        }
        let waited = started.elapsed();
        if waited >= MAX_LOCK_WAIT {
            return Err(lock_error(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "another process or thread held the lock for more than {} ms",
                    MAX_LOCK_WAIT.as_millis()
                ),
            )));
        }
        if pause == FIRST_LOCK_RETRY_PAUSE {
            tracing::debug!(
                path = %lock_path.display(),
                max_wait_ms = MAX_LOCK_WAIT.as_millis(),
                "the cache lock is held by another writer; retrying"
            );
        }
        thread::sleep(pause.min(MAX_LOCK_WAIT - waited));
        pause = (pause * 2).min(MAX_LOCK_RETRY_PAUSE);
    }
}

/// Replaces the file at `path` with `bytes` in one step: it writes a temporary file in
/// `directory`, flushes it to disk and renames it over `path`.
///
/// The directory is not flushed after the rename. After a power loss the old file may
/// therefore come back, which for a cache only costs a slower discovery, and it saves a
/// second `fsync` on every write.
fn replace_file(path: &Path, directory: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_else(|| "cache".as_ref()));
    prefix.push(".");

    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    // The temporary file is deleted when it is dropped before the rename.
    let mut temporary = builder.tempfile_in(directory)?;

    temporary.write_all(bytes)?;
    // Without this flush a crash after the rename could leave an empty or partial cache file.
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

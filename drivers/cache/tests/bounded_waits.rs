//! Cache access that must return in bounded time: a lock that another holder keeps, and
//! special files (FIFOs, sockets) at the cache path or the lock path.

mod common;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use autodiscover::Flavor;
use autodiscover_cache::{CacheError, CacheStore, FileStore, MAX_LOCK_WAIT};
use common::{cache_path, entry, file_store, temp_dir};

const FIRST: &str = "https://autodiscover.first.example/autodiscover/autodiscover.svc";
const SECOND: &str = "https://autodiscover.second.example/autodiscover/autodiscover.svc";

/// How long a store call that must not wait may take. The margin absorbs a busy machine.
const PROMPT: Duration = Duration::from_secs(1);

/// Runs `job` on its own thread and returns its result, or panics when it takes longer than
/// `limit`. A job that hangs is left behind, and the test process ends it on exit.
fn within<T: Send + 'static>(limit: Duration, job: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(job());
    });
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the cache call did not return within {limit:?}"))
}

/// Opens the lock file of `store` and locks it, as another process writing the cache would.
fn hold_lock(store: &FileStore) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(store.lock_path())
        .unwrap();
    file.lock().unwrap();
    file
}

#[test]
fn held_lock_skips_put_after_bound() {
    let dir = temp_dir();
    let store = Arc::new(file_store(&dir));
    store.put("first.example", Some(entry(FIRST, Flavor::Soap)));
    let before = fs::read(store.path()).unwrap();
    let lock = hold_lock(&store);

    let started = Instant::now();
    let writer = Arc::clone(&store);
    within(MAX_LOCK_WAIT + PROMPT, move || {
        writer.put("second.example", Some(entry(SECOND, Flavor::Soap)));
    });
    let elapsed = started.elapsed();
    let warnings = store.take_warnings();

    assert!(elapsed >= MAX_LOCK_WAIT, "gave up early: {elapsed:?}");
    let [CacheError::Lock { path, error }] = warnings.as_slice() else {
        panic!("warnings {warnings:?}");
    };
    assert_eq!(path, store.lock_path());
    assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    assert!(
        warnings[0]
            .to_string()
            .contains("the cache was not written"),
        "{}",
        warnings[0]
    );
    assert_eq!(fs::read(store.path()).unwrap(), before, "the file changed");

    // Reads take no lock, so they go on while it is held.
    let reader = Arc::clone(&store);
    let found = within(PROMPT, move || reader.get("first.example"));
    assert!(found.is_some());

    drop(lock);
    store.put("second.example", Some(entry(SECOND, Flavor::Soap)));
    assert!(store.take_warnings().is_empty());
    assert!(store.get("second.example").is_some());
}

#[cfg(unix)]
mod special_files {
    use super::*;
    use std::os::unix::fs::FileTypeExt;
    use std::os::unix::net::UnixListener;
    use std::process::Command;

    fn make_fifo(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let status = Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("failed to run mkfifo");
        assert!(
            status.success(),
            "mkfifo {} failed: {status}",
            path.display()
        );
    }

    /// Runs `get`, `put` and `clear` on a store whose cache path is the special file at
    /// `path`, and checks that each returns promptly with a warning naming `kind`.
    fn check_left_alone(path: &Path, kind: &str) {
        let store = Arc::new(FileStore::new(path));

        let reader = Arc::clone(&store);
        let found = within(PROMPT, move || reader.get("first.example"));
        let read_warnings = store.take_warnings();
        let writer = Arc::clone(&store);
        within(PROMPT, move || {
            writer.put("first.example", Some(entry(FIRST, Flavor::Soap)));
        });
        let write_warnings = store.take_warnings();
        let clearer = Arc::clone(&store);
        within(PROMPT, move || clearer.clear());
        let clear_warnings = store.take_warnings();

        assert!(found.is_none());
        for (call, warnings) in [
            ("get", &read_warnings),
            ("put", &write_warnings),
            ("clear", &clear_warnings),
        ] {
            let [CacheError::NotRegularFile { kind: found, .. }] = warnings.as_slice() else {
                panic!("{call} warnings {warnings:?}");
            };
            assert_eq!(*found, kind, "{call}");
        }
        assert!(
            read_warnings[0].to_string().contains("not a regular file"),
            "{}",
            read_warnings[0]
        );
    }

    #[test]
    fn fifo_at_cache_path_left_alone() {
        let dir = temp_dir();
        let path = cache_path(&dir);
        make_fifo(&path);

        check_left_alone(&path, "FIFO");

        assert!(fs::metadata(&path).unwrap().file_type().is_fifo());
    }

    #[test]
    fn socket_at_cache_path_left_alone() {
        let dir = temp_dir();
        let path = cache_path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let _listener = UnixListener::bind(&path).unwrap();

        check_left_alone(&path, "socket");

        assert!(fs::metadata(&path).unwrap().file_type().is_socket());
    }

    #[test]
    fn link_to_fifo_left_alone() {
        let dir = temp_dir();
        let fifo = dir.path().join("fifo");
        make_fifo(&fifo);
        let path = cache_path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&fifo, &path).unwrap();

        check_left_alone(&path, "FIFO");

        assert!(fs::symlink_metadata(&path).unwrap().is_symlink());
    }

    #[test]
    fn fifo_as_lock_file_skips_put() {
        let dir = temp_dir();
        let store = Arc::new(file_store(&dir));
        make_fifo(store.lock_path());

        let writer = Arc::clone(&store);
        within(PROMPT, move || {
            writer.put("first.example", Some(entry(FIRST, Flavor::Soap)));
        });
        let warnings = store.take_warnings();

        assert!(
            matches!(warnings.as_slice(), [CacheError::Lock { .. }]),
            "warnings {warnings:?}"
        );
        assert!(!store.path().exists(), "the cache was written");
    }

    #[test]
    fn link_to_regular_file_read_then_replaced() {
        // A link is followed for reading, and a write replaces the link, not its target.
        let dir = temp_dir();
        let target = dir.path().join("target.json");
        let seeded = FileStore::new(&target);
        seeded.put("first.example", Some(entry(FIRST, Flavor::Soap)));
        let target_bytes = fs::read(&target).unwrap();
        let path = cache_path(&dir);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let store = FileStore::new(&path);

        let found = store.get("first.example");
        store.put("second.example", Some(entry(SECOND, Flavor::Soap)));

        assert!(found.is_some());
        assert!(store.take_warnings().is_empty());
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(fs::read(&target).unwrap(), target_bytes);
        assert!(store.get("first.example").is_some());
        assert!(store.get("second.example").is_some());
    }
}

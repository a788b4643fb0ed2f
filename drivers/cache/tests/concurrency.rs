//! Concurrent writers and readers on one cache file: threads, and separate processes.
//!
//! The multi-process test runs this test binary again as its child processes. Each child runs
//! only [`child_writer`], which reads its role from environment variables.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use autodiscover::Flavor;
use autodiscover_cache::{CacheStore, FileStore, FORMAT_VERSION};
use common::{cache_path, entry, file_store, temp_dir};
use serde_json::Value;

const WRITERS: usize = 4;
/// Domains per child process.
const DOMAINS_PER_PROCESS: usize = 50;
/// Domains per thread. Fewer than per process, because the thread tests run beside the process
/// test and every write parses the whole file, so the cost grows with the square of the count.
const DOMAINS_PER_THREAD: usize = 25;

/// The cache file a child writes to. Its presence makes [`child_writer`] play the child.
const CHILD_PATH_VAR: &str = "AUTODISCOVER_CACHE_TEST_CHILD_PATH";
/// The index of the child, which picks its domains.
const CHILD_INDEX_VAR: &str = "AUTODISCOVER_CACHE_TEST_CHILD_INDEX";

fn domain(writer: usize, index: usize) -> String {
    format!("w{writer}-d{index}.example")
}

fn endpoint(writer: usize, index: usize) -> String {
    format!(
        "https://autodiscover.{}/autodiscover/autodiscover.svc",
        domain(writer, index)
    )
}

/// Reads the raw cache file, if it exists, and panics unless it is a whole version 1 document.
/// Returns the number of entries.
fn parse_whole_file(path: &Path) -> Option<usize> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => panic!("failed to read {}: {error}", path.display()),
    };
    let document: Value = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
        panic!(
            "torn or invalid cache file ({error}):\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(document["version"], FORMAT_VERSION);
    let entries = document["entries"]
        .as_object()
        .expect("entries is not a map");
    Some(entries.len())
}

/// Writes `count` domains as writer `writer`, reading after every write: its own entry back
/// through the store, and the whole raw file.
fn write_and_check(store: &FileStore, writer: usize, count: usize) {
    for index in 0..count {
        store.put(
            &domain(writer, index),
            Some(entry(&endpoint(writer, index), Flavor::Soap)),
        );

        let own = store
            .get(&domain(writer, index))
            .expect("own entry missing right after put");
        assert_eq!(own.endpoint.as_str(), endpoint(writer, index));
        let count = parse_whole_file(store.path()).expect("cache file missing after put");
        assert!(
            count > index,
            "file has {count} entries after {} own puts",
            index + 1
        );

        let warnings = store.take_warnings();
        assert!(
            warnings.is_empty(),
            "writer {writer}: warnings {warnings:?}"
        );
    }
}

/// Asserts that the file at `path` contains the `count` domains of each of `writers` writers.
fn assert_all_entries(path: &Path, writers: usize, count: usize) {
    let reader = FileStore::new(path);
    let mut missing = Vec::new();
    for writer in 0..writers {
        for index in 0..count {
            match reader.get(&domain(writer, index)) {
                Some(found) => assert_eq!(found.endpoint.as_str(), endpoint(writer, index)),
                None => missing.push(domain(writer, index)),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} entries lost: {missing:?}",
        missing.len()
    );
    assert_eq!(parse_whole_file(path), Some(writers * count));
    assert!(reader.take_warnings().is_empty());
}

/// Plays one child process of [`processes_keep_every_entry`], and returns at once when run
/// without the child variables.
#[test]
#[ignore = "run only as a child process of processes_keep_every_entry"]
fn child_writer() {
    let Some(path) = std::env::var_os(CHILD_PATH_VAR) else {
        return;
    };
    let writer: usize = std::env::var(CHILD_INDEX_VAR)
        .expect("child index variable missing")
        .parse()
        .expect("child index is not a number");

    write_and_check(
        &FileStore::new(PathBuf::from(path)),
        writer,
        DOMAINS_PER_PROCESS,
    );
}

fn spawn_child(path: &Path, writer: usize, log_dir: &Path) -> Child {
    let log = File::create(log_dir.join(format!("child-{writer}.log"))).unwrap();
    Command::new(std::env::current_exe().expect("test binary path unknown"))
        .args([
            "child_writer",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_PATH_VAR, path)
        .env(CHILD_INDEX_VAR, writer.to_string())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("failed to start a child test process")
}

#[test]
fn processes_keep_every_entry() {
    let dir = temp_dir();
    let path = cache_path(&dir);
    let log_dir = temp_dir();
    let started = Instant::now();

    let mut children: Vec<Child> = (0..WRITERS)
        .map(|writer| spawn_child(&path, writer, log_dir.path()))
        .collect();

    // Read the file while the children write, and require every read to parse.
    let mut reads = 0;
    let mut partial_reads = 0;
    let mut statuses = [None; WRITERS];
    while statuses.iter().any(Option::is_none) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "children did not finish in 60 s"
        );
        if let Some(count) = parse_whole_file(&path) {
            reads += 1;
            if count < WRITERS * DOMAINS_PER_PROCESS {
                partial_reads += 1;
            }
        }
        for (child, status) in children.iter_mut().zip(statuses.iter_mut()) {
            if status.is_none() {
                *status = child.try_wait().expect("failed to poll a child");
            }
        }
        thread::sleep(Duration::from_millis(5));
    }

    for (writer, status) in statuses.iter().enumerate() {
        let status = status.expect("loop ends only when every child exited");
        let log = fs::read_to_string(log_dir.path().join(format!("child-{writer}.log")))
            .unwrap_or_default();
        assert!(status.success(), "child {writer} failed ({status}):\n{log}");
        assert!(
            log.contains("1 passed"),
            "child {writer} ran no test:\n{log}"
        );
    }
    assert_all_entries(&path, WRITERS, DOMAINS_PER_PROCESS);
    println!("parent read the file {reads} times while children wrote, {partial_reads} mid-way");
}

#[test]
fn threads_share_one_store() {
    let dir = temp_dir();
    let store = Arc::new(file_store(&dir));

    let handles: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = Arc::clone(&store);
            thread::spawn(move || write_and_check(&store, writer, DOMAINS_PER_THREAD))
        })
        .collect();
    for handle in handles {
        handle.join().expect("writer thread panicked");
    }

    assert_all_entries(store.path(), WRITERS, DOMAINS_PER_THREAD);
}

#[test]
fn threads_with_own_stores() {
    let dir = temp_dir();
    let path = cache_path(&dir);

    let handles: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = FileStore::new(&path);
            thread::spawn(move || write_and_check(&store, writer, DOMAINS_PER_THREAD))
        })
        .collect();
    for handle in handles {
        handle.join().expect("writer thread panicked");
    }

    assert_all_entries(&path, WRITERS, DOMAINS_PER_THREAD);
}

#[test]
fn deletes_race_with_writes() {
    // Half the threads write domains while the others delete domains of their own, so a
    // delete that rewrote a stale copy of the file would drop the writers' entries.
    let dir = temp_dir();
    let path = cache_path(&dir);
    let seeded = FileStore::new(&path);
    for index in 0..DOMAINS_PER_THREAD {
        seeded.put(
            &domain(9, index),
            Some(entry(&endpoint(9, index), Flavor::Pox)),
        );
    }

    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let store = FileStore::new(&path);
            thread::spawn(move || write_and_check(&store, writer, DOMAINS_PER_THREAD))
        })
        .collect();
    let deleter = {
        let store = FileStore::new(&path);
        thread::spawn(move || {
            for index in 0..DOMAINS_PER_THREAD {
                store.put(&domain(9, index), None);
            }
        })
    };
    for handle in writers {
        handle.join().expect("writer thread panicked");
    }
    deleter.join().expect("deleter thread panicked");

    assert_all_entries(&path, 2, DOMAINS_PER_THREAD);
    for index in 0..DOMAINS_PER_THREAD {
        assert!(
            seeded.get(&domain(9, index)).is_none(),
            "deleted entry {index} came back"
        );
    }
}

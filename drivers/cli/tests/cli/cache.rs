//! `--clear-cache`, `--cache-file` and `--no-cache` on temporary files.

use autodiscover::{CacheEntry, Flavor};
use autodiscover_cache::{CacheStore, FileStore};

use crate::common::Sandbox;

fn entry() -> CacheEntry {
    CacheEntry {
        endpoint: "https://autodiscover.example.com/autodiscover/autodiscover.svc"
            .parse()
            .unwrap(),
        flavor: Flavor::Soap,
        auth_scheme: None,
        stored_at: None,
    }
}

#[test]
fn clear_cache_alone_clears_and_exits() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("endpoints.json");
    FileStore::new(&path).put("example.com", Some(entry()));
    assert!(FileStore::new(&path).get("example.com").is_some());

    let output = sandbox.run(&["--clear-cache", "--cache-file", path.to_str().unwrap()]);

    output.assert_code(0);
    assert!(
        output.stdout.contains("Cleared the endpoint cache at"),
        "{}",
        output.stdout
    );
    assert!(FileStore::new(&path).get("example.com").is_none());
    assert!(!path.exists(), "the cache file is removed");
}

#[test]
fn clear_cache_uses_default_path_from_environment() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("xdg-cache/autodiscover-rs/endpoints.json");
    FileStore::new(&path).put("example.com", Some(entry()));

    let output = sandbox.run(&["--json", "--clear-cache"]);

    output.assert_code(0);
    let document = output.json();
    assert_eq!(document["ok"], true);
    assert_eq!(document["cache_cleared"], path.to_str().unwrap());
    assert!(!path.exists(), "the cache file is removed");
}

#[test]
fn clear_cache_of_missing_file_succeeds() {
    let sandbox = Sandbox::new();
    let path = sandbox.path("never-written.json");
    let output = sandbox.run(&["--clear-cache", "--cache-file", path.to_str().unwrap()]);

    output.assert_code(0);
}

#[cfg(unix)]
#[test]
fn clear_cache_failure_is_local_error() {
    // A cache path below a regular file cannot have a lock file, so clearing fails.
    let sandbox = Sandbox::new();
    let file = sandbox.path("plain-file");
    std::fs::write(&file, "not a folder").unwrap();
    let path = file.join("endpoints.json");

    let output = sandbox.run(&["--clear-cache", "--cache-file", path.to_str().unwrap()]);

    output.assert_code(7);
    assert!(
        output.stderr.contains("error: failed to lock "),
        "{}",
        output.stderr
    );
}

#[test]
fn clear_cache_conflicts_with_no_cache() {
    let output = Sandbox::new().run(&["--clear-cache", "--no-cache"]);

    output.assert_code(2);
    assert!(
        output.stderr.contains("cannot be used with"),
        "{}",
        output.stderr
    );
}

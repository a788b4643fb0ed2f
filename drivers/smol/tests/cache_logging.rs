//! Checks that cache problems reach the log once, from the store, and not again from the
//! driver. This file contains one test so that it can install the process's global
//! subscriber, which also receives the events of smol's blocking threads.

mod common;

use autodiscover_scenarios::world::{soap_settings, Setup};
use autodiscover_smol::{CacheChoice, Client};

use common::{options, SharedBuffer};

#[test]
fn cache_problems_are_logged_by_the_store_only() {
    let setup = Setup::new();
    setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let logs = SharedBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_target(true)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    // A directory as the cache file: every read and write of the store fails.
    let directory = std::env::temp_dir().join(format!(
        "autodiscover-smol-{}-cache-directory",
        std::process::id()
    ));
    std::fs::create_dir_all(&directory).expect("create the directory");
    let mut config = run.config.clone();
    config.use_cache = true;
    let client = Client::new(
        options(&run)
            .config(config)
            .cache(CacheChoice::File(directory.clone())),
    )
    .expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");
    smol::block_on(client.discover("alice@example.com")).expect("second discovery");
    std::fs::remove_dir(&directory).expect("remove the directory");

    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|line| line.contains("WARN")).collect();
    assert!(
        !warnings.is_empty(),
        "the store logged no warning about the directory"
    );
    for line in &warnings {
        assert!(
            line.contains("autodiscover_cache"),
            "a warning not from the store: {line}"
        );
    }
    for (index, line) in warnings.iter().enumerate() {
        let message = line.split_once("WARN").map_or(*line, |(_, rest)| rest);
        let repeats = warnings[index + 1..]
            .iter()
            .filter(|other| other.ends_with(message))
            .count();
        assert_eq!(repeats, 0, "logged more than once at WARN: {line}");
    }
}

//! The endpoint cache: a second run that goes straight to the cached endpoint, and a cached
//! endpoint that stopped working.

use std::sync::{Arc, Mutex, PoisonError};

use autodiscover::{AttemptResult, CacheEntry, Flavor, Step, Strategy, TransportError};
use autodiscover_cache::{CacheStore, MemoryStore};
use url::Url;

use crate::world::{expect_discovery, soap_settings, Setup};
use crate::DriverUnderTest;

/// A memory store that also logs every write, to check what was written and in which order.
#[derive(Default)]
struct LoggingStore {
    inner: MemoryStore,
    writes: Mutex<Vec<(String, Option<Url>)>>,
}

impl LoggingStore {
    fn writes(&self) -> Vec<(String, Option<Url>)> {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl CacheStore for LoggingStore {
    fn get(&self, domain: &str) -> Option<CacheEntry> {
        self.inner.get(domain)
    }

    fn put(&self, domain: &str, entry: Option<CacheEntry>) {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((
                domain.to_owned(),
                entry.as_ref().map(|entry| entry.endpoint.clone()),
            ));
        self.inner.put(domain, entry);
    }

    fn clear(&self) {
        self.inner.clear();
    }
}

pub(crate) fn second_run_uses_cache(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("example.com", &[443]);
    let server = setup.soap(&["autodiscover.example.com"], soap_settings());
    let store = Arc::new(LoggingStore::default());
    let mut run = setup.run("alice@example.com");
    run.config.use_cache = true;
    // One candidate at a time, so that the second run cannot start step 1 next to the cached
    // endpoint on a slow machine and the request counts below are exact.
    run.config.strategy = Strategy::Sequential;
    run.cache = Some(store.clone());

    let first = expect_discovery(driver.discover(&run));
    assert_eq!(first.step, Step::AutodiscoverHost);
    let endpoint = "https://autodiscover.example.com/autodiscover/autodiscover.svc";
    let cached = store
        .get("example.com")
        .expect("the first run left the cache empty");
    assert_eq!(cached.endpoint.as_str(), endpoint);
    assert_eq!(cached.flavor, Flavor::Soap);

    let queries_before = setup.world.dns().queries().len();
    let requests_before = server.request_count();
    let second = expect_discovery(driver.discover(&run));

    assert_eq!(second.step, Step::Cache);
    assert_eq!(second.endpoint.as_str(), endpoint);
    assert_eq!(server.request_count(), requests_before + 1);
    let queries = setup.world.dns().queries();
    for query in &queries[queries_before..] {
        assert_eq!(
            query.name, "autodiscover.example.com.",
            "the cached run looked up another name: {query:?}"
        );
    }
}

pub(crate) fn dead_cached_endpoint_purged(driver: &dyn DriverUnderTest) {
    let setup = Setup::new();
    setup.refuse("old.example.com", &[443]);
    setup.soap(&["example.com"], soap_settings());
    let store = Arc::new(LoggingStore::default());
    let old =
        Url::parse("https://old.example.com/autodiscover/autodiscover.svc").expect("valid URL");
    store.inner.put(
        "example.com",
        Some(CacheEntry {
            endpoint: old,
            flavor: Flavor::Soap,
            auth_scheme: None,
            stored_at: None,
        }),
    );
    let mut run = setup.run("alice@example.com");
    run.config.use_cache = true;
    run.cache = Some(store.clone());

    let discovery = expect_discovery(driver.discover(&run));

    assert_eq!(discovery.step, Step::Domain);
    let first = discovery.trace.first().expect("the trace is empty");
    assert_eq!(first.step, Step::Cache);
    assert_eq!(
        first.result,
        AttemptResult::Transport(TransportError::ConnectionRefused)
    );
    let new = "https://example.com/autodiscover/autodiscover.svc";
    let writes: Vec<(String, Option<String>)> = store
        .writes()
        .into_iter()
        .map(|(domain, endpoint)| (domain, endpoint.map(String::from)))
        .collect();
    assert_eq!(
        writes,
        vec![
            ("example.com".to_owned(), None),
            ("example.com".to_owned(), Some(new.to_owned())),
        ],
        "the dead entry must be purged, then the new endpoint stored"
    );
    let cached = store
        .get("example.com")
        .expect("the new endpoint was not stored");
    assert_eq!(cached.endpoint.as_str(), new);
}

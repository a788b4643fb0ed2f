//! Tests of what the smol driver does beyond the shared scenarios: keep-alive, recording to a
//! file, setup errors, credential checks, `X-AnchorMailbox`, slow cache stores and `Send`
//! futures.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use autodiscover::CacheEntry;
use autodiscover_cache::{CacheStore, MemoryStore};
use autodiscover_scenarios::world::{soap_settings, xml_response, Setup};
use autodiscover_scenarios::ScenarioRun;
use autodiscover_smol::{CacheChoice, Client, Credentials, Error, Options};
use autodiscover_testworld::{Handler, RecordedRequest, Reply};

use common::{basic_protected, options};

const PASSWORD: &str = "retry-secret-91b2";
const TOKEN: &str = "bearer-token-7d41";

#[test]
fn basic_retry_reuses_connection() {
    let setup = Setup::new();
    let server = setup.https(&["example.com"], basic_protected());
    let run = setup.run("alice@example.com");
    let client =
        Client::new(options(&run).credentials(Credentials::basic("alice@example.com", PASSWORD)))
            .expect("client");

    let discovery = smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "requests: {requests:#?}");
    assert_eq!(
        requests[1].index_on_connection, 1,
        "the retry opened a new connection"
    );
    assert_eq!(server.connection_count(), 1);
    assert_eq!(
        discovery.endpoint.as_str(),
        "https://example.com/autodiscover/autodiscover.svc"
    );
}

#[test]
fn basic_up_front_skips_challenge() {
    let setup = Setup::new();
    let server = setup.https(&["example.com"], basic_protected());
    let run = setup.run("alice@example.com");
    let client = Client::new(
        options(&run)
            .credentials(Credentials::basic("alice@example.com", PASSWORD))
            .basic_up_front(true),
    )
    .expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    let authorization = requests[0].header("Authorization").unwrap_or_default();
    assert!(
        authorization.starts_with("Basic "),
        "Authorization {authorization:?}"
    );
}

#[test]
fn requested_settings_reach_the_body() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let client =
        Client::new(options(&run).settings(["ExternalEwsUrl", "UserDisplayName"])).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let body = String::from_utf8_lossy(&server.requests()[0].body).into_owned();
    assert!(
        body.contains("<a:Setting>ExternalEwsUrl</a:Setting>"),
        "body: {body}"
    );
    assert!(
        body.contains("<a:Setting>UserDisplayName</a:Setting>"),
        "body: {body}"
    );
    assert!(!body.contains("InternalEwsUrl"), "body: {body}");
}

#[test]
fn unknown_setting_is_discovery_error() {
    let setup = Setup::new();
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run).settings(["NoSuchSetting"])).expect("client");

    let error = smol::block_on(client.discover("alice@example.com")).expect_err("unknown name");

    assert!(
        matches!(
            error.discovery(),
            Some(autodiscover::Error::UnknownSetting { .. })
        ),
        "{error}"
    );
}

#[test]
fn second_discovery_reuses_connection() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("first discovery");
    assert_eq!(client.idle_connections(), 1);
    smol::block_on(client.discover("bob@example.com")).expect("second discovery");

    assert_eq!(server.request_count(), 2);
    assert_eq!(
        server.connection_count(),
        1,
        "the second discovery opened a new connection"
    );

    client.close();
    assert_eq!(client.idle_connections(), 0);
    smol::block_on(client.discover("carol@example.com")).expect("discovery after close");
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn idle_connection_closed_by_server_is_replaced() {
    let setup = Setup::new();
    // The second request on any connection gets no response and the connection closes, as
    // when a server closes a keep-alive connection just as the client reuses it.
    let server = setup.https(
        &["example.com"],
        Handler::new(|request: &RecordedRequest| {
            if request.index_on_connection > 0 {
                Reply::Close
            } else {
                xml_response(soap_settings()).into()
            }
        }),
    );
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("first discovery");
    let discovery = smol::block_on(client.discover("alice@example.com"))
        .expect("the second discovery must retry on a new connection");

    assert_eq!(discovery.step, autodiscover::Step::Domain);
    assert_eq!(server.connection_count(), 2);
    assert_eq!(server.request_count(), 3);
}

#[test]
fn record_to_writes_transcript() {
    let setup = Setup::new();
    setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let path = temp_path("transcript.txt");
    let client = Client::new(options(&run).record_to(&path)).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    let text = std::fs::read_to_string(&path).expect("the transcript file");
    std::fs::remove_file(&path).expect("remove the transcript");
    assert!(text.contains("email alice@example.com"), "{text}");
    assert!(
        text.contains("POST https://example.com/autodiscover/autodiscover.svc"),
        "{text}"
    );
    assert!(text.contains("expect step 1"), "{text}");
}

#[test]
fn missing_ca_file_is_setup_error() {
    let error = Client::new(Options::new().ca_file("/nonexistent/autodiscover-ca.pem"))
        .expect_err("the CA file does not exist");
    assert!(matches!(error, Error::CaFile { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("/nonexistent/autodiscover-ca.pem"),
        "{error}"
    );
}

#[test]
fn unspecified_nameserver_is_setup_error() {
    let error = Client::new(
        Options::new()
            .nameserver("0.0.0.0:53".parse().unwrap())
            .cache(CacheChoice::None),
    )
    .expect_err("0.0.0.0 is no server");
    assert!(matches!(error, Error::InvalidNameserver { .. }), "{error}");
}

#[test]
fn invalid_email_is_discovery_error() {
    let setup = Setup::new();
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");
    let error = smol::block_on(client.discover("not-an-address")).expect_err("no @");
    let Some(autodiscover::Error::InvalidEmail { address, .. }) = error.discovery() else {
        panic!("expected an invalid email error, got: {error}");
    };
    assert_eq!(address, "not-an-address");
}

#[test]
fn client_and_discovery_are_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}

    let client = Client::new(
        Options::new()
            .cache(CacheChoice::None)
            .nameserver("127.0.0.1:53".parse().unwrap()),
    )
    .expect("client");
    assert_send_sync(&client);
    // A discovery can be spawned on a multi-threaded executor.
    assert_send(client.discover("alice@example.com"));
}

#[test]
fn control_characters_in_credentials_fail_setup() {
    let cases = [
        (
            Credentials::bearer("secret-91\r\nX-Injected: yes"),
            "bearer token",
        ),
        (
            Credentials::basic("alice\r\nX-Injected: yes", "secret-91"),
            "Basic user name",
        ),
        (Credentials::basic("alice", "secret-91\0"), "Basic password"),
    ];
    for (credentials, field) in cases {
        let error = Client::new(
            Options::new()
                .credentials(credentials)
                .cache(CacheChoice::None),
        )
        .expect_err("invalid credentials");
        assert!(matches!(error, Error::InvalidCredentials { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains(field), "{message}");
        assert!(!message.contains("secret-91"), "{message}");
        assert!(!message.contains("X-Injected"), "{message}");
    }
}

#[test]
fn discover_with_checks_credentials_first() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let client = Client::new(options(&run)).expect("client");

    let credentials = Credentials::bearer("secret-91\r\nX-Injected: yes");
    let error = smol::block_on(client.discover_with("alice@example.com", &credentials))
        .expect_err("invalid token");

    assert!(
        matches!(
            error,
            Error::InvalidCredentials {
                field: "bearer token",
                ..
            }
        ),
        "{error}"
    );
    assert!(!error.to_string().contains("secret-91"), "{error}");
    assert_eq!(server.request_count(), 0, "a request was sent");
}

#[test]
fn non_ascii_address_omits_anchor_mailbox() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("j\u{f6}rg@example.com");
    let client =
        Client::new(options(&run).credentials(Credentials::bearer(TOKEN))).expect("client");

    let discovery = smol::block_on(client.discover("j\u{f6}rg@example.com")).expect("discovery");

    assert_eq!(discovery.step, autodiscover::Step::Domain);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    assert_eq!(
        requests[0].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        !requests[0].has_header("X-AnchorMailbox"),
        "X-AnchorMailbox: {:?}",
        requests[0].header("X-AnchorMailbox")
    );
}

#[test]
fn ascii_address_sends_anchor_mailbox() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let client =
        Client::new(options(&run).credentials(Credentials::bearer(TOKEN))).expect("client");

    smol::block_on(client.discover("alice@example.com")).expect("discovery");

    assert_eq!(
        server.requests()[0].header("X-AnchorMailbox"),
        Some("alice@example.com")
    );
}

/// How long [`SlowStore`] blocks in a slow call: far past the request timeout of
/// [`cache_options`].
const STORE_DELAY: Duration = Duration::from_millis(1000);

/// A memory store whose reads or writes block for [`STORE_DELAY`], as a file store does while
/// another process holds its lock.
struct SlowStore {
    inner: MemoryStore,
    slow_get: bool,
    slow_put: bool,
}

impl CacheStore for SlowStore {
    fn get(&self, domain: &str) -> Option<CacheEntry> {
        if self.slow_get {
            std::thread::sleep(STORE_DELAY);
        }
        self.inner.get(domain)
    }

    fn put(&self, domain: &str, entry: Option<CacheEntry>) {
        if self.slow_put {
            std::thread::sleep(STORE_DELAY);
        }
        self.inner.put(domain, entry);
    }

    fn clear(&self) {
        self.inner.clear();
    }
}

/// Returns options with the cache on, `store` as the cache and a 200 ms request timeout.
fn cache_options(run: &ScenarioRun, store: Arc<SlowStore>) -> Options {
    let mut config = run.config.clone();
    config.use_cache = true;
    config.request_timeout = Duration::from_millis(200);
    options(run).config(config).cache(CacheChoice::Store(store))
}

#[test]
fn slow_cache_write_finishes_in_background() {
    let setup = Setup::new();
    setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let store = Arc::new(SlowStore {
        inner: MemoryStore::new(),
        slow_get: false,
        slow_put: true,
    });
    let client = Client::new(cache_options(&run, Arc::clone(&store))).expect("client");

    let started = Instant::now();
    smol::block_on(client.discover("alice@example.com")).expect("discovery");
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_millis(800), "took {elapsed:?}");
    let written_by = Instant::now() + STORE_DELAY * 2;
    while store.inner.get("example.com").is_none() {
        assert!(
            Instant::now() < written_by,
            "the cache write never finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn slow_cache_read_counts_as_miss() {
    let setup = Setup::new();
    let server = setup.soap(&["example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let store = Arc::new(SlowStore {
        inner: MemoryStore::new(),
        slow_get: true,
        slow_put: false,
    });
    let client = Client::new(cache_options(&run, store)).expect("client");

    let started = Instant::now();
    let discovery = smol::block_on(client.discover("alice@example.com")).expect("discovery");
    let elapsed = started.elapsed();

    assert_eq!(discovery.step, autodiscover::Step::Domain);
    assert_eq!(server.request_count(), 1);
    // Unbounded, the read alone would take STORE_DELAY, and the write queued behind it
    // longer still.
    assert!(elapsed < Duration::from_millis(800), "took {elapsed:?}");
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("autodiscover-smol-{}-{name}", std::process::id()))
}

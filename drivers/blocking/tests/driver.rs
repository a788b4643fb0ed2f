//! Tests of what is particular to the blocking driver, against real servers on loopback from
//! `autodiscover-testworld`: worker threads and deadlines, credentials on the wire, DNS over
//! TCP, content codings and recording. The scenarios every driver shares are in `e2e.rs`.

use std::io::Write;
use std::time::{Duration, Instant};

use autodiscover::{Config, Flavor, Step, Strategy};
use autodiscover_blocking::{CacheChoice, Client, Credentials, Error, Options, Roots};
use autodiscover_testworld::{DnsTransport, RecordedRequest, Reply, Response, Routes, Srv, World};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::write::ZlibEncoder;
use flate2::Compression;

const EMAIL: &str = "alice@example.com";
const POX_PATH: &str = "/autodiscover/autodiscover.xml";
const EWS_URL: &str = "https://mail.example.com/EWS/Exchange.asmx";
const POX_SETTINGS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>Alice Example</DisplayName>
      <AutoDiscoverSMTPAddress>alice@example.com</AutoDiscoverSMTPAddress>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol>
        <Type>EXPR</Type>
        <Server>mail.example.com</Server>
        <SSL>On</SSL>
        <EwsUrl>https://mail.example.com/EWS/Exchange.asmx</EwsUrl>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
"#;

/// How long a worker left behind by a finished discovery may take to end. Its socket is shut
/// down when the outcome is ready, so it ends at once. The margin absorbs a busy machine.
const WORKER_EXIT_LIMIT: Duration = Duration::from_secs(1);

fn settings() -> Response {
    Response::new(200)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(POX_SETTINGS)
}

fn pox_routes(reply: impl Into<Reply>) -> Routes {
    Routes::new().route("POST", POX_PATH, reply)
}

/// Returns options that reach only the test world: its nameserver, its CA and its connect
/// overrides, with no cache. Call it after every server is started.
fn options(world: &World, config: Config) -> Options {
    let mut options = Options::new()
        .flavor(Flavor::Pox)
        .config(config)
        .nameserver(world.dns().addr())
        .roots(Roots::None)
        .ca_file(world.ca().pem_file().expect("the CA file is written"))
        .cache(CacheChoice::None);
    for (host, port, addr) in world.connect_overrides() {
        options = options.connect_to(host, port, addr);
    }
    options
}

fn config(strategy: Strategy, request_timeout: Duration, deadline: Duration) -> Config {
    Config {
        strategy,
        request_timeout,
        deadline,
        use_cache: false,
        ..Config::default()
    }
}

/// Waits until `client` has no running worker, for at most `limit`; returns the time taken.
fn wait_for_workers(client: &Client, limit: Duration) -> Duration {
    let started = Instant::now();
    while client.running_workers() > 0 {
        assert!(
            started.elapsed() < limit,
            "{} worker threads still running {limit:?} after the outcome",
            client.running_workers()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

/// Maps `autodiscover.example.com` on port 80 to a server that responds with 404, so that a
/// step 3 probe stays inside the test world.
fn plain_http_not_found(world: &World) {
    world
        .http(&["autodiscover.example.com"], Reply::status(404))
        .expect("the http server starts");
}

#[test]
fn parallel_black_hole_leaves_no_thread() {
    let world = World::start().unwrap();
    let black_hole = world.https(&["example.com"], Reply::BlackHole).unwrap();
    world
        .https(&["autodiscover.example.com"], pox_routes(settings()))
        .unwrap();
    plain_http_not_found(&world);
    let request_timeout = Duration::from_secs(5);
    let strategy = Strategy::Parallel {
        stagger: Duration::from_millis(100),
        grace: Duration::from_millis(100),
    };
    let client = Client::new(options(
        &world,
        config(strategy, request_timeout, Duration::from_secs(20)),
    ))
    .unwrap();

    let started = Instant::now();
    let discovery = client.discover(EMAIL).expect("step 2 answers");
    let elapsed = started.elapsed();

    assert_eq!(discovery.step, Step::AutodiscoverHost);
    assert_eq!(
        discovery.ews_url.as_ref().map(|url| url.as_str()),
        Some(EWS_URL)
    );
    assert_eq!(black_hole.request_count(), 1, "step 1 received its request");
    assert!(
        elapsed < request_timeout / 2,
        "the black hole held the outcome back: {elapsed:?}"
    );
    wait_for_workers(&client, WORKER_EXIT_LIMIT);
}

#[test]
fn sequential_black_hole_times_out() {
    let world = World::start().unwrap();
    world.https(&["example.com"], Reply::BlackHole).unwrap();
    world
        .https(&["autodiscover.example.com"], pox_routes(settings()))
        .unwrap();
    let request_timeout = Duration::from_millis(600);
    let client = Client::new(options(
        &world,
        config(
            Strategy::Sequential,
            request_timeout,
            Duration::from_secs(20),
        ),
    ))
    .unwrap();

    let started = Instant::now();
    let discovery = client.discover(EMAIL).expect("step 2 answers");
    let elapsed = started.elapsed();

    assert_eq!(discovery.step, Step::AutodiscoverHost);
    assert!(
        elapsed >= request_timeout,
        "step 1 was abandoned early: {elapsed:?}"
    );
    assert!(
        elapsed < request_timeout * 4,
        "the discovery took {elapsed:?}"
    );
    wait_for_workers(&client, WORKER_EXIT_LIMIT);
}

#[test]
fn black_holes_everywhere_meet_deadline() {
    let world = World::start().unwrap();
    world
        .https(
            &["example.com", "autodiscover.example.com"],
            Reply::BlackHole,
        )
        .unwrap();
    world
        .http(&["autodiscover.example.com"], Reply::BlackHole)
        .unwrap();
    let deadline = Duration::from_secs(1);
    let strategy = Strategy::Parallel {
        stagger: Duration::from_millis(50),
        grace: Duration::from_millis(50),
    };
    let client = Client::new(options(
        &world,
        config(strategy, Duration::from_secs(30), deadline),
    ))
    .unwrap();

    let started = Instant::now();
    let error = client.discover(EMAIL).expect_err("nothing answers");
    let elapsed = started.elapsed();

    let Error::Discovery(error) = error else {
        panic!("expected a discovery error, got {error}");
    };
    assert_eq!(error.kind(), "deadline_exceeded", "{error}");
    assert!(
        elapsed >= deadline,
        "finished before the deadline: {elapsed:?}"
    );
    assert!(
        elapsed < deadline + Duration::from_millis(500),
        "overran the deadline: {elapsed:?}"
    );
    wait_for_workers(&client, WORKER_EXIT_LIMIT);
}

/// Returns a handler that responds with 401 and offers `schemes` to requests without an
/// `Authorization` header, and returns the settings to requests with one.
fn challenge(
    schemes: &'static [&'static str],
) -> impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static {
    move |request: &RecordedRequest| {
        if request.has_header("Authorization") {
            return settings().into();
        }
        let mut response = Response::new(401);
        for scheme in schemes {
            response = response.header("WWW-Authenticate", scheme);
        }
        response.into()
    }
}

fn expected_basic() -> String {
    format!("Basic {}", STANDARD.encode("alice@example.com:hunter2"))
}

#[test]
fn basic_sent_after_challenge() {
    let world = World::start().unwrap();
    let server = world
        .https(
            &["example.com"],
            challenge(&["Negotiate", "Basic realm=\"mail\""]),
        )
        .unwrap();
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    )
    .credentials(Credentials::basic(EMAIL, "hunter2"));
    let client = Client::new(options).unwrap();

    let discovery = client
        .discover(EMAIL)
        .expect("the second request is accepted");

    assert_eq!(discovery.step, Step::Domain);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].header("Authorization"), None);
    assert_eq!(
        requests[1].header("Authorization"),
        Some(expected_basic().as_str())
    );
    assert_eq!(requests[1].header("X-AnchorMailbox"), None);
}

#[test]
fn basic_not_sent_without_offer() {
    let world = World::start().unwrap();
    let server = world
        .https(&["example.com"], challenge(&["Negotiate", "NTLM"]))
        .unwrap();
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    )
    .credentials(Credentials::basic(EMAIL, "hunter2"));
    let client = Client::new(options).unwrap();

    let _ = client.discover(EMAIL);

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].header("Authorization"), None);
}

#[test]
fn basic_up_front_on_first_request() {
    let world = World::start().unwrap();
    let server = world
        .https(&["example.com"], challenge(&["Basic"]))
        .unwrap();
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    )
    .credentials(Credentials::basic(EMAIL, "hunter2"))
    .basic_up_front(true);
    let client = Client::new(options).unwrap();

    client
        .discover(EMAIL)
        .expect("the first request is accepted");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].header("Authorization"),
        Some(expected_basic().as_str())
    );
}

#[test]
fn bearer_with_anchor_mailbox() {
    let world = World::start().unwrap();
    let server = world
        .https(&["example.com"], challenge(&["Bearer"]))
        .unwrap();
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    )
    .credentials(Credentials::bearer("token-123"));
    let client = Client::new(options).unwrap();

    client.discover(EMAIL).expect("the token is accepted");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].header("Authorization"),
        Some("Bearer token-123")
    );
    assert_eq!(requests[0].header("X-AnchorMailbox"), Some(EMAIL));
    assert_eq!(requests[0].sni.as_deref(), Some("example.com"));
    assert!(requests[0]
        .header("User-Agent")
        .is_some_and(|agent| agent.contains("blocking")));
}

#[test]
fn bearer_without_anchor_for_non_ascii_address() {
    let world = World::start().unwrap();
    let server = world
        .https(&["example.com"], challenge(&["Bearer"]))
        .unwrap();
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    )
    .credentials(Credentials::bearer("token-123"));
    let client = Client::new(options).unwrap();

    client
        .discover("jürgen@example.com")
        .expect("the token is accepted");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].header("Authorization"),
        Some("Bearer token-123")
    );
    assert!(
        !requests[0].has_header("X-AnchorMailbox"),
        "{:?}",
        requests[0].headers
    );
}

#[test]
fn truncated_srv_answer_retried_over_tcp() {
    let world = World::start().unwrap();
    world
        .https(&["mail.example.net"], pox_routes(settings()))
        .unwrap();
    // Twenty records with long targets exceed 512 bytes, so the UDP answer is truncated. The
    // working target has the lowest priority value, so it is tried first.
    let mut records = vec![Srv::new(0, 0, 443, "mail.example.net")];
    for index in 1..20 {
        records.push(Srv::new(
            10,
            0,
            443,
            &format!("a-rather-long-host-name-{index:02}.unreachable.example.net"),
        ));
    }
    world
        .dns()
        .set_srv("_autodiscover._tcp.example.com", records);
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        )
        .trust_host("mail.example.net"),
    );
    let client = Client::new(options).unwrap();

    let discovery = client.discover(EMAIL).expect("the SRV target answers");

    assert_eq!(discovery.step, Step::Srv);
    let srv_queries: Vec<_> = world
        .dns()
        .queries()
        .into_iter()
        .filter(|query| query.record_type == "SRV")
        .collect();
    assert!(
        srv_queries
            .iter()
            .any(|query| query.transport == DnsTransport::Udp),
        "{srv_queries:?}"
    );
    assert!(
        srv_queries
            .iter()
            .any(|query| query.transport == DnsTransport::Tcp),
        "{srv_queries:?}"
    );
}

#[test]
fn deflate_response_decoded() {
    let world = World::start().unwrap();
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(POX_SETTINGS.as_bytes()).unwrap();
    let compressed = encoder.finish().unwrap();
    let reply = Response::new(200)
        .header("Content-Type", "text/xml")
        .header("Content-Encoding", "deflate")
        .body(compressed);
    let server = world.https(&["example.com"], pox_routes(reply)).unwrap();
    let client = Client::new(options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    ))
    .unwrap();

    let discovery = client.discover(EMAIL).expect("the deflate body decodes");

    assert_eq!(
        discovery.ews_url.as_ref().map(|url| url.as_str()),
        Some(EWS_URL)
    );
    assert_eq!(
        server.requests()[0].header("Accept-Encoding"),
        Some("gzip, deflate")
    );
}

#[test]
fn recording_written_without_secrets() {
    let world = World::start().unwrap();
    world
        .https(&["example.com"], challenge(&["Basic"]))
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("session.transcript");
    let options = options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    )
    .credentials(Credentials::basic(EMAIL, "hunter2"))
    .record_to(&path);
    let client = Client::new(options).unwrap();

    client.discover(EMAIL).expect("the challenge is answered");

    let transcript = std::fs::read_to_string(&path).unwrap();
    assert!(
        transcript.contains("POST https://example.com/autodiscover/autodiscover.xml"),
        "{transcript}"
    );
    assert!(transcript.contains("auth Basic"), "{transcript}");
    assert!(!transcript.contains("hunter2"), "{transcript}");
    assert!(
        !transcript.contains(&STANDARD.encode("alice@example.com:hunter2")),
        "{transcript}"
    );
}

#[test]
fn file_cache_answers_second_run() {
    let world = World::start().unwrap();
    let server = world
        .https(&["example.com"], pox_routes(settings()))
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("endpoints.json");
    let mut config = config(
        Strategy::Sequential,
        Duration::from_secs(5),
        Duration::from_secs(20),
    );
    config.use_cache = true;
    let options = options(&world, config).cache(CacheChoice::File(path.clone()));

    let first = Client::new(options.clone())
        .unwrap()
        .discover(EMAIL)
        .expect("step 1 answers");
    let second = Client::new(options)
        .unwrap()
        .discover(EMAIL)
        .expect("the cache answers");

    assert_eq!(first.step, Step::Domain);
    assert_eq!(second.step, Step::Cache);
    assert_eq!(server.request_count(), 2);
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        file.contains("https://example.com/autodiscover/autodiscover.xml"),
        "{file}"
    );
}

#[test]
fn nameserver_never_answering_times_out() {
    // A UDP socket that never reads behaves like a nameserver that drops every query.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let nameserver = silent.local_addr().unwrap();
    let deadline = Duration::from_millis(800);
    let options = Options::new()
        .flavor(Flavor::Pox)
        .config(config(
            Strategy::Sequential,
            Duration::from_millis(300),
            deadline,
        ))
        .nameserver(nameserver)
        .cache(CacheChoice::None);
    let client = Client::new(options).unwrap();

    let started = Instant::now();
    let error = client.discover(EMAIL).expect_err("no name resolves");
    let elapsed = started.elapsed();

    assert!(error.discovery().is_some(), "{error}");
    assert!(
        elapsed < deadline + Duration::from_millis(500),
        "took {elapsed:?}"
    );
    wait_for_workers(&client, Duration::from_secs(1));
}

#[test]
fn connect_reuses_checked_addresses() {
    let world = World::start().unwrap();
    let target = world
        .https(&["mail.example.net"], pox_routes(settings()))
        .unwrap();
    // The explicit port has no connect override, so the driver connects to the address that
    // the test DNS server returns for mail.example.net, on the server's real port.
    let location = format!(
        "https://mail.example.net:{}{POX_PATH}",
        target.addr().port()
    );
    world
        .https(
            &["example.com"],
            pox_routes(Response::redirect(302, &location)),
        )
        .unwrap();
    let client = Client::new(options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    ))
    .unwrap();

    let discovery = client.discover(EMAIL).expect("the redirect target answers");

    assert_eq!(discovery.endpoint.as_str(), location);
    assert_eq!(target.request_count(), 1);
    let lookups = world
        .dns()
        .queries()
        .into_iter()
        .filter(|query| query.name == "mail.example.net." && query.record_type == "A")
        .count();
    assert_eq!(lookups, 1, "the connection looked the host up again");
}

#[test]
fn missing_ca_file_is_setup_error() {
    let options = Options::new()
        .ca_file("/nonexistent/autodiscover-ca.pem")
        .nameserver("127.0.0.1:53".parse().unwrap())
        .cache(CacheChoice::None);
    let error = Client::new(options).expect_err("the CA file does not exist");
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
    let options = Options::new()
        .nameserver("0.0.0.0:53".parse().unwrap())
        .cache(CacheChoice::None);
    let error = Client::new(options).expect_err("0.0.0.0 is no server");
    assert!(matches!(error, Error::InvalidNameserver { .. }), "{error}");
}

#[test]
fn invalid_email_is_discovery_error() {
    let world = World::start().unwrap();
    let client = Client::new(options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    ))
    .unwrap();

    let error = client
        .discover("not-an-address")
        .expect_err("there is no @");

    let Some(autodiscover::Error::InvalidEmail { address, .. }) = error.discovery() else {
        panic!("expected an invalid email error, got: {error}");
    };
    assert_eq!(address, "not-an-address");
    assert_eq!(client.running_workers(), 0);
}

#[test]
fn one_client_serves_threads() {
    let world = World::start().unwrap();
    let server = world
        .https(&["example.com"], pox_routes(settings()))
        .unwrap();
    let client = Client::new(options(
        &world,
        config(
            Strategy::Sequential,
            Duration::from_secs(5),
            Duration::from_secs(20),
        ),
    ))
    .unwrap();

    let steps: Vec<Step> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| client.discover(EMAIL).expect("step 1 answers").step))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });

    assert_eq!(steps, [Step::Domain; 4]);
    assert_eq!(server.request_count(), 4);
}

//! Wall-clock benchmarks of whole discoveries over real sockets on loopback, with the same
//! cases as the smol driver's benchmark.
//!
//! Run with `cargo bench -p autodiscover-blocking --bench discovery`. Each case prints the
//! median, minimum and maximum of its iterations. The servers, the DNS server and the client
//! share the machine, so the figures include the test world's own work.
//!
//! This driver opens a new connection for every request, so the smol benchmark's case of a
//! cached endpoint over a kept-alive connection has no counterpart here.

use std::time::{Duration, Instant};

use autodiscover::config::{DEFAULT_GRACE, DEFAULT_STAGGER};
use autodiscover::{Config, Step, Strategy};
use autodiscover_blocking::{CacheChoice, Client, Options, Roots};
use autodiscover_scenarios::world::{soap_settings, Setup};
use autodiscover_scenarios::ScenarioRun;
use autodiscover_testworld::Reply;

const EMAIL: &str = "alice@example.com";

/// Request timeout of the black-hole cases: what the sequential strategy waits for step 1.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

fn options(run: &ScenarioRun, config: Config, cache: CacheChoice) -> Options {
    let mut options = Options::new()
        .config(config)
        .nameserver(run.nameserver)
        .roots(Roots::None)
        .ca_file(&run.ca_file)
        .cache(cache);
    for (host, port, addr) in &run.connect_overrides {
        options = options.connect_to(host.as_str(), *port, *addr);
    }
    options
}

/// Runs `discover` `iterations` times, checks the step each run ended at, and prints the
/// median, minimum and maximum duration.
fn measure(name: &str, iterations: usize, client: &Client, expected: Step) {
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let discovery = client.discover(EMAIL).expect("the discovery succeeds");
        times.push(started.elapsed());
        assert_eq!(
            discovery.step, expected,
            "{name}: the discovery ended at another step"
        );
    }
    times.sort();
    println!(
        "{name:<52} median {:>9.2?}  min {:>9.2?}  max {:>9.2?}  ({iterations} runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
    );
}

/// Step 1 accepts connections and never responds; step 2 returns the settings.
fn black_hole(strategy: Strategy, label: &str, iterations: usize) {
    let setup = Setup::new();
    setup.https(&["example.com"], Reply::BlackHole);
    setup.soap(&["autodiscover.example.com"], soap_settings());
    let run = setup.run(EMAIL);
    let config = Config {
        strategy,
        request_timeout: REQUEST_TIMEOUT,
        use_cache: false,
        ..Config::default()
    };
    let client = Client::new(options(&run, config, CacheChoice::None)).expect("the client builds");
    measure(label, iterations, &client, Step::AutodiscoverHost);
}

/// Step 1 refuses connections; step 2 returns the settings, first without and then with a
/// memory cache that contains its endpoint.
fn cached(iterations: usize) {
    let setup = Setup::new();
    setup.refuse("example.com", &[443]);
    setup.soap(&["autodiscover.example.com"], soap_settings());
    let run = setup.run(EMAIL);
    let config = Config {
        use_cache: true,
        ..Config::default()
    };

    let client =
        Client::new(options(&run, config.clone(), CacheChoice::Memory)).expect("the client builds");
    let first = client
        .discover(EMAIL)
        .expect("the first discovery succeeds");
    assert_eq!(first.step, Step::AutodiscoverHost);
    measure(
        "cached endpoint, new connection (TLS handshake)",
        iterations,
        &client,
        Step::Cache,
    );

    let uncached_config = Config {
        use_cache: false,
        ..config
    };
    let uncached =
        Client::new(options(&run, uncached_config, CacheChoice::None)).expect("the client builds");
    measure(
        "no cache: step 1 refused, step 2 answers",
        iterations,
        &uncached,
        Step::AutodiscoverHost,
    );
}

fn main() {
    // `cargo test --benches` runs this file without `--bench`; one iteration per case then
    // checks that every case still works.
    let quick = !std::env::args().any(|argument| argument == "--bench");
    let scale = |iterations: usize| if quick { 1 } else { iterations };

    println!(
        "autodiscover-blocking: whole discoveries on loopback (request timeout {REQUEST_TIMEOUT:?} for the black-hole cases)"
    );
    black_hole(
        Strategy::Sequential,
        "step 1 black hole, sequential",
        scale(3),
    );
    black_hole(
        Strategy::Parallel {
            stagger: Duration::from_millis(200),
            grace: Duration::from_millis(300),
        },
        "step 1 black hole, parallel (stagger 200 ms, grace 300 ms)",
        scale(5),
    );
    let defaults = format!(
        "step 1 black hole, parallel (defaults: {} ms, grace {} ms)",
        DEFAULT_STAGGER.as_millis(),
        DEFAULT_GRACE.as_millis()
    );
    black_hole(Strategy::default(), &defaults, scale(3));
    cached(scale(50));
}

//! Wall-clock benchmarks of whole discoveries over real sockets on loopback.
//!
//! Run with `cargo bench -p autodiscover-smol`. Each case prints the median, minimum and
//! maximum of its iterations. The servers, the DNS server and the client share the machine,
//! so the figures include the test world's own work.

use std::time::{Duration, Instant};

use autodiscover::{Config, Step, Strategy};
use autodiscover_scenarios::world::{soap_settings, Setup};
use autodiscover_scenarios::ScenarioRun;
use autodiscover_smol::{CacheChoice, Client, Options, Roots};
use autodiscover_testworld::Reply;

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
        options = options.connect_to(host.clone(), *port, *addr);
    }
    options
}

/// Runs `discover` `iterations` times and prints the median, minimum and maximum.
fn measure(name: &str, iterations: usize, mut discover: impl FnMut() -> Step, expected: Step) {
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let step = discover();
        times.push(started.elapsed());
        assert_eq!(
            step, expected,
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

fn black_hole(strategy: Strategy, label: &str, iterations: usize) {
    let setup = Setup::new();
    setup.https(&["example.com"], Reply::BlackHole);
    setup.soap(&["autodiscover.example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let config = Config {
        strategy,
        request_timeout: REQUEST_TIMEOUT,
        use_cache: false,
        ..Config::default()
    };
    let client = Client::new(options(&run, config, CacheChoice::None)).expect("client");
    measure(
        label,
        iterations,
        || {
            // A new connection every time, as for a first discovery.
            client.close();
            let discovery =
                smol::block_on(client.discover("alice@example.com")).expect("discovery");
            discovery.step
        },
        Step::AutodiscoverHost,
    );
}

fn cached(iterations: usize) {
    let setup = Setup::new();
    setup.refuse("example.com", &[443]);
    setup.soap(&["autodiscover.example.com"], soap_settings());
    let run = setup.run("alice@example.com");
    let config = Config {
        use_cache: true,
        ..Config::default()
    };
    let client = Client::new(options(&run, config.clone(), CacheChoice::Memory)).expect("client");
    let first = smol::block_on(client.discover("alice@example.com")).expect("first discovery");
    assert_eq!(first.step, Step::AutodiscoverHost);

    measure(
        "cached endpoint, kept-alive connection",
        iterations,
        || {
            let discovery =
                smol::block_on(client.discover("alice@example.com")).expect("discovery");
            discovery.step
        },
        Step::Cache,
    );
    measure(
        "cached endpoint, new connection (TLS handshake)",
        iterations,
        || {
            client.close();
            let discovery =
                smol::block_on(client.discover("alice@example.com")).expect("discovery");
            discovery.step
        },
        Step::Cache,
    );

    let uncached = Client::new(options(
        &run,
        Config {
            use_cache: false,
            ..config
        },
        CacheChoice::None,
    ))
    .expect("client");
    measure(
        "no cache: step 1 refused, step 2 answers",
        iterations,
        || {
            uncached.close();
            let discovery =
                smol::block_on(uncached.discover("alice@example.com")).expect("discovery");
            discovery.step
        },
        Step::AutodiscoverHost,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    println!("autodiscover-smol: whole discoveries on loopback (request timeout {REQUEST_TIMEOUT:?} for the black-hole cases)");
    black_hole(Strategy::Sequential, "step 1 black hole, sequential", 3);
    black_hole(
        Strategy::Parallel {
            stagger: Duration::from_millis(200),
            grace: Duration::from_millis(300),
        },
        "step 1 black hole, parallel (stagger 200 ms, grace 300 ms)",
        5,
    );
    black_hole(
        Strategy::default(),
        "step 1 black hole, parallel (core defaults: stagger 500 ms, grace 250 ms)",
        3,
    );
    cached(50);
}

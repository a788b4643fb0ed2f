//! The `tracing` subscriber behind `-v`: log lines of the core, the drivers and the cache on
//! standard error.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::time::Uptime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The crates whose logs `-v` shows. Other crates (rustls, hickory) stay silent.
const TARGETS: &[&str] = &[
    "autodiscover",
    "autodiscover_smol",
    "autodiscover_cache",
    "autodiscover_transcript",
    "autodiscover_cli",
];

/// The target of request and response bodies, logged by the smol driver at `trace`.
const WIRE_TARGET: &str = "wire::http";

/// Installs the subscriber for `verbosity` (the number of `-v`):
///
/// - 0: warnings and errors only, such as a cache file that cannot be written.
/// - 1: `debug`, so each action and its result as it happens: the URL requested, the status
///   or failure that came back, DNS answers and cache reads.
/// - 2 or more: `trace`, adding request and response heads and bodies. The smol driver
///   redacts credential headers, and the core never receives a password or token.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => LevelFilter::WARN,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let mut filter = Targets::new().with_targets(TARGETS.iter().map(|target| (*target, level)));
    if verbosity >= 2 {
        filter = filter.with_target(WIRE_TARGET, LevelFilter::TRACE);
    }

    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(verbosity >= 2);
    // Installing fails only when a subscriber is already set. `main` calls this once, first.
    let _ = if verbosity == 0 {
        // A warning on its own needs no timestamp.
        tracing_subscriber::registry()
            .with(layer.without_time())
            .with(filter)
            .try_init()
    } else {
        // Seconds since start, so that a slow candidate is easy to spot.
        tracing_subscriber::registry()
            .with(layer.with_timer(Uptime::default()))
            .with(filter)
            .try_init()
    };
}

//! Benchmarks of the pure core: response parsing and a whole discovery driven in memory.
//!
//! Run with `cargo bench --bench core`. Each figure is the median of several batches, printed
//! as time per iteration. No network and no clock inside the measured code beyond the loop's
//! own timing.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use autodiscover::{
    pox, soap, Action, Config, Discoverer, Event, Flavor, HttpResponse, Request, Strategy,
    TransportError,
};

const SOAP_SETTINGS: &[u8] = include_bytes!("../tests/fixtures/soap-settings-full.xml");
const POX_SETTINGS: &[u8] = include_bytes!("../tests/fixtures/pox-settings-utf8.xml");

/// Batches per benchmark; the median batch is reported.
const BATCHES: usize = 15;

fn main() {
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let run = |name: &str| {
        filter
            .as_deref()
            .map_or(true, |filter| name.contains(filter))
    };

    if run("parse_soap") {
        report(
            "parse_soap_get_user_settings",
            SOAP_SETTINGS.len(),
            2000,
            || {
                black_box(soap::parse_response(black_box(SOAP_SETTINGS)).is_ok());
            },
        );
    }
    if run("parse_pox") {
        report("parse_pox_settings", POX_SETTINGS.len(), 2000, || {
            black_box(pox::parse_response(black_box(POX_SETTINGS)).is_ok());
        });
    }
    if run("discovery") {
        report("discovery_step1_fails_step2_answers_soap", 0, 500, || {
            black_box(discover(Flavor::Soap));
        });
        report("discovery_step1_fails_step2_answers_pox", 0, 500, || {
            black_box(discover(Flavor::Pox));
        });
    }
}

/// Times `iterations` calls of `body` per batch and prints the median per-call time.
fn report(name: &str, bytes: usize, iterations: u32, mut body: impl FnMut()) {
    for _ in 0..iterations / 10 {
        body();
    }
    let mut batches: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                body();
            }
            start.elapsed() / iterations
        })
        .collect();
    batches.sort();
    let median = batches[BATCHES / 2];
    let throughput = if bytes > 0 {
        format!(
            ", {:.0} MB/s on {bytes} bytes",
            bytes as f64 / median.as_secs_f64() / 1e6
        )
    } else {
        String::new()
    };
    println!(
        "{name:48} median {:>9.2} µs  (min {:.2} µs){throughput}",
        median.as_secs_f64() * 1e6,
        batches[0].as_secs_f64() * 1e6
    );
}

/// Runs a whole discovery in memory: cache miss, step 1 refuses the connection, step 2
/// answers with settings, cache write. Returns whether it succeeded.
fn discover(flavor: Flavor) -> bool {
    let request = Request::new("alice@example.com")
        .expect("valid address")
        .flavor(flavor);
    let now = Instant::now();
    let mut discoverer = Discoverer::new(
        request,
        Config::default().strategy(Strategy::Sequential),
        now,
    );
    let body = match flavor {
        Flavor::Soap => SOAP_SETTINGS,
        Flavor::Pox => POX_SETTINGS,
    };
    loop {
        let mut events = Vec::new();
        while let Some(action) = discoverer.poll_action() {
            let event = match action {
                Action::CacheGet { id, .. } => Event::CacheGet { id, entry: None },
                Action::CachePut { id, .. } => Event::CachePut { id },
                Action::DnsA { id, .. } => Event::DnsA {
                    id,
                    result: Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
                },
                Action::DnsSrv { id, .. } => Event::DnsSrv {
                    id,
                    result: Ok(Vec::new()),
                },
                Action::HttpRequest { id, request } => {
                    let step2 = request
                        .url
                        .host_str()
                        .is_some_and(|host| host.starts_with("autodiscover."));
                    let result = if step2 {
                        Ok(HttpResponse {
                            status: 200,
                            headers: vec![(
                                "Content-Type".to_owned(),
                                "text/xml; charset=utf-8".to_owned(),
                            )],
                            body: body.to_vec(),
                            auth_scheme: Some("Basic".to_owned()),
                        })
                    } else {
                        Err(TransportError::ConnectionRefused)
                    };
                    Event::HttpResponse { id, result }
                }
            };
            events.push(event);
        }
        if let Some(outcome) = discoverer.poll_outcome() {
            return outcome.is_ok();
        }
        if events.is_empty() {
            return false;
        }
        for event in events {
            discoverer.handle_event(event, now);
        }
    }
}

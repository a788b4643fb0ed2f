//! The drive loop: it performs the core's actions and feeds their results back, with no
//! protocol decisions of its own.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use autodiscover::{
    Action, ActionId, CacheEntry, Config, Discoverer, Discovery, DnsError, Event, HttpRequest,
    Request,
};
use autodiscover_transcript::Recorder;
use futures_util::stream::{FuturesUnordered, StreamExt};
use smol::Timer;
use tracing::{debug, info};

use crate::cache_calls::CacheCalls;
use crate::dns;
use crate::http::{self, Auth};
use crate::shared::Shared;
use autodiscover_driver::Credentials;

type Running<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = Event> + Send + 'a>>>;

/// The inputs of one discovery besides the shared client state.
pub(crate) struct Run<'a> {
    pub(crate) request: Request,
    pub(crate) config: Config,
    pub(crate) credentials: &'a Credentials,
    pub(crate) basic_up_front: bool,
    pub(crate) recorder: Option<&'a mut Recorder>,
}

/// Runs one discovery to its outcome.
///
/// 1. Start every action the discoverer emits. HTTP requests and DNS lookups run
///    concurrently in one `FuturesUnordered`, each bounded by the request timeout. Cache reads
///    and writes run one at a time on smol's blocking pool and are awaited at once, each
///    bounded by the request timeout and the discovery's deadline. A read that runs out of
///    time counts as a miss, and a write goes on in the background, still in order (see
///    [`CacheCalls`]).
/// 2. Stop at the outcome. Outstanding requests and lookups are dropped, which closes their
///    connections. A final cache write was already carried out, or left running, in step 1.
/// 3. Feed finished cache results, or wait for the first network result or the discoverer's
///    next deadline, and go back to step 1.
pub(crate) async fn run(
    shared: &Shared,
    mut run: Run<'_>,
) -> Result<Discovery, autodiscover::Error> {
    let start = Instant::now();
    let request_timeout = run.config.request_timeout;
    let discovery_deadline = later(start, run.config.deadline);
    let mut discoverer = Discoverer::new(run.request, run.config, start);
    let mut running: Running<'_> = FuturesUnordered::new();

    loop {
        // Step 1: start every action.
        let mut ready = Vec::new();
        while let Some(action) = discoverer.poll_action() {
            if let Some(recorder) = run.recorder.as_deref_mut() {
                recorder.record_action(&action, start.elapsed());
            }
            let deadline = later(Instant::now(), request_timeout);
            match action {
                Action::CacheGet { id, domain } => {
                    let deadline = deadline.min(discovery_deadline);
                    ready.push(cache_get(shared.cache.as_ref(), id, domain, deadline).await);
                }
                Action::CachePut { id, domain, entry } => {
                    let deadline = deadline.min(discovery_deadline);
                    let event = cache_put(shared.cache.as_ref(), id, domain, entry, deadline);
                    ready.push(event.await);
                }
                Action::HttpRequest { id, request } => {
                    let auth = Auth {
                        credentials: run.credentials,
                        basic_up_front: run.basic_up_front,
                        mailbox: discoverer.current_email().to_string(),
                    };
                    running.push(Box::pin(http_action(shared, id, request, auth, deadline)));
                }
                Action::DnsA { id, host } => {
                    running.push(Box::pin(dns_a_action(shared, id, host, deadline)));
                }
                Action::DnsSrv { id, name } => {
                    running.push(Box::pin(dns_srv_action(shared, id, name, deadline)));
                }
            }
        }

        // Step 2: stop at the outcome.
        if let Some(outcome) = discoverer.poll_outcome() {
            if let Some(recorder) = run.recorder.as_deref_mut() {
                for event in &ready {
                    recorder.record_event(event, start.elapsed());
                }
                recorder.record_outcome(&outcome);
            }
            if !running.is_empty() {
                debug!(
                    outstanding = running.len(),
                    "dropping outstanding actions after the outcome"
                );
            }
            match &outcome {
                Ok(discovery) => {
                    info!(endpoint = %discovery.endpoint, step = %discovery.step, elapsed_ms = start.elapsed().as_millis() as u64, "discovery succeeded")
                }
                Err(error) => info!(
                    kind = error.kind(),
                    elapsed_ms = start.elapsed().as_millis() as u64,
                    "discovery failed"
                ),
            }
            return outcome;
        }

        // Step 3: feed results, or wait for one or for the next deadline.
        if ready.is_empty() {
            match next_event(&mut running, discoverer.poll_timeout(), request_timeout).await {
                Some(event) => ready.push(event),
                None => {
                    discoverer.handle_timeout(Instant::now());
                    continue;
                }
            }
        }
        for event in ready {
            if let Some(recorder) = run.recorder.as_deref_mut() {
                recorder.record_event(&event, start.elapsed());
            }
            discoverer.handle_event(event, Instant::now());
        }
    }
}

/// Returns `now + duration`, capped at a year from now so that a huge configured duration
/// cannot overflow `Instant`.
fn later(now: Instant, duration: Duration) -> Instant {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    now.checked_add(duration.min(YEAR)).unwrap_or(now)
}

/// Waits for the first finished action, or returns `None` at `deadline`.
///
/// The core always has a deadline while it runs. Should it ever have none, the wait is capped
/// at one request timeout, so that the loop neither spins nor hangs.
async fn next_event(
    running: &mut Running<'_>,
    deadline: Option<Instant>,
    fallback: Duration,
) -> Option<Event> {
    let timer = match deadline {
        Some(at) => Timer::at(at),
        None => Timer::after(fallback),
    };
    if running.is_empty() {
        timer.await;
        return None;
    }
    smol::future::or(running.next(), async {
        timer.await;
        None
    })
    .await
}

async fn http_action(
    shared: &Shared,
    id: ActionId,
    request: HttpRequest,
    auth: Auth<'_>,
    deadline: Instant,
) -> Event {
    let started = Instant::now();
    let result = http::perform(shared, &request, &auth, deadline).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(response) => debug!(
            %id,
            url = %request.url,
            status = response.status,
            body_bytes = response.body.len(),
            auth_scheme = response.auth_scheme.as_deref().unwrap_or("none"),
            elapsed_ms,
            "HTTP response"
        ),
        Err(error) => debug!(%id, url = %request.url, %error, elapsed_ms, "HTTP request failed"),
    }
    Event::HttpResponse { id, result }
}

async fn dns_a_action(shared: &Shared, id: ActionId, host: String, deadline: Instant) -> Event {
    let result = until(deadline, dns::lookup_addresses(&shared.resolver, &host)).await;
    match &result {
        Ok(addresses) => debug!(%id, %host, ?addresses, "DNS A answer"),
        Err(error) => debug!(%id, %host, %error, "DNS A lookup failed"),
    }
    Event::DnsA { id, result }
}

async fn dns_srv_action(shared: &Shared, id: ActionId, name: String, deadline: Instant) -> Event {
    let result = until(deadline, dns::lookup_srv(&shared.resolver, &name)).await;
    match &result {
        Ok(records) => debug!(%id, %name, ?records, "DNS SRV answer"),
        Err(error) => debug!(%id, %name, %error, "DNS SRV lookup failed"),
    }
    Event::DnsSrv { id, result }
}

/// Runs a lookup until `deadline`, failing with `DnsError::Timeout` when it passes first.
async fn until<T>(
    deadline: Instant,
    lookup: impl Future<Output = Result<T, DnsError>>,
) -> Result<T, DnsError> {
    smol::future::or(lookup, async {
        Timer::at(deadline).await;
        Err(DnsError::Timeout)
    })
    .await
}

async fn cache_get(
    cache: Option<&CacheCalls>,
    id: ActionId,
    domain: String,
    deadline: Instant,
) -> Event {
    let entry = match cache {
        Some(cache) => cache.get(id, domain, deadline).await,
        None => None,
    };
    debug!(%id, hit = entry.is_some(), "cache read");
    Event::CacheGet { id, entry }
}

async fn cache_put(
    cache: Option<&CacheCalls>,
    id: ActionId,
    domain: String,
    entry: Option<CacheEntry>,
    deadline: Instant,
) -> Event {
    if let Some(cache) = cache {
        let removal = entry.is_none();
        cache.put(id, domain, entry, deadline).await;
        debug!(%id, removal, "cache write");
    }
    Event::CachePut { id }
}

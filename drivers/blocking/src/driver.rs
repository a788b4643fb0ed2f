//! The drive loop: it performs the core's actions and feeds their results back, with no
//! protocol decisions of its own.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autodiscover::{
    Action, ActionId, CacheEntry, Config, Discoverer, Discovery, DnsError, Event, HttpRequest,
    Request, TransportError,
};
use autodiscover_cache::CacheStore;
use autodiscover_transcript::Recorder;
use tracing::{debug, info, trace, warn};

use crate::auth::Auth;
use crate::dns::KnownAddresses;
use crate::http::{RequestScope, Transport};
use crate::worker::{Cancel, WorkerCount};

/// The state shared by every discovery of one client.
pub(crate) struct Shared {
    pub(crate) transport: Transport,
    pub(crate) cache: Option<Arc<dyn CacheStore>>,
    pub(crate) workers: WorkerCount,
}

/// The inputs of one discovery besides the shared client state.
pub(crate) struct Run<'a> {
    pub(crate) request: Request,
    pub(crate) config: Config,
    pub(crate) auth: Auth,
    pub(crate) recorder: Option<&'a mut Recorder>,
}

/// Runs one discovery to its outcome on the calling thread.
///
/// 1. Start every action the discoverer emits. HTTP requests and DNS lookups each get a
///    worker thread, bounded by the request timeout, which sends its event over a channel.
///    Cache reads and writes run here, one at a time, so that a purge and the write that
///    follows it for the same domain land in order.
///    NOTE: a file cache write waits up to `autodiscover_cache::MAX_LOCK_WAIT` (2 s) for the
///    file lock and then skips the write, so another process that holds the lock stalls this
///    loop by that much, which can pass a shorter core deadline.
/// 2. Stop at the outcome. Workers still running are cancelled and not joined: their sockets
///    are shut down and their events dropped. A final cache write was already carried out in
///    step 1.
/// 3. Feed the cache results, or wait on the channel with `recv_timeout` until the
///    discoverer's next deadline, feed what arrived or call `handle_timeout`, and go back to
///    step 1.
pub(crate) fn run(
    shared: &Arc<Shared>,
    mut run: Run<'_>,
) -> Result<Discovery, autodiscover::Error> {
    let start = Instant::now();
    let request_timeout = run.config.request_timeout;
    let mut discoverer = Discoverer::new(run.request, run.config, start);
    let (sender, receiver) = mpsc::channel();
    let cancel = Arc::new(Cancel::default());
    let known = Arc::new(KnownAddresses::default());
    let auth = Arc::new(run.auth);
    let mut ready = Vec::new();

    let outcome = loop {
        // Step 1: start every action.
        while let Some(action) = discoverer.poll_action() {
            if let Some(recorder) = run.recorder.as_deref_mut() {
                recorder.record_action(&action, start.elapsed());
            }
            let deadline = deadline_after(request_timeout);
            let email = discoverer.current_email().to_string();
            let job = Job {
                shared: Arc::clone(shared),
                cancel: Arc::clone(&cancel),
                sender: sender.clone(),
                deadline,
                known: Arc::clone(&known),
            };
            match action {
                Action::CacheGet { id, domain } => {
                    ready.push(cache_get(shared.cache.as_deref(), id, &domain))
                }
                Action::CachePut { id, domain, entry } => {
                    ready.push(cache_put(shared.cache.as_deref(), id, &domain, entry))
                }
                Action::HttpRequest { id, request } => {
                    let auth = Arc::clone(&auth);
                    let perform = move |job: &Job| http_action(job, id, &request, &auth, &email);
                    let failed = |reason| Event::HttpResponse {
                        id,
                        result: Err(TransportError::Io(reason)),
                    };
                    ready.extend(job.start(id, "autodiscover-http", perform, failed));
                }
                Action::DnsA { id, host } => {
                    let perform = move |job: &Job| dns_a_action(job, id, &host);
                    let failed = |reason| Event::DnsA {
                        id,
                        result: Err(DnsError::Failed(reason)),
                    };
                    ready.extend(job.start(id, "autodiscover-dns", perform, failed));
                }
                Action::DnsSrv { id, name } => {
                    let perform = move |job: &Job| dns_srv_action(job, id, &name);
                    let failed = |reason| Event::DnsSrv {
                        id,
                        result: Err(DnsError::Failed(reason)),
                    };
                    ready.extend(job.start(id, "autodiscover-dns", perform, failed));
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
            break outcome;
        }

        // Step 3: feed results, or wait for one or for the next deadline.
        if ready.is_empty() {
            match wait(&receiver, discoverer.poll_timeout(), request_timeout) {
                Some(event) => {
                    ready.push(event);
                    ready.extend(receiver.try_iter());
                }
                None => {
                    discoverer.handle_timeout(Instant::now());
                    continue;
                }
            }
        }
        for event in ready.drain(..) {
            if let Some(recorder) = run.recorder.as_deref_mut() {
                recorder.record_event(&event, start.elapsed());
            }
            discoverer.handle_event(event, Instant::now());
        }
        // A steady flow of events must not starve a deadline that has passed meanwhile.
        if discoverer
            .poll_timeout()
            .is_some_and(|at| at <= Instant::now())
        {
            discoverer.handle_timeout(Instant::now());
        }
    };

    cancel.cancel();
    let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    match &outcome {
        Ok(discovery) => {
            info!(endpoint = %discovery.endpoint, step = %discovery.step, elapsed_ms, "discovery succeeded")
        }
        Err(error) => info!(kind = error.kind(), elapsed_ms, "discovery failed"),
    }
    outcome
}

/// Returns the instant `timeout` from now, or a year from now when `timeout` is too large to
/// add to the clock.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 60 * 60))
}

/// Waits for the first event, or returns `None` at `deadline`.
///
/// The core always has a deadline while it runs. Should it ever have none, the wait is capped
/// at one request timeout, so that the loop neither spins nor hangs.
fn wait(
    receiver: &Receiver<Event>,
    deadline: Option<Instant>,
    fallback: Duration,
) -> Option<Event> {
    let timeout = match deadline {
        Some(at) => at.saturating_duration_since(Instant::now()),
        None => fallback,
    };
    match receiver.recv_timeout(timeout) {
        Ok(event) => Some(event),
        Err(RecvTimeoutError::Timeout) => None,
        // The loop keeps a sender, so the channel never disconnects while it waits.
        Err(RecvTimeoutError::Disconnected) => None,
    }
}

/// The inputs of a worker: the client, the discovery's cancellation, the channel for its
/// event, its deadline, and the addresses found so far.
struct Job {
    shared: Arc<Shared>,
    cancel: Arc<Cancel>,
    sender: Sender<Event>,
    deadline: Instant,
    known: Arc<KnownAddresses>,
}

impl Job {
    /// Runs `perform` on a new worker thread, which sends its event. When no thread can be
    /// started, returns the event that `failed` builds from the reason, so that the action is
    /// still answered.
    fn start(
        self,
        id: ActionId,
        name: &str,
        perform: impl FnOnce(&Job) -> Event + Send + 'static,
        failed: impl FnOnce(String) -> Event,
    ) -> Option<Event> {
        let workers = self.shared.workers.clone();
        let started = workers.spawn(name, move || {
            let event = perform(&self);
            if self.sender.send(event).is_err() {
                trace!(%id, "dropping the result of an action that outlived its discovery");
            }
        });
        let error = started.err()?;
        warn!(%id, %error, "failed to start a worker thread");
        Some(failed(format!("failed to start a worker thread: {error}")))
    }
}

fn http_action(job: &Job, id: ActionId, request: &HttpRequest, auth: &Auth, email: &str) -> Event {
    let started = Instant::now();
    let scope = RequestScope {
        deadline: job.deadline,
        cancel: &job.cancel,
        known: &job.known,
    };
    let result = auth.send(&job.shared.transport, request, email, &scope);
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
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

fn dns_a_action(job: &Job, id: ActionId, host: &str) -> Event {
    let result = job
        .shared
        .transport
        .resolver
        .lookup_ip(host, job.deadline, &job.cancel);
    if let Ok(addresses) = &result {
        job.known.insert(host, addresses);
    }
    match &result {
        Ok(addresses) => debug!(%id, %host, ?addresses, "DNS A answer"),
        Err(error) => debug!(%id, %host, %error, "DNS A lookup failed"),
    }
    Event::DnsA { id, result }
}

fn dns_srv_action(job: &Job, id: ActionId, name: &str) -> Event {
    let result = job
        .shared
        .transport
        .resolver
        .lookup_srv(name, job.deadline, &job.cancel);
    match &result {
        Ok(records) => debug!(%id, %name, ?records, "DNS SRV answer"),
        Err(error) => debug!(%id, %name, %error, "DNS SRV lookup failed"),
    }
    Event::DnsSrv { id, result }
}

/// Reads the cache. The store logs its own problems and keeps them for
/// [`CacheStore::take_warnings`], so they are left for the caller there.
fn cache_get(store: Option<&dyn CacheStore>, id: ActionId, domain: &str) -> Event {
    let entry = store.and_then(|store| store.get(domain));
    debug!(%id, hit = entry.is_some(), "cache read");
    Event::CacheGet { id, entry }
}

fn cache_put(
    store: Option<&dyn CacheStore>,
    id: ActionId,
    domain: &str,
    entry: Option<CacheEntry>,
) -> Event {
    if let Some(store) = store {
        let removal = entry.is_none();
        store.put(domain, entry);
        debug!(%id, removal, "cache write");
    }
    Event::CachePut { id }
}

//! The [`Discoverer`]: the sans-IO state machine that runs one Autodiscover discovery.
//!
//! Every state transition lives in this module and its children. `candidate` contains the
//! per-candidate state, `response` interprets HTTP responses, and `finish` builds the outcome.

mod candidate;
mod finish;
mod response;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use tracing::{debug, trace};
use url::Url;

use crate::action::{Action, ActionId, CacheEntry, HttpRequest, Method};
use crate::config::{Config, Strategy, UntrustedRedirects, MAX_ACTIONS};
use crate::error::{Challenge, Error};
use crate::event::{DnsError, Event, HttpResponse, SrvRecord};
use crate::outcome::{Discovery, Redirect};
use crate::request::{EmailAddress, Flavor, Request};
use crate::settings::SettingName;
use crate::trace::{Attempt, AttemptResult, Step};
use crate::trust::{check_endpoint_url, host_of, is_trusted_host, normalize_url};
use crate::{answer::ServerError, pox, soap, srv};

use candidate::{Candidate, Decisive, Next, State};

/// Runs one Autodiscover discovery without doing any IO.
///
/// The discoverer emits [`Action`]s for a driver to perform and consumes the [`Event`]s that
/// answer them. It never reads a clock: every call that can start or check a deadline takes
/// `now`, and inputs must come in non-decreasing time order (an earlier `now` is treated as the
/// latest one seen).
///
/// # Driving it
/// 1. After [`Discoverer::new`] and after every `handle_*` call, drain [`poll_action`] to
///    `None` and start every action; several may be outstanding at once, so run them
///    concurrently.
/// 2. Then check [`poll_outcome`]. Once it returns `Some`, the discovery is over: the
///    discoverer is inert, and outstanding actions may be dropped (a final cache write should
///    still be carried out).
/// 3. Otherwise wait until an action completes or [`poll_timeout`] passes, then call
///    [`handle_event`] or [`handle_timeout`], and go back to step 1.
///
/// Each action must be answered by exactly one event with the same id. An event for an action
/// the discoverer gave up on (timed out, or from before an address redirect) is ignored, as are
/// an early or repeated `handle_timeout` and unknown ids.
///
/// [`poll_action`]: Discoverer::poll_action
/// [`poll_outcome`]: Discoverer::poll_outcome
/// [`poll_timeout`]: Discoverer::poll_timeout
/// [`handle_event`]: Discoverer::handle_event
/// [`handle_timeout`]: Discoverer::handle_timeout
#[derive(Debug)]
pub struct Discoverer {
    config: Config,
    flavor: Flavor,
    settings: Vec<SettingName>,

    /// Every address asked for, the current one last.
    addresses: Vec<EmailAddress>,
    /// Email domains whose hosts are trusted with credentials.
    trusted_domains: Vec<String>,

    now: Instant,
    deadline: Instant,

    queue: VecDeque<Action>,
    next_id: u64,
    actions_emitted: usize,
    pending: BTreeMap<ActionId, Pending>,

    /// Address lookups, shared by every candidate and kept across address redirects.
    hosts: BTreeMap<String, HostState>,
    /// Normalised URLs already requested, with the address asked for.
    visited: BTreeSet<(String, String)>,
    redirects: Vec<Redirect>,
    trace: Vec<Attempt>,

    /// The candidates of the current address, in priority order.
    candidates: Vec<Candidate>,
    /// Whether the current address is still waiting for its cache lookup.
    cache_lookup: Option<ActionId>,

    failures: Failures,
    outcome: Option<Result<Discovery, Error>>,
    finished: bool,
}

/// The purpose of an outstanding action.
#[derive(Debug)]
enum Pending {
    Cache { deadline: Instant },
    CacheWrite,
    Dns { host: String, deadline: Instant },
    Srv { candidate: usize, deadline: Instant },
    Http { candidate: usize, deadline: Instant },
}

/// The address lookup of one host.
#[derive(Debug, Clone)]
enum HostState {
    Resolving,
    Resolved,
    Failed(DnsError),
}

/// Failures that shape the final error when no candidate succeeds.
#[derive(Debug, Default)]
struct Failures {
    /// The first user-level error (InvalidUser and the like), with its URL and address.
    user_error: Option<(ServerError, String, String)>,
    /// The first request-level error (InvalidRequest, InvalidSetting), with its URL.
    request_error: Option<(ServerError, String)>,
    /// The first other server error (InternalServerError, NotFederated, unknown codes), with
    /// its URL.
    server_error: Option<(ServerError, String)>,
    /// 401 responses to requests that carried credentials.
    challenges: Vec<Challenge>,
    /// The first host that answered 401 without credentials, or whose redirect was rejected
    /// for lack of trust, with the URL.
    untrusted: Option<(String, String)>,
    /// Whether a URL redirect was refused because the limit was reached.
    redirect_limit_hit: bool,
}

impl Discoverer {
    /// Starts a discovery for `request` at time `now`.
    ///
    /// The first actions are ready at once: a cache lookup when the cache is enabled, else the
    /// first candidates.
    pub fn new(request: Request, config: Config, now: Instant) -> Self {
        let email = request.email().clone();
        let mut discoverer = Self {
            flavor: request.flavor_kind(),
            settings: request.requested_settings().to_vec(),
            trusted_domains: vec![email.domain().to_owned()],
            addresses: vec![email],
            now,
            deadline: later(now, config.deadline),
            config,
            queue: VecDeque::new(),
            next_id: 0,
            actions_emitted: 0,
            pending: BTreeMap::new(),
            hosts: BTreeMap::new(),
            visited: BTreeSet::new(),
            redirects: Vec::new(),
            trace: Vec::new(),
            candidates: Vec::new(),
            cache_lookup: None,
            failures: Failures::default(),
            outcome: None,
            finished: false,
        };
        discoverer.start_address();
        discoverer
    }

    /// Returns the next action for the driver, or `None` when there is nothing to do now.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.queue.pop_front()?;
        debug!(action = %action, "autodiscover action");
        Some(action)
    }

    /// Returns the next instant at which [`handle_timeout`](Discoverer::handle_timeout) must be
    /// called, or `None` once the discovery is over.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let mut next = self.deadline;
        for pending in self.pending.values() {
            if let Pending::Cache { deadline }
            | Pending::Dns { deadline, .. }
            | Pending::Srv { deadline, .. }
            | Pending::Http { deadline, .. } = pending
            {
                next = next.min(*deadline);
            }
        }
        for candidate in &self.candidates {
            match &candidate.state {
                State::Backoff { until, .. } => next = next.min(*until),
                State::Answered { at, .. } => {
                    if let Strategy::Parallel { grace, .. } = self.config.strategy {
                        next = next.min(later(*at, grace));
                    }
                }
                _ => {}
            }
        }
        if let Some(at) = self.next_stagger() {
            next = next.min(at);
        }
        Some(next)
    }

    /// Returns the outcome once, when the discovery is over.
    #[must_use]
    pub fn poll_outcome(&mut self) -> Option<Result<Discovery, Error>> {
        self.outcome.take()
    }

    /// Returns whether the discovery is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Returns the address currently asked for.
    pub fn current_email(&self) -> &EmailAddress {
        self.current()
    }

    /// Feeds the result of an action.
    pub fn handle_event(&mut self, event: Event, now: Instant) {
        self.advance_clock(now);
        if self.finished {
            return;
        }
        let Some(pending) = self.pending.remove(&event.id()) else {
            trace!(id = %event.id(), "ignoring an event for an action no longer awaited");
            return;
        };

        match (pending, event) {
            (Pending::Cache { .. }, Event::CacheGet { id, entry }) => {
                self.on_cache_entry(id, entry)
            }
            (Pending::CacheWrite, Event::CachePut { .. }) => {}
            (Pending::Dns { host, .. }, Event::DnsA { result, .. }) => {
                let result = match result {
                    Ok(addresses) if addresses.is_empty() => Err(DnsError::NoRecords),
                    Ok(_) => Ok(()),
                    Err(error) => Err(error),
                };
                self.on_host_resolved(&host, result);
            }
            (Pending::Srv { candidate, .. }, Event::DnsSrv { result, .. }) => {
                self.on_srv(candidate, result)
            }
            (Pending::Http { candidate, .. }, Event::HttpResponse { id, result }) => {
                self.on_http(candidate, id, result)
            }
            (pending, event) => {
                debug!(?pending, id = %event.id(), "event kind does not match its action; treating it as a failure");
                self.fail_pending(pending, event.id());
            }
        }
        self.schedule();
    }

    /// Expires deadlines that have passed; harmless when called early or repeatedly.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance_clock(now);
        if self.finished {
            return;
        }
        if self.now >= self.deadline {
            self.on_deadline();
            return;
        }

        let expired: Vec<ActionId> = self
            .pending
            .iter()
            .filter(|(_, pending)| match pending {
                Pending::Cache { deadline }
                | Pending::Dns { deadline, .. }
                | Pending::Srv { deadline, .. }
                | Pending::Http { deadline, .. } => *deadline <= self.now,
                Pending::CacheWrite => false,
            })
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(pending) = self.pending.remove(&id) {
                self.fail_pending(pending, id);
            }
        }

        // Answers whose turn has come are taken before retries go out, so that a retry is never
        // sent for a discovery that has just ended or restarted.
        self.schedule();
        for index in 0..self.candidates.len() {
            if self.finished {
                return;
            }
            if let State::Backoff { until, next } = &self.candidates[index].state {
                if *until <= self.now {
                    let next = next.clone();
                    self.send(index, next);
                }
            }
        }
        self.schedule();
    }

    fn advance_clock(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn current(&self) -> &EmailAddress {
        // The list starts with the caller's address and only grows.
        &self.addresses[self.addresses.len() - 1]
    }

    /// Begins discovery for the current address: the cache first, else the candidates.
    fn start_address(&mut self) {
        self.candidates.clear();
        self.cache_lookup = None;
        if self.config.use_cache {
            let domain = self.current().domain().to_owned();
            let id = self.push_action(|id| Action::CacheGet { id, domain });
            let deadline = later(self.now, self.config.request_timeout);
            self.pending.insert(id, Pending::Cache { deadline });
            self.cache_lookup = Some(id);
        } else {
            self.add_protocol_candidates();
            self.schedule();
        }
    }

    fn add_protocol_candidates(&mut self) {
        for step in [
            Step::Domain,
            Step::AutodiscoverHost,
            Step::HttpRedirect,
            Step::Srv,
        ] {
            self.candidates.push(Candidate::new(step));
        }
    }

    fn on_cache_entry(&mut self, id: ActionId, entry: Option<CacheEntry>) {
        if self.cache_lookup != Some(id) {
            return;
        }
        self.cache_lookup = None;
        if let Some(entry) = entry {
            let endpoint = clean_endpoint(&entry.endpoint);
            if entry.flavor != self.flavor {
                debug!(endpoint = %endpoint, flavor = %entry.flavor, "ignoring a cache entry of another flavour");
            } else if let Err(reason) = check_endpoint_url(&endpoint) {
                debug!(endpoint = %endpoint, %reason, "purging an unusable cache entry");
                self.purge_cache();
            } else {
                debug!(endpoint = %endpoint, "trying the cached endpoint");
                let mut candidate = Candidate::new(Step::Cache);
                candidate.cached_endpoint = Some(endpoint);
                self.candidates.push(candidate);
            }
        }
        self.add_protocol_candidates();
    }
}

// Scheduling: which candidates run, and when the discovery ends.
impl Discoverer {
    /// Returns when the parallel strategy starts the next candidate, if it will.
    fn next_stagger(&self) -> Option<Instant> {
        let Strategy::Parallel { stagger, .. } = self.config.strategy else {
            return None;
        };
        if self.cache_lookup.is_some() || self.has_answer() {
            return None;
        }
        let next_unstarted = self
            .candidates
            .iter()
            .position(|candidate| matches!(candidate.state, State::NotStarted))?;
        let last_started = self.candidates[..next_unstarted]
            .iter()
            .filter_map(|candidate| candidate.started_at)
            .max()?;
        Some(later(last_started, stagger))
    }

    fn has_answer(&self) -> bool {
        self.candidates
            .iter()
            .any(|candidate| matches!(candidate.state, State::Answered { .. }))
    }

    /// Takes a decisive answer when its turn has come, starts candidates, and ends the
    /// discovery when every candidate failed.
    fn schedule(&mut self) {
        loop {
            if self.finished || self.cache_lookup.is_some() {
                return;
            }

            // The first candidate that has not failed decides: its answer wins, or it is still
            // running and lower-priority answers wait for it (up to the grace time).
            let first_open = self
                .candidates
                .iter()
                .position(|candidate| !matches!(candidate.state, State::Failed));
            if let Some(index) = first_open {
                if matches!(self.candidates[index].state, State::Answered { .. }) {
                    self.take_answer(index);
                    return;
                }
            }
            if let Strategy::Parallel { grace, .. } = self.config.strategy {
                let ripe = self.candidates.iter().position(|candidate| {
                    matches!(candidate.state, State::Answered { at, .. } if later(at, grace) <= self.now)
                });
                if let Some(index) = ripe {
                    self.take_answer(index);
                    return;
                }
            }

            let Some(next_unstarted) = self
                .candidates
                .iter()
                .position(|candidate| matches!(candidate.state, State::NotStarted))
            else {
                if first_open.is_none() {
                    self.finish_failed();
                }
                return;
            };

            let any_running = self.candidates.iter().any(Candidate::is_running);
            let start = if self.has_answer() {
                false
            } else if !any_running {
                true
            } else {
                self.next_stagger().is_some_and(|at| at <= self.now)
            };
            if !start {
                return;
            }
            self.start_candidate(next_unstarted);
        }
    }

    fn start_candidate(&mut self, index: usize) {
        let domain = self.current().domain().to_owned();
        let path = self.flavor.path();
        let candidate = &mut self.candidates[index];
        candidate.started_at = Some(self.now);
        let step = candidate.step;
        debug!(step = %step, "starting candidate");

        let next = match step {
            Step::Cache => match candidate.cached_endpoint.clone() {
                Some(url) => Next::Post(url),
                None => {
                    candidate.state = State::Failed;
                    return;
                }
            },
            Step::Domain | Step::AutodiscoverHost => {
                let host = if step == Step::Domain {
                    domain
                } else {
                    format!("autodiscover.{domain}")
                };
                match endpoint_url(&host, path) {
                    Some(url) => Next::Post(url),
                    None => {
                        candidate.state = State::Failed;
                        self.record(
                            index,
                            host,
                            AttemptResult::InvalidEndpoint {
                                reason: "not a usable https host name".to_owned(),
                            },
                        );
                        return;
                    }
                }
            }
            Step::HttpRedirect => {
                match Url::parse(&format!(
                    "http://autodiscover.{domain}/autodiscover/autodiscover.xml"
                )) {
                    Ok(url) => Next::Probe(url),
                    Err(_) => {
                        candidate.state = State::Failed;
                        return;
                    }
                }
            }
            Step::Srv => {
                let name = format!("_autodiscover._tcp.{domain}");
                let id = self.push_action(|id| Action::DnsSrv { id, name });
                let deadline = later(self.now, self.config.request_timeout);
                self.pending.insert(
                    id,
                    Pending::Srv {
                        candidate: index,
                        deadline,
                    },
                );
                self.candidates[index].state = State::SrvLookup;
                return;
            }
        };
        self.go_to(index, next);
    }

    /// Moves a candidate to `next`, resolving its host first if that has not been done.
    fn go_to(&mut self, index: usize, next: Next) {
        let Some(host) = host_of(next.url()) else {
            self.fail_candidate(index);
            return;
        };
        self.candidates[index].busy_retries = 0;
        match self.hosts.get(&host).cloned() {
            Some(HostState::Resolved) => self.send(index, next),
            Some(HostState::Failed(error)) => {
                self.record(index, host, AttemptResult::DnsFailed(error));
                self.fail_candidate(index);
            }
            Some(HostState::Resolving) => {
                self.candidates[index].state = State::Resolving { host, next };
            }
            None => {
                self.hosts.insert(host.clone(), HostState::Resolving);
                let lookup = host.clone();
                let id = self.push_action(|id| Action::DnsA { id, host: lookup });
                let deadline = later(self.now, self.config.request_timeout);
                self.pending.insert(
                    id,
                    Pending::Dns {
                        host: host.clone(),
                        deadline,
                    },
                );
                self.candidates[index].state = State::Resolving { host, next };
            }
        }
    }

    fn on_host_resolved(&mut self, host: &str, result: Result<(), DnsError>) {
        let state = match &result {
            Ok(()) => HostState::Resolved,
            Err(error) => HostState::Failed(error.clone()),
        };
        self.hosts.insert(host.to_owned(), state);

        for index in 0..self.candidates.len() {
            if self.finished {
                return;
            }
            let State::Resolving {
                host: waiting,
                next,
            } = &self.candidates[index].state
            else {
                continue;
            };
            if waiting != host {
                continue;
            }
            let next = next.clone();
            match &result {
                Ok(()) => self.send(index, next),
                Err(error) => {
                    self.record(
                        index,
                        host.to_owned(),
                        AttemptResult::DnsFailed(error.clone()),
                    );
                    self.fail_candidate(index);
                }
            }
        }
    }

    fn on_srv(&mut self, index: usize, result: Result<Vec<SrvRecord>, DnsError>) {
        let name = format!("_autodiscover._tcp.{}", self.current().domain());
        match result {
            Err(error) => {
                self.record(index, name, AttemptResult::SrvFailed(error));
                self.fail_candidate(index);
            }
            Ok(records) => {
                let targets = srv::order_targets(&records, self.config.srv_seed);
                if targets.is_empty() {
                    self.record(index, name, AttemptResult::SrvNoUsableRecord);
                    self.fail_candidate(index);
                    return;
                }
                debug!(?targets, "SRV targets in order");
                self.candidates[index].srv_targets = targets.into();
                if !self.next_srv_target(index) {
                    // Every target was skipped, and the trace already records why for each.
                    self.fail_candidate(index);
                }
            }
        }
    }

    /// Tries the next SRV target of a step 4 candidate; returns false when none is left.
    fn next_srv_target(&mut self, index: usize) -> bool {
        let path = self.flavor.path();
        while let Some(target) = self.candidates[index].srv_targets.pop_front() {
            let Some(url) = endpoint_url(&target, path) else {
                self.record(
                    index,
                    target,
                    AttemptResult::InvalidEndpoint {
                        reason: "the SRV target is not a usable https host name".to_owned(),
                    },
                );
                continue;
            };
            if self.is_visited(&url) {
                self.record(index, url.to_string(), AttemptResult::AlreadyTried);
                continue;
            }

            // A target outside the trusted hosts is a redirect by DNS, so the configuration's
            // policy for untrusted redirects applies to it too.
            let trusted = is_trusted_host(&target, &self.trusted_domains, &self.config);
            if !trusted && self.config.untrusted_redirects == UntrustedRedirects::Reject {
                if self.failures.untrusted.is_none() {
                    self.failures.untrusted = Some((target.clone(), url.to_string()));
                }
                self.record(
                    index,
                    format!("_autodiscover._tcp.{}", self.current().domain()),
                    AttemptResult::RedirectRejected {
                        to: url.to_string(),
                        reason: format!(
                            "host {target:?} is not trusted and the configuration rejects such redirects"
                        ),
                    },
                );
                continue;
            }
            self.go_to(index, Next::Post(url));
            return true;
        }
        false
    }

    /// Sends the request `next` for a candidate whose host resolved.
    fn send(&mut self, index: usize, next: Next) {
        let current = self.current().clone();
        let (method, url, headers, body, credentials_allowed) = match &next {
            Next::Probe(url) => (Method::Get, url.clone(), Vec::new(), Vec::new(), false),
            Next::Post(url) => {
                let retry = matches!(self.candidates[index].state, State::Backoff { .. });
                if !retry {
                    if self.is_visited(url) {
                        self.record(index, url.to_string(), AttemptResult::AlreadyTried);
                        self.fail_candidate(index);
                        return;
                    }
                    self.visited
                        .insert((normalize_url(url), current.as_str().to_ascii_lowercase()));
                }
                let body = match &self.candidates[index].body {
                    Some(body) => body.clone(),
                    None => {
                        let body = match self.flavor {
                            Flavor::Soap => soap::request_body(&current, &self.settings, url),
                            Flavor::Pox => pox::request_body(&current),
                        };
                        self.candidates[index].body = Some(body.clone());
                        body
                    }
                };
                let mut headers = vec![(
                    "Content-Type".to_owned(),
                    "text/xml; charset=utf-8".to_owned(),
                )];
                if self.flavor == Flavor::Soap {
                    headers.push(("SOAPAction".to_owned(), soap::SOAP_ACTION.to_owned()));
                }
                let credentials_allowed = self.may_send_credentials(url);
                (
                    Method::Post,
                    url.clone(),
                    headers,
                    body,
                    credentials_allowed,
                )
            }
        };

        let request = HttpRequest {
            method,
            url,
            headers,
            body,
            max_response_bytes: self.config.max_response_bytes,
            credentials_allowed,
        };
        let id = self.push_action(|id| Action::HttpRequest { id, request });
        let deadline = later(self.now, self.config.request_timeout);
        self.pending.insert(
            id,
            Pending::Http {
                candidate: index,
                deadline,
            },
        );
        self.candidates[index].state = State::Requesting { id, next };
    }

    fn is_visited(&self, url: &Url) -> bool {
        self.visited.contains(&(
            normalize_url(url),
            self.current().as_str().to_ascii_lowercase(),
        ))
    }

    fn may_send_credentials(&self, url: &Url) -> bool {
        url.scheme() == "https"
            && host_of(url)
                .is_some_and(|host| is_trusted_host(&host, &self.trusted_domains, &self.config))
    }

    /// Handles an action that timed out or was answered with the wrong kind of event.
    fn fail_pending(&mut self, pending: Pending, id: ActionId) {
        match pending {
            Pending::Cache { .. } => self.on_cache_entry(id, None),
            Pending::CacheWrite => {}
            Pending::Dns { host, .. } => self.on_host_resolved(&host, Err(DnsError::Timeout)),
            Pending::Srv { candidate, .. } => self.on_srv(candidate, Err(DnsError::Timeout)),
            Pending::Http { candidate, .. } => {
                if let State::Requesting { next, .. } = &self.candidates[candidate].state {
                    let target = next.url().to_string();
                    self.record(candidate, target, AttemptResult::TimedOut);
                    self.fail_candidate(candidate);
                }
            }
        }
    }

    /// Fails the current URL of a candidate. A step 4 candidate moves on to its next SRV
    /// target, and any other candidate fails. A failed cache candidate purges the cache entry.
    fn fail_candidate(&mut self, index: usize) {
        if self.candidates[index].step == Step::Srv && self.next_srv_target(index) {
            return;
        }
        let candidate = &mut self.candidates[index];
        candidate.state = State::Failed;
        if candidate.step == Step::Cache && candidate.purge_on_failure {
            candidate.purge_on_failure = false;
            debug!(domain = %self.current().domain(), "purging the cache entry that stopped working");
            self.purge_cache();
        }
    }

    /// Removes the current domain's cache entry.
    fn purge_cache(&mut self) {
        let domain = self.current().domain().to_owned();
        let id = self.push_action(|id| Action::CachePut {
            id,
            domain,
            entry: None,
        });
        self.pending.insert(id, Pending::CacheWrite);
    }

    fn record(&mut self, index: usize, target: String, result: AttemptResult) {
        let step = self.candidates[index].step;
        debug!(step = %step, %target, result = %result, "attempt");
        self.trace.push(Attempt {
            step,
            target,
            email: self.current().to_string(),
            result,
        });
    }

    fn push_action(&mut self, build: impl FnOnce(ActionId) -> Action) -> ActionId {
        self.next_id += 1;
        let id = ActionId(self.next_id);
        if self.finished {
            // Inert: the id is handed out so callers stay simple, but nothing is emitted.
            return id;
        }
        self.actions_emitted += 1;
        self.queue.push_back(build(id));
        if self.actions_emitted > MAX_ACTIONS && !self.finished {
            let trace = self.trace.clone();
            self.finish(Err(Error::ActionLimit {
                limit: MAX_ACTIONS,
                trace,
            }));
        }
        id
    }

    fn on_deadline(&mut self) {
        // An answer that is only waiting for slower higher-priority candidates is better than
        // no answer at all.
        if let Some(index) = self.candidates.iter().position(|candidate| {
            matches!(
                candidate.state,
                State::Answered {
                    answer: Decisive::Settings { .. },
                    ..
                }
            )
        }) {
            self.take_answer(index);
            return;
        }
        self.abandon_pending();
        let trace = self.trace.clone();
        self.finish(Err(Error::DeadlineExceeded {
            milliseconds: u64::try_from(self.config.deadline.as_millis()).unwrap_or(u64::MAX),
            trace,
        }));
    }

    /// Records every request still waiting as abandoned.
    fn abandon_pending(&mut self) {
        for index in 0..self.candidates.len() {
            if let State::Requesting { next, .. } | State::Backoff { next, .. } =
                &self.candidates[index].state
            {
                let target = next.url().to_string();
                self.record(index, target, AttemptResult::Abandoned);
            }
        }
    }

    /// Ends the discovery; the discoverer is inert afterwards, except that queued actions
    /// (a final cache write) can still be polled.
    fn finish(&mut self, outcome: Result<Discovery, Error>) {
        if self.finished {
            return;
        }
        match &outcome {
            Ok(discovery) => debug!(endpoint = %discovery.endpoint, "discovery succeeded"),
            Err(error) => debug!(kind = error.kind(), "discovery failed"),
        }
        self.finished = true;
        self.pending.clear();
        self.queue
            .retain(|action| matches!(action, Action::CachePut { .. }));
        self.outcome = Some(outcome);
    }
}

/// Returns `url` without a fragment and without a trailing dot on its host, the form every
/// request uses.
pub(crate) fn clean_endpoint(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    let stripped = url
        .host_str()
        .and_then(|host| host.strip_suffix('.'))
        .map(str::to_owned);
    if let Some(host) = stripped {
        // A host that parsed with a trailing dot parses without it too; if not, keep it as is.
        let _ = url.set_host(Some(&host));
    }
    url
}

/// Builds `https://HOST/PATH`, or `None` when that is not a usable endpoint URL.
fn endpoint_url(host: &str, path: &str) -> Option<Url> {
    let url = Url::parse(&format!("https://{host}{path}")).ok()?;
    check_endpoint_url(&url).ok()?;
    Some(url)
}

/// Returns `now + duration`, saturating far in the future instead of overflowing, so that a
/// configuration such as `Duration::MAX` means "no limit" rather than a panic.
pub(crate) fn later(now: Instant, duration: Duration) -> Instant {
    /// About 30 years: beyond any discovery, and representable on every platform.
    const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
    now.checked_add(duration.min(FAR_FUTURE))
        .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(now)
}

/// Computes the busy back-off for a retry: `Retry-After` seconds when given, else doubling from
/// [`BUSY_BACKOFF`](crate::config::BUSY_BACKOFF), never above the maximum.
fn busy_delay(response: Option<&HttpResponse>, retries: u32) -> Duration {
    use crate::config::{BUSY_BACKOFF, MAX_BUSY_BACKOFF};
    let header = response
        .and_then(|response| response.header("Retry-After"))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let delay = header.unwrap_or(BUSY_BACKOFF * 2u32.saturating_pow(retries));
    delay.min(MAX_BUSY_BACKOFF)
}

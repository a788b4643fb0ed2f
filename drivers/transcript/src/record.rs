//! Recording a live discovery as a transcript.

use std::collections::BTreeMap;
use std::time::Duration;

use autodiscover::settings::DEFAULT_SOAP_SETTINGS;
use autodiscover::{Action, ActionId, Config, Discovery, Error, Event, Request};

use crate::model::{
    Body, Entry, Expect, Expectation, Header, HttpFailure, HttpReply, Key, Reply, Transcript,
};
use crate::replay::requested_email;

/// Response headers whose values are replaced by [`REDACTED`] because they may carry a
/// session or a secret.
pub const REDACTED_HEADERS: &[&str] = &[
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
];

/// The value written in place of a redacted header value.
pub const REDACTED: &str = "<redacted>";

/// Builds a transcript from the actions and events of a live discovery.
///
/// A driver calls [`record_action`](Recorder::record_action) for every action it takes from
/// the discoverer and [`record_event`](Recorder::record_event) for every event it feeds back,
/// with the time since the discovery started. An action that never got an event is written as
/// `never`. The values of the response headers in [`REDACTED_HEADERS`] are never written.
/// Request headers are not recorded at all, so credentials a driver adds never reach the
/// transcript.
#[derive(Debug, Clone)]
pub struct Recorder {
    transcript: Transcript,
    /// Entries waiting for their event, with the time their action was emitted.
    open: BTreeMap<ActionId, (usize, Duration)>,
}

impl Recorder {
    /// Starts a recording of a discovery for `request` with `config`.
    pub fn new(request: &Request, config: &Config) -> Self {
        Self {
            transcript: Transcript {
                header: header_for(request, config),
                entries: Vec::new(),
                expectations: Vec::new(),
                trailing_comments: Vec::new(),
            },
            open: BTreeMap::new(),
        }
    }

    /// Records an action emitted `elapsed` after the start.
    pub fn record_action(&mut self, action: &Action, elapsed: Duration) {
        let key = Key::of_action(action);
        let reply = if key.is_cache_write() {
            Reply::Stored
        } else {
            Reply::Never
        };
        let mut entry = Entry::new(key, reply);
        if let Action::HttpRequest { request, .. } = action {
            if request.method == autodiscover::Method::Post {
                entry.request_email = requested_email(&request.body);
            }
        }
        let index = self.transcript.entries.len();
        self.transcript.entries.push(entry);
        self.open
            .insert(action.id(), (index, whole_millis(elapsed)));
    }

    /// Records an event fed back `elapsed` after the start. Events of actions that were not
    /// recorded are ignored.
    pub fn record_event(&mut self, event: &Event, elapsed: Duration) {
        let Some((index, emitted)) = self.open.remove(&event.id()) else {
            return;
        };
        let entry = &mut self.transcript.entries[index];
        let answered = whole_millis(elapsed);
        if answered > emitted {
            entry.at = Some(answered);
        }
        entry.reply = match event {
            Event::HttpResponse {
                result: Ok(response),
                ..
            } => Reply::Http(HttpReply {
                status: response.status,
                headers: response
                    .headers
                    .iter()
                    .map(|(name, value)| (name.trim().to_owned(), redact(name, value)))
                    .collect(),
                body: Body::inline(response.body.clone()),
                auth_scheme: response.auth_scheme.clone(),
            }),
            Event::HttpResponse {
                result: Err(error), ..
            } => Reply::HttpFailure(HttpFailure::from_transport_error(error)),
            Event::DnsA {
                result: Ok(addresses),
                ..
            } => Reply::Addresses(addresses.clone()),
            Event::DnsSrv {
                result: Ok(records),
                ..
            } => Reply::Records(records.clone()),
            Event::DnsA {
                result: Err(error), ..
            }
            | Event::DnsSrv {
                result: Err(error), ..
            } => Reply::DnsFailure(error.clone()),
            Event::CacheGet {
                entry: Some(cached),
                ..
            } => Reply::CacheHit {
                endpoint: cached.endpoint.clone(),
                flavor: cached.flavor,
                auth_scheme: cached.auth_scheme.clone(),
            },
            Event::CacheGet { entry: None, .. } => Reply::CacheMiss,
            Event::CachePut { .. } => Reply::Stored,
        };
        // A cache write is acknowledged at once in a replay, so its time is not kept.
        if entry.key.is_cache_write() {
            entry.at = None;
        }
    }

    /// Adds `expect` lines for the main facts of the outcome: the EWS URL and step, or the
    /// error kind.
    pub fn record_outcome(&mut self, outcome: &Result<Discovery, Error>) {
        let expects = match outcome {
            Ok(discovery) => vec![
                Expect::EwsUrl(discovery.ews_url.clone()),
                Expect::Step(discovery.step),
            ],
            Err(error) => vec![Expect::Error(error.kind().to_owned())],
        };
        self.transcript
            .expectations
            .extend(expects.into_iter().map(Expectation::new));
    }

    /// Ends the recording.
    pub fn finish(self) -> Transcript {
        self.transcript
    }
}

fn header_for(request: &Request, config: &Config) -> Header {
    let mut header = Header::new(request.email().as_str(), request.flavor_kind());
    let defaults = Config::default();
    let settings: Vec<&str> = request
        .requested_settings()
        .iter()
        .map(|name| name.as_str())
        .collect();
    if settings != DEFAULT_SOAP_SETTINGS {
        header.settings = settings.into_iter().map(str::to_owned).collect();
    }
    header.strategy = Some(config.strategy);
    if config.request_timeout != defaults.request_timeout {
        header.request_timeout = Some(config.request_timeout);
    }
    if config.deadline != defaults.deadline {
        header.deadline = Some(config.deadline);
    }
    header.trusted_hosts = config.trusted_hosts.clone();
    if config.untrusted_redirects != defaults.untrusted_redirects {
        header.untrusted_redirects = Some(config.untrusted_redirects);
    }
    header.use_cache = config.use_cache;
    if config.srv_seed != defaults.srv_seed {
        header.srv_seed = Some(config.srv_seed);
    }
    if config.max_response_bytes != defaults.max_response_bytes {
        header.max_response_bytes = Some(config.max_response_bytes);
    }
    header
}

fn redact(name: &str, value: &str) -> String {
    if REDACTED_HEADERS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name.trim()))
    {
        REDACTED.to_owned()
    } else {
        value.trim().to_owned()
    }
}

/// Truncates to whole milliseconds, the precision of the text format.
fn whole_millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

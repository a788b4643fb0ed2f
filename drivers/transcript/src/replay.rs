//! Replaying a transcript through the real [`Discoverer`] on a virtual clock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use autodiscover::{
    Action, ActionId, CacheEntry, Discoverer, Discovery, Error, Event, HttpResponse, Method,
};
use url::Url;

use crate::model::{Entry, Key, Reply, Transcript};
use crate::text::{format_dns_error, format_http_failure, format_offset};

/// Most events and timer expiries one replay delivers before it gives up. A discovery needs a
/// few dozen (the core stops itself after 512 actions), so reaching this means the discoverer
/// keeps asking for timers without making progress.
pub const MAX_STEPS: usize = 10_000;

/// The result of a replay: the outcome, what was sent, and the rendered log.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The discovery's outcome.
    pub outcome: Result<Discovery, Error>,
    /// When the outcome arrived, from the start.
    pub finished_at: Duration,
    /// Every HTTP request the discoverer sent, in order.
    pub requests: Vec<SentRequest>,
    log: String,
}

/// One HTTP request the discoverer sent during a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    /// When it was sent, from the start.
    pub at: Duration,
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// Whether the driver could attach credentials.
    pub credentials_allowed: bool,
    /// The address in the request body (`EMailAddress` or `Mailbox`), when there is one.
    pub email: Option<String>,
}

impl Replay {
    /// Returns the log: one line per action and per event with its time from the start, each
    /// timer expiry, then the outcome. It contains no absolute times and no unordered data, so it
    /// is the same on every run.
    pub fn log(&self) -> &str {
        &self.log
    }
}

/// A failed replay: the problem and the log up to the failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{problem}\n\nlog up to the failure:\n{log}")]
pub struct ReplayError {
    /// The problem.
    pub problem: ReplayProblem,
    /// The replay log up to the failure.
    pub log: String,
}

/// The problem that stopped a replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayProblem {
    /// The header does not make a valid request.
    #[error("the transcript's header does not make a valid request: {0}")]
    InvalidHeader(Error),
    /// The discoverer emitted an action that no unused entry answers.
    #[error("at {} the discoverer sent {action}, which the transcript does not answer; add an entry for it", format_offset(*at))]
    Unanswered {
        /// When the action was emitted.
        at: Duration,
        /// The action as a transcript key.
        action: String,
    },
    /// An entry's answer does not fit the action (possible only in code-built transcripts).
    #[error("entry {entry} cannot answer the action: {reason}")]
    WrongReply {
        /// The entry.
        entry: String,
        /// Why not.
        reason: String,
    },
    /// A POST asked for another address than its entry's `request_email`.
    #[error("entry {entry} expects the request to ask for {expected}, but it asked for {found}")]
    RequestEmail {
        /// The entry.
        entry: String,
        /// The address in `request_email`.
        expected: String,
        /// The address in the request body, or a note that none was found.
        found: String,
    },
    /// Entries that are not optional were never requested.
    #[error("the discoverer never requested {}; remove these entries or mark them `optional`", entries.join(", "))]
    NotRequested {
        /// The entries.
        entries: Vec<String>,
    },
    /// The replay reached [`MAX_STEPS`] without an outcome.
    #[error("the replay delivered {steps} events and timer expiries without an outcome; the discoverer is probably looping")]
    StepLimit {
        /// The limit.
        steps: usize,
    },
    /// The discoverer had no outcome, no timer and nothing to wait for.
    #[error("at {} the discoverer has no outcome, no timer and no outstanding answer", format_offset(*at))]
    Stalled {
        /// When it stalled.
        at: Duration,
    },
}

/// Replays `transcript` through the real [`Discoverer`] on a virtual clock.
///
/// Each emitted action takes the first unused entry with the same key and is answered at the
/// later of its emission time and the entry's `at`. Answers due at the same time arrive in the
/// order their actions were emitted, and an answer due at the same instant as a timer arrives
/// before the timer fires. Cache writes are acknowledged at once but must be listed.
///
/// # Errors
/// A [`ReplayError`] when an action has no entry, an entry does not fit its action, a
/// `request_email` check fails, a non-optional entry was never requested, or the discoverer
/// stops making progress.
pub fn replay(transcript: &Transcript) -> Result<Replay, ReplayError> {
    let mut run = Run {
        transcript,
        start: Instant::now(),
        now: Duration::ZERO,
        used: vec![false; transcript.entries.len()],
        scheduled: BTreeMap::new(),
        next_sequence: 0,
        log: String::new(),
        requests: Vec::new(),
    };
    match run.drive() {
        Ok(outcome) => Ok(Replay {
            outcome,
            finished_at: run.now,
            requests: run.requests,
            log: run.log,
        }),
        Err(problem) => Err(ReplayError {
            problem,
            log: run.log,
        }),
    }
}

/// An answer waiting for its time.
struct Scheduled {
    event: Event,
    /// The answer as the log shows it.
    text: String,
}

struct Run<'a> {
    transcript: &'a Transcript,
    /// The instant that stands for offset zero; only offsets from it are ever shown.
    start: Instant,
    /// The virtual time, as an offset from `start`.
    now: Duration,
    used: Vec<bool>,
    /// Answers by due time, then emission order.
    scheduled: BTreeMap<(Duration, u64), Scheduled>,
    next_sequence: u64,
    log: String,
    requests: Vec<SentRequest>,
}

impl Run<'_> {
    fn drive(&mut self) -> Result<Result<Discovery, Error>, ReplayProblem> {
        let header = &self.transcript.header;
        let request = header.request().map_err(ReplayProblem::InvalidHeader)?;
        let mut discoverer = Discoverer::new(request, header.config(), self.start);

        for _ in 0..MAX_STEPS {
            self.take_actions(&mut discoverer)?;

            if let Some(outcome) = discoverer.poll_outcome() {
                // A finished discoverer may still hand out its final cache write.
                self.take_actions(&mut discoverer)?;
                self.acknowledge_cache_writes(&mut discoverer);
                self.log_outcome(&outcome);
                self.check_all_requested()?;
                return Ok(outcome);
            }

            let next_answer = self.scheduled.keys().next().map(|(due, _)| *due);
            let timer = discoverer
                .poll_timeout()
                .map(|instant| instant.saturating_duration_since(self.start));
            let answer_first = match (next_answer, timer) {
                (Some(due), Some(timer)) => due <= timer,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return Err(ReplayProblem::Stalled { at: self.now }),
            };
            if answer_first {
                let ((due, _), answer) = self.scheduled.pop_first().expect("a due answer exists");
                self.now = self.now.max(due);
                self.line(format!("<- {} {}", answer.event.id(), answer.text));
                discoverer.handle_event(answer.event, self.instant());
            } else if let Some(timer) = timer {
                self.now = self.now.max(timer);
                self.line("timer".to_owned());
                discoverer.handle_timeout(self.instant());
            }
        }
        Err(ReplayProblem::StepLimit { steps: MAX_STEPS })
    }

    fn instant(&self) -> Instant {
        self.start + self.now
    }

    fn line(&mut self, text: String) {
        let _ = writeln!(self.log, "{} {text}", format_offset(self.now));
    }

    /// Drains the discoverer's actions, matching each to an entry and scheduling its answer.
    fn take_actions(&mut self, discoverer: &mut Discoverer) -> Result<(), ReplayProblem> {
        while let Some(action) = discoverer.poll_action() {
            self.line(format!("-> {} {}", action.id(), describe_action(&action)));
            if let Action::HttpRequest { request, .. } = &action {
                self.requests.push(SentRequest {
                    at: self.now,
                    method: request.method,
                    url: request.url.clone(),
                    credentials_allowed: request.credentials_allowed,
                    email: requested_email(&request.body),
                });
            }

            let key = Key::of_action(&action);
            let Some(index) = self
                .transcript
                .entries
                .iter()
                .enumerate()
                .position(|(index, entry)| !self.used[index] && entry.key == key)
            else {
                return Err(ReplayProblem::Unanswered {
                    at: self.now,
                    action: key.to_string(),
                });
            };
            self.used[index] = true;
            let entry = &self.transcript.entries[index];
            check_request_email(entry, &action)?;

            let Some((event, text)) = answer(entry, &action)? else {
                continue;
            };
            let due = self.now.max(entry.at.unwrap_or_default());
            self.scheduled
                .insert((due, self.next_sequence), Scheduled { event, text });
            self.next_sequence += 1;
        }
        Ok(())
    }

    /// Delivers the acknowledgements of cache writes still waiting when the outcome arrived.
    fn acknowledge_cache_writes(&mut self, discoverer: &mut Discoverer) {
        let pending = std::mem::take(&mut self.scheduled);
        for (_, answer) in pending {
            if matches!(answer.event, Event::CachePut { .. }) {
                self.line(format!("<- {} {}", answer.event.id(), answer.text));
                discoverer.handle_event(answer.event, self.instant());
            }
        }
    }

    fn check_all_requested(&self) -> Result<(), ReplayProblem> {
        let missing: Vec<String> = self
            .transcript
            .entries
            .iter()
            .zip(&self.used)
            .filter(|(entry, used)| !entry.optional && !**used)
            .map(|(entry, _)| entry.describe())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ReplayProblem::NotRequested { entries: missing })
        }
    }

    fn log_outcome(&mut self, outcome: &Result<Discovery, Error>) {
        match outcome {
            Ok(discovery) => {
                self.line(format!(
                    "outcome: settings from {} ({})",
                    discovery.endpoint, discovery.step
                ));
                let mut details = Vec::new();
                details.push(format!(
                    "ews_url: {}",
                    discovery
                        .ews_url
                        .as_ref()
                        .map_or("none".to_owned(), Url::to_string)
                ));
                details.push(format!("smtp_address: {}", discovery.smtp_address));
                if let Some(email) = &discovery.redirected_email {
                    details.push(format!("redirected_email: {email}"));
                }
                if let Some(name) = &discovery.display_name {
                    details.push(format!("display_name: {name}"));
                }
                if let Some(version) = &discovery.server_version {
                    details.push(format!("server_version: {version}"));
                }
                details.push(format!("settings: {}", discovery.settings.len()));
                for redirect in &discovery.redirects {
                    details.push(format!("redirect: {redirect}"));
                }
                for warning in &discovery.warnings {
                    details.push(format!("warning: {warning}"));
                }
                details.push("trace:".to_owned());
                for attempt in &discovery.trace {
                    details.push(format!("  - {attempt}"));
                }
                for detail in details {
                    let _ = writeln!(self.log, "  {detail}");
                }
            }
            Err(error) => {
                self.line(format!("outcome: error {}", error.kind()));
                for text in error.to_string().lines() {
                    let _ = writeln!(self.log, "  {text}");
                }
            }
        }
    }
}

/// Describes an action for the log, without its id.
fn describe_action(action: &Action) -> String {
    match action {
        Action::HttpRequest { request, .. } => {
            let credentials = if request.credentials_allowed {
                "credentials allowed"
            } else {
                "no credentials"
            };
            match (request.method, requested_email(&request.body)) {
                (Method::Post, Some(email)) => {
                    format!("POST {} for {email} ({credentials})", request.url)
                }
                (method, _) => format!("{method} {} ({credentials})", request.url),
            }
        }
        Action::CachePut {
            domain,
            entry: Some(entry),
            ..
        } => {
            let mut text = format!("cache put {domain} {} ({}", entry.endpoint, entry.flavor);
            if let Some(scheme) = &entry.auth_scheme {
                let _ = write!(text, ", auth {scheme}");
            }
            text.push(')');
            text
        }
        other => Key::of_action(other).to_string(),
    }
}

/// Describes an HTTP response for the log: the status, the headers that steer discovery, and
/// the body size.
fn describe_response(response: &HttpResponse) -> String {
    let mut text = response.status.to_string();
    if let Some(content_type) = response.header("Content-Type") {
        let _ = write!(text, " {content_type}");
    }
    for name in [
        "Location",
        "WWW-Authenticate",
        "Retry-After",
        "Content-Encoding",
    ] {
        for value in response.headers_named(name) {
            let _ = write!(text, ", {name}: {value}");
        }
    }
    let _ = write!(text, ", {} bytes", response.body.len());
    text
}

fn check_request_email(entry: &Entry, action: &Action) -> Result<(), ReplayProblem> {
    let (Some(expected), Action::HttpRequest { request, .. }) = (&entry.request_email, action)
    else {
        return Ok(());
    };
    let found = requested_email(&request.body);
    if found
        .as_deref()
        .is_some_and(|found| found.eq_ignore_ascii_case(expected))
    {
        return Ok(());
    }
    Err(ReplayProblem::RequestEmail {
        entry: entry.describe(),
        expected: expected.clone(),
        found: found
            .unwrap_or_else(|| "no address (no EMailAddress or Mailbox element)".to_owned()),
    })
}

/// Builds the event that answers `action` from `entry`, with its log text; `None` for
/// `never`.
pub(crate) fn answer(
    entry: &Entry,
    action: &Action,
) -> Result<Option<(Event, String)>, ReplayProblem> {
    let id: ActionId = action.id();
    let wrong = |reason: &str| ReplayProblem::WrongReply {
        entry: entry.describe(),
        reason: reason.to_owned(),
    };
    let answered = match (action, &entry.reply) {
        (_, Reply::Never) => return Ok(None),
        (Action::HttpRequest { .. }, Reply::Http(reply)) => {
            let response = HttpResponse {
                status: reply.status,
                headers: reply.headers.clone(),
                body: reply.body.bytes.clone(),
                auth_scheme: reply.auth_scheme.clone(),
            };
            let text = describe_response(&response);
            let event = Event::HttpResponse {
                id,
                result: Ok(response),
            };
            (event, text)
        }
        (Action::HttpRequest { request, .. }, Reply::HttpFailure(failure)) => (
            Event::HttpResponse {
                id,
                result: Err(failure.to_transport_error(request.max_response_bytes)),
            },
            format!("error {}", format_http_failure(failure)),
        ),
        (Action::DnsA { .. }, Reply::Addresses(addresses)) => {
            let text = if addresses.is_empty() {
                "empty".to_owned()
            } else {
                addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let event = Event::DnsA {
                id,
                result: Ok(addresses.clone()),
            };
            (event, text)
        }
        (Action::DnsA { .. }, Reply::DnsFailure(error)) => (
            Event::DnsA {
                id,
                result: Err(error.clone()),
            },
            format!("error {}", format_dns_error(error)),
        ),
        (Action::DnsSrv { .. }, Reply::Records(records)) => {
            let text = if records.is_empty() {
                "empty".to_owned()
            } else {
                records
                    .iter()
                    .map(|record| {
                        format!(
                            "{} {} {} {}",
                            record.priority, record.weight, record.port, record.target
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let event = Event::DnsSrv {
                id,
                result: Ok(records.clone()),
            };
            (event, text)
        }
        (Action::DnsSrv { .. }, Reply::DnsFailure(error)) => (
            Event::DnsSrv {
                id,
                result: Err(error.clone()),
            },
            format!("error {}", format_dns_error(error)),
        ),
        (
            Action::CacheGet { .. },
            Reply::CacheHit {
                endpoint,
                flavor,
                auth_scheme,
            },
        ) => {
            let entry = CacheEntry {
                endpoint: endpoint.clone(),
                flavor: *flavor,
                auth_scheme: auth_scheme.clone(),
                stored_at: None,
            };
            let text = format!("hit {endpoint} ({flavor})");
            let event = Event::CacheGet {
                id,
                entry: Some(entry),
            };
            (event, text)
        }
        (Action::CacheGet { .. }, Reply::CacheMiss) => {
            (Event::CacheGet { id, entry: None }, "miss".to_owned())
        }
        (Action::CachePut { entry, .. }, Reply::Stored) => {
            let text = if entry.is_some() { "stored" } else { "deleted" };
            (Event::CachePut { id }, text.to_owned())
        }
        _ => return Err(wrong("the answer is of another kind than the action")),
    };
    Ok(Some(answered))
}

/// Returns the address a POST body requests: the text of its first `EMailAddress` (POX) or
/// `Mailbox` (SOAP) element, with any namespace prefix.
pub(crate) fn requested_email(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let name_end = rest.find(|c: char| c == '>' || c == '/' || c.is_whitespace())?;
        let name = &rest[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local != "EMailAddress" && local != "Mailbox" {
            continue;
        }
        let content_start = rest.find('>')? + 1;
        let content = &rest[content_start..];
        let content_end = content.find('<')?;
        let address = unescape(content[..content_end].trim());
        if !address.is_empty() {
            return Some(address);
        }
    }
    None
}

/// Replaces the five predefined XML entities.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_email_reads_pox_and_soap() {
        let pox = b"<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>";
        assert_eq!(requested_email(pox).as_deref(), Some("a@example.com"));
        let soap = b"<s:Envelope><a:Users><a:User><a:Mailbox>b&amp;c@example.org</a:Mailbox></a:User></a:Users></s:Envelope>";
        assert_eq!(requested_email(soap).as_deref(), Some("b&c@example.org"));
        assert_eq!(requested_email(b"<x>no address</x>"), None);
    }
}

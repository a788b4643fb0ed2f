//! Candidates: one line of attack each (cache, step 1, 2, 3 or 4), in priority order.

use std::collections::VecDeque;
use std::time::Instant;

use url::Url;

use crate::action::ActionId;
use crate::answer::UserSettings;
use crate::request::EmailAddress;
use crate::trace::Step;

/// One candidate: its step, its state and what it carries from request to request.
#[derive(Debug)]
pub(super) struct Candidate {
    /// The protocol step that produced it.
    pub step: Step,
    /// The current state.
    pub state: State,
    /// When it was started, for the parallel stagger.
    pub started_at: Option<Instant>,
    /// SRV targets not yet tried.
    pub srv_targets: VecDeque<String>,
    /// The POST body, built once so that redirects resend it unchanged.
    pub body: Option<Vec<u8>>,
    /// Retries after `ServerBusy` or 503 taken on the current URL.
    pub busy_retries: u32,
    /// Whether a failure of this candidate should purge the cache entry.
    pub purge_on_failure: bool,
    /// The endpoint of a [`Step::Cache`] candidate.
    pub cached_endpoint: Option<Url>,
}

impl Candidate {
    pub fn new(step: Step) -> Self {
        Self {
            step,
            state: State::NotStarted,
            started_at: None,
            srv_targets: VecDeque::new(),
            body: None,
            busy_retries: 0,
            purge_on_failure: step == Step::Cache,
            cached_endpoint: None,
        }
    }

    /// Returns whether it was started and has neither failed nor produced a decisive result.
    pub fn is_running(&self) -> bool {
        matches!(
            self.state,
            State::Resolving { .. }
                | State::Requesting { .. }
                | State::SrvLookup
                | State::Backoff { .. }
        )
    }
}

/// The state of a candidate.
#[derive(Debug)]
pub(super) enum State {
    /// Not started yet.
    NotStarted,
    /// Waiting for the address lookup of the host of `next`.
    Resolving {
        /// The host being resolved.
        host: String,
        /// The request to send once it resolves.
        next: Next,
    },
    /// Waiting for an HTTP response.
    Requesting {
        /// The request's action id.
        id: ActionId,
        /// The request.
        next: Next,
    },
    /// Waiting for the SRV lookup.
    SrvLookup,
    /// Waiting to retry after `ServerBusy` or 503.
    Backoff {
        /// When to retry.
        until: Instant,
        /// The request to retry.
        next: Next,
    },
    /// Holding an answer that ends the discovery once every higher-priority candidate failed.
    Answered {
        /// The answer.
        answer: Decisive,
        /// When it arrived, for the parallel grace.
        at: Instant,
    },
    /// Failed; its reasons are in the trace.
    Failed,
}

/// The next request of a candidate.
#[derive(Debug, Clone)]
pub(super) enum Next {
    /// An Autodiscover POST.
    Post(Url),
    /// The unauthenticated step 3 GET.
    Probe(Url),
}

impl Next {
    pub fn url(&self) -> &Url {
        match self {
            Next::Post(url) | Next::Probe(url) => url,
        }
    }
}

/// A response that can end the discovery.
#[derive(Debug, Clone)]
pub(super) enum Decisive {
    /// Settings from `endpoint`.
    Settings {
        /// The settings.
        settings: Box<UserSettings>,
        /// The URL that returned them.
        endpoint: Url,
        /// The authentication scheme the driver used.
        auth_scheme: Option<String>,
        /// Whether the request was allowed credentials, which shows whether the endpoint is
        /// trusted.
        trusted: bool,
    },
    /// Restart with another address.
    RedirectAddress {
        /// The new address.
        email: EmailAddress,
        /// The URL that said so.
        from: Url,
        /// Whether that URL was trusted with credentials; only then may the new address's
        /// domain receive credentials too.
        trusted: bool,
    },
}

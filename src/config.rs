//! Configuration of one discovery, and the limits that bound it.

use std::time::Duration;

/// Maximum number of URL and address redirects followed in one discovery, together. Microsoft's POX
/// `RedirectUrl` reference and its GetUserSettings sample both stop after 10 hops.
pub const MAX_REDIRECTS: usize = 10;

/// Safety bound on the actions one discovery may emit. It is an estimate of the worst case
/// inside the other limits. Each of 11 addresses costs a cache read and write, four candidates
/// with an address lookup and three tries each, and eight SRV targets with a lookup and three
/// tries: about 55 actions an address, or 600 in all, plus the 10 redirects. Reaching the
/// bound means a bug or a hostile world that the other limits missed.
pub const MAX_ACTIONS: usize = 1024;

/// Maximum number of SRV targets tried for one domain. Real Autodiscover SRV sets have one to
/// three records, and the cap keeps a hostile response of thousands of records from multiplying the work.
pub const MAX_SRV_TARGETS: usize = 8;

/// Most retries of one URL after `ServerBusy` or HTTP 503.
pub const MAX_BUSY_RETRIES: u32 = 2;

/// First back-off after `ServerBusy` or 503 without `Retry-After`; it doubles per retry.
pub const BUSY_BACKOFF: Duration = Duration::from_secs(1);

/// Maximum back-off taken from a `Retry-After` header. Longer values are clamped so that one
/// busy server cannot stall the discovery.
pub const MAX_BUSY_BACKOFF: Duration = Duration::from_secs(10);

/// Default largest response body. Autodiscover responses are a few kilobytes (a SOAP answer with
/// every setting is around 20 KB), so 1 MiB leaves wide room while bounding a hostile body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Default per-request timeout, covering connect, TLS, request and response.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default deadline for the whole discovery.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// Default stagger of [`Strategy::Parallel`]. One Autodiscover request is a TCP and TLS
/// handshake plus an authenticated POST: about four round trips and the server's work, which an
/// estimate puts at 200 to 400 ms for a healthy server on a typical internet path. Half a second
/// rarely starts a second candidate needlessly, and a black-holed first candidate costs half a
/// second instead of a whole request timeout. (RFC 8305 uses 250 ms for a single connection
/// attempt; a whole request needs more.)
pub const DEFAULT_STAGGER: Duration = Duration::from_millis(500);

/// Default grace of [`Strategy::Parallel`]: how long a lower-priority answer waits for
/// higher-priority candidates that are still running. It is short because every candidate
/// answers for the same mailbox, so the wait only keeps the protocol's order for candidates
/// that are about to answer, and a black-holed candidate costs the stagger plus this grace.
pub const DEFAULT_GRACE: Duration = Duration::from_millis(250);

/// Microsoft 365 hosts trusted with credentials without being listed: the Autodiscover and EWS
/// front ends of the worldwide, US government and China (21Vianet) clouds.
pub const MICROSOFT_365_HOSTS: &[&str] = &[
    "autodiscover-s.outlook.com",
    "autodiscover.outlook.com",
    "outlook.office365.com",
    "outlook.office.com",
    "autodiscover-s.office365.us",
    "outlook.office365.us",
    "autodiscover.partner.outlook.cn",
    "partner.outlook.cn",
];

/// The order and overlap of candidate probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One candidate at a time, in protocol order.
    Sequential,
    /// Start the next candidate whenever the ones before it have not answered within
    /// `stagger`, and take answers in priority order: a lower-priority answer is used once
    /// every higher-priority candidate has failed, or `grace` after it arrived.
    Parallel {
        /// Delay before starting the next candidate.
        stagger: Duration,
        /// How long a lower-priority answer waits for higher-priority candidates.
        grace: Duration,
    },
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy::Parallel {
            stagger: DEFAULT_STAGGER,
            grace: DEFAULT_GRACE,
        }
    }
}

/// The policy for a redirect to a host that is not trusted with credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UntrustedRedirects {
    /// Follow it, but never attach credentials there. Servers that need authentication then
    /// answer 401, and the final error names the host and how to trust it.
    #[default]
    FollowWithoutCredentials,
    /// Do not follow it; the candidate fails.
    Reject,
}

/// Configuration of one discovery. `Config::default()` suits most callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The order and overlap of candidate probes.
    pub strategy: Strategy,
    /// Timeout of each request and lookup.
    pub request_timeout: Duration,
    /// Deadline of the whole discovery, from `Discoverer::new`.
    pub deadline: Duration,
    /// Hosts trusted with credentials besides the email domain, its subdomains and
    /// [`MICROSOFT_365_HOSTS`]. An entry `example.net` trusts that host only; `.example.net`
    /// trusts its subdomains too.
    pub trusted_hosts: Vec<String>,
    /// The policy for redirects to hosts not trusted with credentials.
    pub untrusted_redirects: UntrustedRedirects,
    /// Seed of the RFC 2782 weighted choice among SRV records of equal priority.
    pub srv_seed: u64,
    /// Largest response body a driver may read.
    pub max_response_bytes: usize,
    /// Whether to read and write the endpoint cache.
    pub use_cache: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            strategy: Strategy::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            trusted_hosts: Vec::new(),
            untrusted_redirects: UntrustedRedirects::default(),
            srv_seed: 0,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            use_cache: true,
        }
    }
}

impl Config {
    /// Adds a host trusted with credentials (see [`Config::trusted_hosts`]).
    ///
    /// The entry is normalised: a scheme, a path and a trailing dot are dropped, the name is
    /// lowercased, and a leading `*.` is read as `.` (the host's subdomains too).
    pub fn trust_host(mut self, host: impl Into<String>) -> Self {
        let host = normalize_trusted_host(&host.into());
        if !host.is_empty() && host != "." {
            self.trusted_hosts.push(host);
        }
        self
    }

    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }
}

/// Normalises an entry of [`Config::trusted_hosts`] the way [`Config::trust_host`] documents.
pub(crate) fn normalize_trusted_host(entry: &str) -> String {
    let entry = entry.trim();
    let entry = entry.split_once("://").map_or(entry, |(_, rest)| rest);
    let entry = entry.split(['/', '?', '#']).next().unwrap_or("");
    let entry = entry.strip_prefix('*').unwrap_or(entry);
    entry.trim_end_matches('.').to_ascii_lowercase()
}

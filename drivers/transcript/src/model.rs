//! The data of a transcript: the discovery to run, the recorded answers and the expected
//! outcome.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use autodiscover::config::{DEFAULT_GRACE, DEFAULT_STAGGER};
use autodiscover::{
    Action, Config, DnsError, Error, Flavor, Method, Request, SrvRecord, Step, Strategy,
    TransportError, UntrustedRedirects,
};
use url::Url;

/// One recorded or hand-written discovery: what to run, how every action is answered, and
/// what the outcome must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The discovery to run.
    pub header: Header,
    /// The answers, in file order. An action takes the first unused entry with its key.
    pub entries: Vec<Entry>,
    /// Checks on the outcome, run after the replay.
    pub expectations: Vec<Expectation>,
    /// Comment lines after the last item, each without its leading `#`.
    pub trailing_comments: Vec<String>,
}

/// The request and configuration of the discovery. Fields left `None` or empty take the
/// library defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The address discovery starts from.
    pub email: String,
    /// The protocol flavour.
    pub flavor: Flavor,
    /// The SOAP settings to request; empty means the library's default set.
    pub settings: Vec<String>,
    /// The probing strategy.
    pub strategy: Option<Strategy>,
    /// The timeout of each request and lookup.
    pub request_timeout: Option<Duration>,
    /// The deadline of the whole discovery.
    pub deadline: Option<Duration>,
    /// Extra hosts trusted with credentials, as `Config::trust_host` takes them.
    pub trusted_hosts: Vec<String>,
    /// The policy for redirects to untrusted hosts.
    pub untrusted_redirects: Option<UntrustedRedirects>,
    /// Whether the endpoint cache is read and written.
    pub use_cache: bool,
    /// The seed of the SRV weighted choice.
    pub srv_seed: Option<u64>,
    /// The largest response body a driver may read.
    pub max_response_bytes: Option<usize>,
    /// Comment lines before the first entry, each without its leading `#`.
    pub comments: Vec<String>,
}

impl Header {
    /// Creates a header for `email` and `flavor` with every other setting at its default.
    pub fn new(email: impl Into<String>, flavor: Flavor) -> Self {
        Self {
            email: email.into(),
            flavor,
            settings: Vec::new(),
            strategy: None,
            request_timeout: None,
            deadline: None,
            trusted_hosts: Vec::new(),
            untrusted_redirects: None,
            use_cache: true,
            srv_seed: None,
            max_response_bytes: None,
            comments: Vec::new(),
        }
    }

    /// Builds the discovery request.
    ///
    /// # Errors
    /// The core's error for an invalid address or an unknown setting name.
    pub fn request(&self) -> Result<Request, Error> {
        let mut request = Request::new(&self.email)?.flavor(self.flavor);
        if !self.settings.is_empty() {
            request = request.settings(&self.settings)?;
        }
        Ok(request)
    }

    /// Builds the configuration: `Config::default()` with the header's settings applied.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        if let Some(strategy) = self.strategy {
            config.strategy = strategy;
        }
        if let Some(timeout) = self.request_timeout {
            config.request_timeout = timeout;
        }
        if let Some(deadline) = self.deadline {
            config.deadline = deadline;
        }
        for host in &self.trusted_hosts {
            config = config.trust_host(host.as_str());
        }
        if let Some(policy) = self.untrusted_redirects {
            config.untrusted_redirects = policy;
        }
        config.use_cache = self.use_cache;
        if let Some(seed) = self.srv_seed {
            config.srv_seed = seed;
        }
        if let Some(limit) = self.max_response_bytes {
            config.max_response_bytes = limit;
        }
        config
    }
}

/// Returns the parallel strategy with the library's default stagger and grace.
pub(crate) fn default_parallel() -> Strategy {
    Strategy::Parallel {
        stagger: DEFAULT_STAGGER,
        grace: DEFAULT_GRACE,
    }
}

/// One action the discovery may perform, with its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The line of the key in the source file; 0 for an entry built in code.
    pub line: usize,
    /// Whether a correct client may skip this action; a non-optional entry that is never
    /// requested fails the replay.
    pub optional: bool,
    /// The key of the action this entry answers.
    pub key: Key,
    /// The earliest answer time, relative to the start of the discovery. `None` answers as
    /// soon as the action is emitted.
    pub at: Option<Duration>,
    /// For a POST: the address the request body must ask for.
    pub request_email: Option<String>,
    /// The answer.
    pub reply: Reply,
    /// Comment lines just before the key line, each without its leading `#`.
    pub comments: Vec<String>,
    /// Comment lines inside the entry's block, each without its leading `#`.
    pub notes: Vec<String>,
}

impl Entry {
    /// Creates an entry answered at once, with no comments.
    pub fn new(key: Key, reply: Reply) -> Self {
        Self {
            line: 0,
            optional: false,
            key,
            at: None,
            request_email: None,
            reply,
            comments: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Describes the entry for error messages: its key and, when known, its line.
    pub(crate) fn describe(&self) -> String {
        if self.line == 0 {
            format!("`{}`", self.key)
        } else {
            format!("`{}` (line {})", self.key, self.line)
        }
    }
}

/// The action an entry answers, as the transcript names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `POST <url>`.
    Post(Url),
    /// `GET <url>`.
    Get(Url),
    /// `DNS A <host>`.
    DnsA(String),
    /// `DNS SRV <name>`.
    DnsSrv(String),
    /// `cache get <domain>`.
    CacheGet(String),
    /// `cache put <domain> <endpoint>`.
    CachePut {
        /// The email domain.
        domain: String,
        /// The endpoint stored.
        endpoint: Url,
    },
    /// `cache delete <domain>`.
    CacheDelete(String),
}

impl Key {
    /// Returns the key of an action emitted by the discoverer.
    pub fn of_action(action: &Action) -> Key {
        match action {
            Action::HttpRequest { request, .. } => match request.method {
                Method::Post => Key::Post(request.url.clone()),
                Method::Get => Key::Get(request.url.clone()),
            },
            Action::DnsA { host, .. } => Key::DnsA(normalize_name(host)),
            Action::DnsSrv { name, .. } => Key::DnsSrv(normalize_name(name)),
            Action::CacheGet { domain, .. } => Key::CacheGet(normalize_name(domain)),
            Action::CachePut {
                domain,
                entry: Some(entry),
                ..
            } => Key::CachePut {
                domain: normalize_name(domain),
                endpoint: entry.endpoint.clone(),
            },
            Action::CachePut {
                domain,
                entry: None,
                ..
            } => Key::CacheDelete(normalize_name(domain)),
        }
    }

    /// Returns whether the discoverer's answer to this key is automatic (cache writes).
    pub fn is_cache_write(&self) -> bool {
        matches!(self, Key::CachePut { .. } | Key::CacheDelete(_))
    }
}

/// Lowercases a DNS name and removes one trailing dot, so that keys compare as names do.
pub(crate) fn normalize_name(name: &str) -> String {
    let name = name.trim();
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Post(url) => write!(f, "POST {url}"),
            Key::Get(url) => write!(f, "GET {url}"),
            Key::DnsA(host) => write!(f, "DNS A {host}"),
            Key::DnsSrv(name) => write!(f, "DNS SRV {name}"),
            Key::CacheGet(domain) => write!(f, "cache get {domain}"),
            Key::CachePut { domain, endpoint } => write!(f, "cache put {domain} {endpoint}"),
            Key::CacheDelete(domain) => write!(f, "cache delete {domain}"),
        }
    }
}

/// The answer of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An HTTP response.
    Http(HttpReply),
    /// An HTTP request that got no response.
    HttpFailure(HttpFailure),
    /// The addresses of a `DNS A` lookup; an empty list is a valid (if useless) answer.
    Addresses(Vec<IpAddr>),
    /// The records of a `DNS SRV` lookup, in the order the resolver returned them.
    Records(Vec<SrvRecord>),
    /// A failed DNS lookup.
    DnsFailure(DnsError),
    /// A cache read that found an entry.
    CacheHit {
        /// The stored endpoint.
        endpoint: Url,
        /// The flavour the endpoint speaks.
        flavor: Flavor,
        /// The authentication scheme that worked, when stored.
        auth_scheme: Option<String>,
    },
    /// A cache read that found nothing.
    CacheMiss,
    /// A cache write or delete; the replay acknowledges it at once.
    Stored,
    /// No answer at all: the discoverer must give up on the action by itself.
    Never,
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The header lines in order.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Body,
    /// The authentication scheme the driver attached to the request (`Basic`, `Bearer`).
    pub auth_scheme: Option<String>,
}

/// A response body and where its bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The file the bytes were read from (relative to the transcript's folder), or `None`
    /// for a body written in the transcript itself.
    pub file: Option<String>,
}

impl Body {
    /// Creates an inline body.
    pub fn inline(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            file: None,
        }
    }
}

/// The failure of an HTTP request that got no response, as a transcript writes it. It mirrors
/// [`TransportError`], except that `body_too_large` takes its limit from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// The host did not resolve when connecting (`dns_nxdomain`, `dns_timeout`, ...).
    Dns(DnsError),
    /// `connection_refused`.
    ConnectionRefused,
    /// `connect_timeout`.
    ConnectTimeout,
    /// `tls "message"`.
    Tls(String),
    /// `timeout`: the request or response did not complete in time.
    Timeout,
    /// `truncated "message"`: the connection closed before the whole response arrived.
    Truncated(String),
    /// `body_too_large`: the body exceeded the request's `max_response_bytes`.
    BodyTooLarge,
    /// `invalid_response "message"`.
    InvalidResponse(String),
    /// `io "message"`.
    Io(String),
}

/// The message of `tls` when the transcript gives none.
pub(crate) const DEFAULT_TLS_MESSAGE: &str = "certificate does not name the host";
/// The message of `truncated` when the transcript gives none.
pub(crate) const DEFAULT_TRUNCATED_MESSAGE: &str = "connection closed before the end of the body";

impl HttpFailure {
    /// Builds the core's error for a request whose body limit is `limit`.
    pub fn to_transport_error(&self, limit: usize) -> TransportError {
        match self {
            HttpFailure::Dns(error) => TransportError::Dns(error.clone()),
            HttpFailure::ConnectionRefused => TransportError::ConnectionRefused,
            HttpFailure::ConnectTimeout => TransportError::ConnectTimeout,
            HttpFailure::Tls(message) => TransportError::Tls(message.clone()),
            HttpFailure::Timeout => TransportError::Timeout,
            HttpFailure::Truncated(message) => TransportError::Truncated(message.clone()),
            HttpFailure::BodyTooLarge => TransportError::BodyTooLarge { limit },
            HttpFailure::InvalidResponse(message) => {
                TransportError::InvalidResponse(message.clone())
            }
            HttpFailure::Io(message) => TransportError::Io(message.clone()),
        }
    }

    /// Converts the core's error; the limit of `BodyTooLarge` is dropped.
    pub fn from_transport_error(error: &TransportError) -> Self {
        match error {
            TransportError::Dns(error) => HttpFailure::Dns(error.clone()),
            TransportError::ConnectionRefused => HttpFailure::ConnectionRefused,
            TransportError::ConnectTimeout => HttpFailure::ConnectTimeout,
            TransportError::Tls(message) => HttpFailure::Tls(message.clone()),
            TransportError::Timeout => HttpFailure::Timeout,
            TransportError::Truncated(message) => HttpFailure::Truncated(message.clone()),
            TransportError::BodyTooLarge { .. } => HttpFailure::BodyTooLarge,
            TransportError::InvalidResponse(message) => {
                HttpFailure::InvalidResponse(message.clone())
            }
            TransportError::Io(message) => HttpFailure::Io(message.clone()),
        }
    }
}

/// One `expect` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The line in the source file; 0 for an expectation built in code.
    pub line: usize,
    /// The expected fact.
    pub expect: Expect,
    /// Comment lines just before it, each without its leading `#`.
    pub comments: Vec<String>,
}

impl Expectation {
    /// Creates an expectation with no comments.
    pub fn new(expect: Expect) -> Self {
        Self {
            line: 0,
            expect,
            comments: Vec::new(),
        }
    }
}

/// A fact about the outcome of the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// `expect ews_url <url>|none`: discovery succeeded with this EWS URL, or with none.
    EwsUrl(Option<Url>),
    /// `expect endpoint <url>`: the Autodiscover endpoint that answered.
    Endpoint(Url),
    /// `expect step cache|1|2|3|4`: the step that led to the endpoint.
    Step(Step),
    /// `expect smtp_address <address>`.
    SmtpAddress(String),
    /// `expect redirected_email <address>|none`.
    RedirectedEmail(Option<String>),
    /// `expect display_name <text>`.
    DisplayName(String),
    /// `expect warning <text>`: some warning's text contains this.
    Warning(String),
    /// `expect error <kind>`: discovery failed with this `Error::kind()`.
    Error(String),
    /// `expect error_mentions <text>`: the error's text contains this.
    ErrorMentions(String),
    /// `expect trace <text>`: some attempt in the trace (of a success or an error) contains
    /// this.
    Trace(String),
    /// `expect max_requests <n>`: at most this many HTTP requests were sent.
    MaxRequests(usize),
    /// `expect no_credentials <url prefix>`: no request to a URL with this prefix allowed
    /// credentials.
    NoCredentials(String),
    /// `expect finished_by +<time>`: the outcome arrived no later than this offset.
    FinishedBy(Duration),
}

/// Returns the transcript name of a step: `cache`, `1`, `2`, `3` or `4`.
pub(crate) fn step_name(step: Step) -> &'static str {
    match step {
        Step::Cache => "cache",
        Step::Domain => "1",
        Step::AutodiscoverHost => "2",
        Step::HttpRedirect => "3",
        Step::Srv => "4",
    }
}

/// Parses a transcript step name.
pub(crate) fn parse_step(text: &str) -> Option<Step> {
    Some(match text {
        "cache" => Step::Cache,
        "1" => Step::Domain,
        "2" => Step::AutodiscoverHost,
        "3" => Step::HttpRedirect,
        "4" => Step::Srv,
        _ => return None,
    })
}

//! Actions: the IO the [`Discoverer`](crate::Discoverer) asks its driver to perform.

use std::fmt;
use std::time::SystemTime;

use url::Url;

use crate::request::Flavor;

/// Identifies one action; the driver answers it with an [`Event`](crate::Event) carrying the
/// same id. Ids are unique within one `Discoverer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct ActionId(pub u64);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// HTTP method of an [`HttpRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Method {
    /// Used only for the unauthenticated step 3 probe.
    Get,
    /// Every Autodiscover request.
    Post,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
        })
    }
}

/// One HTTP request for the driver to send.
///
/// The driver must not follow redirects itself, must stop reading the body after
/// `max_response_bytes` (answering with [`TransportError::BodyTooLarge`](crate::TransportError)),
/// must undo a gzip or deflate `Content-Encoding`, and may add `Host`, `Content-Length`,
/// `User-Agent`, `Accept-Encoding` and connection headers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL; its host has no trailing dot.
    pub url: Url,
    /// Headers to send, in order.
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8 XML for a POST, empty for a GET).
    pub body: Vec<u8>,
    /// The largest decoded body the driver may read.
    pub max_response_bytes: usize,
    /// Whether the driver may attach the caller's credentials. The core sets it only for https
    /// URLs on trusted hosts; a driver must never attach credentials when it is false.
    pub credentials_allowed: bool,
}

/// The cache record of a domain: the endpoint that returned settings, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CacheEntry {
    /// The Autodiscover endpoint that returned settings.
    pub endpoint: Url,
    /// The flavour that endpoint speaks.
    pub flavor: Flavor,
    /// The HTTP authentication scheme that worked (`Basic`, `Bearer`, ...), when known.
    pub auth_scheme: Option<String>,
    /// When the entry was written. The core never reads a clock, so it leaves this `None` and
    /// the cache store sets it when it writes.
    pub stored_at: Option<SystemTime>,
}

/// One piece of IO for the driver to perform. Every action must be answered by exactly one
/// [`Event`](crate::Event) with the same id; several actions may be outstanding at once and
/// should run concurrently.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Action {
    /// Send an HTTP request; answer with [`Event::HttpResponse`](crate::Event::HttpResponse).
    HttpRequest {
        /// The action id.
        id: ActionId,
        /// The request.
        request: HttpRequest,
    },
    /// Look up the SRV records of `name`; answer with [`Event::DnsSrv`](crate::Event::DnsSrv).
    DnsSrv {
        /// The action id.
        id: ActionId,
        /// The query name, such as `_autodiscover._tcp.example.com`.
        name: String,
    },
    /// Resolve the addresses (A and AAAA) of `host`; answer with
    /// [`Event::DnsA`](crate::Event::DnsA).
    DnsA {
        /// The action id.
        id: ActionId,
        /// The host name, without a trailing dot.
        host: String,
    },
    /// Read the cache entry of `domain`; answer with [`Event::CacheGet`](crate::Event::CacheGet).
    CacheGet {
        /// The action id.
        id: ActionId,
        /// The lowercased email domain.
        domain: String,
    },
    /// Store (`Some`) or remove (`None`) the cache entry of `domain`; answer with
    /// [`Event::CachePut`](crate::Event::CachePut).
    CachePut {
        /// The action id.
        id: ActionId,
        /// The lowercased email domain.
        domain: String,
        /// The entry to store, or `None` to remove the domain's entry.
        entry: Option<CacheEntry>,
    },
}

impl Action {
    /// Returns the id the answering event must carry.
    pub fn id(&self) -> ActionId {
        match self {
            Action::HttpRequest { id, .. }
            | Action::DnsSrv { id, .. }
            | Action::DnsA { id, .. }
            | Action::CacheGet { id, .. }
            | Action::CachePut { id, .. } => *id,
        }
    }
}

impl fmt::Display for Action {
    /// Formats the action on one line, without headers or body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::HttpRequest { id, request } => write!(
                f,
                "{id} {} {}{}",
                request.method,
                request.url,
                if request.credentials_allowed {
                    " (credentials allowed)"
                } else {
                    ""
                }
            ),
            Action::DnsSrv { id, name } => write!(f, "{id} DNS SRV {name}"),
            Action::DnsA { id, host } => write!(f, "{id} DNS A {host}"),
            Action::CacheGet { id, domain } => write!(f, "{id} cache get {domain}"),
            Action::CachePut {
                id,
                domain,
                entry: Some(entry),
            } => write!(f, "{id} cache put {domain} {}", entry.endpoint),
            Action::CachePut {
                id,
                domain,
                entry: None,
            } => write!(f, "{id} cache delete {domain}"),
        }
    }
}

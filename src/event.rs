//! Events: the results of [`Action`](crate::Action)s, fed back into the
//! [`Discoverer`](crate::Discoverer).
//!
//! IO failures are data here, in this crate's own small enums, so that every driver reports
//! them the same way and the core never handles a runtime's error type.

use std::net::IpAddr;

use crate::action::{ActionId, CacheEntry};

/// The result of one action, carrying the action's id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Event {
    /// Answers [`Action::HttpRequest`](crate::Action::HttpRequest).
    HttpResponse {
        /// The id of the request.
        id: ActionId,
        /// The response, or why there is none.
        result: Result<HttpResponse, TransportError>,
    },
    /// Answers [`Action::DnsSrv`](crate::Action::DnsSrv).
    DnsSrv {
        /// The id of the lookup.
        id: ActionId,
        /// The records in the order the resolver returned them, or the failure.
        result: Result<Vec<SrvRecord>, DnsError>,
    },
    /// Answers [`Action::DnsA`](crate::Action::DnsA).
    DnsA {
        /// The id of the lookup.
        id: ActionId,
        /// The addresses, or the failure. An empty list counts as a failure.
        result: Result<Vec<IpAddr>, DnsError>,
    },
    /// Answers [`Action::CacheGet`](crate::Action::CacheGet).
    CacheGet {
        /// The id of the read.
        id: ActionId,
        /// The entry, or `None` on a miss or a store that could not be read.
        entry: Option<CacheEntry>,
    },
    /// Answers [`Action::CachePut`](crate::Action::CachePut), whether or not the write worked.
    CachePut {
        /// The id of the write.
        id: ActionId,
    },
}

impl Event {
    /// Returns the id of the action this event completes.
    pub fn id(&self) -> ActionId {
        match self {
            Event::HttpResponse { id, .. }
            | Event::DnsSrv { id, .. }
            | Event::DnsA { id, .. }
            | Event::CacheGet { id, .. }
            | Event::CachePut { id } => *id,
        }
    }
}

/// An HTTP response as the driver read it, with any `Content-Encoding` already undone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Every header line in order; repeated names stay separate entries.
    pub headers: Vec<(String, String)>,
    /// The decoded body, at most the request's `max_response_bytes` long.
    pub body: Vec<u8>,
    /// The authentication scheme the driver attached (`Basic`, `Bearer`), if any.
    pub auth_scheme: Option<String>,
}

impl HttpResponse {
    /// Returns the first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Iterates every header named `name`, compared case-insensitively.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The reason an HTTP request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TransportError {
    /// The driver could not resolve the host when connecting.
    #[error("DNS lookup failed: {0}")]
    Dns(DnsError),
    /// The peer refused the TCP connection.
    #[error("connection refused")]
    ConnectionRefused,
    /// The TCP connection was not established in time.
    #[error("connection timed out")]
    ConnectTimeout,
    /// The TLS handshake failed, for example on a certificate for another host.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The request or response did not complete in time.
    #[error("request timed out")]
    Timeout,
    /// The connection closed before the whole response arrived.
    #[error("response truncated: {0}")]
    Truncated(String),
    /// The body exceeded the request's `max_response_bytes`.
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The response was not valid HTTP/1.1 or its content encoding could not be decoded.
    #[error("invalid HTTP response: {0}")]
    InvalidResponse(String),
    /// Any other IO failure.
    #[error("I/O error: {0}")]
    Io(String),
}

/// The reason a DNS lookup gave no usable result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DnsError {
    /// The name does not exist (NXDOMAIN).
    #[error("no such name")]
    NoSuchName,
    /// The name exists but has no records of the requested type.
    #[error("no records")]
    NoRecords,
    /// The resolver did not respond in time.
    #[error("DNS timed out")]
    Timeout,
    /// Any other resolver failure (SERVFAIL, refused, no nameserver reachable).
    #[error("DNS failed: {0}")]
    Failed(String),
}

/// One SRV record (RFC 2782), as the resolver returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SrvRecord {
    /// Lower values are tried first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// The service port; Autodiscover uses only records with port 443.
    pub port: u16,
    /// The target host, possibly with a trailing dot; `.` means no service.
    pub target: String,
}

//! The per-candidate trace: what discovery tried and what happened, for error reports and `-v`.

use std::fmt;

use crate::answer::ServerError;
use crate::event::{DnsError, TransportError};

/// The protocol step that produced a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Step {
    /// The endpoint remembered for the domain.
    Cache,
    /// Step 1: `https://DOMAIN/autodiscover/...`.
    Domain,
    /// Step 2: `https://autodiscover.DOMAIN/autodiscover/...`.
    AutodiscoverHost,
    /// Step 3: the unauthenticated GET on `http://autodiscover.DOMAIN/...` and its redirect.
    HttpRedirect,
    /// Step 4: the `_autodiscover._tcp.DOMAIN` SRV lookup and its targets.
    Srv,
}

impl Step {
    /// Returns a short label such as `step 1`.
    pub fn label(self) -> &'static str {
        match self {
            Step::Cache => "cache",
            Step::Domain => "step 1",
            Step::AutodiscoverHost => "step 2",
            Step::HttpRedirect => "step 3",
            Step::Srv => "step 4",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Cache => "cached endpoint",
            Step::Domain => "step 1 (domain)",
            Step::AutodiscoverHost => "step 2 (autodiscover host)",
            Step::HttpRedirect => "step 3 (http redirect)",
            Step::Srv => "step 4 (SRV record)",
        })
    }
}

/// The result of one request or lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AttemptResult {
    /// The host's address lookup failed, so no request was sent.
    DnsFailed(DnsError),
    /// The SRV lookup failed.
    SrvFailed(DnsError),
    /// The SRV lookup returned no record with port 443 and a valid target host.
    SrvNoUsableRecord,
    /// The request got no response.
    Transport(TransportError),
    /// The request got no response before the per-request timeout.
    TimedOut,
    /// The status is not one an Autodiscover endpoint responds with.
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// The server asked for authentication.
    Unauthorized {
        /// The schemes offered in `WWW-Authenticate`, such as `Basic`, `Negotiate`.
        schemes: Vec<String>,
        /// Whether credentials were allowed on this request.
        credentials_allowed: bool,
    },
    /// The body is not an Autodiscover response.
    NotAutodiscover {
        /// Why, naming the content type or the parse failure.
        reason: String,
    },
    /// The server returned an Autodiscover error.
    ServerError(ServerError),
    /// The candidate's host or URL cannot be requested (an IP address, a single-label host,
    /// `autodiscover.<TLD>`, a name that is not a valid host).
    InvalidEndpoint {
        /// Why.
        reason: String,
    },
    /// The URL was requested before for the same address, so it is not requested again.
    AlreadyTried,
    /// The server was busy; the request is retried after a back-off.
    BusyRetrying {
        /// The back-off in milliseconds.
        retry_in_ms: u64,
    },
    /// The server was busy and the retries ran out.
    ServerBusy,
    /// The response redirected to another URL (HTTP status or XML `RedirectUrl`).
    Redirected {
        /// The target.
        to: String,
    },
    /// A redirect was not followed.
    RedirectRejected {
        /// The target as given.
        to: String,
        /// The reason for the rejection.
        reason: String,
    },
    /// The response redirected to another address.
    RedirectedAddress {
        /// The new address.
        to: String,
    },
    /// The response named the address that was asked for, so this URL is not valid for it.
    RedirectToSameAddress,
    /// The response carried settings.
    Settings,
    /// The step 3 probe responded without a redirect.
    NoRedirect {
        /// The status code.
        status: u16,
    },
    /// Discovery moved on before this request completed: another candidate's answer was taken
    /// (settings, or an address redirect that restarted discovery), or the deadline passed.
    Abandoned,
}

impl fmt::Display for AttemptResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptResult::DnsFailed(error) => write!(f, "host not resolved: {error}"),
            AttemptResult::SrvFailed(error) => write!(f, "SRV lookup failed: {error}"),
            AttemptResult::SrvNoUsableRecord => {
                f.write_str("no usable SRV record (port 443 and a valid target host)")
            }
            AttemptResult::Transport(error) => write!(f, "{error}"),
            AttemptResult::TimedOut => f.write_str("no answer before the request timeout"),
            AttemptResult::HttpStatus { status } => write!(f, "HTTP status {status}"),
            AttemptResult::Unauthorized {
                schemes,
                credentials_allowed,
            } => {
                write!(f, "HTTP 401, offered schemes: ")?;
                if schemes.is_empty() {
                    f.write_str("none")?;
                } else {
                    f.write_str(&schemes.join(", "))?;
                }
                if !credentials_allowed {
                    f.write_str(" (credentials withheld: host not trusted)")?;
                }
                Ok(())
            }
            AttemptResult::NotAutodiscover { reason } => {
                write!(f, "not an Autodiscover response: {reason}")
            }
            AttemptResult::ServerError(error) => write!(f, "{error}"),
            AttemptResult::InvalidEndpoint { reason } => write!(f, "not requested: {reason}"),
            AttemptResult::AlreadyTried => {
                f.write_str("already requested for this address, so not requested again")
            }
            AttemptResult::BusyRetrying { retry_in_ms } => {
                write!(f, "server busy, retrying in {retry_in_ms} ms")
            }
            AttemptResult::ServerBusy => f.write_str("server busy, retries exhausted"),
            AttemptResult::Redirected { to } => write!(f, "redirected to {to}"),
            AttemptResult::RedirectRejected { to, reason } => {
                write!(f, "redirect to {to} rejected: {reason}")
            }
            AttemptResult::RedirectedAddress { to } => write!(f, "redirected to address {to}"),
            AttemptResult::RedirectToSameAddress => {
                f.write_str("redirected to the same address, so this URL is not valid for it")
            }
            AttemptResult::Settings => f.write_str("returned settings"),
            AttemptResult::NoRedirect { status } => {
                write!(f, "answered {status} without a redirect")
            }
            AttemptResult::Abandoned => f.write_str(
                "abandoned before it answered (another answer was taken or the deadline passed)",
            ),
        }
    }
}

/// One line of the trace: which step, which URL or DNS name, the address asked for, and what
/// happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Attempt {
    /// The step that produced the candidate.
    pub step: Step,
    /// The URL, host or DNS name.
    pub target: String,
    /// The address asked for.
    pub email: String,
    /// What happened.
    pub result: AttemptResult,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.step.label(), self.target, self.result)
    }
}

/// A trace rendered one attempt per line, for error messages.
pub(crate) struct TraceLines<'a>(pub &'a [Attempt]);

impl fmt::Display for TraceLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for attempt in self.0 {
            write!(f, "\n  - {attempt}")?;
        }
        Ok(())
    }
}

//! The crate's error type.

use crate::answer::ServerError;
use crate::trace::{Attempt, TraceLines};

/// A URL that responded 401, with the schemes it offered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Challenge {
    /// The URL that responded 401.
    pub url: String,
    /// The schemes of its `WWW-Authenticate` headers, in order.
    pub schemes: Vec<String>,
}

/// The error of a request that could not be built or a discovery that failed.
///
/// Every discovery failure carries the per-candidate trace; [`Error::trace`] returns it, and the
/// `Display` text lists it one attempt per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The email address cannot start a discovery.
    #[error("invalid email address {address:?}: {reason}")]
    InvalidEmail {
        /// The address as given.
        address: String,
        /// The reason it is invalid.
        reason: String,
    },
    /// A requested setting name is not defined by MS-OXWSADISC.
    #[error(
        "unknown setting {name:?}{}; valid settings are: {valid}",
        suggestion(name)
    )]
    UnknownSetting {
        /// The name as given.
        name: String,
        /// Every valid name, comma-separated.
        valid: String,
    },
    /// The caller asked for no settings at all.
    #[error("no settings requested; ask for at least one, such as ExternalEwsUrl")]
    NoSettings,
    /// No candidate returned settings or a decisive answer.
    #[error(
        "no Autodiscover endpoint answered for {email}; {}. Tried:{}",
        not_found_advice(trace),
        TraceLines(trace)
    )]
    NotFound {
        /// The address asked for last.
        email: String,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The only Autodiscover answers were 401s from hosts that received credentials.
    #[error("credentials rejected by {}; check the user name and password or token, and that the server accepts one of the offered schemes. Tried:{}", challenge_list(challenges), TraceLines(trace))]
    CredentialsRejected {
        /// Each URL that answered 401 and the schemes it offered.
        challenges: Vec<Challenge>,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The endpoint that could answer is on a host that is not trusted with credentials.
    #[error("Autodiscover led to {url}, but host {host:?} is not trusted with credentials; if it belongs to your mail provider, add it with Config::trust_host. Tried:{}", TraceLines(trace))]
    UntrustedHost {
        /// The host.
        host: String,
        /// The URL on that host.
        url: String,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The server reported that the address has no mailbox (SOAP `InvalidUser`, POX 500, 501, 602).
    #[error(
        "{url} reports no mailbox for {email}: {error}. Check the address. Tried:{}",
        TraceLines(trace)
    )]
    InvalidUser {
        /// The address asked for.
        email: String,
        /// The URL that answered.
        url: String,
        /// The server's error.
        error: Box<ServerError>,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The server rejected the request itself (SOAP `InvalidRequest`, POX 600, 601).
    #[error("{url} rejected the Autodiscover request: {error}. Try the other flavour (SOAP or POX). Tried:{}", TraceLines(trace))]
    InvalidRequest {
        /// The URL that answered.
        url: String,
        /// The server's error.
        error: Box<ServerError>,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The server failed for a reason of its own (SOAP `InternalServerError`, `NotFederated`, an
    /// unknown code; POX 603).
    #[error(
        "{url} failed: {error}. The server may be misconfigured or down; try again later. Tried:{}",
        TraceLines(trace)
    )]
    ServerFailed {
        /// The URL that answered.
        url: String,
        /// The server's error.
        error: Box<ServerError>,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// An address redirect named an address already asked for.
    #[error("circular address redirect: {}; the server configuration is inconsistent. Tried:{}", addresses.join(" -> "), TraceLines(trace))]
    RedirectLoop {
        /// The addresses in the order they were asked for, ending with the repeated one.
        addresses: Vec<String>,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// More redirects than [`MAX_REDIRECTS`](crate::config::MAX_REDIRECTS).
    #[error(
        "more than {limit} redirects; the server configuration is probably looping. Tried:{}",
        TraceLines(trace)
    )]
    TooManyRedirects {
        /// The limit.
        limit: usize,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The overall deadline passed.
    #[error("discovery did not finish within {} s; raise Config::deadline or check the network. Tried:{}", seconds_text(*milliseconds), TraceLines(trace))]
    DeadlineExceeded {
        /// The deadline in milliseconds.
        milliseconds: u64,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
    /// The safety bound on the number of actions was reached.
    #[error(
        "discovery used more than {limit} actions and was stopped; the servers' redirects and retries are probably looping, so check their configuration. Tried:{}",
        TraceLines(trace)
    )]
    ActionLimit {
        /// The limit.
        limit: usize,
        /// The attempts, in order.
        trace: Vec<Attempt>,
    },
}

/// Returns ` (did you mean "X"?)` for the known setting closest to `name`, if one is close.
fn suggestion(name: &str) -> String {
    let lowered = name.to_ascii_lowercase();
    let best = crate::settings::KNOWN_SETTINGS
        .iter()
        .map(|known| (edit_distance(&lowered, &known.to_ascii_lowercase()), *known))
        .min_by_key(|(distance, _)| *distance);
    match best {
        Some((distance, known)) if distance <= 3 => format!(" (did you mean {known:?}?)"),
        _ => String::new(),
    }
}

/// Counts the single-character insertions, deletions and substitutions between two strings.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_char) in left.chars().enumerate() {
        let mut current = vec![row + 1];
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != *right_char);
            let deletion = previous[column + 1] + 1;
            let insertion = current[column] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous[right.len()]
}

/// Returns what to check next for a discovery that found no endpoint, judged from the trace.
fn not_found_advice(trace: &[Attempt]) -> &'static str {
    use crate::event::TransportError;
    use crate::trace::AttemptResult;

    let tls = trace.iter().any(|attempt| {
        matches!(
            attempt.result,
            AttemptResult::Transport(TransportError::Tls(_))
        )
    });
    let only_dns = !trace.is_empty()
        && trace.iter().all(|attempt| {
            matches!(
                attempt.result,
                AttemptResult::DnsFailed(_)
                    | AttemptResult::SrvFailed(_)
                    | AttemptResult::SrvNoUsableRecord
                    | AttemptResult::Transport(TransportError::Dns(_))
            )
        });
    let timeouts = trace.iter().any(|attempt| {
        matches!(
            attempt.result,
            AttemptResult::TimedOut
                | AttemptResult::Transport(
                    TransportError::Timeout | TransportError::ConnectTimeout
                )
        )
    });
    if tls {
        "a TLS certificate was rejected, so if the server uses a private CA, add it to the driver's trusted roots"
    } else if only_dns {
        "no candidate host resolved, so check the domain's DNS (the autodiscover host or the _autodiscover._tcp SRV record) and the resolver the driver uses"
    } else if timeouts {
        "some candidates did not respond in time, so check the network or raise Config::request_timeout"
    } else {
        "check the address and the domain's Autodiscover setup (the autodiscover host or the _autodiscover._tcp SRV record)"
    }
}

/// Formats milliseconds as seconds without losing a fraction: `1500` as `1.5`.
fn seconds_text(milliseconds: u64) -> String {
    let whole = milliseconds / 1000;
    let fraction = milliseconds % 1000;
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{fraction:03}")
            .trim_end_matches('0')
            .to_owned()
    }
}

fn challenge_list(challenges: &[Challenge]) -> String {
    challenges
        .iter()
        .map(|challenge| {
            if challenge.schemes.is_empty() {
                format!("{} (no scheme offered)", challenge.url)
            } else {
                format!(
                    "{} (offers {})",
                    challenge.url,
                    challenge.schemes.join(", ")
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// Returns the per-candidate trace of a discovery failure; empty for request errors.
    pub fn trace(&self) -> &[Attempt] {
        match self {
            Error::InvalidEmail { .. } | Error::UnknownSetting { .. } | Error::NoSettings => &[],
            Error::NotFound { trace, .. }
            | Error::CredentialsRejected { trace, .. }
            | Error::UntrustedHost { trace, .. }
            | Error::InvalidUser { trace, .. }
            | Error::InvalidRequest { trace, .. }
            | Error::ServerFailed { trace, .. }
            | Error::RedirectLoop { trace, .. }
            | Error::TooManyRedirects { trace, .. }
            | Error::DeadlineExceeded { trace, .. }
            | Error::ActionLimit { trace, .. } => trace,
        }
    }

    /// Returns a stable snake_case name of the variant, for scripts and exit codes.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidEmail { .. } => "invalid_email",
            Error::UnknownSetting { .. } => "unknown_setting",
            Error::NoSettings => "no_settings",
            Error::NotFound { .. } => "not_found",
            Error::CredentialsRejected { .. } => "credentials_rejected",
            Error::UntrustedHost { .. } => "untrusted_host",
            Error::InvalidUser { .. } => "invalid_user",
            Error::InvalidRequest { .. } => "invalid_request",
            Error::ServerFailed { .. } => "server_failed",
            Error::RedirectLoop { .. } => "redirect_loop",
            Error::TooManyRedirects { .. } => "too_many_redirects",
            Error::DeadlineExceeded { .. } => "deadline_exceeded",
            Error::ActionLimit { .. } => "action_limit",
        }
    }
}

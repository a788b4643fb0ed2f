//! Exit codes, and the failures that end a run before or beside a discovery.

use autodiscover::{AttemptResult, DnsError, Error, TransportError};

/// The process exit code. `--help` and the crate documentation list the same codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Settings found, or the cache cleared.
    Found = 0,
    /// No Autodiscover endpoint was found.
    NotFound = 1,
    /// An invalid option, email address or setting name.
    Usage = 2,
    /// Credentials rejected, or the endpoint is on a host not trusted with credentials.
    Rejected = 3,
    /// The server reports that the user or the request is invalid.
    Invalid = 4,
    /// An address redirect loop, or more redirects than the core follows.
    Redirects = 5,
    /// The deadline passed, or every candidate timed out.
    TimedOut = 6,
    /// A local file or configuration is unusable: CA file, cache, transcript, system DNS.
    Local = 7,
}

impl Exit {
    /// Returns the exit code of a discovery that ended with `error`.
    ///
    /// `not_found` becomes [`Exit::TimedOut`] when every attempt of the trace timed out,
    /// because then raising `--timeout` is what to try, not fixing the DNS.
    /// `server_failed` (the server reported a failure of its own) and `action_limit` (the core's
    /// safety bound on the number of actions) count as not found.
    pub fn of_error(error: &Error) -> Exit {
        match error.kind() {
            "invalid_email" | "unknown_setting" | "no_settings" => Exit::Usage,
            "credentials_rejected" | "untrusted_host" => Exit::Rejected,
            "invalid_user" | "invalid_request" => Exit::Invalid,
            "redirect_loop" | "too_many_redirects" => Exit::Redirects,
            "deadline_exceeded" => Exit::TimedOut,
            "not_found" if all_timed_out(error.trace()) => Exit::TimedOut,
            _ => Exit::NotFound,
        }
    }

    /// Returns the code as the process reports it.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Returns whether the trace is not empty and every attempt in it timed out.
fn all_timed_out(trace: &[autodiscover::Attempt]) -> bool {
    !trace.is_empty()
        && trace.iter().all(|attempt| {
            matches!(
                attempt.result,
                AttemptResult::TimedOut
                    | AttemptResult::DnsFailed(DnsError::Timeout)
                    | AttemptResult::SrvFailed(DnsError::Timeout)
                    | AttemptResult::Transport(TransportError::Timeout)
                    | AttemptResult::Transport(TransportError::ConnectTimeout)
                    | AttemptResult::Transport(TransportError::Dns(DnsError::Timeout))
            )
        })
}

/// A run that ended without a discovery outcome to report: a usage error or a local error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit code, [`Exit::Usage`] or [`Exit::Local`].
    pub exit: Exit,
    /// A stable snake_case name for scripts, such as `ca_file` or `transcript_invalid`.
    pub kind: &'static str,
    /// The failure, naming the value at fault.
    pub message: String,
    /// Next steps, one sentence each.
    pub hints: Vec<String>,
}

impl Failure {
    /// Creates a usage error.
    pub fn usage(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Usage,
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Creates a local error.
    pub fn local(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Local,
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autodiscover::{Attempt, Step};

    fn attempt(result: AttemptResult) -> Attempt {
        Attempt {
            step: Step::Domain,
            target: "https://example.com/autodiscover/autodiscover.svc".to_owned(),
            email: "alice@example.com".to_owned(),
            result,
        }
    }

    fn not_found(trace: Vec<Attempt>) -> Error {
        Error::NotFound {
            email: "alice@example.com".to_owned(),
            trace,
        }
    }

    #[test]
    fn not_found_with_only_timeouts_is_timed_out() {
        let error = not_found(vec![
            attempt(AttemptResult::TimedOut),
            attempt(AttemptResult::DnsFailed(DnsError::Timeout)),
        ]);
        assert_eq!(Exit::of_error(&error), Exit::TimedOut);
    }

    #[test]
    fn not_found_with_other_failures_is_not_found() {
        let error = not_found(vec![
            attempt(AttemptResult::TimedOut),
            attempt(AttemptResult::DnsFailed(DnsError::NoSuchName)),
        ]);
        assert_eq!(Exit::of_error(&error), Exit::NotFound);
        assert_eq!(Exit::of_error(&not_found(Vec::new())), Exit::NotFound);
    }

    #[test]
    fn request_errors_are_usage_errors() {
        let error = autodiscover::Request::new("not-an-address").unwrap_err();
        assert_eq!(Exit::of_error(&error), Exit::Usage);
        assert_eq!(Exit::of_error(&Error::NoSettings), Exit::Usage);
    }
}

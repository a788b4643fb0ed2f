//! Explanations of a failed discovery and the next checks, in the words of the command line.

use std::time::Duration;

use autodiscover::{Attempt, AttemptResult, Error, Flavor, TransportError, Warning};

use crate::exit::Exit;
use crate::run::{Context, CredentialKind};

/// Returns one line that states what failed, without the trace that the core's `Display` text
/// appends, and without the core's hints, which name library calls.
pub fn summary(error: &Error) -> String {
    match error {
        Error::NotFound { email, .. } => {
            format!("no Autodiscover endpoint answered for {email}")
        }
        Error::CredentialsRejected { challenges, .. } => {
            let urls: Vec<String> = challenges
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
                .collect();
            format!("credentials rejected by {}", urls.join(", "))
        }
        Error::UntrustedHost { host, url, .. } => {
            format!("Autodiscover led to {url}, but host {host} is not trusted with credentials")
        }
        Error::InvalidUser {
            email, url, error, ..
        } => format!("{url} reports no mailbox for {email}: {error}"),
        Error::InvalidRequest { url, error, .. } => {
            format!("{url} rejected the Autodiscover request: {error}")
        }
        Error::ServerFailed { url, error, .. } => format!("{url} failed: {error}"),
        Error::RedirectLoop { addresses, .. } => {
            format!("circular address redirect: {}", addresses.join(" -> "))
        }
        Error::TooManyRedirects { limit, .. } => {
            format!("more than {limit} redirects")
        }
        Error::DeadlineExceeded { milliseconds, .. } => {
            let deadline = Duration::from_millis(*milliseconds);
            format!("discovery did not finish within {} s", seconds(deadline))
        }
        Error::ActionLimit { limit, .. } => {
            format!("discovery used more than {limit} actions and was stopped")
        }
        other => first_line(&other.to_string()),
    }
}

/// Returns the text up to the trace that the core appends after `Tried:`.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.strip_suffix(" Tried:").unwrap_or(line).to_owned()
}

/// Returns what to check next after `error`, one sentence each.
pub fn hints(error: &Error, context: &Context) -> Vec<String> {
    let mut hints = Vec::new();
    match error {
        Error::NotFound { email, trace } => {
            let domain = email
                .rsplit_once('@')
                .map_or(email.as_str(), |(_, domain)| domain);
            if Exit::of_error(error) == Exit::TimedOut {
                hints.push(format!(
                    "Every candidate timed out: check the network, or raise --timeout (now {} s).",
                    seconds(context.request_timeout)
                ));
            } else if !trace.is_empty()
                && trace.iter().all(|attempt| is_dns_failure(&attempt.result))
            {
                hints.push(format!(
                    "No candidate host resolved: check the DNS server (--nameserver) and the DNS records of {domain}."
                ));
            }
            hints.push(format!(
                "Check that {domain} is the mailbox's domain. Autodiscover needs https://{domain}/autodiscover/, https://autodiscover.{domain}/autodiscover/ or an _autodiscover._tcp.{domain} SRV record."
            ));
            hints.push("Run again with -v to see each request and its answer.".to_owned());
        }
        Error::CredentialsRejected { challenges, .. } => {
            credential_hints(context, &mut hints);
            let basic_offered = challenges.iter().any(|challenge| {
                challenge
                    .schemes
                    .iter()
                    .any(|scheme| scheme.eq_ignore_ascii_case("basic"))
            });
            if !basic_offered && context.credentials == CredentialKind::Basic {
                hints.push("No server offered Basic authentication. This tool answers Basic and Bearer challenges, not NTLM or Negotiate: try a bearer token in AUTODISCOVER_TOKEN.".to_owned());
            }
        }
        Error::UntrustedHost { host, .. } => {
            hints.push(format!(
                "If {host} belongs to your mail provider, run again with --trust {host}."
            ));
        }
        Error::InvalidUser { .. } => {
            hints.push("Check the email address: the server has no mailbox for it.".to_owned());
        }
        Error::InvalidRequest { .. } => {
            let other = match context.flavor {
                Flavor::Soap => "pox",
                Flavor::Pox => "soap",
            };
            hints.push(format!("Try the other flavour: --flavor {other}."));
        }
        Error::ServerFailed { .. } => {
            hints.push("The server may be misconfigured or down: try again later, or report the error to the mail administrator.".to_owned());
        }
        Error::RedirectLoop { .. } | Error::TooManyRedirects { .. } => {
            hints.push("The domain's Autodiscover configuration redirects in a loop; report it to the mail administrator.".to_owned());
        }
        Error::DeadlineExceeded { .. } => {
            hints.push(format!(
                "Raise --deadline (now {} s), or run with -v to see which candidate is slow.",
                seconds(context.deadline)
            ));
        }
        Error::ActionLimit { .. } => {
            hints.push("A safety limit stopped the discovery; run with -v and report the log to the autodiscover-rs developers.".to_owned());
        }
        _ => {}
    }
    if let Some(hint) = certificate_hint(error.trace()) {
        // When nothing answered, a certificate failure is the likely cause, so it comes first.
        match error {
            Error::NotFound { .. } => hints.insert(0, hint),
            _ => hints.push(hint),
        }
    }
    hints
}

/// Returns the text of a warning, naming `--trust` where the core names its library call.
pub fn warning_text(warning: &Warning) -> String {
    match warning {
        Warning::UntrustedEndpoint { host } => format!(
            "the settings came from {host}, which is not trusted with credentials, so they are unauthenticated; run again with --trust {host} if it is your mail provider's"
        ),
        other => other.to_string(),
    }
}

/// Returns a hint for the first attempt that failed the TLS certificate check, naming
/// `--ca-file` for a server whose certificate a private CA issued.
///
/// The driver keeps rustls' text of a handshake failure, such as `invalid peer certificate:
/// UnknownIssuer` or `certificate not valid for name ...` (rustls 0.23), so the check looks
/// for those words.
fn certificate_hint(trace: &[Attempt]) -> Option<String> {
    trace.iter().find_map(|attempt| {
        let AttemptResult::Transport(TransportError::Tls(message)) = &attempt.result else {
            return None;
        };
        let message = message.to_ascii_lowercase();
        if message.contains("unknownissuer") || message.contains("unknown issuer") {
            Some(format!(
                "The TLS certificate of {} was issued by a CA that is not trusted (UnknownIssuer). If the mail server uses a private CA, run again with --ca-file PEM, a file with that CA's certificate.",
                attempt.target
            ))
        } else if message.contains("certificate") {
            Some(format!(
                "The TLS certificate check failed for {}: check that the server's certificate names the host and has not expired. If a private CA issued it, run again with --ca-file PEM, a file with that CA's certificate.",
                attempt.target
            ))
        } else {
            None
        }
    })
}

/// Adds the hints for rejected credentials, which depend on what was sent.
fn credential_hints(context: &Context, hints: &mut Vec<String>) {
    if context.replay {
        hints.push(
            "Check the user name and the password or token that the recorded run used.".to_owned(),
        );
        return;
    }
    match context.credentials {
        CredentialKind::None => hints.push("No credentials were sent: set AUTODISCOVER_PASSWORD or AUTODISCOVER_TOKEN, or run from a terminal to be asked for the password.".to_owned()),
        CredentialKind::Basic => hints.push(format!(
            "Check the user name (--username, now {}) and the password.",
            context.username
        )),
        CredentialKind::Bearer => hints.push(
            "Check that the token in AUTODISCOVER_TOKEN is valid, not expired, and issued for Exchange."
                .to_owned(),
        ),
    }
}

fn is_dns_failure(result: &AttemptResult) -> bool {
    matches!(
        result,
        AttemptResult::DnsFailed(_)
            | AttemptResult::SrvFailed(_)
            | AttemptResult::SrvNoUsableRecord
    )
}

/// Formats a duration in seconds without a trailing `.0`.
fn seconds(duration: Duration) -> String {
    let value = duration.as_secs_f64();
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_drops_the_trace() {
        let message = "no endpoint answered. Tried:\n  - step 1: a: b";
        assert_eq!(first_line(message), "no endpoint answered.");
    }

    fn tls_attempt(message: &str) -> Attempt {
        Attempt {
            step: autodiscover::Step::Domain,
            target: "https://example.com/autodiscover/autodiscover.svc".to_owned(),
            email: "alice@example.com".to_owned(),
            result: AttemptResult::Transport(TransportError::Tls(message.to_owned())),
        }
    }

    #[test]
    fn unknown_issuer_hint_names_ca_file() {
        let hint = certificate_hint(&[tls_attempt("invalid peer certificate: UnknownIssuer")])
            .expect("a hint for UnknownIssuer");
        assert!(hint.contains("--ca-file"), "{hint}");
        assert!(hint.contains("private CA"), "{hint}");
        assert!(hint.contains("https://example.com/"), "{hint}");
    }

    #[test]
    fn other_certificate_errors_name_ca_file() {
        let hint = certificate_hint(&[tls_attempt(
            "certificate not valid for name \"example.com\"; certificate is only valid for other.example.net",
        )])
        .expect("a hint for a certificate error");
        assert!(hint.contains("--ca-file"), "{hint}");
        assert!(hint.contains("names the host"), "{hint}");
    }

    #[test]
    fn handshake_failures_get_no_ca_hint() {
        let trace = [tls_attempt(
            "connection failed during the handshake: connection reset",
        )];
        assert_eq!(certificate_hint(&trace), None);
        assert_eq!(certificate_hint(&[]), None);
    }

    #[test]
    fn seconds_drops_whole_fraction() {
        assert_eq!(seconds(Duration::from_secs(30)), "30");
        assert_eq!(seconds(Duration::from_millis(2500)), "2.5");
    }
}

//! Interpreting HTTP responses: redirects, authentication challenges, busy servers and
//! Autodiscover answers.

use tracing::debug;
use url::Url;

use super::candidate::{Decisive, Next, State};
use super::{busy_delay, Discoverer};
use crate::action::ActionId;
use crate::answer::{Answer, ErrorCode};
use crate::challenge::offered_schemes;
use crate::config::{UntrustedRedirects, MAX_BUSY_RETRIES, MAX_REDIRECTS};
use crate::error::Challenge;
use crate::event::{HttpResponse, TransportError};
use crate::outcome::Redirect;
use crate::request::{EmailAddress, Flavor};
use crate::trace::AttemptResult;
use crate::trust::{check_endpoint_url, host_of, is_trusted_host};
use crate::{pox, soap};

/// Statuses that carry a `Location` to resend the request to.
const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

impl Discoverer {
    pub(super) fn on_http(
        &mut self,
        index: usize,
        id: ActionId,
        result: Result<HttpResponse, TransportError>,
    ) {
        let next = match &self.candidates[index].state {
            State::Requesting { id: awaited, next } if *awaited == id => next.clone(),
            _ => return,
        };
        let url = next.url().clone();
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                self.record(index, url.to_string(), AttemptResult::Transport(error));
                self.fail_candidate(index);
                return;
            }
        };
        match next {
            Next::Probe(_) => self.on_probe_response(index, &url, &response),
            Next::Post(_) => self.on_post_response(index, &url, response),
        }
    }

    /// Handles the response to the step 3 GET, where only a redirect to https is of use.
    fn on_probe_response(&mut self, index: usize, url: &Url, response: &HttpResponse) {
        let location = response.header("Location");
        let (true, Some(location)) = (REDIRECT_STATUSES.contains(&response.status), location)
        else {
            self.record(
                index,
                url.to_string(),
                AttemptResult::NoRedirect {
                    status: response.status,
                },
            );
            self.fail_candidate(index);
            return;
        };

        let target = match url.join(location.trim()) {
            Ok(target) => target,
            Err(error) => {
                self.reject_redirect(index, url, location, format!("not a valid URL ({error})"));
                return;
            }
        };
        if let Err(reason) = check_endpoint_url(&target) {
            self.reject_redirect(index, url, target.as_str(), reason);
            return;
        }

        // MS-OXWSADISC's indirect attempt uses only a target whose path is the POX endpoint; any
        // other page (a web mail login, a portal) is unrelated to Autodiscover.
        if !target.path().eq_ignore_ascii_case(Flavor::Pox.path()) {
            self.reject_redirect(
                index,
                url,
                target.as_str(),
                format!("the path is not {}", Flavor::Pox.path()),
            );
            return;
        }

        // The probe names a host; the request goes to that host with the flavour's path. A POX
        // request uses the Location as it is, keeping the server's spelling of the path.
        let endpoint = match self.flavor {
            Flavor::Pox => {
                let mut endpoint = target.clone();
                endpoint.set_query(None);
                endpoint.set_fragment(None);
                endpoint
            }
            flavor => {
                let mut endpoint = target.clone();
                endpoint.set_path(flavor.path());
                endpoint.set_query(None);
                endpoint.set_fragment(None);
                endpoint
            }
        };
        self.follow_url(index, url, endpoint);
    }

    fn on_post_response(&mut self, index: usize, url: &Url, response: HttpResponse) {
        let status = response.status;

        if REDIRECT_STATUSES.contains(&status) {
            match response.header("Location") {
                Some(location) => {
                    let location = location.trim().to_owned();
                    self.follow_redirect(index, url, &location);
                }
                None => {
                    self.record(index, url.to_string(), AttemptResult::HttpStatus { status });
                    self.fail_candidate(index);
                }
            }
            return;
        }

        if status == 401 {
            let schemes = offered_schemes(response.headers_named("WWW-Authenticate"));
            let credentials_allowed = self.may_send_credentials(url);
            if credentials_allowed {
                self.failures.challenges.push(Challenge {
                    url: url.to_string(),
                    schemes: schemes.clone(),
                });
            } else if self.failures.untrusted.is_none() {
                let host = host_of(url).unwrap_or_default();
                self.failures.untrusted = Some((host, url.to_string()));
            }
            // A rejected login is no evidence against the cached endpoint itself.
            self.candidates[index].purge_on_failure = false;
            self.record(
                index,
                url.to_string(),
                AttemptResult::Unauthorized {
                    schemes,
                    credentials_allowed,
                },
            );
            self.fail_candidate(index);
            return;
        }

        if status == 503 {
            self.retry_busy(index, url, Some(&response));
            return;
        }

        if !(200..300).contains(&status) {
            self.record(index, url.to_string(), AttemptResult::HttpStatus { status });
            self.fail_candidate(index);
            return;
        }

        if let Some(content_type) = response.header("Content-Type") {
            let media_type = content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !media_type.is_empty() && !media_type.ends_with("xml") {
                self.record(
                    index,
                    url.to_string(),
                    AttemptResult::NotAutodiscover {
                        reason: format!("content type {media_type} is not XML"),
                    },
                );
                self.fail_candidate(index);
                return;
            }
        }

        let parsed = match self.flavor {
            Flavor::Soap => soap::parse_response(&response.body),
            Flavor::Pox => pox::parse_response(&response.body),
        };
        match parsed {
            Ok(answer) => {
                let trusted = self.may_send_credentials(url);
                self.on_answer(index, url, answer, response.auth_scheme, trusted)
            }
            Err(error) => {
                self.record(
                    index,
                    url.to_string(),
                    AttemptResult::NotAutodiscover {
                        reason: error.to_string(),
                    },
                );
                self.fail_candidate(index);
            }
        }
    }

    fn on_answer(
        &mut self,
        index: usize,
        url: &Url,
        answer: Answer,
        auth_scheme: Option<String>,
        trusted: bool,
    ) {
        match answer {
            Answer::Settings(settings) => {
                self.record(index, url.to_string(), AttemptResult::Settings);
                self.candidates[index].state = State::Answered {
                    answer: Decisive::Settings {
                        settings: Box::new(settings),
                        endpoint: url.clone(),
                        auth_scheme,
                        trusted,
                    },
                    at: self.now,
                };
            }

            Answer::RedirectAddress(address) => {
                let email = match EmailAddress::parse(&address) {
                    Ok(email) => email,
                    Err(error) => {
                        self.record(
                            index,
                            url.to_string(),
                            AttemptResult::NotAutodiscover {
                                reason: format!("invalid redirect address: {error}"),
                            },
                        );
                        self.fail_candidate(index);
                        return;
                    }
                };
                if email.eq_ignore_case(self.current()) {
                    self.record(index, url.to_string(), AttemptResult::RedirectToSameAddress);
                    self.fail_candidate(index);
                    return;
                }
                self.record(
                    index,
                    url.to_string(),
                    AttemptResult::RedirectedAddress {
                        to: email.to_string(),
                    },
                );
                self.candidates[index].state = State::Answered {
                    answer: Decisive::RedirectAddress {
                        email,
                        from: url.clone(),
                        trusted,
                    },
                    at: self.now,
                };
            }

            Answer::RedirectUrl(target) => self.follow_redirect(index, url, &target),

            Answer::Error(error) => {
                if error.code == ErrorCode::ServerBusy {
                    self.retry_busy(index, url, None);
                    return;
                }
                // Decided by the code alone: where the code sat in the XML, and the message text,
                // vary between servers.
                match error.code {
                    ErrorCode::InvalidUser | ErrorCode::InvalidDomain => {
                        // The endpoint works; it just has no mailbox for this address.
                        self.candidates[index].purge_on_failure = false;
                        if self.failures.user_error.is_none() {
                            self.failures.user_error =
                                Some((error.clone(), url.to_string(), self.current().to_string()));
                        }
                    }
                    ErrorCode::InvalidRequest | ErrorCode::InvalidSetting => {
                        if self.failures.request_error.is_none() {
                            self.failures.request_error = Some((error.clone(), url.to_string()));
                        }
                    }
                    _ => {
                        if error.code == ErrorCode::NotFederated {
                            self.candidates[index].purge_on_failure = false;
                        }
                        if self.failures.server_error.is_none() {
                            self.failures.server_error = Some((error.clone(), url.to_string()));
                        }
                    }
                }
                self.record(index, url.to_string(), AttemptResult::ServerError(error));
                self.fail_candidate(index);
            }
        }
    }

    /// Follows an HTTP `Location` or an XML `RedirectUrl` from a POST.
    fn follow_redirect(&mut self, index: usize, from: &Url, location: &str) {
        let target = match from.join(location) {
            Ok(target) => target,
            Err(error) => {
                self.reject_redirect(index, from, location, format!("not a valid URL ({error})"));
                return;
            }
        };
        if let Err(reason) = check_endpoint_url(&target) {
            self.reject_redirect(index, from, target.as_str(), reason);
            return;
        }
        self.follow_url(index, from, target);
    }

    /// Sends the candidate's POST to a checked https `target`, within the redirect limit and
    /// the trust policy.
    fn follow_url(&mut self, index: usize, from: &Url, target: Url) {
        let target = super::clean_endpoint(&target);
        if self.is_visited(&target) {
            self.reject_redirect(
                index,
                from,
                target.as_str(),
                "already requested for this address (redirect loop)".to_owned(),
            );
            return;
        }
        if self.redirects.len() >= MAX_REDIRECTS {
            self.failures.redirect_limit_hit = true;
            self.reject_redirect(
                index,
                from,
                target.as_str(),
                format!("the limit of {MAX_REDIRECTS} redirects is reached"),
            );
            return;
        }
        let host = host_of(&target).unwrap_or_default();
        if !is_trusted_host(&host, &self.trusted_domains, &self.config) {
            match self.config.untrusted_redirects {
                UntrustedRedirects::Reject => {
                    if self.failures.untrusted.is_none() {
                        self.failures.untrusted = Some((host.clone(), target.to_string()));
                    }
                    self.reject_redirect(
                        index,
                        from,
                        target.as_str(),
                        format!("host {host:?} is not trusted and the configuration rejects such redirects"),
                    );
                    return;
                }
                UntrustedRedirects::FollowWithoutCredentials => {
                    debug!(%host, "following a redirect to an untrusted host without credentials");
                }
            }
        }

        self.record(
            index,
            from.to_string(),
            AttemptResult::Redirected {
                to: target.to_string(),
            },
        );
        self.redirects.push(Redirect::Url {
            from: from.to_string(),
            to: target.to_string(),
        });
        self.go_to(index, Next::Post(target));
    }

    fn reject_redirect(&mut self, index: usize, from: &Url, to: &str, reason: String) {
        self.record(
            index,
            from.to_string(),
            AttemptResult::RedirectRejected {
                to: to.chars().take(300).collect(),
                reason,
            },
        );
        self.fail_candidate(index);
    }

    /// Retries the candidate's current URL after a bounded back-off, or fails it.
    fn retry_busy(&mut self, index: usize, url: &Url, response: Option<&HttpResponse>) {
        let candidate = &self.candidates[index];
        if candidate.busy_retries >= MAX_BUSY_RETRIES {
            self.record(index, url.to_string(), AttemptResult::ServerBusy);
            self.fail_candidate(index);
            return;
        }
        let delay = busy_delay(response, candidate.busy_retries);
        let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.record(
            index,
            url.to_string(),
            AttemptResult::BusyRetrying { retry_in_ms },
        );
        let candidate = &mut self.candidates[index];
        candidate.busy_retries += 1;
        candidate.state = State::Backoff {
            until: super::later(self.now, delay),
            next: Next::Post(url.clone()),
        };
    }
}
